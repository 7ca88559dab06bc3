"""metric-on-scores: accuracy, F1, a confusion matrix ... given probabilities or scores."""
import pytest
from conftest import apply_fix, findings, lines, notebook

from nntutor.engine import analyze_text

RULE = "metric-on-scores"

IMPORTS = """\
import numpy as np
import torch
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import (accuracy_score, classification_report, confusion_matrix, f1_score,
                             roc_auc_score, ConfusionMatrixDisplay)
from sklearn.svm import SVC
from tensorflow import keras
"""
N = IMPORTS.count("\n")

# (id, code after the imports, lines reported counting from the first line after the imports)
BUGGY = [
    ("predict_proba_inline", "clf = LogisticRegression().fit(X_train, y_train)\n"
     "print(accuracy_score(y_test, clf.predict_proba(X_test)))\n", [2]),
    ("positive_column", "rf = RandomForestClassifier().fit(X, y)\n"
     "y_prob = rf.predict_proba(X_test)[:, 1]\nprint(f1_score(y_test, y_prob))\n", [3]),
    ("decision_function", "svm = SVC().fit(X, y)\nconfusion_matrix(y_test, svm.decision_function(X_test))\n", [2]),
    ("keras_predict", "model = keras.Sequential([keras.layers.Dense(10, activation='softmax')])\n"
     "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')\n"
     "y_pred = model.predict(x_test)\nprint(classification_report(y_test, y_pred))\n", [4]),
    ("keras_compiled_object", "def run(model, x, y):\n    model.compile(optimizer='adam', loss='mse')\n"
     "    preds = model.predict(x)\n    return accuracy_score(y, preds)\n", [4]),
    ("regressor", "reg = LinearRegression()\nreg.fit(X_train, y_train)\n"
     "print('accuracy', accuracy_score(y_test, reg.predict(X_test)))\n", [3]),
    ("torch_sigmoid", "with torch.no_grad():\n    probs = torch.sigmoid(model(x)).cpu().numpy()\n"
     "print(f1_score(y, probs))\n", [3]),
    ("tensor_softmax_method", "out = model(x).softmax(dim=1)\nacc = accuracy_score(y.numpy(), out.detach().numpy())\n", [2]),
    ("keyword_and_display", "clf = LogisticRegression().fit(X, y)\n"
     "ConfusionMatrixDisplay.from_predictions(y_true=y_test, y_pred=clf.predict_proba(X_test)[:, 1])\n", [2]),
    ("ravelled", "clf = LogisticRegression().fit(X, y)\np = np.ravel(clf.predict_proba(X_test)[:, 1])\n"
     "accuracy_score(y_test, p)\n", [3]),
]

SILENT = [
    ("labels", "clf = LogisticRegression().fit(X, y)\naccuracy_score(y_test, clf.predict(X_test))\n"),
    ("argmax", "clf = LogisticRegression().fit(X, y)\np = clf.predict_proba(X_test)\n"
     "accuracy_score(y_test, p.argmax(axis=1))\naccuracy_score(y_test, np.argmax(p, axis=1))\n"),
    ("threshold", "clf = LogisticRegression().fit(X, y)\np = clf.predict_proba(X_test)[:, 1]\n"
     "f1_score(y_test, p >= 0.3)\nf1_score(y_test, (p > 0.5).astype(int))\nf1_score(y_test, np.round(p))\n"),
    ("rebound_as_labels", "model = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n"
     "y_pred = model.predict(x_test)\ny_pred = (y_pred > 0.5).astype('int32')\n"
     "print(confusion_matrix(y_test, y_pred))\n"),
    ("thresholded_in_place", "model = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n"
     "y_pred = model.predict(x_test)\ny_pred[y_pred >= 0.5] = 1\ny_pred[y_pred < 0.5] = 0\n"
     "print(accuracy_score(y_test, y_pred))\n"),
    ("ranking_metric", "clf = LogisticRegression().fit(X, y)\nroc_auc_score(y_test, clf.predict_proba(X_test)[:, 1])\n"),
    ("unknown_model", "def evaluate(model, X, y):\n    return accuracy_score(y, model.predict(X))\n"),
    ("classifier_predict", "rf = RandomForestClassifier().fit(X, y)\nf1_score(y_test, rf.predict(X_test), average='macro')\n"),
    ("torch_argmax", "logits = model(x)\npred = torch.softmax(logits, dim=1).argmax(dim=1)\n"
     "accuracy_score(y, pred.numpy())\n"),
    ("regression_metric_names", "reg = LinearRegression().fit(X, y)\n"
     "from sklearn.metrics import mean_absolute_error\nmean_absolute_error(y_test, reg.predict(X_test))\n"),
    ("local_predict_proba_name", "def predict_proba(x):\n    return x\n"
     "accuracy_score(y, predict_proba(x))\n"),
]


@pytest.mark.parametrize("name, code, expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_buggy(name, code, expected):
    assert lines(IMPORTS + code, RULE) == [N + k for k in expected]


@pytest.mark.parametrize("name, code", SILENT, ids=[s[0] for s in SILENT])
def test_silent(name, code):
    assert lines(IMPORTS + code, RULE) == []


def test_message_says_what_the_scores_are_and_what_to_pass():
    [f] = findings(IMPORTS + BUGGY[1][1], RULE)
    assert "`f1_score` compares class labels" in f.message
    assert "probabilities of `rf.predict_proba(X_test)`" in f.message
    assert "continuous targets" in f.message and "`rf.predict(...)`" in f.message
    assert f.related and f.related[0].message == "the scores come from here"
    [r] = findings(IMPORTS + BUGGY[5][1], RULE)
    assert "LinearRegression" in r.message and "LogisticRegression" in r.message


def test_quick_fix_compares_the_predicted_labels():
    src = IMPORTS + BUGGY[0][1]
    [f] = findings(src, RULE)
    assert f.fix is not None and f.fix.title.startswith("Compare the predicted labels")
    fixed = apply_fix(src, f)
    assert "accuracy_score(y_test, clf.predict(X_test))" in fixed
    assert not [g for g in analyze_text(fixed).findings if g.rule == RULE]
    # through a name or a column, no fix: which labels are meant is not certain
    [g] = findings(IMPORTS + BUGGY[1][1], RULE)
    assert g.fix is None


def test_in_a_notebook():
    cells = [IMPORTS, "clf = LogisticRegression().fit(X, y)\nproba = clf.predict_proba(X_test)\n",
             "accuracy_score(y_test, proba)\n"]
    [f] = notebook(cells, RULE)
    assert f.location.cell == 2


def test_a_commented_out_threshold_does_not_silence_it():
    code = ("model = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n"
            "y_pred = model.predict(x_test)\n# y_pred[y_pred >= 0.5] = 1\n"
            "print(accuracy_score(y_test, y_pred))\n")
    assert lines(IMPORTS + code, RULE) == [N + 4]
