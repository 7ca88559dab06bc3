"""double-sigmoid: sigmoid applied to a value that a logits loss (or another sigmoid) squashes again."""
from __future__ import annotations

from ..findings import Related, Severity
from ..values import SIGMOID, SIGMOID_FUNCS, args_of
from . import Rule
from ._losses import SIGMOID as KSIGMOID
from ._losses import (
    class_output_location,
    keras_compiles,
    keras_output,
    torch_loss_sites,
    unwrap_activation_fix,
)


def check(ctx):
    for site in torch_loss_sites(ctx):
        if site.kind != "bce_logits":
            continue
        tags, applied = ctx.values.tags(site.input)
        if SIGMOID not in tags:
            continue
        related = [ctx.related(site.call, "the logits loss")]
        if applied is not None:
            yield ctx.finding(
                applied, "BCEWithLogitsLoss applies the sigmoid itself; this sigmoid makes it "
                "twice, squashing the outputs into (0.5, 0.73) and stalling training: pass raw logits.",
                related=related, fix=unwrap_activation_fix(ctx, applied))
            continue
        cls_loc = class_output_location(ctx, site.input)  # a model class from another file
        if cls_loc is not None:
            yield ctx.finding(
                site.input, "This model's forward() ends in a sigmoid, but BCEWithLogitsLoss "
                "applies the sigmoid itself: return the raw logits from forward().",
                related=related + [Related(cls_loc, "sigmoid at the end of forward()")])
    for call in ctx.facts.calls_to(SIGMOID_FUNCS):
        pos, _ = args_of(call)
        if pos:
            tags, applied = ctx.values.tags(pos[0])
            if SIGMOID in tags and applied is not None and applied != call:
                yield ctx.finding(call, "Sigmoid applied to a value that is already a sigmoid "
                                  "output.", related=[ctx.related(applied, "first sigmoid")])
    for comp in keras_compiles(ctx):
        if comp.from_logits and comp.expects == KSIGMOID:
            tag, node, _layer = keras_output(ctx, comp.model)
            if tag == KSIGMOID and node is not None:
                yield ctx.finding(node, "The output layer applies sigmoid and the loss uses "
                                  "from_logits=True, so the sigmoid is applied twice.",
                                  related=[ctx.related(comp.loss_node, "loss with from_logits=True")])


RULE = Rule("double-sigmoid", Severity.ERROR, "cross-entropy-loss",
            "Sigmoid output fed to a loss that applies sigmoid itself", check,
            # The sigmoid may be a layer (nn.Sigmoid) or in a model class in another file.
            needs=(b"sigmoid", b"Sigmoid", b"with_logits", b"WithLogits", b"from_logits"))
