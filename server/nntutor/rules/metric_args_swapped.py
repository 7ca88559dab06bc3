"""metric-args-swapped: an sklearn metric called with the predictions first and the truth second."""
from __future__ import annotations

import re

from ..findings import Fix, Severity
from ..parsing import F_ATTRIBUTE, F_FUNCTION, F_LEFT, F_OBJECT, F_RIGHT, F_SUBSCRIPT, F_VALUE
from ..values import args_of, follow, literal_value, method_call, string_value, strip
from . import Rule
from ._metrics import metric_calls

# What swapping (y_true, y_pred) does to each metric. Only metrics that change are listed:
# accuracy, MSE, MAE, MCC, Cohen's kappa and (binary, micro, macro) F1 are symmetric.
_TRANSPOSED = ("the matrix comes out transposed: its rows are the predicted classes and its "
               "columns the true ones (and `normalize=\"true\"` divides by the wrong counts)")
_AS_LABELS = ("the true labels are used as the scores and the predictions as the labels: continuous "
              "scores raise an error, hard 0/1 predictions silently give a different number")
EFFECT = {
    "confusion_matrix": _TRANSPOSED,
    "multilabel_confusion_matrix": "each per-class matrix comes out transposed (false positives "
                                   "and false negatives trade places)",
    "ConfusionMatrixDisplay.from_predictions": "the plot's axes are swapped: the rows labelled "
                                              "'True label' are the predictions",
    "classification_report": "precision and recall trade places in every row, and `support` "
                             "counts predictions instead of true samples",
    "precision_recall_fscore_support": "precision and recall trade places, and `support` counts "
                                       "predictions instead of true samples",
    "precision_score": "it computes the recall instead of the precision",
    "recall_score": "it computes the precision instead of the recall",
    "fbeta_score": "precision and recall trade places, so `beta` weights the wrong one",
    "f1_score": "with `average=\"weighted\"` the classes are weighted by how often they are "
                "predicted instead of by their true support",
    "balanced_accuracy_score": "it averages the per-class precision instead of the per-class recall",
    "r2_score": "the score is normalised by the variance of the predictions instead of that of "
                "the true values, so it is a different number",
    "explained_variance_score": "the score is normalised by the variance of the predictions "
                                "instead of that of the true values",
    "mean_absolute_percentage_error": "each error is divided by the prediction instead of the "
                                      "true value",
    "roc_auc_score": _AS_LABELS,
    "average_precision_score": _AS_LABELS,
    "roc_curve": _AS_LABELS,
    "precision_recall_curve": _AS_LABELS,
    "det_curve": _AS_LABELS,
    "log_loss": _AS_LABELS,
    "RocCurveDisplay.from_predictions": _AS_LABELS,
    "PrecisionRecallDisplay.from_predictions": _AS_LABELS,
}
QUALS = {f"sklearn.metrics.{name}": name for name in EFFECT}

# Methods and functions that keep what an array holds: `y_test.values`, `preds.cpu().numpy()`,
# `np.argmax(y_pred, axis=1)`, `list(labels)`.
_KEEPING_METHODS = {"numpy", "cpu", "detach", "tolist", "ravel", "flatten", "squeeze", "astype",
                    "reshape", "to", "argmax", "round", "int", "long", "float", "to_numpy", "view",
                    "copy", "clone", "item"}
_KEEPING_FUNCTIONS = {"array", "asarray", "ravel", "argmax", "squeeze", "concatenate", "list",
                      "tuple", "round", "rint", "cat", "stack", "hstack", "vstack"}
_KEEPING_ATTRIBUTES = {"values", "data", "T"}
_PREDICTING_METHODS = {"predict", "predict_proba", "predict_log_proba", "decision_function",
                       "predict_classes", "fit_predict"}

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_PRED_WORDS = {"pred", "preds", "predicted", "prediction", "predictions", "yhat", "hat", "prob",
               "probs", "proba", "probas", "probability", "probabilities", "score", "scores"}
_TRUE_WORDS = {"true", "truth", "gt", "actual", "label", "labels", "target", "targets"}
# A label array spelled as one word: ytest, Ytrain, yval, ytrue ...
_Y_NAME = re.compile(r"y(?:_?(?:true|test|train|val|valid|validation|dev|eval|holdout|te|tr|\d+))*",
                     re.IGNORECASE)


def check(ctx):
    for call, metric, first, second in metric_calls(ctx, QUALS):
        _pos, kw = args_of(call)
        if metric == "f1_score" and string_value(kw.get("average")) != "weighted":
            continue  # F1 is symmetric in precision and recall: swapping changes nothing
        if metric == "fbeta_score" and literal_value(kw.get("beta")) in (1, 1.0):
            continue
        if not looks_swapped(ctx.doc, first, second):
            continue
        fix = Fix("Swap the arguments: true values first, predictions second",
                  (ctx.edit(first, ctx.text(second)), ctx.edit(second, ctx.text(first))))
        yield ctx.finding(
            first,
            f"`{metric}` takes the true values first and the predictions second; here the "
            f"predictions `{ctx.text(first)}` come first and the true values `{ctx.text(second)}` "
            f"second. Swapped, {EFFECT[metric]}.",
            related=[ctx.related(second, "the true values, passed second")], fix=fix)


