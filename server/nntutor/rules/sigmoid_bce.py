"""sigmoid-bce: sigmoid + BCELoss works but is less stable than BCEWithLogitsLoss."""
from __future__ import annotations

from ..findings import Fix, Severity
from ..parsing import F_ATTRIBUTE, F_FUNCTION, F_OBJECT
from ..values import SIGMOID, args_of, strip
from . import Rule
from ._losses import torch_loss_sites


def check(ctx):
    sites = [s for s in torch_loss_sites(ctx) if s.kind == "bce"]
    for site in sites:
        tags, applied = ctx.values.tags(site.input)
        if SIGMOID not in tags:
            continue
        fix = None
        inline = strip(site.input)
        # Fix only the simple, certain case: `crit = nn.BCELoss()` used once, sigmoid inline.
        # Another use of the same criterion would still get probabilities after the rename.
        single_use = site.ctor is not None and sum(s.ctor == site.ctor for s in sites) == 1
        if applied is not None and inline == applied and single_use:
            pos, _ = args_of(applied)
            inner = pos[0] if pos else None
            if inner is None and applied.child_by_field_id(F_FUNCTION).type == "attribute":
                inner = applied.child_by_field_id(F_FUNCTION).child_by_field_id(F_OBJECT)
            fn = site.ctor.child_by_field_id(F_FUNCTION)
            # `nn.BCELoss` -> `nn.BCEWithLogitsLoss`; a bare imported `BCELoss` would need an import.
            name = fn.child_by_field_id(F_ATTRIBUTE) if fn.type == "attribute" else None
            if inner is not None and name is not None and ctx.text(name) == "BCELoss":
                fix = Fix("Use BCEWithLogitsLoss on the raw logits",
                          (ctx.edit(name, "BCEWithLogitsLoss"), ctx.edit(applied, ctx.text(inner))))
        yield ctx.finding(
            applied if applied is not None else site.input,
            "Sigmoid followed by BCELoss: BCEWithLogitsLoss on the raw logits does both in one "
            "numerically stable step (no log(0) for saturated outputs).",
            related=[ctx.related(site.call, "the BCE loss")], fix=fix)


RULE = Rule("sigmoid-bce", Severity.HINT, "cross-entropy-loss",
            "Sigmoid + BCELoss instead of BCEWithLogitsLoss", check,
            needs=(b"BCELoss", b"binary_cross_entropy("))
