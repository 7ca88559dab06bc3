"""step-outside-batch-loop: gradients are cleared and computed for every batch, but the optimizer
steps once, after the batch loop, so only the last batch's gradient is ever applied.

    for epoch in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            criterion(model(x), y).backward()
        optimizer.step()        # reported

Reported: the first `step()` of an optimizer after a loop (`for` or `while`, in the same function,
in the same enclosing loop as the step) whose body clears that optimizer's gradients
(`optimizer.zero_grad()`, or `model.zero_grad()` on a model the optimizer was built from, or on
any model when the optimizer's construction is not in view) and then runs a backward pass, and
never steps.

Left alone, because the single step is then meant or harmless:
- a `zero_grad()` before the loop (full-batch accumulation) or under an `if` of the loop
  (accumulation that clears every k batches), and a loop that steps too (a final step for the
  leftover gradients), itself, through a helper of the file, or through any `*step*` call of
  something other than a scheduler (`xm.optimizer_step(opt)`, `train_step(...)`);
- a loop that reads or hands on the gradients (`.grad`, `torch.autograd.grad`, any call on the
  optimizer other than zero_grad: `optimizer.aggregate_grads()`), or whose clearing hits an
  object made in the loop (`for m in models: m.zero_grad()`, a copy of the model per task);
- a loop that stops after its first pass (an unconditional `break`: an out-of-memory retry loop)
  or that runs over parameters, modules or layers, not batches;
- a backward pass, a clearing or a `.grad` write between the loop and the step (the step then
  applies those gradients), a step in another branch of an `if` than the loop, `step(closure)`
  (L-BFGS), schedulers, and the step of another optimizer than the one cleared (a GAN).
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

from ..findings import Severity
from ..parsing import F_ATTRIBUTE, F_FUNCTION, F_LEFT, F_OBJECT, F_RIGHT
from ..values import method_call
from . import Rule
from ._training import (
    _SCHED_NAME,
    any_between,
    conditional_between,
    events,
    helper_calls,
    is_optimizer,
    optimizer_constructor,
    same_scope,
    variables_in,
)

# What a loop over model internals iterates: `model.parameters()`, `net.layers`, `opt.param_groups`.
_NOT_BATCHES = re.compile(r"parameters\(|modules\(|children\(|\blayers\b|param_groups|state_dict\(")
# Gradients read or written in the code (`p.grad`, `torch.autograd.grad(...)`).
_GRAD = re.compile(rb"\.grad\b")


def check(ctx):
    evs = events(ctx)
    zeros = [e for e in evs if e.kind == "zero_grad" and e.target]
    steps = [e for e in evs if e.kind == "step" and not e.closure]
    if not zeros or not steps:
        return
    facts = ctx.facts
    positions = [e.pos for e in evs]
    step_pos = [e.pos for e in evs if e.kind == "step"]
    helpers = None
    seen = set()
    for zero in zeros:
        loop = facts.innermost_loop(zero.pos)
        if loop is None or loop.start_byte in seen or not same_scope(ctx, loop.start_byte, zero.pos):
            continue
        seen.add(loop.start_byte)
        if any_between(step_pos, loop.start_byte, loop.end_byte):
            continue   # the loop steps itself: a step after it is for leftover gradients
        inside = [e for e in evs[bisect_right(positions, loop.start_byte):bisect_left(positions, loop.end_byte)]
                  if same_scope(ctx, e.pos, loop.start_byte)]
        last_zero = next((e for e in reversed(inside) if e.kind == "zero_grad" and e.target), None)
        backward = next((e for e in inside if e.kind == "backward" and last_zero is not None
                         and e.pos > last_zero.pos), None)
        if backward is None or conditional_between(last_zero.call, backward.call, loop):
            continue   # `backward(); zero_grad()` is zero-grad-after-backward's; `if ...: zero_grad()` accumulates
        step = _step_after(ctx, steps, loop)
        if step is None or not _same_gradients(ctx, last_zero, step):
            continue
        if _not_a_batch_loop(ctx, loop) or _fresh_each_pass(ctx, last_zero, loop) \
                or _gradients_used(ctx, loop, step) or _steps_otherwise(ctx, loop, step.target):
            continue
        if helpers is None:
            helpers = helper_calls(ctx, [e.pos for e in evs if e.kind in ("step", "backward")])
        if any_between(helpers, loop.start_byte, loop.end_byte) or any_between(helpers, loop.end_byte, step.pos):
            continue   # a function of the file that steps (in the loop) or trains (before the step)
        zero_text, back_text = ctx.text(last_zero.call), ctx.text(backward.call)
        yield ctx.finding(
            step.call,
            f"`{ctx.text(step.call)}` runs once, after the loop, but `{zero_text}` in the loop clears "
            f"each batch's gradients before the next `{back_text}`: the step applies only the last "
            "batch's gradient, so every other batch's forward and backward pass is wasted and the "
            "model gets one update per pass over the data. Step inside the loop, after the backward "
            "pass.",
            related=[ctx.related(last_zero.call, "clears the previous batch's gradients"),
                     ctx.related(backward.call, "only the last batch's gradients reach the step")])


def _loop_around(ctx, pos):
    loop = ctx.facts.innermost_loop(pos)
    return loop if loop is not None and same_scope(ctx, loop.start_byte, pos) else None


def _step_after(ctx, steps, loop):
    """The first step after `loop` in what runs around it (its function, its enclosing loop), and
    not in another branch of an `if` than the loop, else None."""
    around = _loop_around(ctx, loop.start_byte)
    for step in steps:
        if step.pos <= loop.end_byte or not same_scope(ctx, step.pos, loop.start_byte):
            continue
        if _loop_around(ctx, step.pos) != around:
            continue
        if _other_branch(step.call, loop):
            return None
        # a backward pass or a clearing between the loop and the step: it applies those gradients
        if any(e.kind in ("backward", "zero_grad") and loop.end_byte < e.pos < step.pos
               and same_scope(ctx, e.pos, step.pos) for e in events(ctx)):
            return None
        return step
    return None


def _other_branch(node, loop) -> bool:
    """`node` sits in a branch of an `if` (or an `except`) that does not hold `loop`."""
    node = node.parent
    while node is not None and not (node.start_byte <= loop.start_byte < node.end_byte):
        parent = node.parent
        if parent is not None and parent.type in ("if_statement", "try_statement") \
                and parent.start_byte <= loop.start_byte < parent.end_byte \
                and node.type in ("block", "elif_clause", "else_clause", "except_clause"):
            return True   # the loop is in the `if` branch, the step in the `else` (or `except`)
        node = parent
    return False


def _same_gradients(ctx, zero, step) -> bool:
    """The clearing hits the gradients this optimizer steps with: the optimizer itself, a model it
    was built from (`Adam(model.parameters())`), or a model when the optimizer's construction is
    not in view (`def train(model, loader, optimizer)`)."""
    if zero.target == step.target:
        return True
    recv, _ = method_call(zero.call)
    if is_optimizer(ctx, recv):
        return False   # another optimizer (a GAN's discriminator)
    ctor = optimizer_constructor(ctx, step)
    if ctor is None and step.target.isidentifier():   # `opt = make_optimizer(netG.parameters())`
        b = ctx.facts.binding(step.target, step.pos)
        ctor = b.value if b is not None and b.kind == "assign" and b.value is not None \
            and b.value.type == "call" else None
    if ctor is None:
        return True
    pattern = re.compile(r"(?<![\w.])" + re.escape(zero.target) + r"\.(parameters|named_parameters)\(")
    return bool(pattern.search(ctx.text(ctor)))


def _not_a_batch_loop(ctx, loop) -> bool:
    """The loop runs over the model's parameters or layers, or stops after one pass."""
    if loop.type == "for_statement":
        right = loop.child_by_field_id(F_RIGHT)
        if right is not None and _NOT_BATCHES.search(ctx.text(right)):
            return True
    return any(_breaks_first_time(b, loop) for b in _breaks(loop))


