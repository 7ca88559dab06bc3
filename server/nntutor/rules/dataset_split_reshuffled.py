"""dataset-split-reshuffled: a tf.data dataset that reshuffles on every iteration, split into
parts with `take(n)` and `skip(n)`."""
from __future__ import annotations

from ..findings import Fix, Severity, TextEdit
from ..parsing import F_ARGUMENTS
from ..values import args_of, literal_value, method_call, strip
from . import Rule
from ._tfdata import MAX_STEPS, from_every_call, is_tf_qual, origin

# Keras loaders that shuffle (shuffle=True is their default) with tf.data's `shuffle`, which
# reshuffles on every iteration whatever the seed.
_SHUFFLING_LOADERS = frozenset({
    "keras.utils.image_dataset_from_directory", "keras.utils.text_dataset_from_directory",
    "keras.utils.audio_dataset_from_directory",
    "keras.preprocessing.image_dataset_from_directory", "keras.preprocessing.text_dataset_from_directory",
})
# Dataset methods that pass their input's order through: a reshuffling input stays one.
_ORDER_KEEPING = frozenset({
    "map", "batch", "padded_batch", "ragged_batch", "rebatch", "prefetch", "filter", "unbatch",
    "repeat", "take", "skip", "interleave", "flat_map", "with_options", "enumerate",
    "ignore_errors", "apply", "map_with_legacy_function", "shard",
})


def check(ctx):
    facts = ctx.facts
    takes = facts.method_calls("take")
    if not takes:
        return
    skips = facts.method_calls("skip")
    reported = set()
    for take, take_recv in takes:
        take_arg = _single_argument(ctx, take)
        if take_arg is None:
            continue
        for skip, skip_recv in skips:
            if skip.start_byte in reported or _single_argument(ctx, skip) != take_arg:
                continue
            if not _same_dataset(ctx, take_recv, skip_recv):
                continue
            source = _reshuffling_source(ctx, take_recv)
            if source is None:
                continue
            reported.add(skip.start_byte)
            first, second = sorted((take, skip), key=lambda c: c.start_byte)
            yield ctx.finding(first, _message(ctx, take, skip, source),
                              related=[ctx.related(second, "the other part of the split"),
                                       ctx.related(source, "reshuffles on every iteration")],
                              fix=_fix(ctx, source))
            break


def _message(ctx, take, skip, source) -> str:
    parts = f"`{ctx.text(take)}` and `{ctx.text(skip)}`"
    loader = _loader_name(ctx, source)
    if loader is not None:
        why = (f"`{loader}` shuffles by default (shuffle=True) and reshuffles every time the "
               "dataset is iterated, seed or not")
        instead = ("Load it with shuffle=False, split it, then shuffle only the training part (or "
                   "let the loader split with validation_split and subset)")
    else:
        why = ("`shuffle` reshuffles every time the dataset is iterated "
               "(reshuffle_each_iteration defaults to True), seed or not")
        instead = ("Pass reshuffle_each_iteration=False to this `shuffle`, or split first and "
                   "shuffle only the training part")
    return (f"{parts} split a dataset whose order changes on every pass: {why}. Each part "
            "re-reads the stream in a new order, so which examples it holds changes from pass to "
            "pass and the two parts overlap: a score on one part is measured partly on examples "
            "of the other (ones the model trained on or was selected with). "
            f"{instead}.")


def _fix(ctx, source) -> Fix | None:
    """reshuffle_each_iteration=False on an explicit `shuffle(...)` call: the split then stays
    fixed (at the price of the same training order every epoch, said in the title)."""
    if _loader_name(ctx, source) is not None:
        return None
    args = source.child_by_field_id(F_ARGUMENTS)
    if args is None or args.type != "argument_list" or not args.named_children:
        return None
    close = args.end_byte - 1   # the `)`
    last = args.named_children[-1]
    between = ctx.doc.data[last.end_byte:close].strip(b" \t\r\n")
    if last.type == "comment" or between not in (b"", b","):
        return None
    edit = (TextEdit(close, close, " reshuffle_each_iteration=False") if between == b","
            else TextEdit(last.end_byte, last.end_byte, ", reshuffle_each_iteration=False"))
    return Fix("Pass reshuffle_each_iteration=False (one fixed order: the split stays disjoint)", (edit,))


