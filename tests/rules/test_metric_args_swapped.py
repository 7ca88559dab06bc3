"""metric-args-swapped: sklearn metrics called as (y_pred, y_true)."""
import textwrap

import pytest
from conftest import findings, fixed_once, lines, notebook

from nntutor.content import catalog

RULE = "metric-args-swapped"

SK = ("from sklearn.metrics import accuracy_score, classification_report, cohen_kappa_score, "
      "confusion_matrix, f1_score, fbeta_score, matthews_corrcoef, mean_absolute_error, "
      "mean_absolute_percentage_error, mean_squared_error, precision_score, r2_score, recall_score, "
      "roc_auc_score, roc_curve\n")
M = "from sklearn import metrics\nimport numpy as np\n"

# (id, source, lines reported, the call's text after the quick fix)
BUGGY = [
    ("frame_columns_swapped", """\
import pandas as pd
from sklearn.metrics import roc_auc_score
print(roc_auc_score(df["prediction"], df["target"]))
""", [3], 'roc_auc_score(df["target"], df["prediction"])'),
    # The forms found in well-known notebooks (PythonDataScienceHandbook, susanli2016).
    ("report_short_names", SK + "print(classification_report(ypred, ytest))\n", [2],
     "classification_report(ytest, ypred)"),
    ("confusion_matrix", SK + "cm = confusion_matrix(y_pred, y_test)\n", [2],
     "confusion_matrix(y_test, y_pred)"),
    ("prefixed_pred_name", SK + "confusion_matrix(logreg_y_pred, y_test)\n", [2],
     "confusion_matrix(y_test, logreg_y_pred)"),
    ("r2_train", SK + "print(r2_score(y_train_pred, y_train))\n", [2],
     "r2_score(y_train, y_train_pred)"),
    ("roc_auc", SK + "roc_auc_score(y_pred, y_test)\n", [2], "roc_auc_score(y_test, y_pred)"),
    ("predict_call_inline", M + "metrics.r2_score(reg.predict(X_test), y_test)\n", [3],
     "metrics.r2_score(y_test, reg.predict(X_test))"),
    ("predict_through_variable", M + "p = clf.predict(X)\nmetrics.precision_score(p, labels)\n", [4],
     "metrics.precision_score(labels, p)"),
    ("recall", SK + "recall_score(preds, targets)\n", [2], "recall_score(targets, preds)"),
    ("argmax_both", M + "metrics.confusion_matrix(np.argmax(model.predict(X), axis=1), np.argmax(y_test, axis=1))\n",
     [3], "metrics.confusion_matrix(np.argmax(y_test, axis=1), np.argmax(model.predict(X), axis=1))"),
    ("tensor_conversions", SK + "confusion_matrix(preds.cpu().numpy(), labels.cpu().numpy())\n", [2],
     "confusion_matrix(labels.cpu().numpy(), preds.cpu().numpy())"),
    ("pandas_values", SK + "mean_absolute_percentage_error(y_hat, y_val.values)\n", [2],
     "mean_absolute_percentage_error(y_val.values, y_hat)"),
    ("keywords_swapped", SK + "confusion_matrix(y_true=y_pred, y_pred=y_test)\n", [2],
     "confusion_matrix(y_true=y_test, y_pred=y_pred)"),
    ("f1_weighted", SK + "f1_score(y_pred, y_test, average='weighted')\n", [2],
     "f1_score(y_test, y_pred, average='weighted')"),
    ("fbeta", SK + "fbeta_score(y_pred, y_true, beta=2)\n", [2], "fbeta_score(y_true, y_pred, beta=2)"),
    ("scores_name", SK + "roc_curve(y_scores, y_train_5)\n", [2], "roc_curve(y_train_5, y_scores)"),
    ("display", "from sklearn.metrics import ConfusionMatrixDisplay\n"
     "ConfusionMatrixDisplay.from_predictions(y_pred, y_test)\n", [2],
     "ConfusionMatrixDisplay.from_predictions(y_test, y_pred)"),
    ("aliased_module", "import sklearn.metrics as skm\nskm.balanced_accuracy_score(predicted, y)\n", [2],
     "skm.balanced_accuracy_score(y, predicted)"),
    ("sliced", SK + "classification_report(y_pred[:100], y_test[:100])\n", [2],
     "classification_report(y_test[:100], y_pred[:100])"),
]

