"""eval-data-augmented: random training augmentation applied to validation or test data.

Reported:

* a dataset built for evaluation — `train=False`, `split="test"` (or val / valid ...), a folder
  path or a target name that says test / val — given a `transform` whose pipeline (followed
  through names, `Compose([...])` and `{"train": ..., "val": ...}[key]`) contains a random
  torchvision or albumentations op (`RandomCrop`, `RandomHorizontalFlip`, `ColorJitter`, ...);
* `train_ds, val_ds = random_split(full, ...)` where `full` has such a transform: the parts share
  their parent's transform, so the validation part is augmented too.

Deliberate test-time augmentation (a dataset name that says `tta` or `aug`, a transform name
that says `tta`) is left alone.
"""
from __future__ import annotations

import re

from ..findings import Fix, Severity
from ..parsing import F_FUNCTION, F_LEFT, F_VALUE
from ..values import args_of, follow, string_value, strip
from . import Rule

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


def check(ctx):
    for call in _dataset_calls(ctx):
        transform = _transform_arg(ctx, call)
        if transform is None:
            continue
        target = _target_name(ctx, call)
        if not _builds_eval_data(ctx, call, target):
            continue
        if _DELIBERATE.search(target or "") or _TTA.search(ctx.text(transform)):
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
            if all(_is_pipeline(ctx, b.value) and _random_op(ctx, b.value) is None for b in bindings):
                candidates.add(name)
    if len(candidates) != 1:
        return None
    (replacement,) = candidates
    return Fix(f"Use `{replacement}` (no random augmentation)", (ctx.edit(transform, replacement),))


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


def _transform_reassigned(ctx, names) -> bool:
    """`val_ds.dataset.transform = ...` somewhere in the code (after a deepcopy, the usual way
    to give a split part its own transform): the author has dealt with it."""
    return any(ctx.facts.code_matches(re.compile(
        rb"(?<![\w.])" + re.escape(n.encode()) + rb"\.(dataset\.)?transforms?\s*=")) for n in names)


RULE = Rule("eval-data-augmented", Severity.WARNING, "data-augmentation",
            "Random augmentation applied to validation or test data", check,
            needs=(b"transform",))
