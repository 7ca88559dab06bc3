"""mode-switch-not-called: `model.eval` / `model.train` without parentheses switch nothing."""
from __future__ import annotations

import re

from ..findings import Fix, Severity, TextEdit
from ..parsing import F_ATTRIBUTE, F_OBJECT
from . import Rule
from ._training import MODEL_FACTORIES

# `.eval` / `.train` ending a line (a comment may follow): the statement candidates.
_BARE = re.compile(rb"\.(?:eval|train)[ \t]*(?:#[^\n]*)?$", re.M)
# Calls that show a name holds a module (a torch model, a layer): `.eval()` on it elsewhere, ...
_MODULE_METHODS = ("eval", "train", "parameters", "named_parameters", "state_dict",
                   "load_state_dict", "to", "cuda", "cpu", "zero_grad", "forward", "modules")


def check(ctx):
    facts = ctx.facts
    root = ctx.doc.tree.root_node
    for m in facts.code_matches(_BARE):
        node = root.descendant_for_byte_range(m.start() + 1, m.start() + 2)
        attr = node.parent if node is not None else None
        stmt = attr.parent if attr is not None else None
        if (attr is None or attr.type != "attribute" or attr.child_by_field_id(F_ATTRIBUTE) != node
                or stmt is None or stmt.type != "expression_statement" or stmt.named_child_count != 1):
            continue
        receiver = attr.child_by_field_id(F_OBJECT)
        if receiver is None or not _looks_like_module(ctx, receiver):
            continue
        method = ctx.text(node)
        name = ctx.text(receiver)
        mode = "evaluation" if method == "eval" else "training"
        yield ctx.finding(
            attr, f"`{name}.{method}` without parentheses only looks the method up: `{name}` is not "
            f"switched to {mode} mode, so dropout and batch norm keep their current behaviour. "
            f"Call it: `{name}.{method}()`.",
            fix=Fix(f"Call `{name}.{method}()`", (TextEdit(attr.end_byte, attr.end_byte, "()"),)))


def _looks_like_module(ctx, receiver) -> bool:
    """The receiver holds a torch module: built from one, or used like one somewhere in the
    file (called, or given `.parameters()`, `.to(...)`, `.eval()` ...). A pandas frame or a
    dataset split (`mnist.train`, shown as the last line of a notebook cell) is none of these."""
    qual, _ = ctx.values.instance(receiver)
    if qual is not None:
        return (qual.startswith(("torch.nn.", "torchvision.models.")) or qual.startswith(MODEL_FACTORIES)
                or (ctx.values.local_class(qual) is not None and ctx.values.local_class(qual).framework == "torch"))
    text = ctx.text(receiver)
    facts = ctx.facts
    if any(ctx.text(r) == text for method in _MODULE_METHODS for _c, r in facts.method_calls(method)
           if r is not None):
        return True
    return receiver.type == "identifier" and bool(facts.calls_named(text))


RULE = Rule("mode-switch-not-called", Severity.WARNING, "train-eval-mode",
            "model.eval / model.train without parentheses", check, needs=(b"torch",))
