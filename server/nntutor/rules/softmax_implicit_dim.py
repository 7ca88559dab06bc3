"""softmax-implicit-dim: a torch softmax without `dim`, which PyTorch guesses from the input."""
from __future__ import annotations

from ..findings import Severity
from ..values import args_of, has_splat
from . import Rule

# Module classes: dim is their first parameter. Functions: dim is the second (after the input).
MODULES = {"torch.nn.Softmax": "nn.Softmax", "torch.nn.LogSoftmax": "nn.LogSoftmax",
           "torch.nn.Softmin": "nn.Softmin"}
FUNCTIONS = {"torch.nn.functional.softmax": "F.softmax", "torch.nn.functional.log_softmax": "F.log_softmax",
             "torch.nn.functional.softmin": "F.softmin"}


def check(ctx):
    facts = ctx.facts
    for call in facts.calls_to(set(MODULES) | set(FUNCTIONS)):
        qual = facts.callee_qual(call)
        if has_splat(call):
            continue  # `nn.Softmax(*args)`, `F.softmax(x, **kw)`: the dim may be in there
        pos, kw = args_of(call)
        index = 0 if qual in MODULES else 1
        if qual in FUNCTIONS and not pos and "input" not in kw:
            continue  # not a real call (`F.softmax()` raises anyway)
        dim = kw.get("dim", pos[index] if len(pos) > index else None)
        if dim is not None and ctx.text(dim) != "None":
            continue
        shown = ctx.text(call)
        if len(shown) > 40 or "\n" in shown:
            shown = shown.split("(", 1)[0] + "(...)"
        yield ctx.finding(
            call, f"`{shown}` has no `dim`: PyTorch then guesses the axis from the input's rank, "
            "dim 0 for 1-D and 3-D inputs and dim 1 otherwise, and warns that this guess is "
            "deprecated. On a (batch, sequence, classes) tensor it normalises over the batch. "
            "Name the axis that holds the classes: `dim=-1` for (..., classes), `dim=1` for "
            "(batch, classes, ...), `dim=0` when they were moved to the front (`x.transpose(axis, "
            "0)`).")


RULE = Rule("softmax-implicit-dim", Severity.WARNING, "softmax",
            "Softmax / log_softmax without dim", check,
            needs=(b"oftmax", b"oftmin"))
