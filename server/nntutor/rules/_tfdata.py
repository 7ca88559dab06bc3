"""Where a dataset comes from: follow a dataset expression back through names, dataset methods
(`ds.map(f).batch(32)`), items (`dsets["train"]`) and the parameters of the file's functions to
the call that made it: tf.data (TensorFlow, Keras, TensorFlow Datasets) or Hugging Face
`datasets`. Shared by dataset-split-reshuffled and dataset-op-discarded."""
from __future__ import annotations

import re

from ..parsing import F_SUBSCRIPT, F_VALUE
from ..values import args_of, follow, is_method, method_call, strip
from ._modes import param_arguments

# tf.data.Dataset methods that return a new dataset (and leave their receiver as it was).
DATASET_METHODS = frozenset({
    "map", "batch", "padded_batch", "ragged_batch", "rebatch", "prefetch", "filter", "unbatch",
    "repeat", "take", "skip", "interleave", "flat_map", "with_options", "enumerate", "shuffle",
    "cache", "shard", "apply", "ignore_errors", "take_while",
    "concatenate", "window", "unique", "snapshot", "scan", "group_by_window",
    "bucket_by_sequence_length", "rejection_resample", "sample_from_datasets", "sparse_batch",
})
# Hugging Face Dataset / DatasetDict / IterableDataset methods that return a new dataset
# (set_format, set_transform and reset_format are the in-place ones).
HF_METHODS = frozenset({
    "map", "filter", "shuffle", "select", "sort", "train_test_split", "remove_columns",
    "rename_column", "rename_columns", "cast", "cast_column", "flatten", "add_column", "add_item",
    "shard", "with_format", "with_transform", "select_columns", "class_encode_column", "skip",
    "take", "flatten_indices", "align_labels_with_mapping", "batch", "repeat", "to_iterable_dataset",
})
_HF_MAKERS = frozenset({"load_dataset", "load_from_disk", "concatenate_datasets", "interleave_datasets",
                        "DatasetDict", "IterableDatasetDict"})
_TF_ROOTS = ("tensorflow.", "keras.", "tensorflow_datasets.", "tf_keras.")
# Keras functions that return a tf.data dataset.
_KERAS_DATASETS = frozenset(f"{keras}.{module}.{name}" for keras in ("keras", "tf_keras")
                            for module in ("utils", "preprocessing")
                            for name in ("image_dataset_from_directory", "text_dataset_from_directory",
                                         "audio_dataset_from_directory", "timeseries_dataset_from_array"))
MAX_STEPS = 40   # a name and a method per `ds = ds.op(...)` line: a 20-line pipeline


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


def makes_hf_dataset(ctx, qual: str | None) -> bool:
    """A call of `qual` returns a Hugging Face dataset (or DatasetDict); not when the file imports
    from a package-relative `datasets` module (`from .datasets import load_dataset`), which is
    the project's own."""
    if qual is None or not qual.startswith("datasets."):
        return False
    if ctx.facts.code_matches(_RELATIVE_DATASETS):
        return False
    parts = qual.split(".")
    if len(parts) == 2:
        return parts[1] in _HF_MAKERS
    return len(parts) == 3 and parts[1] in ("Dataset", "IterableDataset") and (
        parts[2].startswith("from_") or parts[2] == "load_from_disk")


_RELATIVE_DATASETS = re.compile(rb"from\s+\.+\s*datasets\b")


# tf.data functions and classes that return something else.
_NOT_DATASETS = frozenset({"cardinality", "Options", "save", "get_next_as_optional", "Iterator",
                           "experimental_distribute_dataset", "get_single_element"})


