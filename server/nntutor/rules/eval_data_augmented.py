"""eval-data-augmented: random training augmentation applied to validation or test data.

Reported:

* a dataset built for evaluation — `train=False`, `split="test"` (or val / valid ...), a folder
  path or a target name that says test / val — given a `transform` whose pipeline (followed
  through names, `Compose([...])` and `{"train": ..., "val": ...}[key]`) contains a random
  torchvision or albumentations op (`RandomCrop`, `RandomHorizontalFlip`, `ColorJitter`, ...);
* `train_ds, val_ds = random_split(full, ...)` where `full` has such a transform: the parts share
  their parent's transform, so the validation part is augmented too;
* Keras: evaluation data drawn from an `ImageDataGenerator` given random arguments
  (`rotation_range=20`, `horizontal_flip=True` ...): `subset="validation"` of a generator with
  `validation_split`, a flow assigned to `val_gen` / `test_generator`, over `X_test` or a
  test / validation folder, or passed as `validation_data=` or to `evaluate` / `predict`.

Deliberate test-time augmentation (a dataset name that says `tta` or `aug`, a transform name
that says `tta`) is left alone.
"""
from __future__ import annotations

import re

from ..findings import Fix, Severity
from ..parsing import F_FUNCTION, F_LEFT, F_NAME, F_RIGHT, F_VALUE
from ..values import args_of, follow, has_splat, literal_value, method_call, string_value, strip
from . import Rule
from ._uses import identifier_nodes, used_beyond_a_peek

TRANSFORM_PACKAGES = ("torchvision.transforms.", "albumentations.")
# Ops that draw something at random on every call (torchvision v1 and v2, albumentations).
RANDOM_OPS = frozenset({
    "RandomCrop", "RandomResizedCrop", "RandomHorizontalFlip", "RandomVerticalFlip",
    "RandomRotation", "RandomAffine", "RandomPerspective", "RandomErasing", "RandomGrayscale",
    "RandomInvert", "RandomPosterize", "RandomSolarize", "RandomAdjustSharpness",
    "RandomAutocontrast", "RandomEqualize", "RandomApply", "RandomChoice", "RandomOrder",
    "RandomZoomOut", "RandomIoUCrop", "RandomPhotometricDistort", "RandomShortestSize",
    "RandomResize", "RandomChannelPermutation", "ScaleJitter", "ColorJitter", "RandAugment",
    "AutoAugment", "TrivialAugmentWide", "AugMix", "ElasticTransform", "GaussianBlur",
    "GaussianNoise", "CutMix", "MixUp",
    # albumentations
    "HorizontalFlip", "VerticalFlip", "RandomRotate90", "Rotate", "ShiftScaleRotate", "Affine",
    "RandomBrightnessContrast", "HueSaturationValue", "RandomSizedCrop", "CoarseDropout",
    "GaussNoise", "MotionBlur", "Transpose", "RandomGamma", "CLAHE", "GridDistortion",
    "OpticalDistortion", "Perspective", "RandomScale", "OneOf", "SomeOf", "ToGray", "Blur",
})
COMPOSERS = frozenset({"Compose", "Sequential"})
_EVAL_TOKEN = re.compile(r"^(test|testing|val|valid|validation|eval|evaluation|dev|holdout)"
                         r"(set|data|dataset|ds|loader|dl|gen|generator|images|imgs|dir|path|split)?$")
_EVAL_SPLIT = frozenset({"test", "val", "valid", "validation", "eval", "dev", "testing"})
# Test-time augmentation: a dataset named for it (`tta_set`, `test_aug`), or a TTA pipeline.
_DELIBERATE = re.compile(r"tta|aug", re.IGNORECASE)
_TTA = re.compile(r"tta", re.IGNORECASE)
_TRANSFORM_KW = re.compile(rb"transforms?\s*=")
_FOLDER_DATASETS = frozenset({"torchvision.datasets.ImageFolder", "torchvision.datasets.DatasetFolder"})
SPLITS = frozenset({"torch.utils.data.random_split", "torch.utils.data.dataset.random_split"})
KERAS_GENERATORS = frozenset(f"{p}preprocessing.image.ImageDataGenerator"
                             for p in ("keras.", "tensorflow.keras.", "tensorflow.python.keras."))
