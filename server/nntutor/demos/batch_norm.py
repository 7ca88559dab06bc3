"""In train mode BatchNorm normalises with the current batch's mean and variance, so a sample's
output depends on the other samples in its batch, and it updates running averages as it goes.
In eval mode it uses those running statistics instead: each sample's output is fixed.
"""

from __future__ import annotations

FEATURES = 3
MEAN = (5.0, -2.0, 0.5)  # the data's true per-feature mean and standard deviation
STD = (3.0, 0.5, 1.5)
STEPS = 60
BATCH = 32


def demo(ctx) -> dict[str, float]:
    import torch

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    mean = torch.tensor(MEAN)
    std = torch.tensor(STD)

    def batch(n: int):
        return (torch.randn(n, FEATURES, generator=gen) * std + mean).to(ctx.device)

    bn = torch.nn.BatchNorm1d(FEATURES, momentum=0.1, affine=False).to(ctx.device)
    bn.train()
    running = []
    for _ in range(STEPS):
        out = bn(batch(BATCH))
        running.append(bn.running_mean[0].item())
    # Train-mode output: normalised with this batch's own statistics.
    out_mean = out.mean(0).abs().max().item()
    out_std = out.std(0, unbiased=False).mean().item()
    mean_err = (bn.running_mean.cpu() - mean).abs().max().item()
    std_err = (bn.running_var.cpu().sqrt() - std).abs().max().item()

    # One sample, put into 20 different batches: its train-mode output moves with the batch.
    sample = batch(1)
    batches = [torch.cat([sample, batch(BATCH - 1)]) for _ in range(20)]
    with torch.no_grad():
        bn.eval()  # eval first: a train-mode call would also move the running statistics
        eval_outs = [bn(b)[0, 0].item() for b in batches]
        expected = (sample - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps)
        eval_formula_diff = (bn(sample) - expected).abs().max().item()
        bn.train()
        train_outs = [bn(b)[0, 0].item() for b in batches]
    train_spread = max(train_outs) - min(train_outs)
    eval_spread = max(eval_outs) - min(eval_outs)

    ctx.say(f"train mode: batch output mean {out_mean:.1e}, std {out_std:.3f} (own batch stats)")
    ctx.say(f"after {STEPS} batches the running mean is within {mean_err:.2f} and the running "
            f"std within {std_err:.2f} of the data's {MEAN} / {STD}")
    ctx.say(f"the same sample in 20 batches, train mode: output varies by {train_spread:.3f}")
    ctx.say(f"eval mode: varies by {eval_spread:.1e}; equals (x - running_mean) / "
            f"sqrt(running_var + eps) to {eval_formula_diff:.1e}")

    fig, (ax1, ax2) = ctx.figure(ncols=2)
    if fig is not None:
        ax1.plot(range(1, STEPS + 1), running, label="running_mean (feature 0)")
        ax1.axhline(MEAN[0], ls="--", color="gray", label="true mean")
        ax1.set(title="Running mean, momentum 0.1", xlabel="training batch")
        ax1.legend(fontsize=8)
        ax2.plot(train_outs, "o-", label="train mode (batch stats)")
        ax2.plot(eval_outs, "s-", label="eval mode (running stats)")
        ax2.set(title="One sample, 20 different batches", xlabel="batch", ylabel="output")
        ax2.legend(fontsize=8)

    return {
        "train_output_abs_mean": out_mean,
        "train_output_std": out_std,
        "running_mean_abs_error": mean_err,
        "running_std_abs_error": std_err,
        "same_sample_spread_train": train_spread,
        "same_sample_spread_eval": eval_spread,
        "eval_vs_running_stats_formula": eval_formula_diff,
    }
