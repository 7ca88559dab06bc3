"""Dropout zeroes each activation with probability p during training and scales the survivors
by 1/(1-p), so the expected activation is unchanged. In eval mode it is the identity: forget
model.eval() and your validation numbers stay noisy and too low.
"""

from __future__ import annotations

P = 0.5


def demo(ctx) -> dict[str, float]:
    import torch

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    # Built on the CPU with its own generator so every device sees the same input.
    x = (torch.rand(100_000, generator=gen) + 0.5).to(ctx.device)
    drop = torch.nn.Dropout(p=P).to(ctx.device)

    drop.train()
    y_train = drop(x)
    kept = y_train != 0
    zeroed = 1.0 - kept.float().mean().item()
    scale = (y_train[kept] / x[kept]).mean().item()
    mean_ratio = (y_train.mean() / x.mean()).item()

    drop.eval()
    y_eval = drop(x)
    eval_diff = (y_eval - x).abs().max().item()

    # The zeroed fraction tracks p for every p, not just 0.5.
    ps = [0.1, 0.3, 0.5, 0.7, 0.9]
    measured = [(torch.nn.functional.dropout(x, p, training=True) == 0).float().mean().item()
                for p in ps]

    ctx.say(f"train mode, p={P}: {zeroed:.3f} of activations zeroed (expected {P})")
    ctx.say(f"survivors scaled by {scale:.3f} = 1/(1-p) = {1 / (1 - P):.3f}")
    ctx.say(f"mean(output)/mean(input) in train mode: {mean_ratio:.3f} (expectation preserved)")
    ctx.say(f"eval mode: max |output - input| = {eval_diff:.1e} (dropout is the identity)")

    fig, (ax1, ax2) = ctx.figure(ncols=2)
    if fig is not None:
        n = 30
        idx = range(n)
        ax1.bar(idx, x[:n].cpu().tolist(), color="lightgray", label="input")
        ax1.plot(idx, y_train[:n].cpu().tolist(), "o", color="tab:red", label="train (p=0.5)")
        ax1.plot(idx, y_eval[:n].cpu().tolist(), "x", color="tab:blue", label="eval")
        ax1.set(title="The same 30 activations", xlabel="unit", ylabel="value")
        ax1.legend(fontsize=8)
        ax2.plot(ps, measured, "o-", label="measured")
        ax2.plot([0, 1], [0, 1], "--", color="gray", label="p")
        ax2.set(title="Fraction zeroed in train mode", xlabel="p", ylabel="zeroed")
        ax2.legend(fontsize=8)

    return {
        "p": P,
        "fraction_zeroed_train": zeroed,
        "survivor_scale": scale,
        "train_mean_ratio": mean_ratio,
        "eval_max_abs_diff": eval_diff,
        "max_abs_error_fraction_vs_p": max(abs(m - p) for m, p in zip(measured, ps, strict=True)),
    }