KERAS_FLOWS = ("flow", "flow_from_directory", "flow_from_dataframe")
# ImageDataGenerator arguments that draw something at random for every image (the rest, such as
# rescale, featurewise_center or fill_mode, are deterministic).
KERAS_RANDOM_ARGS = ("rotation_range", "width_shift_range", "height_shift_range", "brightness_range",
                     "shear_range", "zoom_range", "channel_shift_range", "horizontal_flip", "vertical_flip")
# Methods whose first argument is evaluation data.
_KERAS_EVALUATE = frozenset({"evaluate", "predict", "evaluate_generator", "predict_generator"})


def check(ctx):
    for call in _dataset_calls(ctx):
        transform = _transform_arg(ctx, call)
        if transform is None:
            continue
        target = _target_name(ctx, call)
        if not _builds_eval_data(ctx, call, target):
            continue
        if _DELIBERATE.search(target or "") or _TTA.search(ctx.text(transform)) or _in_tta_loop(ctx, call) \
                or _only_read_in_tta_loops(ctx, target, call):
            continue  # `tta_set = ...`, `transform=tta_transforms`: augmented on purpose
        op = _random_op(ctx, transform)
        if op is None:
            continue
        yield ctx.finding(
            transform,
            f"`{ctx.text(transform)}` augments at random (`{ctx.text(op.child_by_field_id(F_FUNCTION))}`), "
            f"and it is applied to {f'`{target}`, ' if target else ''}evaluation data: every evaluation then scores "
            "different, distorted versions of the images, so the metric is noisy and biased "
            "(usually too low), and model selection or early stopping follows the noise. Give "
            "evaluation data a deterministic transform (resize / center crop, to tensor, normalize).",
            related=[ctx.related(op, "random augmentation")],
            fix=_use_eval_transform(ctx, transform))
    yield from _augmented_splits(ctx)
    yield from _augmented_sampler_splits(ctx)
    yield from _keras_generators(ctx)


def _dataset_calls(ctx) -> list:
    calls = ctx.facts.calls_at_text(_TRANSFORM_KW)
    seen = {c.start_byte for c in calls}
    for call in ctx.facts.calls_to(_FOLDER_DATASETS):  # ImageFolder(root, transform)
        if call.start_byte not in seen:
            calls.append(call)
    return calls


def _transform_arg(ctx, call):
    pos, kw = args_of(call)
    found = kw.get("transform", kw.get("transforms"))
    if found is None and len(pos) > 1 and ctx.facts.callee_qual(call) in _FOLDER_DATASETS:
        found = pos[1]
    if found is None or strip(found) is None or ctx.text(found) == "None":
        return None
    return found


def _target_name(ctx, call) -> str | None:
    """`test_set` in `test_set = CIFAR10(...)` (an attribute or subscript target too)."""
    parent = call.parent
    left = parent.child_by_field_id(F_LEFT) if parent is not None and parent.type == "assignment" else None
    if left is not None and left.type in ("identifier", "attribute", "subscript"):
        return ctx.text(left)
    return None


def _tokens(text: str) -> list[str]:
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", text)  # testLoader -> test_Loader
    return [t for t in re.split(r"[^A-Za-z]+", text.lower()) if t]


def says_eval(text: str) -> bool:
    tokens = _tokens(text)
    return any(_EVAL_TOKEN.match(t) for t in tokens) and not any("train" in t for t in tokens)


def _builds_eval_data(ctx, call, target) -> bool:
    """The dataset is evaluation data: `train=False`, `split="test"`, a folder path or a target
    name that says test / val (and not train)."""
    pos, kw = args_of(call)
    for key in ("train", "is_train", "training"):
        if key in kw:
            return ctx.text(kw[key]) == "False"
    for key in ("split", "mode", "subset", "phase", "stage"):
        if key in kw:
            value = string_value(kw[key])
            return value is not None and value.lower() in _EVAL_SPLIT
    if target is not None:
        return says_eval(target)
    if pos and ctx.facts.callee_qual(call) in _FOLDER_DATASETS:
        return says_eval(ctx.text(pos[0]))  # ImageFolder(os.path.join(root, "val"), ...)
    return False


