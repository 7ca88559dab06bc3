"""An activation's gradient decides how much signal backprop passes through it. Sigmoid's
derivative is at most 0.25 and tanh's at most 1, and both vanish for large |x| (saturation).
ReLU passes 1 for x > 0 but exactly 0 for x < 0 ("dead" units); Swish/SiLU, x*sigmoid(x), is
smooth, dips slightly below zero, and keeps a small gradient for negative inputs.
"""

from __future__ import annotations


def demo(ctx) -> dict[str, float]:
    import torch

    fns = {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "silu": torch.nn.functional.silu,
    }
    # 1201 points on [-6, 6]: x[0] = -6, x[-1] = 6 and x[600] = 0.
    x = torch.linspace(-6, 6, 1201).to(ctx.device).requires_grad_(True)
    values, grads = {}, {}
    for name, fn in fns.items():
        (grad,) = torch.autograd.grad(fn(x).sum(), x)
        values[name] = fn(x).detach()
        grads[name] = grad

    metrics = {}
    for name in fns:
        g = grads[name]
        metrics[f"{name}_max_grad"] = g.max().item()
        metrics[f"{name}_grad_at_6"] = g[-1].item()
        metrics[f"{name}_grad_at_minus_6"] = g[0].item()
        ctx.say(f"{name:>7}: max gradient {g.max().item():.3f}, gradient at x=6: "
                f"{g[-1].item():.2e}, at x=-6: {g[0].item():.2e}")
    negative = x.detach() < 0
    relu_zero = grads["relu"][negative] == 0
    metrics["relu_zero_grad_fraction_negative"] = relu_zero.float().mean().item()
    metrics["silu_min"] = values["silu"].min().item()
    ctx.say("sigmoid passes at most 0.25 of the gradient per layer; stack 10 and at most "
            f"{0.25 ** 10:.1e} survives")
    ctx.say(f"relu: gradient is exactly 0 for every x < 0; silu dips to {metrics['silu_min']:.3f}"
            " and keeps a small gradient there")

    fig, (ax1, ax2) = ctx.figure(ncols=2)
    if fig is not None:
        xs = x.detach().cpu().tolist()
        for name in fns:
            ax1.plot(xs, values[name].cpu().tolist(), label=name)
            ax2.plot(xs, grads[name].cpu().tolist(), label=name)
        ax1.set(title="Activation f(x)", xlabel="x", ylim=(-1.5, 3))
        ax2.set(title="Gradient f'(x)", xlabel="x")
        for ax in (ax1, ax2):
            ax.axhline(0, color="gray", lw=0.5)
            ax.legend(fontsize=8)
    return metrics
