"""metric-on-hard-labels: ROC AUC, PR curves, log loss or Brier score given predict() labels."""
import textwrap

import pytest
from conftest import findings, lines, notebook

from nntutor.content import catalog

RULE = "metric-on-hard-labels"

IMPORTS = """\
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import (average_precision_score, brier_score_loss, log_loss, roc_auc_score,
                             roc_curve, RocCurveDisplay)
from sklearn.model_selection import GridSearchCV, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
"""
N = IMPORTS.count("\n")

# (id, code after the imports, lines reported counting from the first line after the imports)
BUGGY = [
    # susanli2016's "Logistic Regression in Python - Step by Step" and its siblings
    ("predict_inline", "logreg = LogisticRegression()\nlogreg.fit(X_train, y_train)\n"
     "print(roc_auc_score(y_test, logreg.predict(X_test)))\n", [3]),
    ("through_a_variable", "rf = RandomForestClassifier().fit(X_train, y_train)\n"
     "y_pred_class = rf.predict(X_test)\nfpr, tpr, _ = roc_curve(y_test, y_pred_class)\n", [3]),
    ("pipeline", "pipe = make_pipeline(StandardScaler(), LogisticRegression())\npipe.fit(X, y)\n"
     "average_precision_score(y_test, pipe.predict(X_test))\n", [3]),
    ("pipeline_steps", "pipe = Pipeline([('scale', StandardScaler()), ('clf', SVC())])\n"
     "roc_auc_score(y_test, pipe.predict(X_test))\n", [2]),
    ("grid_search", "gs = GridSearchCV(RandomForestClassifier(), {'n_estimators': [50, 100]})\n"
     "gs.fit(X, y)\nbrier_score_loss(y_test, gs.predict(X_test))\n", [3]),
    ("log_loss", "clf = LogisticRegression().fit(X, y)\nlog_loss(y_val, clf.predict(X_val))\n", [2]),
    ("cross_val_predict", "p = cross_val_predict(LogisticRegression(), X, y, cv=5)\nroc_auc_score(y, p)\n", [2]),
    ("keyword", "clf = SVC().fit(X, y)\nroc_auc_score(y_true=y_test, y_score=clf.predict(X_test))\n", [2]),
    ("display", "clf = RandomForestClassifier().fit(X, y)\n"
     "RocCurveDisplay.from_predictions(y_test, clf.predict(X_test))\n", [2]),
]

SILENT = [
    ("probabilities", "clf = LogisticRegression().fit(X, y)\n"
     "roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1])\nlog_loss(y_test, clf.predict_proba(X_test))\n"),
    ("decision_function", "clf = SVC().fit(X, y)\nroc_auc_score(y_test, clf.decision_function(X_test))\n"),
    ("cross_val_predict_proba", "p = cross_val_predict(LogisticRegression(), X, y, method='predict_proba')\n"
     "roc_auc_score(y, p[:, 1])\n"),
    ("regressor_scores", "reg = LinearRegression().fit(X, y)\nroc_auc_score(y_test, reg.predict(X_test))\n"),
    ("unknown_model", "def evaluate(model, X, y):\n    return roc_auc_score(y, model.predict(X))\n"),
    ("keras_predict_is_probabilities", "from tensorflow import keras\n"
     "model = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n"
     "roc_auc_score(y_test, model.predict(X_test))\n"),
    ("xgboost_regressor", "from xgboost import XGBRegressor\nm = XGBRegressor().fit(X, y)\n"
     "roc_auc_score(y_test, m.predict(X_test))\n"),
    ("labels_elsewhere", "clf = LogisticRegression().fit(X, y)\ny_pred = clf.predict(X_test)\n"
     "y_pred = clf.predict_proba(X_test)[:, 1]\nroc_auc_score(y_test, y_pred)\n"),
    ("local_class", "class Model:\n    def predict(self, X):\n        return X.sum(1)\n\n"
     "roc_auc_score(y_test, Model().predict(X_test))\n"),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[c[0] for c in BUGGY])
def test_buggy(name, src, expected):
    assert lines(IMPORTS + src, RULE) == [N + n for n in expected]
    (f,) = findings(IMPORTS + src, RULE)
    assert f.severity.label == "warning" and f.fix is None


@pytest.mark.parametrize("name,src", SILENT, ids=[c[0] for c in SILENT])
def test_silent(name, src):
    assert lines(IMPORTS + src, RULE) == []


def test_messages_say_what_to_pass():
    (f,) = findings(IMPORTS + "m = LogisticRegression().fit(X, y)\nroc_auc_score(y, m.predict(X))\n", RULE)
    assert "`m.predict(X)` returns class labels" in f.message
    assert "balanced" not in f.message and "sensitivity and specificity" in f.message
    assert "`m.predict_proba(X)[:, 1]`" in f.message and "`m.decision_function(X)`" in f.message
    (f,) = findings(IMPORTS + "m = LogisticRegression().fit(X, y)\nlog_loss(y, m.predict(X))\n", RULE)
    assert "`m.predict_proba(X)`" in f.message and "decision_function" not in f.message
    src = IMPORTS + "m = SVC().fit(X, y)\nlabels = m.predict(X)\nroc_curve(y, labels)\n"
    (f,) = findings(src, RULE)
    assert "`labels` holds the class labels of `m.predict(X)`" in f.message
    assert f.related and f.related[0].location.line == N + 1


def test_notebook_cells():
    cells = [IMPORTS, "logreg = LogisticRegression()\nlogreg.fit(X_train, y_train)\n",
             "y_pred = logreg.predict(X_test)\nprint(roc_auc_score(y_test, y_pred))\n"]
    (f,) = notebook(cells, RULE)
    assert (f.location.cell, f.location.cell_line + 1) == (2, 2)


def test_quiz_item_is_linked_and_reported():
    item = catalog().quiz["model-evaluation-metrics-7"]
    assert item.rule == RULE
    assert lines(textwrap.dedent(item.code), RULE) == [item.answer]