def _random_op(ctx, transform, depth: int = 0):
    """The first random op in the pipeline `transform` stands for, or None."""
    node = _resolve(ctx, transform)
    if node is None or node.type != "call" or depth > 4:
        return None
    name = _transform_name(ctx, node)
    if name in RANDOM_OPS:
        return node
    if name in COMPOSERS:
        pos, kw = args_of(node)
        items = pos[0] if pos else kw.get("transforms")
        items = _resolve(ctx, items)
        if items is None or items.type not in ("list", "tuple"):
            return None
        for item in items.named_children:
            found = _random_op(ctx, item, depth + 1)
            if found is not None:
                return found
    return None


def _transform_name(ctx, call) -> str | None:
    """`RandomCrop` for torchvision / albumentations transforms, else None."""
    qual = ctx.facts.callee_qual(call)
    if qual is None or not (qual.startswith(TRANSFORM_PACKAGES) or qual == "torch.nn.Sequential"):
        return None
    return qual.rsplit(".", 1)[-1]


def _resolve(ctx, expr):
    """Follow names, and `table["key"]` into a dict literal `{"key": value, ...}`."""
    node = follow(ctx.facts, expr)
    if node is not None and node.type == "subscript" and len(node.named_children) == 2:
        table, key = node.named_children
        key = string_value(key)
        table = follow(ctx.facts, table)
        if key is None or table is None or table.type != "dictionary":
            return None
        for pair in table.named_children:
            if pair.type == "pair" and string_value(pair.named_children[0]) == key:
                return follow(ctx.facts, pair.child_by_field_id(F_VALUE))
        return None
    return node


def _use_eval_transform(ctx, transform) -> Fix | None:
    """Swap in the file's evaluation pipeline when there is exactly one: a name or a
    `table["val"]` entry that says test / val and has no random op."""
    node = strip(transform)
    candidates = set()
    if node is not None and node.type == "subscript" and len(node.named_children) == 2:
        table_node = node.named_children[0]
        table = follow(ctx.facts, table_node)
        if table is not None and table.type == "dictionary":
            for pair in table.named_children:
                key = string_value(pair.named_children[0]) if pair.type == "pair" else None
                if key is not None and says_eval(key) and _random_op(ctx, pair.child_by_field_id(F_VALUE)) is None:
                    quote = '"' if '"' not in key else "'"
                    candidates.add(f"{ctx.text(table_node)}[{quote}{key}{quote}]")
    elif node is not None and node.type == "identifier":
        for name, bindings in ctx.facts.bindings.items():
            lower = name.lower()
            looks_like_pipeline = "transform" in lower or lower.endswith(("tf", "tfms"))
            if name == ctx.text(node) or not looks_like_pipeline or not says_eval(name):
                continue
            if any(b.kind != "assign" or b.index is not None or b.value is None for b in bindings):
                continue
            seen = ctx.facts.binding(name, node.start_byte)
            if seen is None or not _unconditional(seen.target):
                continue   # made further down, in another scope, or only under an `if`
            if all(_is_pipeline(ctx, b.value) and _random_op(ctx, b.value) is None for b in bindings):
                candidates.add(name)
    if len(candidates) != 1:
        return None
    (replacement,) = candidates
    return Fix(f"Use `{replacement}` (no random augmentation)", (ctx.edit(transform, replacement),))


_BRANCHES = frozenset({"if_statement", "elif_clause", "else_clause", "try_statement",
                       "except_clause", "for_statement", "while_statement", "with_statement",
                       "match_statement", "case_clause"})


def _unconditional(target) -> bool:
    """The assignment of `target` runs whenever its function (or the module) does: no `if`,
    `try`, loop or `with` around it there."""
    node = target.parent
    while node is not None and node.type not in ("function_definition", "module"):
        if node.type in _BRANCHES:
            return False
        node = node.parent
    return True


