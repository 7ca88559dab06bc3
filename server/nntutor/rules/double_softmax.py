"""double-softmax: probabilities fed to a loss that applies (log-)softmax itself."""
from __future__ import annotations

from ..findings import Related, Severity
from ..values import LOG_SOFTMAX, SOFTMAX
from . import Rule
from ._losses import SOFTMAX as KSOFTMAX
from ._losses import (
    class_output_location,
    keras_compiles,
    keras_output,
    torch_loss_sites,
    unwrap_activation_fix,
)


def check(ctx):
    for site in torch_loss_sites(ctx):
        if site.kind != "ce":
            continue
        tags, applied = ctx.values.tags(site.input)
        if SOFTMAX not in tags or LOG_SOFTMAX in tags:
            continue
        related = [ctx.related(site.call, "the loss that applies log-softmax again")]
        if applied is not None:
            fix = unwrap_activation_fix(ctx, applied)
            yield ctx.finding(
                applied, "Softmax output is fed to CrossEntropyLoss, which applies log-softmax "
                "itself: the loss is computed on a double softmax and gradients shrink; pass the "
                "raw logits.", related=related, fix=fix)
            continue
        cls_loc = class_output_location(ctx, site.input)  # a model class from another file
        if cls_loc is not None:
            yield ctx.finding(
                site.input, "This model's forward() ends in a softmax, but CrossEntropyLoss "
                "expects raw logits: remove the softmax from forward() (apply it only for "
                "probabilities at inference).",
                related=related + [Related(cls_loc, "softmax at the end of forward()")])
    for comp in keras_compiles(ctx):
        if not comp.from_logits or comp.expects != KSOFTMAX:
            continue
        tag, node, _layer = keras_output(ctx, comp.model)
        if tag == KSOFTMAX and node is not None:
            yield ctx.finding(
                node, "The output layer already applies softmax but the loss is built with "
                "from_logits=True, so softmax is applied twice; drop one of them.",
                related=[ctx.related(comp.loss_node, "loss with from_logits=True")])


RULE = Rule("double-softmax", Severity.ERROR, "softmax",
            "Softmax output fed to a loss that expects logits", check,
            # The loss is always in this file; the softmax may be in a model class elsewhere.
            needs=(b"cross_entropy", b"CrossEntropy", b"Crossentropy", b"crossentropy"))
