"""clip-grad-misplaced: gradient clipping where it cannot change any update.

Clipping rescales the gradients that are in `.grad` at that moment. It only shapes an update
when it runs between the backward pass that produces the gradients and the optimizer step that
applies them. The rule follows one update (the loop iteration around the clip, else its
function) in program order, wrapping around in a loop, and looks at the first gradient event
after the clip:

* an optimizer step: the usual order, silent;
* a clearing (`zero_grad()`): the clipped gradients are thrown away before any step;
* a backward pass, when the one before the clip was a step or a clearing: the clip acted on
  applied or cleared gradients, and the step after it applies fresh, unclipped ones;
* nothing, when the one before the clip was a step (a one-update function ending in the clip).

Silent whenever the order is not certain: the deciding event under an `if` / `try` the clip is
not under (gradient accumulation), a local helper that runs backward or step called in between,
several optimizers whose parameters cannot be matched to the clipped ones (or a step of one
built outside the file right after the clip), `step(closure)`, the clipped gradients read into
a manual update or a buffer before the clearing.
"""
from __future__ import annotations

import re
from bisect import bisect_left

from ..findings import Severity
from ..parsing import F_CONDITION, F_FUNCTION, F_RIGHT
from ..values import args_of, method_call, strip
from . import Rule
from ._training import (
    any_between,
    clip_calls,
    conditional_between,
    events,
    functions_around,
    helper_called_between,
    move_statement_fix,
    object_name,
    optimizer_constructor,
    same_scope,
    update_region,
)

_KINDS = ("backward", "step", "zero_grad")


def check(ctx):
    clips = clip_calls(ctx)
    if not clips:
        return
    evs = [e for e in events(ctx) if e.kind in _KINDS]
    if not any(e.kind == "step" for e in evs):
        return
    positions = [e.pos for e in evs]
    helpers = functions_around(ctx, [e.pos for e in evs if e.kind in ("backward", "step")])
    for clip in clips:
        found = _misplaced(ctx, clip, evs, positions, helpers)
        if found is not None:
            yield found


def _misplaced(ctx, clip, evs, positions, helpers):
    region = update_region(ctx, clip.start_byte)
    lo, hi = bisect_left(positions, region.start_byte), bisect_left(positions, region.end_byte)
    inside = [e for e in evs[lo:hi] if same_scope(ctx, e.pos, clip.start_byte)]
    if not any(e.kind == "step" for e in inside) or any(e.closure for e in inside):
        return None
    clipped = _clipped_object(ctx, clip)
    optimizers = {e.target for e in inside if e.kind == "step"}
    relevant = [e for e in inside if _relevant(ctx, e, clipped, optimizers) and not _exclusive(e.call, clip)]
    split = bisect_left([e.pos for e in relevant], clip.start_byte)
    before, after = relevant[:split], relevant[split:]
    is_loop = region.type in ("for_statement", "while_statement")
    # In a loop the iteration after this one runs next: what comes after wraps to the start.
    following = after + (before if is_loop else [])
    preceding = list(reversed(before)) + (list(reversed(after)) if is_loop else [])
    nxt = following[0] if following else None
    prev = preceding[0] if preceding else None
    for ev in (nxt, prev):
        if ev is not None and conditional_between(ev.call, clip, region):
            return None  # `if (i + 1) % accum == 0: optimizer.step()`: not every iteration
    if len(optimizers) > 1 and nxt is not None and nxt.kind == "backward" and (
            prev is None or prev.kind != "zero_grad"):
        # Several models: which ones this backward pass reaches is not known. Right after
        # the clipped model's own clearing, though, the clip has nothing to clip either way.
        return None
    if _helper_between(ctx, region, clip, nxt, prev, helpers, is_loop):
        return None
    if len(optimizers) > 1 and _unknown_step_between(ctx, inside, clip, nxt, is_loop):
        return None   # `self.opt_lr.step(); self.opt_wt.step()` built elsewhere: may hold the clipped ones
    if nxt is not None and nxt.kind == "step":
        return None
    if nxt is not None and nxt.kind == "zero_grad" and (prev is None or prev.kind == "backward") \
            and _gradients_used_between(ctx, region, clip, nxt, is_loop):
        return None   # a manual update (`p.data -= lr * p.grad`) or a copy applies the clipped ones
    name = f"`{ctx.text(clip.child_by_field_id(F_FUNCTION))}`"
    if nxt is None:
        if prev is None or prev.kind != "step":
            return None
        reason = (f"it runs after `{ctx.text(prev.call)}`, which has already applied the "
                  "unclipped gradients")
        related = [ctx.related(prev.call, "the step that used unclipped gradients")]
    elif nxt.kind == "zero_grad":
        lead = (f"it runs after `{ctx.text(prev.call)}` has applied the unclipped gradients, and "
                if prev is not None and prev.kind == "step" else "")
        reason = (f"{lead}`{ctx.text(nxt.call)}` clears the clipped gradients before any optimizer "
                  "step uses them")
        related = [ctx.related(nxt.call, "clears the clipped gradients")]
        if prev is not None and prev.kind == "step":
            related.append(ctx.related(prev.call, "the step that used unclipped gradients"))
    else:  # a backward pass comes next
        if prev is None or prev.kind not in ("step", "zero_grad"):
            return None  # `backward(); clip; backward()`: two losses, intent unclear
        state = "already applied" if prev.kind == "step" else "just cleared"
        reason = (f"it clips gradients that were {state} (`{ctx.text(prev.call)}`), and "
                  f"`{ctx.text(nxt.call)}` then computes the gradients the next step applies, "
                  "unclipped")
        related = [ctx.related(nxt.call, "computes the unclipped gradients"),
                   ctx.related(prev.call, "already applied" if prev.kind == "step" else "cleared")]
    return ctx.finding(
        clip, f"{name} does not clip any update: {reason}. Clip between `loss.backward()` and "
        "`optimizer.step()`.", related=related, fix=_move_before_step(ctx, clip, relevant, prev))


