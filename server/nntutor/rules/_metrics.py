"""The sklearn.metrics calls the metric rules and hovers read: which argument holds the true
values and which the predictions or scores, by position or keyword."""
from __future__ import annotations

from ..values import args_of, follow, has_splat, method_call, strip

# The second argument's keyword differs between metrics and sklearn versions.
PREDICTION_KEYWORDS = ("y_pred", "y_score", "probas_pred", "y_prob", "y_proba")


def metric_args(call):
    """(true values, predictions or scores) argument nodes of `metric(y_true, y_pred, ...)`;
    either is None when absent."""
    pos, kw = args_of(call)
    first = pos[0] if pos else kw.get("y_true")
    second = pos[1] if len(pos) > 1 else next((kw[k] for k in PREDICTION_KEYWORDS if k in kw), None)
    return first, second


def metric_calls(ctx, names: dict[str, str]):
    """(call, metric name, true values, predictions) for the calls of `names` (qualified name ->
    short name) that pass both, without `*args` / `**kwargs`."""
    for call in ctx.facts.calls_to(set(names)):
        if has_splat(call):
            continue
        first, second = metric_args(call)
        if first is not None and second is not None:
            yield call, names[ctx.facts.callee_qual(call)], first, second


# Where estimators whose class the code shows come from.
_LIBRARIES = ("sklearn.", "xgboost.", "lightgbm.", "catboost.", "imblearn.")
_SEARCHES = {"GridSearchCV", "RandomizedSearchCV", "HalvingGridSearchCV", "HalvingRandomSearchCV"}
_MAX_DEPTH = 6


def estimator_name(doc, expr, depth: int = 0) -> str | None:
    """The class name of the estimator `expr` is, when the code shows it: made here from a
    scikit-learn, XGBoost, LightGBM, CatBoost or imbalanced-learn class, also once fitted
    (`LogisticRegression().fit(X, y)`), as the last step of a pipeline, or inside a grid search;
    else None."""
    if depth > _MAX_DEPTH:
        return None
    node = strip(follow(doc.facts, expr))
    while node is not None and node.type == "call":  # `LogisticRegression().fit(X, y)` is the model
        recv, method = method_call(node)
        if method not in ("fit", "set_params") or recv is None:
            break
        node = strip(follow(doc.facts, recv))
    if node is None or node.type != "call":
        return None
    qual = doc.facts.callee_qual(node)
    if qual is None or not qual.startswith(_LIBRARIES):
        return None
    name = qual.rsplit(".", 1)[-1]
    pos, kw = args_of(node)
    if name == "make_pipeline":
        return estimator_name(doc, pos[-1], depth + 1) if pos else None
    if name == "Pipeline":
        steps = strip(pos[0] if pos else kw.get("steps"))
        if steps is None or steps.type != "list" or not steps.named_children:
            return None
        last = strip(steps.named_children[-1])
        if last is None or last.type != "tuple" or len(last.named_children) != 2:
            return None
        return estimator_name(doc, last.named_children[1], depth + 1)
    if name in _SEARCHES:
        est = pos[0] if pos else kw.get("estimator")
        return estimator_name(doc, est, depth + 1) if est is not None else None
    return name
