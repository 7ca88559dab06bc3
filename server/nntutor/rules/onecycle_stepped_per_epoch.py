"""onecycle-stepped-per-epoch: a OneCycleLR that counts batches, stepped once per epoch.

`OneCycleLR(optimizer, max_lr, epochs=E, steps_per_epoch=len(loader))` (or
`total_steps=E * len(loader)`) plans its warm-up and annealing over every batch of the run, and
PyTorch documents that it is stepped after every batch. Stepped once per epoch instead, it has
taken E of its E x len(loader) steps when training ends: the learning rate never gets past the
first sliver of its warm-up and stays near max_lr / 25 (div_factor) for the whole run.

Reported: `scheduler.step()` whose innermost loop (the epoch loop) contains a batch loop with
the optimizer's step, or calls a local helper (`train_one_epoch(...)`) that has one, while the
scheduler is not stepped in there.
"""
from __future__ import annotations

import re

from ..findings import Severity
from ..parsing import F_FUNCTION, F_LEFT, F_NAME
from ..values import args_of, follow, literal_value, method_call
from . import Rule
from ._training import events, move_statement_fix, same_scope

ONE_CYCLE = frozenset({"torch.optim.lr_scheduler.OneCycleLR"})
# A total that counts batches: `EPOCHS * len(train_loader)`, `len(loader) * n`.
_BATCH_TOTAL = re.compile(r"len\(|\*")


def check(ctx):
    steps = [e for e in events(ctx) if e.kind == "step"]
    if not steps:
        return
    for ctor in ctx.facts.calls_to(ONE_CYCLE):
        counted = _counts_batches(ctx, ctor)
        name = _bound_to(ctx, ctor)
        if counted is None or name is None:
            continue
        calls = [c for c, recv in ctx.facts.method_calls("step")
                 if recv is not None and ctx.text(recv) == name and c.start_byte > ctor.start_byte]
        for call in calls:
            epoch_loop = ctx.facts.innermost_loop(call.start_byte)
            if epoch_loop is None or not same_scope(ctx, epoch_loop.start_byte, call.start_byte):
                continue
            found = _batch_loop_step(ctx, epoch_loop, steps)
            if found is None:
                continue
            step, batch_loop, helper = found
            if helper is None and any(batch_loop.start_byte < c.start_byte < batch_loop.end_byte for c in calls):
                continue  # also stepped per batch: another problem (two steps per batch), not this one
            where = (f"the batch loop inside `{helper}()`" if helper else "the batch loop")
            yield ctx.finding(
                call,
                f"`{ctx.text(call)}` runs once per epoch, but this OneCycleLR counts batches "
                f"(`{counted}`): when training ends it has taken one step per epoch, 1 / (batches per "
                "epoch) of its plan, so the learning rate stays near the start of its warm-up "
                "(about max_lr / 25 when an epoch has many batches) and never anneals. Step it "
                f"after every `optimizer.step()`, in {where}.",
                related=[ctx.related(ctor, "built to step once per batch"),
                         ctx.related(step.call, "the optimizer steps once per batch here")],
                fix=None if helper else move_statement_fix(
                    ctx, call, step.call, before=False, across_blocks=True,
                    title="Step the scheduler after every optimizer step"))


def _counts_batches(ctx, ctor) -> str | None:
    """The argument that makes the schedule count batches (for the message), else None:
    `steps_per_epoch` other than 1, or a `total_steps` that multiplies or takes a `len(...)`
    (followed through a name: `total = EPOCHS * len(loader)`)."""
    pos, kw = args_of(ctor)
    per_epoch = kw.get("steps_per_epoch", pos[4] if len(pos) > 4 else None)
    if per_epoch is not None and literal_value(per_epoch) != 1 and ctx.text(per_epoch) != "None":
        return f"steps_per_epoch={ctx.text(per_epoch)}"
    total = kw.get("total_steps", pos[2] if len(pos) > 2 else None)
    value = follow(ctx.facts, total) if total is not None else None
    if value is not None and _BATCH_TOTAL.search(ctx.text(value)):
        return f"total_steps={ctx.text(total)}"
    return None


def _bound_to(ctx, ctor) -> str | None:
    """`scheduler` / `self.scheduler` in `scheduler = OneCycleLR(...)`."""
    parent = ctor.parent
    left = parent.child_by_field_id(F_LEFT) if parent is not None and parent.type == "assignment" else None
    if left is None or left.type not in ("identifier", "attribute"):
        return None
    return ctx.text(left)


def _batch_loop_step(ctx, epoch_loop, steps):
    """(optimizer step event, the loop around it, helper name or None): an optimizer step in a
    loop nested in `epoch_loop`, or in a loop of a local function `epoch_loop` calls."""
    start, end = epoch_loop.start_byte, epoch_loop.end_byte
    for step in steps:
        if start < step.pos < end:
            inner = ctx.facts.innermost_loop(step.pos)
            if inner is not None and inner != epoch_loop and start < inner.start_byte and \
                    same_scope(ctx, inner.start_byte, step.pos):
                return step, inner, None
    called = set()
    for call in ctx.facts.calls_in(epoch_loop):
        fn = call.child_by_field_id(F_FUNCTION)
        if fn is not None:
            called.add(ctx.text(fn).rsplit(".", 1)[-1])
    for step in steps:
        if start < step.pos < end:
            continue
        func = ctx.facts.function_at(step.pos)
        inner = ctx.facts.innermost_loop(step.pos)
        name = func.child_by_field_id(F_NAME) if func is not None else None
        if name is None or inner is None or not (func.start_byte < inner.start_byte):
            continue
        helper = ctx.text(name)
        if helper in called and not _steps_a_scheduler(ctx, func):
            return step, inner, helper
    return None


def _steps_a_scheduler(ctx, func) -> bool:
    """The helper steps some scheduler itself (it may be this one, passed in)."""
    for call in ctx.facts.calls_in(func):
        recv, method = method_call(call)
        if method == "step" and recv is not None and re.search(r"sched|lr", ctx.text(recv), re.I):
            return True
    return False


RULE = Rule("onecycle-stepped-per-epoch", Severity.WARNING, "learning-rate-schedules",
            "OneCycleLR counts batches but is stepped once per epoch", check,
            needs=(b"OneCycleLR",))
