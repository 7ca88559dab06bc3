"""scheduler-before-optimizer-step: the learning-rate scheduler steps before the optimizer does."""
from __future__ import annotations

import re
from bisect import bisect_right

from ..findings import Fix, Severity, TextEdit
from ..parsing import F_ARGUMENTS, F_CONDITION, F_FUNCTION, F_LEFT, F_SUPERCLASSES
from ..values import args_of, follow, strip
from . import Rule
from ._splits import _walk
from ._training import events, functions_around, identifiers_in, same_scope

_SCHEDULER_NAME = re.compile(r"sched", re.IGNORECASE)
_PLATEAU = "torch.optim.lr_scheduler.ReduceLROnPlateau"


def check(ctx):
    steps = [e for e in events(ctx) if e.kind == "step"]
    if not steps:
        return
    helpers = functions_around(ctx, [s.pos for s in steps], outer=False)
    for call, receiver in ctx.facts.method_calls("step"):
        if receiver is None:
            continue
        # The code that runs again and again with both calls: the loop around the scheduler
        # call, else its function (an `update(loss)` helper called once per batch), else the
        # module.
        region, where = ctx.facts.innermost_loop(call.start_byte), "in this loop"
        if region is None or not same_scope(ctx, region.start_byte, call.start_byte):
            region, where = ctx.facts.function_at(call.start_byte), "in this function"
            if region is None:
                region, where = ctx.doc.tree.root_node, "here"
        if not _is_scheduler(ctx, receiver, call):
            continue
        if _built_in(ctx, receiver, region, call):
            continue  # a scheduler made anew at each pass (`PolyLR(..., cur_iter=it)`): no schedule to skip
        if _guarded(ctx, call, region, receiver, steps):
            continue
        updates = _updates_in(ctx, region, call, steps, helpers)
        if not updates or updates[0][0] < call.start_byte:
            continue  # the optimizer steps first in each iteration: the documented order
        first_node, label = updates[0][1], updates[0][2]
        name = ctx.text(receiver)
        yield ctx.finding(
            call, f"`{name}.step()` runs before the optimizer's `step()` {where}: the first "
            "learning rate of the schedule is skipped and every later one comes one step early "
            "(a warm-up starts past its first value; an epoch-based schedule decays one epoch "
            "early). Since PyTorch 1.1 the scheduler steps after the optimizer, and "
            "PyTorch warns about this order.",
            related=[ctx.related(first_node, label)],
            fix=_move_after(ctx, call, [u[1] for u in updates]))


def _is_scheduler(ctx, receiver, call) -> bool:
    """A torch.optim.lr_scheduler object (not ReduceLROnPlateau, which steps on a metric), or an
    object of unknown type named like a scheduler and stepped without arguments."""
    qual, _ = ctx.values.instance(receiver)
    pos, kw = args_of(call)
    if qual is not None and qual.startswith("torch.optim."):
        # `scheduler.step(epoch)` / `step(epoch=epoch)`: the rate is computed for the epoch
        # given (deprecated, but no value is skipped whatever the order)
        return qual.startswith("torch.optim.lr_scheduler.") and qual != _PLATEAU \
            and not pos and "epoch" not in kw
    if pos or kw:
        return False  # step(metric) / step(epoch): a plateau or a custom scheduler
    if qual is not None and _unknown_imported_class(qual):
        return False  # `from scheduler import CycleScheduler`: a project's class, its own order
    if _own_scheduler_class(ctx, receiver):
        return False  # a class of the file with its own step() (fastai-style: sets the next lr)
    return bool(_SCHEDULER_NAME.search(ctx.text(receiver).rsplit(".", 1)[-1]))


