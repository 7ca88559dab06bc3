"""missing-zero-grad: gradients accumulate across iterations because they are never cleared."""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

from ..findings import Fix, Severity, TextEdit
from ..parsing import F_ATTRIBUTE, F_BODY, F_FUNCTION, F_LEFT, F_OBJECT, F_OPERATOR
from ..values import TENSOR_FACTORIES, args_of, is_method, strip
from . import Rule
from ._bare import bare_pattern, bare_references, call_fix
from ._training import any_between, clears_grads_in, events, same_scope, statement_of


def check(ctx):
    yield from _manual_updates(ctx)
    evs = events(ctx)
    backwards = [e for e in evs if e.kind == "backward"]
    backward_pos = [b.pos for b in backwards]  # sorted, as events are
    steps = [e for e in evs if e.kind == "step"]
    reported = set()
    for step in steps:
        if step.closure:  # optimizer.step(closure): LBFGS-style, the closure clears gradients
            continue
        loop = ctx.facts.innermost_loop(step.pos)
        if loop is None or loop.start_byte in reported:
            continue
        inside = backwards[bisect_right(backward_pos, loop.start_byte):bisect_left(backward_pos, loop.end_byte)]
        loop_backwards = [b for b in inside if same_scope(ctx, b.pos, step.pos)]
        if not loop_backwards:
            continue
        if clears_grads_in(ctx, loop):
            continue
        if _fresh_parameters(ctx, step, loop):
            continue
        reported.add(loop.start_byte)
        backward = loop_backwards[0]
        bare = _bare_zero_grad(ctx, loop)
        if bare is not None:
            name = ctx.text(bare)
            yield ctx.finding(
                bare, f"`{name}` without parentheses only looks the method up: no gradient is "
                "cleared, so gradients from every iteration add up and each step uses stale, "
                f"growing gradients. Call it: `{name}()`.",
                related=[ctx.related(step.call, "the step that uses them")],
                fix=call_fix(ctx, bare))
            continue
        stmt = statement_of(backward.call)
        fix = None
        if stmt is not None and stmt.type == "expression_statement":
            indent = ctx.line_indent(stmt)
            fix = Fix(f"Insert `{step.target}.zero_grad()` before the backward pass",
                      (TextEdit(ctx.line_start(stmt), ctx.line_start(stmt),
                                f"{indent}{step.target}.zero_grad()\n"),))
        yield ctx.finding(
            step.call, f"`{step.target}.step()` runs in a loop that never calls zero_grad(): "
            "gradients from every iteration add up, so each step uses stale, growing gradients.",
            related=[ctx.related(backward.call, "backward pass whose gradients accumulate")], fix=fix)


def _fresh_parameters(ctx, step, loop) -> bool:
    """The optimizer is built in this iteration over tensors also made in it:
    `x = latents.detach().clone(); x.requires_grad = True; opt = SGD([x], ...)` (diffusers'
    pix2pix-zero guidance). Each iteration's leaf starts with no gradient, so nothing adds up."""
    facts = ctx.facts
    b = facts.binding(step.target, step.pos) if step.target.isidentifier() else None
    if b is None or b.kind != "assign" or b.value is None or not (loop.start_byte < b.pos < loop.end_byte):
        return False
    ctor = strip(b.value)
    if ctor is None or ctor.type != "call" or not (facts.callee_qual(ctor) or "").startswith("torch.optim."):
        return False
    pos, kw = args_of(ctor)
    params = strip(kw.get("params", pos[0] if pos else None))
    if params is None or params.type not in ("list", "tuple") or not params.named_children:
        return False
    for item in params.named_children:
        if item.type != "identifier":
            return False
        made = facts.binding(ctx.text(item), ctor.start_byte)
        if made is None or made.kind != "assign" or not (loop.start_byte < made.pos < b.pos):
            return False
    return True


_FRESH = re.compile(r"\.(detach|clone)\(|\brequires_grad\s*=\s*True")


def _fresh_leaf(ctx, target: str, loop, backward_pos: int) -> bool:
    """`target` is made anew in each pass before the backward pass: `w = torch.tensor(v,
    requires_grad=True)`, `x = x0.detach().clone().requires_grad_()` (gordicaleksa's
    playground). A name bound to an existing tensor (`w = params[0]`) is the same leaf each time."""
    if not target.isidentifier():
        return False
    b = ctx.facts.binding(target, backward_pos)
    if b is None or b.kind != "assign" or b.value is None or not (loop.start_byte < b.pos < backward_pos):
        return False
    value = strip(b.value)
    if value is None or value.type != "call":
        return False
    qual = ctx.facts.callee_qual(value) or ""
    return (qual in TENSOR_FACTORIES and "requires_grad" in ctx.text(value)) or bool(_FRESH.search(ctx.text(value)))


_BARE_ZERO_GRAD = bare_pattern("zero_grad")


def _bare_zero_grad(ctx, loop):
    """The attribute of an `x.zero_grad` statement (no call) inside the loop, else None."""
    for attr, _method, _receiver in bare_references(ctx, _BARE_ZERO_GRAD, loop.start_byte, loop.end_byte):
        return attr
    return None


