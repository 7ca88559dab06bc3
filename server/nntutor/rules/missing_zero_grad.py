"""missing-zero-grad: gradients accumulate across iterations because they are never cleared."""
from __future__ import annotations

from ..findings import Fix, Severity, TextEdit
from . import Rule
from ._training import clears_grads_in, events, same_scope, statement_of


def check(ctx):
    evs = events(ctx)
    backwards = [e for e in evs if e.kind == "backward"]
    steps = [e for e in evs if e.kind == "step"]
    reported = set()
    for step in steps:
        if step.closure:  # optimizer.step(closure): LBFGS-style, the closure clears gradients
            continue
        loop = ctx.facts.innermost_loop(step.pos)
        if loop is None or loop.start_byte in reported:
            continue
        loop_backwards = [b for b in backwards if loop.start_byte < b.pos < loop.end_byte
                          and same_scope(ctx, b.pos, step.pos)]
        if not loop_backwards:
            continue
        if clears_grads_in(ctx, loop):
            continue
        reported.add(loop.start_byte)
        backward = loop_backwards[0]
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


RULE = Rule("missing-zero-grad", Severity.ERROR, "training-loop",
            "Optimizer steps in a loop that never clears gradients", check,
            needs=(b".backward(",))