def origin(ctx, expr, depth: int = 0):
    """(kind, call): kind "tf" when `expr` is known to be a tf.data dataset made by the call
    (tf.data, a Keras loader, TensorFlow Datasets, `to_tf_dataset`), "hf" for a Hugging Face
    one, "other" when it comes from another call (of TensorFlow or any library) that is not
    known to make one, None when unknown (a name bound to something else, a function of the
    file, an unknown method). One subscript by a literal key is followed, straight to the call
    that made the collection (`dsets["train"]` of a DatasetDict, `tfds.load(..., split=[...])[0]`):
    a subscript of a dataset is a row or a column, not a dataset."""
    facts = ctx.facts
    expr = strip(expr)
    keyed = False   # a subscript was followed: only names may lead to the collection's call
    methods = set()   # the methods passed: each must be one of the root's library
    for _ in range(MAX_STEPS):
        if expr is None:
            return None, None
        if expr.type == "identifier":
            b = facts.binding(ctx.text(expr), expr.start_byte)
            if b is not None and b.kind == "assign" and b.index is not None and b.value is not None:
                value = strip(b.value)   # `ds, info = tfds.load(..., with_info=True)`
                if value is not None and value.type == "call" and facts.callee_qual(value) == "tensorflow_datasets.load":
                    return "tf", value
                followed = strip(follow(facts, expr))   # `tr, va = ds.take(n), ds.skip(n)`
                if followed is None or followed == expr:
                    return None, None
                expr = followed
                continue
            if b is None or b.kind != "assign" or b.value is None:
                if keyed:
                    return None, None
                return from_every_call(ctx, expr, lambda arg: origin(ctx, arg, depth + 1), depth)
            expr = strip(b.value)
            continue
        if expr.type == "subscript":   # `dsets["train"]`, `tfds.load(..., split=[...])[0]`
            index = expr.child_by_field_id(F_SUBSCRIPT)
            if keyed or index is None or index.type not in ("string", "integer"):
                return None, None
            keyed = True
            expr = strip(expr.child_by_field_id(F_VALUE))
            continue
        if expr.type != "call":
            return None, None
        qual = facts.callee_qual(expr)
        if qual is not None:
            kind = "tf" if makes_dataset(qual) else "hf" if makes_hf_dataset(ctx, qual) else "other"
            if (kind == "tf" and methods - DATASET_METHODS) or (kind == "hf" and methods - HF_METHODS):
                return "other", expr   # `ds["train"].unique("label")`: a list, not a dataset
            if keyed and kind == "hf" and not _makes_dataset_dict(qual, expr):
                return "other", expr   # `ds["label"]` of one Dataset: a column, not a dataset
            return kind, expr
        recv, method = method_call(expr)
        if recv is None or (keyed and method not in HF_METHODS):
            return None, None   # (after a key, only a DatasetDict's own map/filter/... lead on)
        if method == "to_tf_dataset":
            return "tf", expr   # a Hugging Face dataset handed to Keras
        if method == "as_dataset":
            builder = strip(follow(facts, recv))   # tfds.builder(name).as_dataset(split=...)
            if builder is not None and builder.type == "call" \
                    and (facts.callee_qual(builder) or "").startswith("tensorflow_datasets."):
                return "tf", expr
            return None, None
        if method not in DATASET_METHODS and method not in HF_METHODS:
            return None, None
        methods.add(method)
        expr = strip(recv)
    return None, None


def _makes_dataset_dict(qual: str, call) -> bool:
    """The Hugging Face call returns a DatasetDict (split by key): `load_dataset(...)` without
    `split=`, `DatasetDict(...)`; not one Dataset, whose items are rows and columns."""
    parts = qual.split(".")
    if len(parts) == 3 and parts[1] in ("Dataset", "IterableDataset"):
        return False   # `Dataset.from_dict(...)`, `Dataset.load_from_disk(...)`: one dataset
    return not (parts[-1] == "load_dataset" and "split" in args_of(call)[1])   # else maybe a dict


def from_every_call(ctx, ident, judge, depth: int):
    """`def split(ds): ...`: what `judge` says of the argument every call of the function in
    the file passes for the parameter `ident`, when they all agree (the first call's answer);
    (None, None) otherwise, for a method, or past two levels of calls."""
    fn = ctx.facts.function_at(ident.start_byte)
    if depth >= 2 or fn is None or is_method(fn):
        return None, None
    args = param_arguments(ctx, ctx.text(ident), ident.start_byte)
    if not args:
        return None, None
    answers = [judge(arg) for arg in args]
    if any(kind is None or kind != answers[0][0] for kind, _node in answers):
        return None, None
    return answers[0]