def _built_in(ctx, receiver, region, call) -> bool:
    """`receiver` is built in `region` (the loop) before the call by a class that is not one of
    torch's schedulers, from the loop's iteration number (`PolyLR(optimizer, max_iter,
    cur_iter=epoch * n + it)`): each pass steps a fresh scheduler whose rate comes from what it is
    given. (A torch scheduler rebuilt and stepped first still moves one step ahead; an alias of a
    scheduler made before the loop is that scheduler.)"""
    if receiver.type != "identifier" or region.type != "for_statement":
        return False
    b = ctx.facts.binding(ctx.text(receiver), call.start_byte)
    if b is None or b.kind != "assign" or b.index is not None or not region.start_byte < b.pos < call.start_byte:
        return False
    made = strip(b.value)
    if made is None or made.type != "call" or (ctx.facts.callee_qual(made) or "").startswith("torch."):
        return False
    left = region.child_by_field_id(F_LEFT)
    counters = set(identifiers_in(ctx, left)) if left is not None else set()
    args = made.child_by_field_id(F_ARGUMENTS)
    if not counters or args is None:
        return False
    for ident in _walk(args, ("identifier",)):
        if ctx.text(ident) in counters:
            return True
        # `cur_iter = (epoch - 1) * total + iteration` in the loop, then `cur_iter=cur_iter`
        given = ctx.facts.binding(ctx.text(ident), ident.start_byte)
        if given is not None and given.kind == "assign" and given.value is not None \
                and region.start_byte < given.pos < made.start_byte \
                and counters & set(identifiers_in(ctx, given.value)):
            return True
    return False


def _own_scheduler_class(ctx, receiver) -> bool:
    """`receiver` is an instance of a class the file defines that is not a torch scheduler (its
    bases name none): its `step()` does what that class says, in the order it wants."""
    made = strip(follow(ctx.facts, receiver))
    fn = strip(made.child_by_field_id(F_FUNCTION)) if made is not None and made.type == "call" else None
    if fn is None or fn.type != "identifier":
        return False
    cls = ctx.facts.class_named(ctx.text(fn))
    if cls is None:
        return False
    bases = cls.child_by_field_id(F_SUPERCLASSES)
    if bases is not None and any(ctx.text(b) != "object" for b in bases.named_children):
        return False   # `WarmupCosine(LambdaLR)`, a base of the file: maybe torch's
    # a wrapper holding a torch scheduler forwards its order
    return not _TORCH_SCHEDULER.search(ctx.facts.code_in(cls))


def _unknown_imported_class(qual: str) -> bool:
    """`qual` (what the receiver was made by) is a class imported from a module that is neither
    torch nor a library known to build torch schedulers, and neither its module nor its name
    says it is one (`WarmupMultiStepLR`, `utils.lr_scheduler.X`): a project's own scheduler,
    whose step() may be meant to run first (rosinality's CycleScheduler sets the coming step's
    learning rate). Factories (`get_linear_schedule_with_warmup`) have lower-case names."""
    module, _, name = qual.rpartition(".")
    if not module or module.split(".", 1)[0] in _SCHEDULER_LIBRARIES or not name[:1].isupper():
        return False
    return not (_TORCH_SCHEDULER.search(qual) or _LR_NAME.search(name))


# Libraries whose scheduler classes are torch's (subclasses of LRScheduler, or LambdaLR returned).
_SCHEDULER_LIBRARIES = frozenset({
    "torch", "transformers", "diffusers", "timm", "accelerate", "lightning", "pytorch_lightning",
    "warmup_scheduler", "pytorch_warmup", "torch_optimizer", "cosine_annealing_warmup",
    "fairseq", "mmcv", "mmengine", "detectron2", "ignite", "composer", "deepspeed",
})
# ...LR, lr_..., and pytorch-transformers' LambdaLR subclasses `WarmupCosineSchedule` (copied
# into many projects, ViT-pytorch's utils/scheduler.py); not a `CycleScheduler`.
_LR_NAME = re.compile(r"LR(?![a-z])|_lr|Lr[A-Z]|Schedule(?!r)")
_TORCH_SCHEDULER = re.compile(r"lr_scheduler|LRScheduler|LambdaLR|CosineAnnealing|StepLR|OneCycleLR|CyclicLR")


