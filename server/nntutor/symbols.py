"""Imports and aliases -> qualified names.

`import torch.nn as nn` makes `nn.Dropout` mean `torch.nn.Dropout`; `from tensorflow.keras import
layers` makes `layers.Dense` mean `keras.layers.Dense`. Names are canonicalised so rules match one
spelling: `tensorflow.keras.*` and `tf.keras.*` become `keras.*`, torch's re-export paths collapse.
"""
from __future__ import annotations

from .parsing import F_ALIAS, F_ATTRIBUTE, F_MODULE_NAME, F_NAME, F_OBJECT


def canonical(qual: str) -> str:
    if qual.startswith("tensorflow.keras"):
        return "keras" + qual[len("tensorflow.keras"):]
    if qual.startswith("keras.src."):
        return "keras." + qual[len("keras.src."):]
    if qual.startswith("torch.nn.modules.") and qual.count(".") >= 4:
        return "torch.nn." + qual.rsplit(".", 1)[1]
    if qual.startswith("keras.api."):
        return "keras." + qual[len("keras.api."):]
    return qual


def collect_imports(nodes_import, nodes_from, text) -> dict[str, str]:
    """Local name -> canonical qualified name, for every import in the file (any scope)."""
    names: dict[str, str] = {}
    for node in nodes_import:
        for child in node.named_children:
            if child.type == "dotted_name":
                full = text(child)
                names[full.split(".", 1)[0]] = full.split(".", 1)[0]
                # `import torch.nn` also makes `torch.nn.X` resolvable through `torch`.
            elif child.type == "aliased_import":
                target = child.child_by_field_id(F_NAME)
                alias = child.child_by_field_id(F_ALIAS)
                if target is not None and alias is not None:
                    names[text(alias)] = canonical(text(target))
    for node in nodes_from:
        module = node.child_by_field_id(F_MODULE_NAME)
        if module is None:
            continue
        base = text(module)
        if base.startswith("."):
            base = base.lstrip(".")  # relative import: a local module of the project
        for child in node.children_by_field_name("name"):
            if child.type == "dotted_name":
                local = text(child)
                names[local.split(".")[-1]] = canonical(f"{base}.{local}" if base else local)
            elif child.type == "aliased_import":
                target = child.child_by_field_id(F_NAME)
                alias = child.child_by_field_id(F_ALIAS)
                if target is not None and alias is not None:
                    names[text(alias)] = canonical(f"{base}.{text(target)}" if base else text(target))
    return names


# Names that a `from X import *` of a convenience library binds to torch modules: fastai's
# `from fastai.vision.all import *` (through fastai.torch_imports, in v1 and v2) and
# torch_snippets (the "Modern Computer Vision with PyTorch" helpers) hand the notebook `torch`,
# `nn` and `F`; without them `nn.Dropout(...)` there would resolve to nothing.
_TORCH_NAMES = {"torch": "torch", "nn": "torch.nn", "F": "torch.nn.functional"}
_STAR_EXPORTS = {
    "torch_snippets": {**_TORCH_NAMES, "optim": "torch.optim"},
    "fastai.basics": _TORCH_NAMES,
    "fastai.torch_basics": _TORCH_NAMES,
    "fastai.torch_imports": _TORCH_NAMES,
    "fastai.torch_core": _TORCH_NAMES,
    "fastai.conv_learner": _TORCH_NAMES,   # fastai 0.7's notebooks
}


def star_exports(module: str) -> dict[str, str]:
    """Local name -> qualified name that `from module import *` binds, for the libraries known to
    re-export torch (empty for any other module: what a star import brings is unknown)."""
    found = _STAR_EXPORTS.get(module)
    if found is None and module.startswith("fastai.") and module.endswith(".all"):
        found = _TORCH_NAMES   # fastai.vision.all, fastai.text.all, fastai.tabular.all ...
    return found or {}


# Public names of small modules that old Keras tutorials star-import next to `keras.layers`
# (`from keras.models import *` + `from keras.layers import *` + `from keras.callbacks import
# *`): with these known, a name from the one big module without a table can be told apart.
_KERAS_SMALL_MODULES = {
    "models": frozenset({"Sequential", "Model", "load_model", "save_model", "clone_model",
                         "model_from_json", "model_from_yaml", "model_from_config"}),
    "callbacks": frozenset({"EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau", "TensorBoard",
                            "CSVLogger", "LearningRateScheduler", "Callback", "LambdaCallback",
                            "TerminateOnNaN", "History", "ProgbarLogger", "RemoteMonitor",
                            "BackupAndRestore", "CallbackList"}),
    "optimizers": frozenset({"Adam", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam",
                             "AdamW", "Ftrl", "Lion", "Optimizer", "get", "schedules"}),
}
_KERAS_PREFIXES = ("keras.", "tensorflow.keras.", "tensorflow.python.keras.")
STAR_NAME_TABLES = {f"{prefix}{sub}": names for sub, names in _KERAS_SMALL_MODULES.items()
                    for prefix in _KERAS_PREFIXES}


def star_module_of(name: str, modules: list[str]) -> str | None:
    """Which of several `*`-imported modules binds `name`: the one whose known table holds it,
    else the one module without a table (when every other has one and none holds the name);
    None when that cannot be told."""
    holding = [m for m in modules if name in STAR_NAME_TABLES.get(m, ())]
    if holding:
        last = max(i for i, m in enumerate(modules) if m == holding[-1])
        if any(m not in STAR_NAME_TABLES and not m.startswith(_KERAS_PREFIXES) for m in modules[last + 1:]):
            return None   # a later `from utils import *` may bind the name again (Keras'
            # own modules do not bind each other's names)
        return holding[-1]   # a later `*` import wins
    untabled = [m for m in modules if m not in STAR_NAME_TABLES]
    return untabled[0] if len(untabled) == 1 else None


def star_imports(nodes_from, text) -> list[str]:
    """The modules imported with `from module import *` (absolute imports only), in order."""
    out = []
    for node in nodes_from:
        module = node.child_by_field_id(F_MODULE_NAME)
        if module is None or text(module).startswith("."):
            continue
        if any(c.type == "wildcard_import" for c in node.children):
            out.append(text(module))
    return out


def qualname(node, imports: dict[str, str], text) -> str | None:
    """Qualified name of an identifier / attribute chain, or None when it is not an import."""
    attrs = []
    while node is not None and node.type == "attribute":
        attr = node.child_by_field_id(F_ATTRIBUTE)
        if attr is None:
            return None
        attrs.append(attr)
        node = node.child_by_field_id(F_OBJECT)
    if node is None or node.type != "identifier":
        return None
    head = imports.get(text(node))
    if head is None:
        return None  # most chains (`self.fc(...)`, `x.view(...)`): no attribute decoded
    parts = [text(attr) for attr in reversed(attrs)]
    return canonical(".".join([head, *parts]))