SILENT = [
    # A Kaggle heart-disease notebook (sweep 20): the columns say what they hold; the second
    # name says labels but holds the predicted scores.
    ("frame_columns_in_the_right_order", """\
import pandas as pd
from sklearn.metrics import roc_auc_score
val_pred = pd.DataFrame()
val_pred["pred_score"] = model.predict_proba(X_val)[:, 1]
val_pred["target"] = val_labels
val_filtered = val_pred["target"][groups == g]
val_labels_filtered = val_pred["pred_score"][groups == g]
print(roc_auc_score(val_filtered, val_labels_filtered))
"""),
    ("right_order", SK + "confusion_matrix(y_test, y_pred)\nr2_score(y_true, reg.predict(X))\n"),
    ("keywords_right", SK + "confusion_matrix(y_pred=y_pred, y_true=y_test)\n"),
    # Symmetric metrics: swapping the arguments gives the same number.
    ("accuracy", SK + "accuracy_score(y_pred, y_test)\n"),
    ("mse", SK + "mean_squared_error(y_pred, y_test)\nmean_absolute_error(preds, y)\n"),
    ("mcc_kappa", SK + "matthews_corrcoef(y_pred, y_test)\ncohen_kappa_score(y_pred, y_test)\n"),
    ("f1_binary", SK + "f1_score(y_pred, y_test)\nf1_score(y_pred, y_test, average='macro')\n"),
    ("fbeta_one", SK + "fbeta_score(y_pred, y_test, beta=1)\n"),
    # Names that say nothing.
    ("unclear_names", SK + "confusion_matrix(a, b)\nr2_score(out, result)\n"),
    ("unclear_truth", SK + "f1_score(preds, data['outcome'], average='weighted')\n"),
    ("unclear_first", SK + "confusion_matrix(outputs, y_test)\n"),
    ("both_predictions", SK + "confusion_matrix(y_pred_a, y_pred_b)\n"),
    ("x_is_not_labels", SK + "confusion_matrix(y_pred, X_test)\n"),
    # Not sklearn.
    ("torchmetrics_order", "from torchmetrics.functional import confusion_matrix\n"
     "confusion_matrix(preds, target, task='binary')\n"),
    ("local_function", "def confusion_matrix(y_pred, y_true):\n    return 0\n\nconfusion_matrix(y_pred, y_test)\n"),
    ("user_plot_helper", SK + "def plot_confusion_matrix(y_preds, y_true, labels):\n"
     "    cm = confusion_matrix(y_true, y_preds, normalize='true')\n\nplot_confusion_matrix(y_preds, y_valid, labels)\n"),
    ("splat", SK + "confusion_matrix(*pair)\n"),
    ("one_argument", SK + "confusion_matrix(y_pred)\n"),
]


@pytest.mark.parametrize("name,src,expected,fixed", BUGGY, ids=[c[0] for c in BUGGY])
def test_buggy(name, src, expected, fixed):
    assert lines(src, RULE) == expected
    out = fixed_once(src, RULE, "error")
    assert fixed in out.splitlines()[expected[0] - 1]


