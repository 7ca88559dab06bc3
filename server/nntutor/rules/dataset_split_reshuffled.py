"""dataset-split-reshuffled: a tf.data dataset that reshuffles on every iteration, split into
parts with `take(n)` and `skip(n)`."""
from __future__ import annotations

from ..findings import Fix, Severity, TextEdit
from ..parsing import F_ARGUMENTS, F_FUNCTION
from ..values import args_of, has_splat, literal_value, method_call, returned_values, strip
from . import Rule
from ._tfdata import MAX_STEPS, from_every_call, is_tf_qual, origin

# Functions that shuffle by default (shuffle=True, or None meaning True) with tf.data's
# `shuffle`, which reshuffles on every iteration whatever the seed.
_SHUFFLING_LOADERS = frozenset({
    "keras.utils.image_dataset_from_directory", "keras.utils.text_dataset_from_directory",
    "keras.utils.audio_dataset_from_directory",
    "keras.preprocessing.image_dataset_from_directory", "keras.preprocessing.text_dataset_from_directory",
    "tensorflow.data.Dataset.list_files", "tensorflow.data.experimental.make_csv_dataset",
})
# Dataset methods that pass their input's order through: a reshuffling input stays one.
_ORDER_KEEPING = frozenset({
    "map", "batch", "padded_batch", "ragged_batch", "rebatch", "prefetch", "filter", "unbatch",
    "repeat", "take", "skip", "interleave", "flat_map", "with_options", "enumerate",
    "ignore_errors", "apply", "shard", "sparse_batch",
})


def check(ctx):
    facts = ctx.facts
    takes = facts.method_calls("take")
    if not takes:
        return
    # (count, receiver name) -> the skip calls: one lookup per take instead of every pair.
    skips: dict = {}
    for skip, skip_recv in facts.method_calls("skip"):
        arg, recv = _single_argument(ctx, skip), strip(skip_recv)
        if arg is not None and recv is not None and recv.type == "identifier":
            skips.setdefault((arg, ctx.text(recv)), []).append((skip, recv))
    reported = set()
    for take, take_recv in takes:
        take_arg, take_recv = _single_argument(ctx, take), strip(take_recv)
        if take_arg is None or take_recv is None or take_recv.type != "identifier":
            continue
        for skip, skip_recv in skips.get((take_arg, ctx.text(take_recv)), ()):
            if skip.start_byte in reported or not _same_dataset(ctx, take_recv, skip_recv):
                continue
            found = _reshuffling_source(ctx, take_recv)
            if found is None:
                break
            source, via_call = found
            reported.add(skip.start_byte)
            first, second = sorted((take, skip), key=lambda c: c.start_byte)
            yield ctx.finding(first, _message(ctx, take, skip, source),
                              related=[ctx.related(second, "the other part of the split"),
                                       ctx.related(source, "reshuffles on every iteration")],
                              fix=None if via_call else _fix(ctx, source))
            break


def _message(ctx, take, skip, source) -> str:
    parts = f"`{ctx.text(take)}` and `{ctx.text(skip)}`"
    loader = _loader_name(ctx, source)
    if loader is not None:
        why = (f"`{loader}` shuffles by default and reshuffles every time the dataset is "
               "iterated, seed or not")
        instead = ("Pass shuffle=False, shuffle once in a fixed order "
                   "(reshuffle_each_iteration=False), then split")
        if loader.endswith("_dataset_from_directory"):
            instead = ("Let the loader split the files (validation_split and subset, with the same "
                       "seed in both calls), or load with shuffle=False, shuffle once in a fixed "
                       "order (reshuffle_each_iteration=False), then split")
    else:
        why = ("`shuffle` reshuffles every time the dataset is iterated "
               "(reshuffle_each_iteration defaults to True), seed or not")
        instead = ("Pass reshuffle_each_iteration=False to this `shuffle`, or split a fixed order "
                   "first and shuffle only the training part")
    return (f"{parts} split a dataset whose order changes on every pass: {why}. Each part "
            "re-reads the stream in a new order, so which examples it holds changes from pass to "
            "pass and the two parts overlap: a score on one part is measured partly on examples "
            "of the other (ones the model trained on or was selected with). "
            f"{instead}.")


def _fix(ctx, source) -> Fix | None:
    """reshuffle_each_iteration=False on an explicit `shuffle(...)` call (its True or None value
    replaced, when given): the split then stays fixed, at the price of the same training order
    every epoch (said in the title)."""
    if _loader_name(ctx, source) is not None:
        return None
    title = "Pass reshuffle_each_iteration=False (one fixed order: the split stays disjoint)"
    pos, kw = args_of(source)
    given = pos[2] if len(pos) >= 3 else kw.get("reshuffle_each_iteration")
    if given is not None:
        return Fix(title, (ctx.edit(given, "False"),))
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
    return Fix(title, (edit,))


