"""The sklearn.metrics calls the metric rules and hovers read: which argument holds the true
values and which the predictions or scores, by position or keyword."""
from __future__ import annotations

from ..values import args_of, has_splat

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