def _is_pipeline(ctx, value) -> bool:
    value = strip(value)
    return value is not None and value.type == "call" and _transform_name(ctx, value) is not None


def _augmented_splits(ctx):
    """`train_ds, val_ds = random_split(full, ...)` over a dataset with a random transform."""
    for split in ctx.facts.calls_to(SPLITS):
        parent = split.parent
        if parent is None or parent.type != "assignment":
            continue
        left = parent.child_by_field_id(F_LEFT)
        if left is None or left.type not in ("pattern_list", "tuple_pattern", "list_pattern"):
            continue
        parts = [ctx.text(p) for p in left.named_children if p.type == "identifier"]
        evals = [p for p in parts if says_eval(p) and not _DELIBERATE.search(p)]
        pos, kw = args_of(split)
        source = pos[0] if pos else kw.get("dataset")
        made = follow(ctx.facts, source) if source is not None else None
        if not evals or made is None or made.type != "call":
            continue
        transform = _transform_arg(ctx, made)
        op = _random_op(ctx, transform) if transform is not None else None
        if op is None or _transform_reassigned(ctx, evals):
            continue
        yield ctx.finding(
            split.child_by_field_id(F_FUNCTION),
            f"`{', '.join(evals)}` comes out of `random_split` over `{ctx.text(source)}`, whose "
            f"transform augments at random (`{ctx.text(op.child_by_field_id(F_FUNCTION))}`): the "
            "parts share their parent's transform, so evaluation data is augmented too and its "
            "metric is noisy and biased. Build the evaluation part from a dataset with a "
            "deterministic transform (e.g. two datasets over the same files, split by the same "
            "indices with `Subset`).",
            related=[ctx.related(transform, "the parent dataset's transform"),
                     ctx.related(op, "random augmentation")])


_LOADERS = frozenset({"torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader"})
_SUBSET_SAMPLERS = frozenset({"SubsetRandomSampler", "SubsetSampler"})


def _augmented_sampler_splits(ctx):
    """`valid_loader = DataLoader(train_data, sampler=SubsetRandomSampler(valid_idx))` where
    `train_data` has a random transform (Udacity's CIFAR-10 notebook): the validation indices
    are drawn from the augmented training dataset, so validation images are augmented too."""
    for loader in ctx.facts.calls_to(_LOADERS):
        pos, kw = args_of(loader)
        sampler = kw.get("sampler")
        source = pos[0] if pos else kw.get("dataset")
        target = _target_name(ctx, loader)
        if sampler is None or source is None:
            continue
        made_sampler = follow(ctx.facts, sampler)
        if made_sampler is None or made_sampler.type != "call":
            continue
        fn = made_sampler.child_by_field_id(F_FUNCTION)
        if fn is None or ctx.text(fn).rsplit(".", 1)[-1] not in _SUBSET_SAMPLERS:
            continue
        indices = args_of(made_sampler)[0] or [args_of(made_sampler)[1].get("indices")]
        names = [n for n in (target, ctx.text(sampler), ctx.text(indices[0]) if indices and indices[0] is not None else "")
                 if n]
        if not any(says_eval(n) for n in names) or any(_DELIBERATE.search(n) for n in names):
            continue
        made = follow(ctx.facts, source)
        if made is None or made.type != "call":
            continue
        transform = _transform_arg(ctx, made)
        op = _random_op(ctx, transform) if transform is not None else None
        if op is None or _transform_reassigned(ctx, [ctx.text(source)]):
            continue
        yield ctx.finding(
            sampler,
            f"{f'`{target}`' if target else 'This loader'} samples evaluation indices from "
            f"`{ctx.text(source)}`, whose transform augments at random "
            f"(`{ctx.text(op.child_by_field_id(F_FUNCTION))}`): the validation images are "
            "augmented too, so the metric is noisy and biased, and a checkpoint chosen on it "
            "follows the noise. Build the validation loader over a second dataset of the same "
            "files with a deterministic transform, sampled by the same indices.",
            related=[ctx.related(transform, "the dataset's transform"),
                     ctx.related(op, "random augmentation")])