@pytest.mark.parametrize("name,src", SILENT, ids=[c[0] for c in SILENT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_message_names_both_sides_and_the_effect():
    (f,) = findings(SK + "cm = confusion_matrix(y_pred, y_test)\n", RULE)
    assert "`y_pred`" in f.message and "`y_test`" in f.message and "transposed" in f.message
    assert f.related and "true values" in f.related[0].message
    (f,) = findings(SK + "precision_score(y_pred, y_test)\n", RULE)
    assert "recall instead of the precision" in f.message


def test_in_a_function_with_a_prediction_variable():
    src = """\
    from sklearn import metrics

    def evaluate(model, X_val, y_val):
        y_hat = model.predict(X_val)
        print(metrics.classification_report(y_hat, y_val))
        return metrics.confusion_matrix(y_val, y_hat)
    """
    assert lines(src, RULE) == [5]


def test_notebook_cell():
    cells = [SK, "y_pred = clf.predict(X_test)\nprint(confusion_matrix(y_pred, y_test))\n"]
    (f,) = notebook(cells, RULE)
    assert (f.location.cell, f.location.cell_line + 1) == (1, 2)


def test_quiz_item_on_swapped_arguments_is_linked_and_reported():
    """The concept's spot-the-bug item about this mistake names the rule, and the rule reports
    its code on the line the item gives as the answer."""
    item = catalog().quiz["model-evaluation-metrics-2"]
    assert item.rule == RULE
    assert lines(textwrap.dedent(item.code), RULE) == [item.answer]


@pytest.mark.parametrize("head,flagged", [
    ("from sklearn.metrics import *\n", True),                                   # a Kaggle habit
    ("from sklearn.metrics import *\ndef precision_score(a, b):\n    return 0\n", False),   # its own
    ("from sklearn.metrics import *\nfrom mylib import *\n", False),            # which module? unknown
    ("from mylib import *\n", False),
])
def test_metrics_from_a_star_import(head, flagged):
    src = head + "preds = model.predict(X_test)\nprint(precision_score(preds, y_test))\n"
    assert lines(src, RULE) == ([head.count("\n") + 2] if flagged else [])


@pytest.mark.parametrize("rule,src", [
    # a generator's variable as a receiver, a builtin as a callee: still the file's own names
    ("double-softmax", "import torch.nn as nn\nfrom utils import *\ncriterion = nn.CrossEntropyLoss()\n"
                       "loss = sum(criterion(o.softmax(dim=1), y) for o in outputs)\n"),
    ("sigmoid-bce", "import torch.nn as nn\nfrom utils import *\nbce = nn.BCELoss()\n"
                    "loss = sum(bce(logit.sigmoid(), t) for logit, t in zip(logits, targets))\n"),
])
def test_a_star_import_does_not_take_over_unbound_names(rule, src):
    assert lines(src, rule) == [4]
    assert lines(src.replace("from utils import *\n", "\n"), rule) == [4]



@pytest.mark.parametrize("src", ["""import pandas as pd
from sklearn.metrics import classification_report

test_df = pd.read_csv("reviews_test.csv")
y_true = test_df["Score"]
y_pred = clf.predict(vectorizer.transform(test_df["Text"]))
print(classification_report(y_pred, y_true))
""",
                                 """import pandas as pd
from sklearn.metrics import confusion_matrix

preds = pd.read_csv("predictions.csv")
y_test = pd.read_csv("test.csv")["label"]
print(confusion_matrix(preds["Survived"], y_test))
"""],
                         ids=["score_column_named_y_true", "column_saying_nothing"])
def test_a_column_that_says_little_keeps_the_names_answer(src):
    """Second review of sweep 20: "Score" may be a rating label, "Survived" says nothing: the
    clearer name (`y_true`, the frame `preds`) decides."""
    assert len(lines(src, RULE)) == 1


def test_a_column_holding_predictions_whatever_its_name():
    """`sub["target"] = model.predict(X_val)`: what was stored there decides, not the key."""
    assert lines("""import pandas as pd
from sklearn.metrics import r2_score

val = pd.read_csv("essays_val.csv")
sub = pd.DataFrame({"essay_id": val["essay_id"]})
sub["target"] = model.predict(X_val)
print(r2_score(val["score"], sub["target"]))
""", RULE) == []
