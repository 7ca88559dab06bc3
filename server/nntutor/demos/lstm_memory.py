"""How much does the token seen k steps ago still move the state now? A vanilla RNN multiplies
by its recurrent weights and tanh' at every step, so that influence dies off exponentially.
An LSTM carries memory in its cell state, scaled only by the forget gate each step: with the
usual forget-gate bias (here 3, gate about 0.95) a token 30 steps back still counts.
"""

from __future__ import annotations

STEPS = 40  # sequence length
HIDDEN = 64
VOCAB = 4
FORGET_BIAS = 3.0
LAGS = (1, 5, 10, 20, 30)


def _influence(torch, net, x):
    """Mean ‖∂h_T/∂x_t‖ for each step t: how much each input still moves the final state."""
    x = x.clone().requires_grad_(True)
    out, _ = net(x)
    (grad,) = torch.autograd.grad(out[:, -1].sum(), x)
    return grad.norm(dim=2).mean(0).flip(0).cpu()  # index k-1 = the token k steps ago


def _forget_gate(torch, lstm, x):
    """Mean forget-gate activation over the sequence (PyTorch stacks gates as i, f, g, o)."""
    with torch.no_grad():
        out, _ = lstm(x)
        h_prev = torch.cat([torch.zeros_like(out[:, :1]), out[:, :-1]], dim=1)
        f = slice(HIDDEN, 2 * HIDDEN)
        pre = (x @ lstm.weight_ih_l0[f].T + lstm.bias_ih_l0[f]
               + h_prev @ lstm.weight_hh_l0[f].T + lstm.bias_hh_l0[f])
        return torch.sigmoid(pre).mean().item()


def demo(ctx) -> dict[str, float]:
    import torch

    gen = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, VOCAB, (32, STEPS), generator=gen)
    x = torch.nn.functional.one_hot(tokens, VOCAB).float().to(ctx.device)

    torch.manual_seed(0)
    rnn = torch.nn.RNN(VOCAB, HIDDEN, batch_first=True).to(ctx.device)
    torch.manual_seed(0)
    lstm_default = torch.nn.LSTM(VOCAB, HIDDEN, batch_first=True).to(ctx.device)
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(VOCAB, HIDDEN, batch_first=True).to(ctx.device)
    with torch.no_grad():  # bias the forget gate open: "remember unless told to forget"
        lstm.bias_ih_l0[HIDDEN:2 * HIDDEN].fill_(FORGET_BIAS)
        lstm.bias_hh_l0[HIDDEN:2 * HIDDEN].zero_()

    nets = {"rnn": rnn, "lstm_default": lstm_default, "lstm": lstm}
    # Relative to the newest token, so the three nets are compared on the same footing.
    curves = {name: (c := _influence(torch, net, x)) / c[0] for name, net in nets.items()}
    gates = {"lstm_default": _forget_gate(torch, lstm_default, x),
             "lstm": _forget_gate(torch, lstm, x)}

    ctx.say(f"influence of the token k steps back on the final state (1 = newest token), "
            f"{STEPS} steps, untrained nets of width {HIDDEN}:")
    ctx.say(f"{'k':>4} {'RNN':>9} {'LSTM':>9} {'LSTM f-bias ' + str(int(FORGET_BIAS)):>14}")
    for k in LAGS:
        ctx.say(f"{k:>4} {curves['rnn'][k - 1]:>9.1e} {curves['lstm_default'][k - 1]:>9.1e} "
                f"{curves['lstm'][k - 1]:>14.1e}")
    ctx.say(f"mean forget gate: {gates['lstm_default']:.2f} with PyTorch's default init, "
            f"{gates['lstm']:.2f} with forget bias {FORGET_BIAS:g}")

    fig, ax = ctx.figure()
    if fig is not None:
        ks = range(1, STEPS + 1)
        ax.semilogy(ks, curves["rnn"].tolist(), label="vanilla RNN (tanh)")
        for name in ("lstm_default", "lstm"):
            ax.semilogy(ks, curves[name].tolist(), label=f"LSTM, forget gate ≈ {gates[name]:.2f}")
        ax.set(title="How much a token k steps back still counts", xlabel="k (steps ago)",
               ylabel="‖∂h_T/∂x_{T-k}‖, relative")
        ax.legend(fontsize=8)

    metrics = {f"{name}_influence_k{k}": curves[name][k - 1].item()
               for name in nets for k in (10, 30)}
    metrics["lstm_default_forget_gate"] = gates["lstm_default"]
    metrics["lstm_forget_gate"] = gates["lstm"]
    return metrics
