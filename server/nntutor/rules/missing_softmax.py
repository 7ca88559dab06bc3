"""missing-softmax: a loss that expects probabilities is fed raw scores."""
from __future__ import annotations

from ..findings import Severity
from ..values import LOGITS
from . import Rule
from ._losses import keras_compiles, keras_output, torch_loss_sites


def check(ctx):
    for comp in keras_compiles(ctx):
        if comp.from_logits:
            continue
        tag, node, layer = keras_output(ctx, comp.model)
        if tag != LOGITS or layer is None:
            continue
        act = "softmax" if comp.expects == "softmax" else "sigmoid"
        yield ctx.finding(
            layer, f"The output layer has no activation but the loss expects probabilities: add "
            f"activation=\"{act}\", or build the loss with from_logits=True.",
            related=[ctx.related(comp.loss_node, "loss that expects probabilities")])
    for site in torch_loss_sites(ctx):
        if site.kind != "bce":
            continue
        tags, applied = ctx.values.tags(site.input)
        if tags == frozenset({LOGITS}):
            yield ctx.finding(
                site.input, "BCELoss expects probabilities in [0, 1] but gets raw scores: use "
                "BCEWithLogitsLoss (stable, applies the sigmoid itself).",
                related=[ctx.related(site.call, "the BCE loss")])


RULE = Rule("missing-softmax", Severity.ERROR, "cross-entropy-loss",
            "Loss expects probabilities but gets raw scores", check,
            needs=(b"crossentropy", b"Crossentropy", b"BCELoss", b"binary_cross_entropy"))