def _breaks(loop):
    stack = list(loop.named_children)
    while stack:
        node = stack.pop()
        if node.type == "break_statement":
            yield node
        elif node.type not in ("for_statement", "while_statement", "function_definition", "class_definition"):
            stack.extend(node.named_children)


def _breaks_first_time(brk, loop) -> bool:
    """A `break` that no `if` or `except` of the loop guards: the loop makes one pass."""
    node = brk.parent
    while node is not None and node != loop:
        if node.type in ("if_statement", "except_clause", "conditional_expression", "match_statement"):
            return False
        node = node.parent
    return True


def _fresh_each_pass(ctx, zero, loop) -> bool:
    """What is cleared is made in the loop: the loop variable (`for m in models: m.zero_grad()`)
    or a name bound in the pass (`fast = copy.deepcopy(model)`): each pass has its own gradients."""
    recv, _ = method_call(zero.call)
    if recv is None:
        return False
    left = loop.child_by_field_id(F_LEFT) if loop.type == "for_statement" else None
    loop_vars = set(variables_in(ctx, left)) if left is not None else set()
    for name in variables_in(ctx, recv):
        if name in loop_vars:
            return True
        b = ctx.facts.binding(name, zero.pos)
        if b is not None and loop.start_byte < b.pos < zero.pos:
            return True
    return False


def _gradients_used(ctx, loop, step) -> bool:
    """`.grad` in the loop (read, copied, accumulated elsewhere) or between it and the step."""
    matches = ctx.facts.code_matches(_GRAD)
    i = bisect_left([m.start() for m in matches], loop.start_byte) if matches else 0
    return i < len(matches) and matches[i].start() < step.pos


def _steps_otherwise(ctx, loop, optimizer: str) -> bool:
    """The loop calls something that may step (`xm.optimizer_step(opt)`, `train_step(...)`,
    `trainer.step()`, not a scheduler's step) or hands the optimizer's gradients on
    (`optimizer.aggregate_grads()`, Horovod's `optimizer.synchronize()`)."""
    for call in ctx.facts.calls_in(loop):
        fn = call.child_by_field_id(F_FUNCTION)
        if fn is None:
            continue
        obj = fn.child_by_field_id(F_OBJECT) if fn.type == "attribute" else None
        name = ctx.text(fn.child_by_field_id(F_ATTRIBUTE) if obj is not None else fn)
        if obj is not None and ctx.text(obj) == optimizer and name != "zero_grad":
            return True
        if "step" in name.lower() and not (obj is not None and _SCHED_NAME.search(ctx.text(obj))):
            return True
    return False


RULE = Rule("step-outside-batch-loop", Severity.ERROR, "training-loop",
            "optimizer.step() after the batch loop that clears and computes gradients", check,
            needs=(b"zero_grad",))