def _single_argument(ctx, call) -> str | None:
    pos, kw = args_of(call)
    if len(pos) == 1 and not kw:
        return " ".join(ctx.text(pos[0]).split())
    if not pos and set(kw) == {"count"}:
        return " ".join(ctx.text(kw["count"]).split())
    return None


def _same_dataset(ctx, a, b) -> bool:
    """Both receivers are the same dataset value: one name with the same binding reaching both
    calls (`val = ds.take(n)`, then `ds = ds.skip(n)` still reads the first `ds`)."""
    a, b = strip(a), strip(b)
    if a is None or b is None or a.type != "identifier" or b.type != "identifier":
        return False
    name = ctx.text(a)
    if name != ctx.text(b):
        return False
    facts = ctx.facts
    ba, bb = facts.binding(name, a.start_byte), facts.binding(name, b.start_byte)
    return ba is not None and ba is bb and ba.kind in ("assign", "param")


def _reshuffling_source(ctx, expr, depth: int = 0):
    """The `shuffle(...)` call (or Keras loader call) that makes `expr` reshuffle on every
    iteration, through names, order-keeping dataset methods and the parameters of a function
    of the file (when every call passes a reshuffling dataset); None when there is none, it
    is kept fixed (reshuffle_each_iteration=False, a `cache()` after it) or the dataset is
    not known to be a tf.data one."""
    facts = ctx.facts
    expr = strip(expr)
    for _ in range(MAX_STEPS):
        if expr is None:
            return None
        if expr.type == "identifier":
            b = facts.assignment_of(expr)
            if b is None:
                return from_every_call(ctx, expr, lambda arg: _judged(ctx, arg, depth), depth)[1]
            expr = strip(b.value)
            continue
        if expr.type != "call":
            return None
        qual = facts.callee_qual(expr)
        if qual in _SHUFFLING_LOADERS:
            _pos, kw = args_of(expr)
            shuffle = kw.get("shuffle")
            return expr if shuffle is None or literal_value(shuffle) is True else None
        recv, method = method_call(expr)
        if recv is None:
            return None
        if method == "shuffle":
            return expr if _reshuffles(expr) and _tf_dataset(ctx, recv, expr) else None
        if method not in _ORDER_KEEPING:
            return None   # cache(), snapshot(), a conversion: not a reshuffling stream (or unknown)
        expr = strip(recv)
    return None


def _reshuffles(shuffle_call) -> bool:
    pos, kw = args_of(shuffle_call)
    if len(pos) >= 3:
        return literal_value(pos[2]) is True
    flag = kw.get("reshuffle_each_iteration")
    return flag is None or literal_value(flag) is True


def _judged(ctx, arg, depth):
    source = _reshuffling_source(ctx, arg, depth + 1)
    return ("reshuffles", source) if source is not None else (None, None)


def _tf_dataset(ctx, recv, shuffle_call) -> bool:
    """`recv` (what is shuffled) comes from tf.data, TensorFlow Datasets or Keras; an unknown
    root counts when the file imports TensorFlow and not Hugging Face `datasets` (whose
    shuffled streams keep one order for take/skip) and `shuffle` is given a buffer size first,
    as tf.data's is."""
    kind, _call = origin(ctx, recv)
    if kind is not None:
        return kind == "tf"
    modules = set(ctx.facts.imports.values())
    imports_tf = any(m == "tensorflow" or is_tf_qual(m) for m in modules)
    imports_hf = any(m == "datasets" or m.startswith("datasets.") for m in modules)
    pos, kw = args_of(shuffle_call)
    return imports_tf and not imports_hf and (bool(pos) or "buffer_size" in kw)


def _loader_name(ctx, source) -> str | None:
    qual = ctx.facts.callee_qual(source)
    return qual.rsplit(".", 1)[-1] if qual in _SHUFFLING_LOADERS else None


RULE = Rule("dataset-split-reshuffled", Severity.WARNING, "data-leakage",
            "A dataset that reshuffles on every iteration split with take/skip", check,
            needs=(b".skip(",))
