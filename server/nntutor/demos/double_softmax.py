"""CrossEntropyLoss applies log-softmax itself and expects raw logits. Feed it softmax outputs
and the probabilities, all in [0, 1], get squashed again: the loss can never go below
log(1 + (C-1)/e), even for a perfect prediction, and the gradients shrink, so training crawls.
"""

from __future__ import annotations

import math

CLASSES = 10


def demo(ctx) -> dict[str, float]:
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    logits = (3 * torch.randn(512, CLASSES, generator=gen)).to(ctx.device)
    target = torch.randint(0, CLASSES, (512,), generator=gen).to(ctx.device)

    def loss_and_grad(double: bool):
        z = logits.clone().requires_grad_(True)
        loss = F.cross_entropy(z.softmax(dim=1) if double else z, target)
        (grad,) = torch.autograd.grad(loss, z)
        # Per-sample gradient (undo the batch mean) so the numbers read on a 0..1 scale.
        return loss.item(), (grad * len(z)).abs().max().item(), (grad * len(z)).norm(dim=1).mean()

    loss_ok, max_ok, norm_ok = loss_and_grad(double=False)
    loss_bad, max_bad, norm_bad = loss_and_grad(double=True)

    # One row per margin of the target logit over the others: very wrong (-10) to very right (20).
    margins = torch.linspace(-10, 20, 121)
    z_all = torch.zeros(len(margins), CLASSES)
    z_all[:, 0] = margins
    z_all = z_all.to(ctx.device)
    y = torch.zeros(len(margins), dtype=torch.long, device=ctx.device)
    curves = {}
    for double in (False, True):
        z = z_all.clone().requires_grad_(True)
        losses = F.cross_entropy(z.softmax(dim=1) if double else z, y, reduction="none")
        (g,) = torch.autograd.grad(losses.sum(), z)  # rows are independent: per-row gradients
        curves[double] = (losses.detach().cpu().tolist(), g.norm(dim=1).cpu().tolist())
    (curve_ok, grad_ok), (curve_bad, grad_bad) = curves[False], curves[True]
    curve_ok[-1] = abs(curve_ok[-1])  # float32 rounding can give -0.0 for a loss of ~1e-8
    floor = math.log(1 + (CLASSES - 1) / math.e)

    ctx.say(f"random logits, {CLASSES} classes: loss {loss_ok:.3f} on logits, "
            f"{loss_bad:.3f} on softmax outputs (squashed towards log C = {math.log(CLASSES):.3f})")
    ctx.say(f"largest per-sample gradient: {max_ok:.3f} on logits vs {max_bad:.3f} after softmax "
            f"(mean norm {norm_ok:.3f} vs {norm_bad:.3f})")
    ctx.say(f"confidently wrong (margin -10): gradient norm {grad_ok[0]:.2f} on logits, "
            f"{grad_bad[0]:.1e} after softmax: the worst mistakes barely get corrected")
    ctx.say(f"perfect prediction (margin 20): loss {curve_ok[-1]:.1e} on logits, "
            f"{curve_bad[-1]:.3f} after softmax; floor log(1 + (C-1)/e) = {floor:.3f}")

    fig, (ax1, ax2) = ctx.figure(ncols=2)
    if fig is not None:
        ax1.plot(margins, curve_ok, label="CrossEntropyLoss(logits)")
        ax1.plot(margins, curve_bad, label="CrossEntropyLoss(softmax(logits))")
        ax1.axhline(floor, ls="--", color="gray", label=f"floor {floor:.2f}")
        ax1.set(title="Loss, from very wrong to very right",
                xlabel="target logit minus the others", ylabel="loss", ylim=(0, 5))
        ax1.legend(fontsize=8)
        ax2.semilogy(margins, grad_ok, label="logits")
        ax2.semilogy(margins, grad_bad, label="softmax first")
        ax2.set(title="Gradient norm w.r.t. the logits", xlabel="target logit minus the others")
        ax2.legend(fontsize=8)

    return {
        "loss_logits": loss_ok,
        "loss_double_softmax": loss_bad,
        "max_grad_logits": max_ok,
        "max_grad_double_softmax": max_bad,
        "mean_grad_norm_logits": norm_ok.item(),
        "mean_grad_norm_double_softmax": norm_bad.item(),
        "wrong_grad_norm_logits": grad_ok[0],
        "wrong_grad_norm_double_softmax": grad_bad[0],
        "confident_loss_logits": curve_ok[-1],
        "confident_loss_double_softmax": curve_bad[-1],
        "loss_floor": floor,
    }
