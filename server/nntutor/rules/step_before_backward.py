"""step-before-backward: the optimizer steps before this iteration's gradients exist."""
from __future__ import annotations

from ..findings import Severity
from . import Rule
from ._training import events, same_scope


def check(ctx):
    evs = events(ctx)
    backwards = [e for e in evs if e.kind == "backward"]
    for step in (e for e in evs if e.kind == "step"):
        if step.closure:
            continue  # step(closure) runs backward inside the closure
        loop = ctx.facts.innermost_loop(step.pos)
        if loop is None:
            continue
        in_loop = [e for e in backwards if loop.start_byte < e.pos < loop.end_byte
                   and same_scope(ctx, e.pos, step.pos)]
        if not in_loop:
            continue
        if any(b.pos < step.pos for b in in_loop):
            continue
        if _conditional(step.call, loop):
            continue  # `if i % k == 0: step()` at the top: accumulation over earlier batches
        later = in_loop[0]
        yield ctx.finding(
            step.call, f"`{step.target}.step()` runs before `backward()` in the same iteration: it "
            "uses gradients left from the previous batch, or none at all if they were just "
            "zeroed, so the weights lag behind or never change.",
            related=[ctx.related(later.call, "backward pass that should come first")])


def _conditional(node, loop) -> bool:
    """`node` runs only under an `if` inside `loop`."""
    node = node.parent
    while node is not None and node != loop:
        if node.type in ("if_statement", "conditional_expression"):
            return True
        node = node.parent
    return False


RULE = Rule("step-before-backward", Severity.ERROR, "training-loop",
            "optimizer.step() before loss.backward()", check, needs=(b".backward(",))
