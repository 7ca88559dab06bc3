"""eval-mode-not-restored: eval() inside a training loop with no train() to switch back."""
from __future__ import annotations

from ..findings import Severity
from . import Rule
from ._modes import argument_for, calls_to, function_modes
from ._training import events


def check(ctx):
    facts = ctx.facts
    evs = events(ctx)
    backwards = [e.pos for e in evs if e.kind == "backward"]
    switches = []  # (kind, model name, node) for direct calls and helper calls
    for e in evs:
        if e.kind in ("eval", "train"):
            switches.append((e.kind, e.target, e.call))
    for fname, fm in function_modes(ctx).items():
        for param in fm.sets_eval | fm.sets_train:
            restores = param in fm.sets_train and _ends_in_train(evs, fm, param)
            for call in calls_to(ctx, fname):
                arg = argument_for(ctx, call, fm, param)
                if arg is not None:
                    switches.append(("train" if restores else "eval", ctx.text(arg), call))
    for kind, name, node in switches:
        if kind != "eval":
            continue
        loops = [lp for lp in facts.loops_containing(node.start_byte)
                 if any(lp.start_byte < b < lp.end_byte for b in backwards)]
        if not loops:
            continue
        loop = loops[-1]
        restored = any(k == "train" and n == name and loop.start_byte < nd.start_byte < loop.end_byte
                       for k, n, nd in switches)
        if restored:
            continue
        yield ctx.finding(
            node, f"`{name}` is switched to eval mode inside the training loop and never back: "
            f"from the next iteration on it trains with dropout off and frozen batch-norm "
            f"statistics; call `{name}.train()` at the start of each epoch.")


def _ends_in_train(evs, fm, param):
    last = None
    for e in evs:
        if fm.node.start_byte < e.pos < fm.node.end_byte and e.target == param and e.kind in ("eval", "train"):
            last = e.kind
    return last == "train"


RULE = Rule("eval-mode-not-restored", Severity.WARNING, "train-eval-mode",
            "model.eval() in a training loop without model.train()", check, needs=(b".eval(",))
