"""Where a dataset comes from: follow a dataset expression back through names, dataset methods
(`ds.map(f).batch(32)`), items (`dsets["train"]`) and the parameters of the file's functions to
the call that made it: tf.data (TensorFlow, Keras, TensorFlow Datasets) or Hugging Face
`datasets`. Shared by dataset-split-reshuffled and dataset-op-discarded."""
from __future__ import annotations

from ..parsing import F_NAME
from ..values import args_of, is_method, method_call, param_index, strip

# tf.data.Dataset methods that return a new dataset (and leave their receiver as it was).
DATASET_METHODS = frozenset({
    "map", "batch", "padded_batch", "ragged_batch", "rebatch", "prefetch", "filter", "unbatch",
    "repeat", "take", "skip", "interleave", "flat_map", "with_options", "enumerate", "shuffle",
    "cache", "shard", "apply", "ignore_errors", "map_with_legacy_function", "take_while",
    "concatenate", "window", "unique", "snapshot", "scan", "group_by_window",
    "bucket_by_sequence_length", "rejection_resample", "sample_from_datasets", "prefetch_to_device",
})
# Hugging Face Dataset / DatasetDict / IterableDataset methods that return a new dataset
# (set_format, set_transform and reset_format are the in-place ones).
HF_METHODS = frozenset({
    "map", "filter", "shuffle", "select", "sort", "train_test_split", "remove_columns",
    "rename_column", "rename_columns", "cast", "cast_column", "flatten", "add_column", "add_item",
    "shard", "with_format", "with_transform", "select_columns", "class_encode_column", "skip",
    "take", "flatten_indices", "align_labels_with_mapping",
})
_HF_MAKERS = frozenset({"load_dataset", "load_from_disk", "concatenate_datasets", "interleave_datasets",
                        "DatasetDict", "IterableDatasetDict"})
_TF_ROOTS = ("tensorflow.", "keras.", "tensorflow_datasets.", "tf_keras.")
# Keras functions that return a tf.data dataset.
_KERAS_DATASETS = frozenset(f"keras.{module}.{name}" for module in ("utils", "preprocessing")
                            for name in ("image_dataset_from_directory", "text_dataset_from_directory",
                                         "audio_dataset_from_directory", "timeseries_dataset_from_array"))
MAX_STEPS = 12


def is_tf_qual(qual: str | None) -> bool:
    return qual is not None and (qual.startswith(_TF_ROOTS) or qual == "tensorflow_datasets")


def makes_dataset(qual: str | None) -> bool:
    """A call of `qual` returns a tf.data dataset: tf.data's constructors, the Keras loaders,
    tfds.load."""
    if qual is None:
        return False
    if qual.startswith("tensorflow.data."):
        return qual.rsplit(".", 1)[-1] not in _NOT_DATASETS
    return qual in _KERAS_DATASETS or qual == "tensorflow_datasets.load"


def makes_hf_dataset(qual: str | None) -> bool:
    """A call of `qual` returns a Hugging Face dataset (or DatasetDict)."""
    if qual is None or not qual.startswith("datasets."):
        return False
    parts = qual.split(".")
    if len(parts) == 2:
        return parts[1] in _HF_MAKERS
    return len(parts) == 3 and parts[1] in ("Dataset", "IterableDataset") and parts[2].startswith("from_")


# tf.data functions and classes that return something else.
_NOT_DATASETS = frozenset({"cardinality", "Options", "save", "get_next_as_optional", "Iterator",
                           "experimental_distribute_dataset", "get_single_element"})


def origin(ctx, expr, depth: int = 0):
    """(kind, call): kind "tf" when `expr` is known to be a tf.data dataset made by the call
    (tf.data, a Keras loader, TensorFlow Datasets, `to_tf_dataset`), "hf" for a Hugging Face
    one, "other" when it comes from another call (of TensorFlow or any library) that is not
    known to make one, None when unknown (a name bound to something else, a function of the
    file, an unknown method)."""
    facts = ctx.facts
    expr = strip(expr)
    for _ in range(MAX_STEPS):
        if expr is None:
            return None, None
        if expr.type == "identifier":
            b = facts.assignment_of(expr)
            if b is None:
                return from_every_call(ctx, expr, lambda arg: origin(ctx, arg, depth + 1), depth)
            expr = strip(b.value)
            continue
        if expr.type == "subscript":   # `dsets["train"]`, `tfds.load(..., split=[...])[0]`
            expr = strip(expr.named_children[0]) if expr.named_children else None
            continue
        if expr.type != "call":
            return None, None
        qual = facts.callee_qual(expr)
        if qual is not None:
            return ("tf" if makes_dataset(qual) else "hf" if makes_hf_dataset(qual) else "other"), expr
        recv, method = method_call(expr)
        if method == "to_tf_dataset":
            return "tf", expr   # a Hugging Face dataset handed to Keras
        if method == "as_dataset" and recv is not None and recv.type == "call" \
                and (facts.callee_qual(recv) or "").startswith("tensorflow_datasets."):
            return "tf", expr   # tfds.builder(name).as_dataset(split=...)
        if recv is None or (method not in DATASET_METHODS and method not in HF_METHODS):
            return None, None
        expr = strip(recv)
    return None, None


def from_every_call(ctx, ident, judge, depth: int):
    """`def split(ds): ...`: what `judge` says of the argument every call of the function in
    the file passes for the parameter `ident`, when they all agree (the first call's answer);
    (None, None) otherwise, for a method, or past two levels of calls."""
    facts = ctx.facts
    name = ctx.text(ident)
    b = facts.binding(name, ident.start_byte)
    func = facts.function_at(ident.start_byte)
    if depth >= 2 or b is None or b.kind != "param" or func is None or b.scope != func.start_byte \
            or is_method(func):
        return None, None
    fname = func.child_by_field_id(F_NAME)
    index, keyword_only = param_index(facts, func, name)
    if fname is None or index is None:
        return None, None
    answers = []
    for call in facts.calls_named(ctx.text(fname)):
        pos, kw = args_of(call)
        arg = kw.get(name) if name in kw or keyword_only else (pos[index] if index < len(pos) else None)
        answer = judge(arg) if arg is not None else (None, None)
        if answer[0] is None or (answers and answer[0] != answers[0][0]):
            return None, None
        answers.append(answer)
    return answers[0] if answers else (None, None)
