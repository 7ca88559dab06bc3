"""sigmoid-bce: sigmoid + BCELoss works but is less stable than BCEWithLogitsLoss."""
from __future__ import annotations

from ..findings import Fix, Severity
from ..values import SIGMOID, args_of, strip
from . import Rule
from ._losses import torch_loss_sites


def check(ctx):
    for site in torch_loss_sites(ctx):
        if site.kind != "bce":
            continue
        tags, applied = ctx.values.tags(site.input)
        if SIGMOID not in tags:
            continue
        fix = None
        inline = strip(site.input)
        if applied is not None and inline is applied and site.ctor is not None:
            pos, _ = args_of(applied)
            inner = pos[0] if pos else None
            if inner is None and applied.child_by_field_name("function").type == "attribute":
                inner = applied.child_by_field_name("function").child_by_field_name("object")
            fn = site.ctor.child_by_field_name("function")
            name = fn.child_by_field_name("attribute") if fn.type == "attribute" else fn
            if inner is not None and ctx.text(name) == "BCELoss":
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
