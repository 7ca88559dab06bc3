"""metric-on-scores: a label metric (accuracy, F1, a confusion matrix) given probabilities or scores."""
from __future__ import annotations

import re

from ..findings import Fix, Severity
from ..parsing import F_ATTRIBUTE, F_FUNCTION, F_VALUE
from ..values import args_of, follow, method_call, strip
from . import Rule
from ._losses import is_keras_model
from ._metrics import estimator_name, metric_calls

# Metrics that compare predicted class labels with true ones: scikit-learn checks both with
# `type_of_target` and raises ValueError ("Classification metrics can't handle a mix of binary
# and continuous targets") when the predictions are continuous.
LABEL_METRICS = ("accuracy_score", "balanced_accuracy_score", "f1_score", "fbeta_score",
                 "precision_score", "recall_score", "precision_recall_fscore_support",
                 "jaccard_score", "hamming_loss", "zero_one_loss", "cohen_kappa_score",
                 "matthews_corrcoef", "confusion_matrix", "multilabel_confusion_matrix",
                 "classification_report", "ConfusionMatrixDisplay.from_predictions")
QUALS = {f"sklearn.metrics.{name}": name for name in LABEL_METRICS}

# Methods whose result is a score per sample (and per class), never a label.
_SCORE_METHODS = {"predict_proba": "the class probabilities", "predict_log_proba": "the class log-probabilities",
                  "decision_function": "the decision scores"}
# Functions and tensor methods that squash scores into probabilities.
_SQUASHES = {"torch.sigmoid", "torch.softmax", "torch.nn.functional.softmax", "torch.nn.functional.sigmoid",
             "torch.nn.functional.log_softmax", "torch.log_softmax", "scipy.special.expit",
             "scipy.special.softmax", "tensorflow.nn.softmax", "tensorflow.nn.sigmoid",
             "tensorflow.math.sigmoid", "tensorflow.sigmoid", "keras.activations.softmax",
             "keras.activations.sigmoid"}
_SQUASH_METHODS = ("sigmoid", "softmax", "log_softmax")
# What keeps the values as they are (a copy, another device, another shape, a column).
_SAME_VALUES = {"numpy", "cpu", "detach", "ravel", "flatten", "squeeze", "reshape", "tolist", "copy"}
_SAME_VALUES_FUNCTIONS = {"numpy.ravel", "numpy.squeeze", "numpy.array", "numpy.asarray", "numpy.reshape"}
# Estimators whose predict() returns numbers, not classes.
_REGRESSORS = {"LinearRegression", "Ridge", "Lasso", "ElasticNet", "SVR", "LinearSVR", "NuSVR",
               "BayesianRidge", "HuberRegressor", "SGDRegressor", "KernelRidge", "Lars", "LassoLars",
               "TheilSenRegressor", "RANSACRegressor", "PoissonRegressor", "TweedieRegressor"}
_DEPTH = 8


def check(ctx):
    for _call, metric, _truth, predicted in metric_calls(ctx, QUALS):
        found = scores(ctx, predicted)
        if found is None or _thresholded_in_place(ctx, predicted):
            continue
        source, what, instead = found
        shown = ctx.text(predicted)
        subject = f"`{shown}` is {what}" if strip(predicted) == source else \
            f"`{shown}` holds {what} of `{ctx.text(source)}`"
        fix = None
        recv, method = method_call(source)
        if strip(predicted) == source and method in ("predict_proba", "decision_function") and recv is not None:
            # `accuracy_score(y, clf.predict_proba(X))`: the labels are `clf.predict(X)`
            attr = source.child_by_field_id(F_FUNCTION).child_by_field_id(F_ATTRIBUTE)
            fix = Fix("Compare the predicted labels (`predict`)", (ctx.edit(attr, "predict"),))
        yield ctx.finding(
            predicted,
            f"`{metric}` compares class labels, but {subject}: scikit-learn stops with \"Classification "
            f"metrics can't handle a mix of ... and continuous targets\". {instead}",
            related=[ctx.related(source, "the scores come from here")] if strip(predicted) != source else (),
            fix=fix)


def scores(ctx, expr):
    """(the call that makes them, what they are, what to pass instead) when `expr` is, through
    plain names, copies and columns, continuous scores: `predict_proba` / `decision_function`,
    a Keras model's `predict`, a regressor's `predict`, a sigmoid or softmax; else None."""
    facts = ctx.facts
    node = strip(follow(facts, expr))
    for _ in range(_DEPTH):
        if node is None:
            return None
        if node.type == "subscript":   # `proba[:, 1]`: one class's probabilities
            node = strip(follow(facts, node.child_by_field_id(F_VALUE)))
            continue
        if node.type != "call":
            return None
        recv, method = method_call(node)
        q = facts.callee_qual(node)
        if q in _SAME_VALUES_FUNCTIONS:   # `np.ravel(p)`
            inner = _first_argument(node)
            node = strip(follow(facts, inner)) if inner is not None else None
            continue
        if method in _SAME_VALUES and recv is not None and q is None:   # `p.cpu().numpy()`
            node = strip(follow(facts, recv))
            continue
        break
    else:
        return None
    if method in _SCORE_METHODS and recv is not None:
        return node, _SCORE_METHODS[method], f"Pass the labels, `{ctx.text(recv)}.predict(...)`, or " \
            "threshold the scores yourself (`.argmax(axis=1)`, `proba[:, 1] >= 0.5`)."
    if method == "predict" and recv is not None:
        if is_keras_model(ctx, recv, ctx.text(strip(recv))):
            return node, "the network's outputs (probabilities or logits)", \
                "Turn them into labels first: `.argmax(axis=1)` for a softmax layer, `> 0.5` for one sigmoid unit."
        name = estimator_name(ctx.doc, recv)
        if name is not None and name in _REGRESSORS:
            return node, f"the numbers a regressor ({name}) predicts", \
                "A regressor's predictions are not classes: for a classification task fit a classifier " \
                "(`LogisticRegression`), or score the regression with `mean_absolute_error` / `r2_score`."
        return None
    if q in _SQUASHES or (method in _SQUASH_METHODS and recv is not None and q is None):
        return node, "probabilities", \
            "Turn them into labels first: `.argmax(dim=1)` (softmax) or `> 0.5` (sigmoid)."
    return None


def _first_argument(call):
    pos, kw = args_of(call)
    return pos[0] if pos else kw.get("a")


def _thresholded_in_place(ctx, expr) -> bool:
    """`y_pred[y_pred >= 0.5] = 1` (or any item assignment of the name) between its binding and
    the metric: the scores were turned into labels in place."""
    node = strip(expr)
    if node is None or node.type != "identifier":
        return False
    name = ctx.text(node)
    binding = ctx.facts.binding(name, node.start_byte)
    start = binding.end if binding is not None and binding.end >= 0 else 0
    pattern = re.compile(rb"(?<![\w.])" + re.escape(name.encode()) + rb"\s*\[[^\n]*\]\s*(?:[-+*/|&]|//)?=(?!=)")
    # outside comments: a comment that shows the line must not change the answer
    return any(start <= m.start() < node.start_byte for m in ctx.facts.code_matches(pattern))


RULE = Rule("metric-on-scores", Severity.ERROR, "model-evaluation-metrics",
            "Accuracy, F1 or a confusion matrix computed from probabilities or scores", check,
            needs=(b"metrics",))
