"""Backprop multiplies one activation derivative per layer. Sigmoid's is at most 0.25, so in a
deep sigmoid net the first layers get almost no gradient and barely learn; ReLU's is 1 where
active, so with He (Kaiming) initialisation the gradient reaches the first layer intact.
"""

from __future__ import annotations

DEPTH = 15
WIDTH = 128


def _grad_norms(torch, act, device) -> list[float]:
    """Gradient norm of each Linear layer's weight, first layer first, after one backward pass."""
    torch.manual_seed(0)
    layers = []
    for _ in range(DEPTH):
        lin = torch.nn.Linear(WIDTH, WIDTH)
        # The same init for both nets, so only the activation differs.
        torch.nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
        torch.nn.init.zeros_(lin.bias)
        layers += [lin, act()]
    net = torch.nn.Sequential(*layers, torch.nn.Linear(WIDTH, 10)).to(device)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(256, WIDTH, generator=gen).to(device)
    y = torch.randint(0, 10, (256,), generator=gen).to(device)
    torch.nn.functional.cross_entropy(net(x), y).backward()
    return [m.weight.grad.norm().item() for m in net if isinstance(m, torch.nn.Linear)][:DEPTH]


def demo(ctx) -> dict[str, float]:
    import torch

    sig = _grad_norms(torch, torch.nn.Sigmoid, ctx.device)
    relu = _grad_norms(torch, torch.nn.ReLU, ctx.device)

    ctx.say(f"{DEPTH} hidden layers of width {WIDTH}, same init; weight-gradient norm per layer:")
    ctx.say(f"{'layer':>6} {'sigmoid':>10} {'relu':>10}")
    for i in (0, 1, 2, DEPTH // 2, DEPTH - 1):
        ctx.say(f"{i + 1:>6} {sig[i]:>10.2e} {relu[i]:>10.2e}")
    ratio = sig[0] / relu[0]
    ctx.say(f"first-layer gradient, sigmoid / relu: {ratio:.1e}")

    fig, ax = ctx.figure()
    if fig is not None:
        layers = range(1, DEPTH + 1)
        ax.semilogy(layers, sig, "o-", label="sigmoid")
        ax.semilogy(layers, relu, "s-", label="relu")
        ax.set(title="Gradient reaching each layer", xlabel="layer (1 = input side)",
               ylabel="‖∂loss/∂W‖ (log scale)")
        ax.legend()

    return {
        "depth": DEPTH,
        "sigmoid_first_layer_grad": sig[0],
        "sigmoid_last_layer_grad": sig[-1],
        "relu_first_layer_grad": relu[0],
        "relu_last_layer_grad": relu[-1],
        "sigmoid_first_over_last": sig[0] / sig[-1],
        "relu_first_over_last": relu[0] / relu[-1],
        "first_layer_sigmoid_over_relu": ratio,
    }