def _relevant(ctx, ev, clipped, optimizers) -> bool:
    """Does this event act on the clipped gradients? With one optimizer in the update, every
    event does. With several (GANs, actor-critic), only the steps and clearings of an optimizer
    built from the clipped model's parameters, or of that model. Backward passes are kept: one
    may reach several models, so `_misplaced` judges a clip followed by one only right after
    the clipped model's own clearing."""
    if len(optimizers) == 1:
        return True
    if clipped is None:
        return False
    if ev.kind == "zero_grad" and ev.target == clipped:
        return True
    if ev.kind in ("step", "zero_grad"):
        ctor = optimizer_constructor(ctx, ev)
        return ctor is not None and f"{clipped}.parameters(" in ctx.text(ctor)
    return True


def _unknown_step_between(ctx, inside, clip, nxt, is_loop) -> bool:
    """A step of an optimizer whose constructor is not seen (built in another module, passed
    in) runs after the clip, before the next relevant event: it may apply the clipped
    gradients."""
    start = clip.start_byte
    for ev in inside:
        if ev.kind != "step" or _exclusive(ev.call, clip):
            continue
        if nxt is None:
            between = ev.pos > start or is_loop
        elif nxt.pos > start:
            between = start < ev.pos < nxt.pos
        else:   # the next event is in the loop's next pass
            between = ev.pos > start or ev.pos < nxt.pos
        if between and optimizer_constructor(ctx, ev) is None:
            return True
    return False


# A read of `.grad` (not `p.grad = ...`).
_GRAD_READ = re.compile(rb"\.grad\b(?!\s*=[^=])")
# Calls that store or apply what they are given: `p.data.add_(p.grad, alpha=-lr)`,
# `buf.copy_(...)`, `grads.append(p.grad.clone())`.
_STORING = ("append", "extend")


def _gradients_used_between(ctx, region, clip, nxt, is_loop) -> bool:
    """Between the clip and the clearing `nxt`, the gradients are read into a value, an update
    or a buffer (`p.data = p.data - lr * p.grad`, `buf.copy_(p.grad)`), directly or in a local
    helper called there (`store_grad(net.parameters, buf)`): the clipped gradients are used
    without an optimizer step."""
    reads, helpers = _gradient_reads(ctx)
    spans = [(clip.end_byte, nxt.pos)] if nxt.pos > clip.start_byte else \
        [(clip.end_byte, region.end_byte), (region.start_byte, nxt.pos)] if is_loop else []
    return any(any_between(reads, a, b) or helper_called_between(ctx, region, a, b, helpers)
               for a, b in spans)


