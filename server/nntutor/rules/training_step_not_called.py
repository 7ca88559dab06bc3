"""training-step-not-called: `loss.backward` / `optimizer.step` without parentheses do nothing."""
from __future__ import annotations

import re

from ..findings import Severity
from . import Rule
from ._bare import bare_pattern, bare_references, call_fix, used_with

_BARE = bare_pattern("backward", "step")
_OPTIMIZER_NAME = re.compile(r"optim|(?:^|_)opt(?:$|_)|sched", re.I)


def check(ctx):
    for attr, method, receiver in bare_references(ctx, _BARE):
        if method == "step" and not _is_optimizer(ctx, receiver):
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
            fix=call_fix(ctx, attr))


def _is_optimizer(ctx, receiver) -> bool:
    """An optimizer or learning-rate scheduler: built from torch.optim, named like one, or given
    `.zero_grad()` / `.step()` / `.param_groups` elsewhere in the file."""
    qual, _ = ctx.values.instance(receiver)
    if qual is not None:
        return qual.startswith("torch.optim.")
    if _OPTIMIZER_NAME.search(ctx.text(receiver).rsplit(".", 1)[-1]):
        return True
    return used_with(ctx, receiver, ("zero_grad", "step"))


RULE = Rule("training-step-not-called", Severity.ERROR, "training-loop",
            "loss.backward / optimizer.step without parentheses", check, needs=(b"torch",))