# Predictions summed over the passes of a loop: `preds += model.predict(...)`.
_SUMMED_PREDICTIONS = re.compile(r"\+=[^\n]*\bpredict")   # over the code, comments blanked


def _in_tta_loop(ctx, call) -> bool:
    """Test-time augmentation by its shape: the augmented data is drawn in a loop whose variable
    or range says so (`for aug in range(test_aug)`), or that adds up predictions pass after pass
    (`predictions += model.predict(gen)`, then divided by the number of passes)."""
    loop = ctx.facts.innermost_loop(call.start_byte)
    return loop is not None and _tta_loop(ctx, loop)


def _tta_loop(ctx, loop, by_name_only: bool = False) -> bool:
    left, right = loop.child_by_field_id(F_LEFT), loop.child_by_field_id(F_RIGHT)
    if loop.type == "for_statement" and left is not None and right is not None:
        head = ctx.facts.code_in(left) + " " + ctx.facts.code_in(right)
        if re.search(r"(?i)(?:^|[\W_])(?:tta|aug|augment\w*)(?:$|[\W_])", head):
            return True
    return not by_name_only and _SUMMED_PREDICTIONS.search(ctx.facts.code_in(loop)) is not None


def _only_read_in_tta_loops(ctx, target, call) -> bool:
    """The dataset is built once and read (other than for its length) only inside loops shaped
    like test-time augmentation: `for tta in range(n): loader = DataLoader(test_dataset, ...)`."""
    if not target or not target.isidentifier():
        return False
    facts = ctx.facts
    uses = [n for n in identifier_nodes(ctx, target, call.end_byte) if not _length_of(ctx, n)]
    if not uses:
        return False
    for node in uses:
        loops = facts.loops_containing(node.start_byte)
        # (by the loop's name only: a k-fold ensemble also sums predictions pass after pass)
        if not any(_tta_loop(ctx, lp, by_name_only=True) for lp in loops):
            return False
    return True


def _length_of(ctx, node) -> bool:
    """`len(test_dataset)`: its size, not its items."""
    args = node.parent
    call = args.parent if args is not None and args.type == "argument_list" else None
    fn = call.child_by_field_id(F_FUNCTION) if call is not None else None
    return fn is not None and ctx.text(fn) == "len"


def _transform_reassigned(ctx, names) -> bool:
    """`val_ds.dataset.transform = ...` somewhere in the code (after a deepcopy, the usual way
    to give a split part its own transform): the author has dealt with it."""
    return any(ctx.facts.code_matches(re.compile(
        rb"(?<![\w.])" + re.escape(n.encode()) + rb"\.(dataset\.)?transforms?\s*=")) for n in names)


# -- Keras ImageDataGenerator ------------------------------------------------------------------
def _keras_generators(ctx):
    """`val_gen = datagen.flow_from_directory(..., subset="validation")` where `datagen` was
    built with random arguments."""
    for method in KERAS_FLOWS:
        for call, receiver in ctx.facts.method_calls(method):
            ctor = follow(ctx.facts, receiver)
            if ctor is None or ctor.type != "call" or ctx.facts.callee_qual(ctor) not in KERAS_GENERATORS:
                continue
            randoms = _keras_random_args(ctor)
            if not randoms:
                continue
            target = _target_name(ctx, call)
            why = _keras_eval_use(ctx, call, target)
            if why is None or _TTA.search(target or "") or _TTA.search(ctx.text(receiver)) \
                    or _in_tta_loop(ctx, call):
                continue
            shown = ", ".join(ctx.text(a) for a in randoms[:3]) + (", ..." if len(randoms) > 3 else "")
            subset = "subset" in args_of(call)[1]
            yield ctx.finding(
                call.child_by_field_id(F_FUNCTION),
                f"{why} comes from `{ctx.text(receiver)}`, an ImageDataGenerator that augments at random "
                f"({shown}): evaluation then scores different, distorted versions of the images every "
                "time, so the metric is noisy and biased and early stopping or checkpointing follows "
                "the noise. "
                + ("With `validation_split`, both subsets share the generator's augmentation: flow the "
                   "validation subset from a second `ImageDataGenerator` with the same `rescale` and "
                   "`validation_split` and no random arguments (and the same `seed` in both flows)."
                   if subset else
                   "Flow evaluation data from a generator without the random arguments "
                   "(`ImageDataGenerator(rescale=...)`)."),
                related=[ctx.related(a, "random augmentation") for a in randoms[:3]],
                fix=_use_plain_generator(ctx, call, receiver, ctor))