def _single_argument(ctx, call) -> str | None:
    """The count of `take(n)` / `skip(n)`, spaces removed (`int(0.2*n)` is `int(0.2 * n)`)."""
    pos, kw = args_of(call)
    if has_splat(call):
        return None
    if len(pos) == 1 and not kw:
        return "".join(ctx.text(pos[0]).split())
    if not pos and set(kw) == {"count"}:
        return "".join(ctx.text(kw["count"]).split())
    return None


def _same_dataset(ctx, a, b) -> bool:
    """Both receivers are the same dataset value: one name with the same binding reaching both
    calls (`val = ds.take(n)`, then `ds = ds.skip(n)` still reads the first `ds`)."""
    name = ctx.text(a)
    if name != ctx.text(b):
        return False
    facts = ctx.facts
    ba, bb = facts.binding(name, a.start_byte), facts.binding(name, b.start_byte)
    return ba is not None and ba is bb and ba.kind in ("assign", "param")


def _reshuffling_source(ctx, expr, depth: int = 0):
    """(the `shuffle(...)` call or shuffling loader call that makes `expr` reshuffle on every
    iteration, whether it was found through a call of a function of the file), following names,
    order-keeping dataset methods, the returned value of a function of the file and the
    parameters of one (when every call passes a reshuffling dataset); None when there is none, it
    is kept fixed (a `cache()` after it) or the dataset is not known to be a tf.data one. A
    `shuffle` that does not reshuffle keeps the order fixed only if its input's is: the walk goes
    on through it."""
    facts = ctx.facts
    expr = strip(expr)
    for _ in range(MAX_STEPS):
        if expr is None:
            return None
        if expr.type == "identifier":
            b = facts.assignment_of(expr)
            if b is None:
                kind, source = from_every_call(ctx, expr, lambda arg: _judged(ctx, arg, depth), depth)
                return (source, True) if kind is not None else None
            expr = strip(b.value)
            continue
        if expr.type != "call" or has_splat(expr):
            return None   # `shuffle(**opts)`, `loader(**args)`: what they set is unknown
        qual = facts.callee_qual(expr)
        if qual in _SHUFFLING_LOADERS:
            _pos, kw = args_of(expr)
            shuffle = kw.get("shuffle")
            return (expr, False) if shuffle is None or _true_or_none(shuffle) else None
        recv, method = method_call(expr)
        if recv is None:
            return _from_returned(ctx, expr, depth)
        if method == "shuffle":
            if _reshuffles(expr):
                return (expr, False) if _tf_dataset(ctx, recv, expr) else None
        elif method not in _ORDER_KEEPING:
            return None   # cache(), snapshot(), a conversion: not a reshuffling stream (or unknown)
        expr = strip(recv)
    return None


def _judged(ctx, arg, depth):
    found = _reshuffling_source(ctx, arg, depth + 1)
    return ("reshuffles", found[0]) if found is not None else (None, None)


def _from_returned(ctx, call, depth):
    """`ds = make_dataset(x, y)`: the one value returned by a function of the file, when it is
    a reshuffling dataset (found through a call: the fix would edit the function for every
    caller)."""
    fn = call.child_by_field_id(F_FUNCTION)
    if depth >= 2 or fn is None or fn.type != "identifier":
        return None
    defs = ctx.facts.functions_named(ctx.text(fn))
    if len(defs) != 1:
        return None
    values = list(returned_values(defs[0]))
    if len(values) != 1:
        return None
    found = _reshuffling_source(ctx, values[0], depth + 1)
    return (found[0], True) if found is not None else None


def _reshuffles(shuffle_call) -> bool:
    """reshuffle_each_iteration is True, None (the default, True) or not given."""
    pos, kw = args_of(shuffle_call)
    flag = pos[2] if len(pos) >= 3 else kw.get("reshuffle_each_iteration")
    return flag is None or _true_or_none(flag)


def _true_or_none(node) -> bool:
    node = strip(node)
    return node is not None and (node.type == "none" or literal_value(node) is True)


def _tf_dataset(ctx, recv, shuffle_call) -> bool:
    """`recv` (what is shuffled) comes from tf.data, TensorFlow Datasets or Keras; an unknown
    root counts when the file imports TensorFlow and not Hugging Face `datasets` (whose
    shuffle works differently: a fixed order until set_epoch is called) and `shuffle` is given
    a buffer size, as tf.data's is."""
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
