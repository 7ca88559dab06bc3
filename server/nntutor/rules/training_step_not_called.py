"""training-step-not-called: `loss.backward` / `optimizer.step` without parentheses do nothing."""
from __future__ import annotations

import re

from ..findings import Fix, Severity, TextEdit
from ..parsing import F_ATTRIBUTE, F_OBJECT
from . import Rule

# `.backward` / `.step` ending a line (a comment may follow): the statement candidates.
_BARE = re.compile(rb"\.(?:backward|step)[ \t]*(?:#[^\n]*)?$", re.M)
_OPTIMIZER_NAME = re.compile(r"optim|(?:^|_)opt(?:$|_)|sched", re.I)


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
        method = ctx.text(node)
        if receiver is None or (method == "step" and not _is_optimizer(ctx, receiver)):
            continue
        name = ctx.text(receiver)
        if method == "backward":
            effect = ("no gradient is computed, so the optimizer step that follows changes nothing "
                      "(or only applies weight decay) and the model does not learn")
        else:
            effect = "the parameters (or the learning rate, for a scheduler) are never updated"
        yield ctx.finding(
            attr, f"`{name}.{method}` without parentheses only looks the method up: {effect}. "
            f"Call it: `{name}.{method}()`.",
            fix=Fix(f"Call `{name}.{method}()`", (TextEdit(attr.end_byte, attr.end_byte, "()"),)))


def _is_optimizer(ctx, receiver) -> bool:
    """An optimizer or learning-rate scheduler: built from torch.optim, named like one, or given
    `.zero_grad()` / `.step()` / `.param_groups` elsewhere in the file."""
    qual, _ = ctx.values.instance(receiver)
    if qual is not None:
        return qual.startswith("torch.optim.")
    text = ctx.text(receiver)
    if _OPTIMIZER_NAME.search(text.rsplit(".", 1)[-1]):
        return True
    facts = ctx.facts
    return any(r is not None and ctx.text(r) == text
               for method in ("zero_grad", "step") for _c, r in facts.method_calls(method))


RULE = Rule("training-step-not-called", Severity.ERROR, "training-loop",
            "loss.backward / optimizer.step without parentheses", check, needs=(b"torch",))