def _manual_updates(ctx):
    """Hand-written gradient steps in a training loop that never clears gradients:
    `w -= lr * w.grad`, `p.data -= lr * g` where `p.grad` is read in the loop, `p.data.sub_(...)`,
    made in the loop itself or in a local helper it calls (`sgd(params, lr)`). The loop is the
    innermost one around a backward pass; an optimizer step there is the other check's business."""
    facts = ctx.facts
    evs = events(ctx)
    step_pos = [e.pos for e in evs if e.kind == "step"]  # sorted, as events are
    seen = set()
    for b in (e for e in evs if e.kind == "backward"):
        loop = facts.innermost_loop(b.pos)
        if loop is None or loop.start_byte in seen:
            continue
        seen.add(loop.start_byte)
        if any_between(step_pos, loop.start_byte, loop.end_byte):
            continue
        text = ctx.text(loop)
        if clears_grads_in(ctx, loop) or _GRAD_FILL.search(text):
            continue
        update = _first_update(ctx, loop, b.pos) if ".grad" in text else None
        if update is not None and _fresh_leaf(ctx, update[0], loop, b.pos):
            continue   # a new leaf each pass: its .grad starts empty, nothing adds up
        if update is not None:
            target, node = update
            yield ctx.finding(
                node, f"`{target}` is updated from its gradient in a loop that never clears it: "
                "backward() adds to `.grad`, so every step uses the sum of all gradients so far. "
                f"Clear it after the update (`{target}.grad.zero_()` or `{target}.grad = None`).",
                related=[ctx.related(b.call, "backward pass whose gradients accumulate")])
            continue
        helper = _updating_helper(ctx, loop, b.pos)
        if helper is not None:
            call, name, target, node = helper
            yield ctx.finding(
                call, f"`{name}(...)` updates `{target}` from its gradient, and neither it nor this "
                "loop clears gradients: backward() adds to `.grad`, so every step uses the sum of "
                f"all gradients so far. Clear them in `{name}` after the update "
                f"(`{target}.grad.zero_()`) or in the loop (`zero_grad()`).",
                related=[ctx.related(node, f"the update in `{name}`"),
                         ctx.related(b.call, "backward pass whose gradients accumulate")])


_GRAD_FILL = re.compile(r"\.grad(\.data)?\.(fill_\(\s*0|mul_\(\s*0\b)")
_IN_PLACE = ("sub_", "add_")


def _updating_helper(ctx, loop, backward_pos):
    """A local function called by name in the loop (in the backward's scope) whose own body
    makes a hand-written gradient step: (call, name, parameter name, update node), else None.
    One level deep; a helper that clears gradients has already silenced the loop."""
    facts = ctx.facts
    for call in facts.calls_in(loop):
        fn = call.child_by_field_id(F_FUNCTION)
        if fn is None or fn.type != "identifier" or not same_scope(ctx, call.start_byte, backward_pos):
            continue
        name = ctx.text(fn)
        local = facts.binding(name, call.start_byte)
        if local is not None and local.scope == facts.scope_id(call.start_byte) != -1:
            continue  # a parameter or local variable of the function (`step(chunk)`), not a def
        for helper in facts.functions_named(name):
            body = helper.child_by_field_id(F_BODY)
            if helper.start_byte <= call.start_byte < helper.end_byte or body is None or is_method(helper):
                continue  # a recursive call, a body-less definition, a method (not called by name)
            text = ctx.text(helper)
            if ".grad" not in text or _GRAD_FILL.search(text):
                continue
            update = _first_update(ctx, helper, body.start_byte)
            if update is not None:
                return call, name, update[0], update[1]
    return None


def _first_update(ctx, region, scope_pos):
    """(parameter name, node) of the first in-place update of a parameter whose `.grad` the
    region (a loop, a helper function) reads, made in the scope of `scope_pos`, else None."""
    facts = ctx.facts
    text = ctx.text(region)
    for aug in facts.aug_assigns:
        if not (region.start_byte < aug.start_byte < region.end_byte) or not same_scope(ctx, aug.start_byte, scope_pos):
            continue
        op, left = aug.child_by_field_id(F_OPERATOR), aug.child_by_field_id(F_LEFT)
        if op is None or left is None or ctx.text(op) not in ("-=", "+="):
            continue
        target = _param_of(ctx, left)
        if target is not None and re.search(re.escape(target) + r"\.grad\b", text):
            return target, aug
    for method in _IN_PLACE:
        for call, recv in facts.method_calls(method):
            if recv is None or not (region.start_byte < call.start_byte < region.end_byte) \
                    or not same_scope(ctx, call.start_byte, scope_pos):
                continue
            target = _param_of(ctx, recv)
            if target is not None and re.search(re.escape(target) + r"\.grad\b", text):
                return target, call
    return None


def _param_of(ctx, node):
    """`w` for `w` / `w.data`, else None."""
    if node.type == "attribute" and ctx.text(node.child_by_field_id(F_ATTRIBUTE)) == "data":
        node = node.child_by_field_id(F_OBJECT)
    if node is not None and node.type in ("identifier", "attribute"):
        return ctx.text(node)
    return None


RULE = Rule("missing-zero-grad", Severity.ERROR, "training-loop",
            "Optimizer steps in a loop that never clears gradients", check,
            needs=(b".backward(",))
