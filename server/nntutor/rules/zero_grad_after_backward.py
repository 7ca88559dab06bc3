"""zero-grad-after-backward: gradients cleared between backward() and the optimizer's step()."""
from __future__ import annotations

import re
from bisect import bisect_left

from ..findings import Fix, Severity, TextEdit
from . import Rule
from ._training import (
    conditional_between,
    events,
    functions_around,
    helper_called_between,
    optimizer_constructor,
    same_scope,
    statement_of,
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
            fix=_move_after_step(ctx, last_zero.call, step.call))


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


def _move_after_step(ctx, zero_call, step_call):
    """Move the clearing statement to just after the step statement, when both are statements
    of the same block, each alone on its lines."""
    zero_stmt, step_stmt = statement_of(zero_call), statement_of(step_call)
    if zero_stmt is None or step_stmt is None or zero_stmt.parent != step_stmt.parent:
        return None
    if zero_stmt.type != "expression_statement" or zero_stmt.named_children[0] != zero_call:
        return None
    zero_lines, step_lines = ctx.own_lines(zero_stmt), ctx.own_lines(step_stmt)
    if zero_lines is None or step_lines is None:
        return None
    data = ctx.doc.data
    moved = data[zero_lines[0]:zero_lines[1]].decode("utf-8", "replace").rstrip("\n") + "\n"
    if not data[step_lines[0]:step_lines[1]].endswith(b"\n"):
        moved = "\n" + moved.rstrip("\n")  # the step ends the text
    return Fix(f"Move `{ctx.text(zero_call)}` after the optimizer step",
               (TextEdit(zero_lines[0], zero_lines[1], ""),
                TextEdit(step_lines[1], step_lines[1], moved)))


RULE = Rule("zero-grad-after-backward", Severity.ERROR, "training-loop",
            "zero_grad() between backward() and optimizer.step()", check,
            needs=(b".backward(",))