def _updates_in(ctx, region, call, steps, helpers):
    """(position, node, label) of the optimizer updates in `region`, in order: its optimizer steps
    and its calls of a local function that steps the optimizer. Stops at the first one when that
    comes before `call` (the usual, correct order), without looking at the loop's other calls."""
    scope = ctx.facts.scope_id(call.start_byte)
    i = bisect_right(steps, region.start_byte - 1, key=_pos)
    out = []
    while i < len(steps) and steps[i].pos < region.end_byte:
        e = steps[i]
        if e.call == call:
            pass  # the scheduler call itself (an object that looks like both)
        elif ctx.facts.scope_id(e.pos) == scope:
            if e.pos < call.start_byte:
                return [(e.pos, e.call, "")]
            out.append((e.pos, e.call, "the optimizer step that should come first"))
        i += 1
    if helpers:
        for c in ctx.facts.calls_in(region):
            fn = c.child_by_field_id(F_FUNCTION)
            if (fn is not None and fn.type == "identifier" and ctx.text(fn) in helpers
                    and ctx.facts.scope_id(c.start_byte) == scope):
                out.append((c.start_byte, c, f"`{ctx.text(fn)}()` steps the optimizer"))
    out.sort(key=lambda u: u[0])
    return out


def _pos(event) -> int:
    return event.pos


def _guarded(ctx, call, region, receiver, steps) -> bool:
    """Under an `if` inside the region that is not just a check of the scheduler itself
    (`if scheduler is not None:`, `if use_scheduler:`): `if epoch > 0:` may well keep the first
    call after the first optimizer step. Not an `if` that holds the optimizer's step too (a
    gradient-accumulation `if (step + 1) % 4 == 0:`): both run together, in the order written."""
    name = ctx.text(receiver)
    node = call.parent
    while node is not None and node != region:
        if node.type in ("if_statement", "elif_clause") and any(
                e.call != call and node.start_byte < e.pos < node.end_byte and
                _same_branch(node, e.call, call) for e in steps):
            node = node.parent
            continue
        if node.type in ("if_statement", "elif_clause"):
            cond = node.child_by_field_id(F_CONDITION)
            text = ctx.text(cond) if cond is not None else ""
            if name not in text and not _SCHEDULER_NAME.search(text):
                return True
        elif node.type == "conditional_expression":
            return True
        node = node.parent
    return False


def _move_after(ctx, call, updates):
    """Move the `scheduler.step()` line after the statement of its block that holds the last
    optimizer update, when the call is a statement of its own there."""
    stmt = call.parent
    if stmt is None or stmt.type != "expression_statement" or stmt.named_child_count != 1:
        return None
    block = stmt.parent
    if block is None or block.type not in ("block", "module"):
        return None
    target = None
    for node in updates:
        while node is not None and node.parent != block:
            node = node.parent
        if node is not None and node.start_byte > stmt.end_byte:
            target = node
    if target is None:
        return None
    lines = ctx.own_lines(stmt)
    if lines is None:
        return None  # `scheduler.step(); x = 1` or a trailing comment: leave it to the user
    line_start, line_end = lines
    idx = ctx.doc.index
    t_last = idx.line_of(target.end_byte)
    insert_at = idx.starts[t_last + 1] if t_last + 1 < len(idx.starts) else len(ctx.doc.data)
    prefix = "" if insert_at < len(ctx.doc.data) or ctx.doc.data.endswith(b"\n") else "\n"
    text = ctx.doc.data[line_start:line_end].decode("utf-8", errors="replace")
    if not text.endswith("\n"):
        text += "\n"
    return Fix(f"Move `{ctx.text(call)}` after the optimizer step",
               (TextEdit(line_start, line_end, ""), TextEdit(insert_at, insert_at, prefix + text)))


RULE = Rule("scheduler-before-optimizer-step", Severity.WARNING, "learning-rate-schedules",
            "scheduler.step() before optimizer.step()", check, needs=(b"step(",))


def _same_branch(if_node, a, b) -> bool:
    """`a` and `b` lie in the same branch of `if_node` (its consequence, or the same
    elif / else clause)."""
    def branch(n):
        while n is not None and n.parent is not None and n.parent != if_node:
            n = n.parent
        return n
    return branch(a) is not None and branch(a) == branch(b)