def _gradient_reads(ctx):
    """(sorted positions of the `.grad` reads that use the gradient, names of the local
    functions holding one), once per document."""
    cached = getattr(ctx.values, "_clip_gradient_reads", None)
    if cached is None:
        root = ctx.doc.tree.root_node
        reads = []
        for m in ctx.facts.code_matches(_GRAD_READ):
            node = root.descendant_for_byte_range(m.start() + 1, m.end())
            attr = node.parent if node is not None else None
            if attr is not None and attr.type == "attribute" and _uses_the_value(ctx, attr):
                reads.append(m.start())
        cached = ctx.values._clip_gradient_reads = (reads, functions_around(ctx, reads, outer=False))
    return cached


def _uses_the_value(ctx, node) -> bool:
    """`node` is part of the right side of an assignment, of what a `return` gives, or of the
    arguments of an in-place call (`add_`, `copy_`) or an `append`; not a test (`p.grad is
    None`) or a clearing (`p.grad.zero_()`)."""
    child, parent = node, node.parent
    while parent is not None and parent.type not in ("block", "module"):
        kind = parent.type
        if kind in ("comparison_operator", "boolean_operator", "not_operator"):
            return False
        if kind in ("assignment", "augmented_assignment"):
            return child == parent.child_by_field_id(F_RIGHT)
        if kind == "return_statement":
            return True
        if kind == "call" and child.type == "argument_list":
            _recv, method = method_call(parent)
            if method is not None and (method.endswith("_") or method in _STORING):
                return True
        child, parent = parent, parent.parent
    return False


def _clipped_object(ctx, clip) -> str | None:
    """`model` for `clip_grad_norm_(model.parameters(), ...)`, else None."""
    pos, kw = args_of(clip)
    arg = pos[0] if pos else kw.get("parameters")
    if arg is None:
        return None
    recv, method = method_call(strip(arg))
    if method != "parameters" or recv is None:
        return None
    return object_name(ctx, recv)


def _helper_between(ctx, region, clip, nxt, prev, helpers, is_loop) -> bool:
    """A local function that runs backward() or step() is called between the clip and the
    events that decide (`loss = train_step(batch)`): the order inside it is not seen here."""
    if not helpers:
        return False
    start, end = clip.start_byte, clip.end_byte
    spans = []
    if nxt is not None and nxt.pos > start:
        spans.append((end, nxt.pos))
    else:
        spans.append((end, region.end_byte))
        if is_loop:
            spans.append((region.start_byte, nxt.pos if nxt is not None else start))
    if prev is not None and prev.pos < start:
        spans.append((prev.pos, start))
    else:
        spans.append((region.start_byte, start))
        if is_loop and prev is not None:
            spans.append((prev.pos, region.end_byte))
    return any(helper_called_between(ctx, region, a, b, helpers) for a, b in spans)


def _move_before_step(ctx, clip, relevant, prev):
    """Move the clip statement to just before the step that should use it: the first step after
    it, else the step it follows. Only when both are statements of the same block, the clip
    alone on its lines, a backward pass precedes that step, and no GradScaler is involved
    (scaled gradients must be unscaled first)."""
    steps_after = [e for e in relevant if e.kind == "step" and e.pos > clip.start_byte]
    step = steps_after[0] if steps_after else (prev if prev is not None and prev.kind == "step" else None)
    if step is None or "scaler" in ctx.text(step.call).lower():
        return None
    if not any(e.kind == "backward" and e.pos < step.pos for e in relevant):
        return None
    return move_statement_fix(ctx, clip, step.call, before=True,
                              title="Clip between backward() and step()")


RULE = Rule("clip-grad-misplaced", Severity.WARNING, "vanishing-exploding-gradients",
            "Gradient clipping outside backward() -> step(), so no update is clipped", check,
            needs=(b"clip_grad",))


def _exclusive(a, b) -> bool:
    """`a` and `b` sit in different branches of one `if` / `elif` / `else` chain: never both
    run in the same pass (an `if amp:` branch and its `else:`)."""
    branch_of_a = {}
    node = a
    while node.parent is not None:
        parent = node.parent
        if parent.type == "if_statement":
            # the condition runs before either branch: no branch of its own (`if
            # torch.isfinite(clip_grad_norm_(...)): optimizer.step()`)
            branch_of_a[parent.id] = None if node == parent.child_by_field_id(F_CONDITION) else node.id
        node = parent
    node = b
    while node.parent is not None:
        parent = node.parent
        if parent.type == "if_statement" and parent.id in branch_of_a:
            mine = None if node == parent.child_by_field_id(F_CONDITION) else node.id
            return None not in (mine, branch_of_a[parent.id]) and branch_of_a[parent.id] != mine
        node = parent
    return False

