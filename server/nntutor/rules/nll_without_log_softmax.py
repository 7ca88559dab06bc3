"""nll-without-log-softmax: NLLLoss needs log-probabilities, not logits or probabilities."""
from __future__ import annotations

from ..findings import Severity
from ..values import LOG_SOFTMAX, LOGITS, SOFTMAX
from . import Rule
from ._losses import torch_loss_sites


def check(ctx):
    for site in torch_loss_sites(ctx):
        if site.kind != "nll":
            continue
        tags, applied = ctx.values.tags(site.input)
        if not tags or LOG_SOFTMAX in tags:
            continue  # unknown input: stay silent
        if SOFTMAX in tags:
            msg = ("NLLLoss is fed softmax probabilities, but it expects log-probabilities: use "
                   "log_softmax (or CrossEntropyLoss on the raw logits).")
        elif LOGITS in tags:
            msg = ("NLLLoss is fed raw logits, but it expects log-probabilities: apply "
                   "log_softmax first, or use CrossEntropyLoss, which does both.")
        else:
            continue
        yield ctx.finding(site.input, msg, related=[ctx.related(site.call, "the NLL loss")]
                          + ([ctx.related(applied, "where the input was produced")] if applied is not None else []))


RULE = Rule("nll-without-log-softmax", Severity.ERROR, "cross-entropy-loss",
            "NLLLoss fed something other than log-probabilities", check,
            needs=(b"nll_loss", b"NLLLoss"))
