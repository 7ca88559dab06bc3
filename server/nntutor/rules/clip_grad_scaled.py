"""clip-grad-scaled: gradients clipped while a GradScaler's scale factor is still in them.

With mixed precision, `scaler.scale(loss).backward()` leaves every gradient multiplied by the
scale factor (65,536 to start with). `scaler.step(optimizer)` divides it out, but anything that
reads the gradients in between sees the scaled values, unless `scaler.unscale_(optimizer)` ran
first. A clip there compares the scaled norm with `max_norm`.

Reported: a clip after a scaled backward pass of the same update (same loop iteration or
function, after its last step or clearing), followed by that scaler's `step()`, with no
`unscale_()` of that scaler in between (nor a call to a local helper that calls one).
"""
from __future__ import annotations

from ..findings import Fix, Severity, TextEdit
from ..parsing import F_FUNCTION
from ..values import args_of, method_call, strip
from . import Rule
from ._training import (
    clip_calls,
    conditional_between,
    events,
    functions_around,
    helper_called_between,
    same_scope,
    statement_of,
    update_region,
)

GRAD_SCALERS = frozenset({
    "torch.amp.GradScaler", "torch.cuda.amp.GradScaler", "torch.cpu.amp.GradScaler",
    "torch.amp.grad_scaler.GradScaler", "torch.cuda.amp.grad_scaler.GradScaler",
})


def check(ctx):
    clips = clip_calls(ctx)
    if not clips:
        return
    evs = events(ctx)
    if not any(e.kind == "backward" and _scaler_of(ctx, e.call) is not None for e in evs):
        return
    unscales = [(call, ctx.text(recv)) for call, recv in ctx.facts.method_calls("unscale_")
                if recv is not None]
    helpers = functions_around(ctx, [call.start_byte for call, _ in unscales])
    for clip in clips:
        found = _scaled_clip(ctx, clip, evs, unscales, helpers)
        if found is not None:
            yield found


def _scaler_of(ctx, backward_call):
    """The GradScaler expression of `scaler.scale(loss).backward()`, else None."""
    recv, _method = method_call(backward_call)
    recv = strip(recv) if recv is not None else None
    if recv is None or recv.type != "call":
        return None
    scaler, method = method_call(recv)
    if method != "scale" or scaler is None:
        return None
    qual, ctor = ctx.values.instance(scaler)
    if qual is None:
        return scaler if "scaler" in ctx.text(scaler).lower() else None
    if qual not in GRAD_SCALERS:
        return None
    if ctor is not None:
        _pos, kw = args_of(ctor)
        if "enabled" in kw and ctx.text(kw["enabled"]) == "False":
            return None  # a disabled scaler leaves the loss as it is
    return scaler


def _scaled_clip(ctx, clip, evs, unscales, helpers):
    at = clip.start_byte
    region = update_region(ctx, at)
    inside = [e for e in evs if region.start_byte < e.pos < region.end_byte and same_scope(ctx, e.pos, at)]
    before = [e for e in inside if e.pos < at]
    # Only this update's backward passes: those after its last step or clearing.
    last_reset = max((i for i, e in enumerate(before) if e.kind in ("step", "zero_grad")), default=-1)
    for backward in reversed(before[last_reset + 1:]):
        if backward.kind != "backward":
            continue
        scaler = _scaler_of(ctx, backward.call)
        if scaler is None:
            continue
        name = ctx.text(scaler)
        if any(n == name and backward.pos < call.start_byte < at for call, n in unscales):
            return None
        if helper_called_between(ctx, region, backward.pos, at, helpers):
            return None
        steps = [e for e in inside if e.kind == "step" and e.pos > at and _stepped_by(ctx, e, name)]
        if not steps:
            return None
        step = steps[0]
        optimizer = step.target
        function = ctx.text(clip.child_by_field_id(F_FUNCTION))
        compared = ("`clip_value` is compared with scaled gradients" if "value" in function
                    else "`max_norm` is compared with scaled norms")
        return ctx.finding(
            clip, f"`{function}` sees gradients still multiplied by the GradScaler's scale factor "
            f"(from `{ctx.text(backward.call)}`; 65,536 at the start), so {compared} and nearly "
            f"every update is cut far below the intended size. Call `{name}.unscale_({optimizer})` "
            "before clipping.",
            related=[ctx.related(backward.call, "the scaled backward pass"),
                     ctx.related(step.call, "unscales only here, after the clip")],
            fix=_insert_unscale(ctx, clip, region, backward, step, name, optimizer))
    return None


def _stepped_by(ctx, step, scaler_name) -> bool:
    recv, _method = method_call(step.call)
    return recv is not None and ctx.text(recv) == scaler_name


def _insert_unscale(ctx, clip, region, backward, step, scaler, optimizer):
    """`scaler.unscale_(optimizer)` on its own line before the clip statement: only when the
    clip and the step run together every time (unscale_ twice before one step raises) and this
    is the only clip between the backward pass and the step."""
    if conditional_between(step.call, clip, region) or conditional_between(clip, step.call, region):
        return None
    if sum(1 for c in clip_calls(ctx) if backward.pos < c.start_byte < step.pos) != 1:
        return None
    pos, kw = args_of(step.call)
    if len(pos) != 1 or kw:
        return None
    stmt = statement_of(clip)
    if stmt is None or stmt.type != "expression_statement" or stmt.named_children[0] != clip:
        return None
    lines = ctx.own_lines(stmt)
    if lines is None:
        return None
    indent = ctx.line_indent(stmt)
    return Fix(f"Insert `{scaler}.unscale_({optimizer})` before clipping",
               (TextEdit(lines[0], lines[0], f"{indent}{scaler}.unscale_({optimizer})\n"),))


RULE = Rule("clip-grad-scaled", Severity.WARNING, "vanishing-exploding-gradients",
            "Gradients clipped before GradScaler.unscale_()", check,
            needs=(b"clip_grad",))