def _keras_random_args(ctor) -> list:
    """The keyword arguments of an ImageDataGenerator call that turn on random augmentation:
    a non-zero number, True, or a literal range (`zoom_range=[0.8, 1.2]`)."""
    _, kw = args_of(ctor)
    found = []
    for name in KERAS_RANDOM_ARGS:
        node = kw.get(name)
        if node is None:
            continue
        value = literal_value(node)
        if value is None:
            inner = strip(node)
            if inner is not None and inner.type in ("list", "tuple") and inner.named_children:
                found.append(node.parent)
        elif value is True or (value is not False and value != 0):
            found.append(node.parent)
    return found


def _keras_eval_use(ctx, call, target) -> str | None:
    """How the flow is evaluation data (for the message), or None when it is not (known to be)."""
    pos, kw = args_of(call)
    if "subset" in kw:
        value = string_value(kw["subset"])
        return f'The `subset="{value}"` flow' if value is not None and value.lower() in _EVAL_SPLIT else None
    if target is not None and says_eval(target):
        # only if used: lazyprogrammer's `test_gen` is read for `class_indices` and one image shown
        return f"`{target}`" if used_beyond_a_peek(ctx, call) else None
    data = pos[0] if pos else next((kw[k] for k in ("directory", "x", "dataframe") if k in kw), None)
    if data is not None and says_eval(ctx.text(data)):
        return f"The flow over `{ctx.text(data)}`" if used_beyond_a_peek(ctx, call) else None
    parent = call.parent
    if parent is not None and parent.type == "keyword_argument" and \
            ctx.text(parent.child_by_field_id(F_NAME)) == "validation_data":
        return "The `validation_data` flow"
    outer = parent.parent if parent is not None and parent.type == "argument_list" else None
    if outer is not None and outer.type == "call" and args_of(outer)[0][:1] == [call]:
        _, method = method_call(outer)
        if method in _KERAS_EVALUATE:
            return f"The data given to `{method}()`"
    return None


def _use_plain_generator(ctx, call, receiver, ctor) -> Fix | None:
    """Flow from the file's one generator without random arguments, bound to a name once (for a
    `subset=` flow it must have the same `validation_split`)."""
    receiver = strip(receiver)
    if receiver is None or receiver.type != "identifier":
        return None
    split = args_of(ctor)[1].get("validation_split")
    needs_split = "subset" in args_of(call)[1]
    candidates = set()
    for name, bindings in ctx.facts.bindings.items():
        if name == ctx.text(receiver) or len(bindings) != 1:
            continue
        (b,) = bindings
        value = strip(b.value) if b.kind == "assign" and b.index is None and b.value is not None else None
        if value is None or value.type != "call" or ctx.facts.callee_qual(value) not in KERAS_GENERATORS:
            continue
        if _keras_random_args(value) or has_splat(value):
            continue
        if ctx.facts.binding(name, receiver.start_byte) is not b or not _unconditional(b.target):
            continue   # made further down (the test set's generator), not visible, or under an `if`
        other = args_of(value)[1].get("validation_split")
        if needs_split and (split is None or other is None or ctx.text(other) != ctx.text(split)):
            continue
        candidates.add(name)
    if len(candidates) != 1:
        return None
    (name,) = candidates
    return Fix(f"Flow from `{name}` (no random augmentation)", (ctx.edit(receiver, name),))


RULE = Rule("eval-data-augmented", Severity.WARNING, "data-augmentation",
            "Random augmentation applied to validation or test data", check,
            needs=(b"transform", b"ImageDataGenerator"))
