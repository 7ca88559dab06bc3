"""bare-no-grad: `torch.no_grad()` on a line of its own does nothing."""
from __future__ import annotations

from ..findings import Severity
from ..parsing import F_FUNCTION
from . import Rule

# Context managers that only act inside a `with` block (or as a decorator). Not
# `torch.set_grad_enabled(False)`: called on its own it does switch gradients off.
CONTEXT_ONLY = frozenset({
    "torch.no_grad", "torch.enable_grad", "torch.inference_mode",
    "torch.autograd.no_grad", "torch.autograd.enable_grad", "torch.autograd.inference_mode",
    "torch.autograd.grad_mode.no_grad", "torch.autograd.grad_mode.enable_grad",
    "torch.autograd.grad_mode.inference_mode",
})


def check(ctx):
    for call in ctx.facts.calls_to(CONTEXT_ONLY):
        stmt = call.parent
        if stmt is None or stmt.type != "expression_statement" or stmt.named_child_count != 1:
            continue  # `with ...:`, `@torch.no_grad()`, `ctx = torch.no_grad()`: used
        name = ctx.text(call.child_by_field_id(F_FUNCTION))  # as spelled: `torch.no_grad`
        off = "on" if name.endswith("enable_grad") else "off"
        yield ctx.finding(
            call, f"`{name}()` on its own creates a context manager and throws it away: "
            f"gradients are not switched {off} for the code after it. Put that code in a "
            f"`with {name}():` block, or decorate its function with `@{name}()`.")


RULE = Rule("bare-no-grad", Severity.WARNING, "autograd-graph",
            "torch.no_grad() called outside a with statement", check,
            needs=(b"no_grad", b"inference_mode", b"enable_grad"))