def looks_swapped(doc, first, second) -> bool:
    """The first argument reads as predictions and the second as true values (also for hovers)."""
    return _holds(doc, first) == "pred" and _holds(doc, second) == "true"


def _holds(doc, expr, depth: int = 0) -> str | None:
    """"pred" for predictions, "true" for true labels or targets, None when it cannot tell."""
    expr = strip(expr)
    if expr is None or depth > 8:
        return None
    kind = expr.type
    if kind == "call":
        qual = doc.facts.callee_qual(expr)
        fn = strip(expr.child_by_field_id(F_FUNCTION))
        if fn is None:
            return None
        if qual is not None or fn.type == "identifier":
            # a function: np.argmax(y, axis=1), cross_val_predict(...), list(labels)
            name = qual.rsplit(".", 1)[-1] if qual is not None else doc.text(fn)
            if name == "cross_val_predict":
                return "pred"
            if name in _KEEPING_FUNCTIONS:
                pos, _kw = args_of(expr)
                return _holds(doc, pos[0], depth + 1) if pos else None
            return None
        recv, method = method_call(expr)  # a method: clf.predict(X), y_test.values.ravel()
        if method in _PREDICTING_METHODS:
            return "pred"
        if method in _KEEPING_METHODS and recv is not None:
            return _holds(doc, recv, depth + 1)
        return None
    if kind == "attribute":
        attr = expr.child_by_field_id(F_ATTRIBUTE)
        if attr is not None and doc.text(attr) in _KEEPING_ATTRIBUTES:
            return _holds(doc, expr.child_by_field_id(F_OBJECT), depth + 1)
        return _by_name(doc.text(attr)) if attr is not None else None
    if kind == "subscript":  # y_test[:100], y_pred[mask], df["target"]
        frame = strip(expr.child_by_field_id(F_VALUE))
        key = string_value(expr.child_by_field_id(F_SUBSCRIPT))
        if key is not None:
            # what was put in that column (`sub["target"] = model.predict(X)`), else what its
            # name says when it says it clearly, else what the frame's name says
            stored = _column_value(doc, frame, key, expr.start_byte)
            held = _holds(doc, stored, depth + 1) if stored is not None else None
            return held or _by_column_name(key) or _holds(doc, frame, depth + 1)
        return _holds(doc, frame, depth + 1)
    if kind == "identifier":
        by_name = _by_name(doc.text(expr))
        # `p = clf.predict(X_test)` under a name that says nothing; a name that says one thing
        # while its value says the other (`val_labels = val_pred["pred_score"]`) is unknown
        value = follow(doc.facts, expr)
        by_value = _holds(doc, value, depth + 1) if value is not None and value is not expr else None
        if by_name is not None and by_value is not None and by_name != by_value:
            return None
        return by_name or by_value
    return None


def _column_value(doc, frame, key: str, before: int):
    """The value last stored as `frame[key] = value` before byte `before`, or None."""
    if frame is None or frame.type != "identifier":
        return None
    found = None
    for start, value in _column_assignments(doc).get((doc.text(frame), key), ()):
        if start >= before:
            break
        found = value
    return found


def _column_assignments(doc) -> dict:
    """(frame name, column key) -> [(start, value)] of every `frame["key"] = value`, once per
    version (a metric call per line of a long file must not rescan every assignment)."""
    facts = doc.facts
    found = getattr(facts, "_column_assignments", None)
    if found is None:
        found = {}
        for a in facts.assignments:
            left = a.child_by_field_id(F_LEFT)
            if left is None or left.type != "subscript":
                continue
            key = string_value(left.child_by_field_id(F_SUBSCRIPT))
            target = strip(left.child_by_field_id(F_VALUE))
            if key is not None and target is not None and target.type == "identifier":
                found.setdefault((doc.text(target), key), []).append((a.start_byte, a.child_by_field_id(F_RIGHT)))
        facts._column_assignments = found
    return found


# Column names that say what they hold without doubt ("score" may be a rating label).
_COLUMN_PRED = re.compile(r"(?i)pred|yhat|prob")


def _by_column_name(key: str) -> str | None:
    if _COLUMN_PRED.search(key):
        return "pred"
    words = {w.lower() for w in _WORD.findall(key)}
    return "true" if words & _TRUE_WORDS else None


def _by_name(name: str) -> str | None:
    words = {w.lower() for w in _WORD.findall(name)}
    lower = name.lower()
    if words & _PRED_WORDS or "pred" in lower or "yhat" in lower:
        return "pred"
    if words & _TRUE_WORDS or _Y_NAME.fullmatch(name):
        return "true"
    return None


RULE = Rule("metric-args-swapped", Severity.ERROR, "model-evaluation-metrics",
            "sklearn metric called with predictions first and true values second", check,
            needs=(b"metrics",))
