"""metric-on-hard-labels: a ranking or probability metric given a classifier's `predict()` labels."""
from __future__ import annotations

from ..findings import Severity
from ..values import args_of, follow, method_call, string_value, strip
from . import Rule
from ._metrics import estimator_name, metric_calls

# Metrics that need a score per sample (a probability or a decision value), and what hard 0/1
# labels do to them.
_RANKING = ("ranks the samples by their score, so with hard 0/1 labels the curve has a single "
            "threshold and the number describes that one cut-off, not the classifier (the ROC AUC "
            "of labels is the mean of sensitivity and specificity)")
EFFECT = {
    "roc_auc_score": _RANKING,
    "average_precision_score": _RANKING,
    "roc_curve": _RANKING,
    "precision_recall_curve": _RANKING,
    "det_curve": _RANKING,
    "RocCurveDisplay.from_predictions": _RANKING,
    "PrecisionRecallDisplay.from_predictions": _RANKING,
    "DetCurveDisplay.from_predictions": _RANKING,
    "log_loss": ("scores predicted probabilities: a hard label is a probability of 0 or 1, so each "
                 "mistake costs about 36 (the log of the clipping limit) and the loss mostly counts "
                 "errors"),
    "brier_score_loss": ("scores predicted probabilities: with hard 0/1 labels it is just the error "
                         "rate"),
}
QUALS = {f"sklearn.metrics.{name}": name for name in EFFECT}
RANKING = frozenset(name for name, effect in EFFECT.items() if effect is _RANKING)

# Estimators whose predict() returns class labels. A regressor's predictions are scores, and
# Keras' or PyTorch's predict() returns what the network outputs (probabilities): not reported.
_CLASSIFIERS = {"LogisticRegression", "LogisticRegressionCV", "SVC", "LinearSVC", "NuSVC",
                "GaussianNB", "MultinomialNB", "BernoulliNB", "ComplementNB", "CategoricalNB",
                "Perceptron", "LinearDiscriminantAnalysis", "QuadraticDiscriminantAnalysis",
                "CalibratedClassifierCV", "NearestCentroid", "LabelPropagation", "LabelSpreading"}


def check(ctx):
    for _call, metric, _truth, score in metric_calls(ctx, QUALS):
        labels = hard_labels(ctx.doc, score)
        if labels is None:
            continue
        predict, estimator = labels
        shown, source = ctx.text(score), ctx.text(predict)
        if strip(score) == predict:
            subject = f"`{shown}` returns class labels"
        else:
            subject = f"`{shown}` holds the class labels of `{source}`"
        if method_call(predict)[1] == "predict":
            proba = f"`{estimator}.predict_proba(X)`" if metric == "log_loss" else \
                f"`{estimator}.predict_proba(X)[:, 1]` (the positive class's probability)"
            instead = proba if metric in ("log_loss", "brier_score_loss") else \
                f"{proba} or `{estimator}.decision_function(X)`"
        else:
            subject += " (cross_val_predict calls `predict` unless given `method=`)"
            instead = "`cross_val_predict(..., method=\"predict_proba\")[:, 1]`"
        yield ctx.finding(
            score,
            f"`{metric}` needs a score per sample, but {subject}. It {EFFECT[metric]}. "
            f"Pass {instead}.",
            related=[ctx.related(predict, "the labels come from here")] if strip(score) != predict else ())


def hard_labels(doc, expr):
    """(the predict call, the estimator's text) when `expr` is, directly or through a plain name,
    `clf.predict(...)` of a known classifier or `cross_val_predict(clf, ...)` without a method;
    else None."""
    node = follow(doc.facts, expr)
    node = strip(node)
    if node is None or node.type != "call":
        return None
    recv, method = method_call(node)
    if method == "predict" and recv is not None and _is_classifier(doc, recv, 0):
        return node, doc.text(recv)
    if doc.facts.callee_qual(node) == "sklearn.model_selection.cross_val_predict":
        pos, kw = args_of(node)
        est = pos[0] if pos else kw.get("estimator")
        if "method" in kw and string_value(kw["method"]) != "predict":
            return None  # method="predict_proba" / "decision_function": scores
        if est is not None and _is_classifier(doc, est, 0):
            return node, doc.text(est)
    return None


def _is_classifier(doc, expr, depth: int) -> bool:
    """`expr` is (or is fitted from, or wraps as the last step) an estimator whose predict()
    returns class labels."""
    name = estimator_name(doc, expr, depth)
    return name is not None and (name in _CLASSIFIERS or name.endswith("Classifier"))


RULE = Rule("metric-on-hard-labels", Severity.WARNING, "model-evaluation-metrics",
            "ROC AUC, precision-recall or log loss computed from predict() labels", check,
            needs=(b"metrics",))
