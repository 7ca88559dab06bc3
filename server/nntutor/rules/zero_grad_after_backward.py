"""zero-grad-after-backward: gradients cleared between backward() and the optimizer's step()."""
from __future__ import annotations

import re
from bisect import bisect_left

from ..findings import Severity
from . import Rule
from ._training import (
    conditional_between,
    events,
    functions_around,
    helper_called_between,
    move_statement_fix,
    optimizer_constructor,
    same_scope,
    update_region,
)


def check(ctx):
    evs = events(ctx)
    backwards = [e for e in evs if e.kind == "backward"]
    zeros = [e for e in evs if e.kind == "zero_grad" and e.target]
    if not backwards or not zeros:
        return
    helpers = None
    positions = [e.pos for e in evs]
    for step in (e for e in evs if e.kind == "step"):
        if step.closure:
            continue  # step(closure): the closure runs zero_grad and backward itself
        region = update_region(ctx, step.pos)
        # Events are in source order: slice out those of the region before the step.
        lo, hi = bisect_left(positions, region.start_byte), bisect_left(positions, step.pos)
        inside = [e for e in evs[lo:hi] if same_scope(ctx, e.pos, step.pos)]
        # The last clearing of this optimizer's gradients before the step.
        last_zero = next((e for e in reversed(inside)
                          if e.kind == "zero_grad" and e.target and _clears_for(ctx, e, step)), None)
        if last_zero is None:
            continue
        if any(b.pos > last_zero.pos for b in inside if b.kind == "backward"):
            continue  # a backward pass after the clearing: the usual order
        earlier = [b for b in inside if b.kind == "backward" and b.pos < last_zero.pos]
        if not earlier or conditional_between(last_zero.call, step.call, region):
            continue
        if helpers is None:
            helpers = functions_around(ctx, [b.pos for b in backwards])
        if helper_called_between(ctx, region, last_zero.pos, step.pos, helpers):
            continue  # `zero_grad(); loss = train_step(batch); step()`: backward in the helper
        backward = earlier[-1]
        yield ctx.finding(
            last_zero.call,
            f"`{ctx.text(last_zero.call)}` runs after `{ctx.text(backward.call)}` and before "
            f"`{step.target}.step()`: it clears the gradients the backward pass just computed, so "
            "the step has nothing to apply (since PyTorch 2.0 zero_grad() sets them to None and "
            "the optimizer skips parameters without a gradient) and the model does not learn. "
            "Clear gradients before the backward pass or after the step.",
            related=[ctx.related(backward.call, "backward pass whose gradients are cleared"),
                     ctx.related(step.call, "the step that finds no gradients")],
            fix=move_statement_fix(ctx, last_zero.call, step.call, before=False,
                                   title=f"Move `{ctx.text(last_zero.call)}` after the optimizer step"))


def _clears_for(ctx, zero, step) -> bool:
    """The clearing hits the gradients this optimizer steps with: the optimizer itself, or a
    model whose parameters it was built from (`Adam(model.parameters())` and `model.zero_grad()`)."""
    if zero.target == step.target:
        return True
    ctor = optimizer_constructor(ctx, step)
    if ctor is None:
        return False
    pattern = re.compile(r"(?<![\w.])" + re.escape(zero.target) + r"\.(parameters|named_parameters)\(")
    return bool(pattern.search(ctx.text(ctor)))


RULE = Rule("zero-grad-after-backward", Severity.ERROR, "training-loop",
            "zero_grad() between backward() and optimizer.step()", check,
            needs=(b".backward(",))
