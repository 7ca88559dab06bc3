"""step-before-backward: the optimizer steps before this iteration's gradients exist."""
from __future__ import annotations

import re

from ..findings import Severity
from ..parsing import F_NAME
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
        if _gradients_made_before(ctx, evs, step, loop):
            continue  # `architect.unrolled_backward(...)` sets this optimizer's gradients
        later = in_loop[0]
        yield ctx.finding(
            step.call, f"`{step.target}.step()` runs before `backward()` in the same iteration: it "
            "uses gradients left from the previous batch, or none at all if they were just "
            "zeroed, so the weights lag behind or never change.",
            related=[ctx.related(later.call, "backward pass that should come first")])


# A call whose name says it computes gradients: `unrolled_backward`, `backward_G`,
# `torch.autograd.grad`, `compute_gradients`, `get_grads` (not zero_grad / no_grad / enable_grad).
_MAKES_GRADIENTS = re.compile(r"(?i:backward)|(?:^|_)(?i:grad(?:s|ients?)?)$|[a-z]Grad(?:s|ients?)?$")
_NOT_GRADIENTS = frozenset({"zero_grad", "no_grad", "enable_grad", "clip_grad", "requires_grad"})


def _gradients_made_before(ctx, evs, step, loop) -> bool:
    """Between the start of the iteration (or this optimizer's last `zero_grad()` in it) and the
    step, a call that may compute its gradients: one named so, or a function of the file that
    runs a backward pass. That backward pass is not seen here, so the step may well follow one."""
    start = loop.start_byte
    for e in evs:
        if e.pos >= step.pos:
            break
        if e.kind == "zero_grad" and e.target == step.target and e.pos > start \
                and same_scope(ctx, e.pos, step.pos):
            start = e.pos
    facts = ctx.facts
    for name in _gradient_makers(ctx, evs):
        for call in facts.calls_by_last_name().get(name, ()):
            if start < call.start_byte < step.pos and same_scope(ctx, call.start_byte, step.pos):
                return True
    return False


def _gradient_makers(ctx, evs) -> set:
    """Last names of the calls that may make gradients (once per analysis)."""
    cached = getattr(ctx.values, "_gradient_makers", None)
    if cached is None:
        facts = ctx.facts
        cached = {n for n in facts.calls_by_last_name() if n not in _NOT_GRADIENTS and _MAKES_GRADIENTS.search(n)}
        for e in evs:
            if e.kind == "backward":
                fn = facts.function_at(e.pos)
                name = fn.child_by_field_id(F_NAME) if fn is not None else None
                if name is not None:
                    cached.add(ctx.text(name))
        ctx.values._gradient_makers = cached
    return cached


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
