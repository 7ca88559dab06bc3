"""dataset-op-discarded: `ds.shuffle(...)`, `ds.batch(...)`, `ds.map(...)` ... on a tf.data or
Hugging Face dataset as a statement of its own.

tf.data datasets are immutable, and Hugging Face datasets return a new dataset from map,
filter, shuffle and the like: a transformation whose result is not kept does nothing. The rule
reports it only when the receiver is known to be such a dataset (its chain goes back to a
TensorFlow, Keras, TensorFlow Datasets or `datasets` call, also through the parameters of a
function every call of which passes one), never for Python's or NumPy's in-place `shuffle`.
"""
from __future__ import annotations

from ..findings import Fix, Severity, TextEdit
from ..values import method_call, strip
from . import Rule
from ._discarded import discarding_statement, shown_by_notebook
from ._tfdata import DATASET_METHODS, HF_METHODS, origin

# Only speed is lost when these are dropped; the others change what the model is fed.
_PERFORMANCE_ONLY = frozenset({"prefetch", "cache", "with_options", "prefetch_to_device", "snapshot"})
_WHAT_IS_LOST = {
    "shuffle": "the data is not shuffled",
    "batch": "the data is not batched",
    "padded_batch": "the data is not batched",
    "map": "the function is never applied to the data",
    "filter": "nothing is filtered out",
    "repeat": "the data is not repeated",
    "take": "the dataset is not shortened",
    "skip": "nothing is skipped",
    "select": "no rows are selected",
    "remove_columns": "the columns are still there",
    "train_test_split": "it is not split",
    "sort": "it is not sorted",
}


def check(ctx):
    facts = ctx.facts
    for method in sorted(DATASET_METHODS | HF_METHODS):
        for call, recv in facts.method_calls(method):
            stmt = discarding_statement(call)
            if stmt is None or recv is None or shown_by_notebook(ctx, stmt):
                continue
            kind, source = origin(ctx, recv)
            if (kind == "tf" and method in DATASET_METHODS) or (kind == "hf" and method in HF_METHODS):
                yield _finding(ctx, call, recv, method, stmt, source, kind)


def _finding(ctx, call, recv, method, stmt, source, kind):
    name = ctx.text(recv)
    lost = _WHAT_IS_LOST.get(method, "it has no effect")
    if method in _PERFORMANCE_ONLY:
        lost = "the pipeline runs without it (slower, nothing else changes)"
    why = ("tf.data datasets are immutable" if kind == "tf" else
           f"a Hugging Face dataset's `{method}` does not change it in place")
    message = (f"`{ctx.text(call)}` returns a new dataset and the result is thrown away: {why}, "
               f"so `{name}` is unchanged and {lost}. Assign the result "
               f"(`{name} = {ctx.text(call)}`) or chain it where the dataset is built.")
    split = method == "shuffle" and kind == "tf" and _split_later(ctx, recv, stmt)
    if split:
        # Assigned back, this shuffle would reshuffle every pass under a take/skip split.
        message += (" The dataset is split with take/skip later: pass reshuffle_each_iteration=False "
                    "too, or the parts will overlap.")
    severity = Severity.WARNING if method in _PERFORMANCE_ONLY else None
    return ctx.finding(call, message, related=[ctx.related(source, "the dataset, made here")],
                       fix=None if split else _fix(ctx, stmt, call, recv), severity=severity)


def _split_later(ctx, recv, stmt) -> bool:
    """`recv` is the receiver of a take() or skip() after `stmt`, in the same function."""
    recv = strip(recv)
    if recv is None or recv.type != "identifier":
        return False
    name = ctx.text(recv)
    facts = ctx.facts
    scope = facts.scope_id(stmt.start_byte)
    for method in ("take", "skip"):
        for call, other in facts.method_calls(method):
            other = strip(other)
            if (call.start_byte > stmt.end_byte and other is not None and other.type == "identifier"
                    and ctx.text(other) == name and facts.scope_id(call.start_byte) == scope):
                return True
    return False


def _fix(ctx, stmt, call, recv):
    """`ds.shuffle(n)` -> `ds = ds.shuffle(n)`, for a plain name alone in its statement; not in
    a loop, where the assignment would stack one more transformation every time round."""
    recv = strip(recv)
    if ctx.facts.loops_containing(stmt.start_byte):
        return None
    if recv is None or recv.type != "identifier" or stmt.named_child_count != 1 or strip(stmt.named_children[0]) != call:
        return None
    inner, _method = method_call(call)
    if strip(inner) != recv:
        return None
    name = ctx.text(recv)
    return Fix(f"Assign the result to `{name}`", (TextEdit(stmt.start_byte, stmt.start_byte, f"{name} = "),))


RULE = Rule("dataset-op-discarded", Severity.ERROR, "epochs-batches-iterations",
            "A tf.data or Hugging Face dataset transformation whose result is thrown away", check,
            needs=(b"tensorflow", b"keras", b"datasets"))
