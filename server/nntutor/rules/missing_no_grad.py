"""missing-no-grad: an evaluation loop in eval mode that still records the autograd graph."""
from __future__ import annotations

from ..findings import Fix, Severity, TextEdit
from ..values import strip
from . import Rule
from ._modes import mode_at
from ._training import events, model_is_mode_dependent, statement_of


def check(ctx):
    facts = ctx.facts
    backwards = [e.pos for e in events(ctx) if e.kind == "backward"]
    reported = set()
    for call in facts.calls:
        fn = strip(call.child_by_field_name("function"))
        if fn is None or fn.type != "identifier":
            continue
        loop = facts.innermost_loop(call.start_byte)
        if loop is None or loop.start_byte in reported or facts.in_no_grad(call.start_byte):
            continue
        name = ctx.text(fn)
        if model_is_mode_dependent(ctx, fn) is None and not _is_model(ctx, fn):
            continue
        if mode_at(ctx, name, call.start_byte) != "eval":
            continue
        outer = facts.loops_containing(call.start_byte)[0]
        if any(outer.start_byte < b < outer.end_byte for b in backwards):
            continue  # gradients are used in this loop (e.g. adversarial examples, saliency)
        reported.add(loop.start_byte)
        stmt = statement_of(outer)
        indent = ctx.line_indent(stmt)
        yield ctx.finding(
            call, f"`{name}` runs in eval mode outside torch.no_grad(): autograd still records "
            "the graph, costing memory and time for gradients nobody uses.",
            fix=Fix("Wrap the loop in `with torch.no_grad():`", _wrap_edits(ctx, stmt, indent)))


def _is_model(ctx, fn):
    qual, _ = ctx.values.instance(fn)
    return qual is not None and (ctx.values.local_class(qual) is not None or qual.startswith("torch.nn."))


def _wrap_edits(ctx, stmt, indent):
    idx = ctx.doc.index
    first, last = idx.line_of(stmt.start_byte), idx.line_of(max(stmt.start_byte, stmt.end_byte - 1))
    torch_name = next((k for k, v in ctx.facts.imports.items() if v == "torch"), "torch")
    edits = [TextEdit(idx.starts[first], idx.starts[first], f"{indent}with {torch_name}.no_grad():\n")]
    for line in range(first, last + 1):
        if idx.line_bytes(line).strip():
            edits.append(TextEdit(idx.starts[line], idx.starts[line], "    "))
    return tuple(edits)


RULE = Rule("missing-no-grad", Severity.HINT, "autograd-graph",
            "Evaluation loop without torch.no_grad()", check, needs=(b".eval(",))
