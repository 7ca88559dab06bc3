"""Every number the hover computes for a call, checked against PyTorch itself (CPU).

callfacts.py never imports torch; it reads literal arguments and applies the documented
formulas and defaults. Here the same calls are built with torch and run, so a wrong default, a
wrong formula or a changed torch fails a test instead of teaching something false. Skipped
where torch is not installed (`pip install torch==2.13.0`, CPU build; .ci/run installs it)."""
import math
import re

import pytest

from test_callfacts import facts_for

torch = pytest.importorskip("torch")
nn = torch.nn
optim = torch.optim
lr_scheduler = torch.optim.lr_scheduler
NAMESPACE = {"torch": torch, "nn": nn, "optim": optim, "lr_scheduler": lr_scheduler}


def build(expr):
    return eval(expr, dict(NAMESPACE))  # our own test expressions, never user code


def number(pattern: str, facts: list[str]) -> float:
    m = re.search(pattern, "\n".join(facts))
    assert m is not None, (pattern, facts)
    return float(m.group(1).replace(",", ""))


def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("expr", [
    "nn.Linear(10, 5)", "nn.Linear(128, 64, bias=False)",
    "nn.Conv2d(3, 16, kernel_size=3, stride=2, padding=1)", "nn.Conv2d(32, 32, 3, groups=32, bias=False)",
    "nn.Conv2d(3, 8, kernel_size=(3, 3), padding='same')", "nn.Conv1d(4, 6, 5, dilation=2)",
    "nn.ConvTranspose2d(16, 8, kernel_size=4, stride=2, padding=1)", "nn.ConvTranspose1d(4, 2, 3, groups=2)",
    "nn.Embedding(1000, 64)", "nn.Embedding(10, 4, padding_idx=0)",
    "nn.LayerNorm(512)", "nn.LayerNorm([8, 8], elementwise_affine=False)", "nn.LayerNorm(64, bias=False)",
    "nn.MultiheadAttention(64, 8)", "nn.MultiheadAttention(32, 4, bias=False)",
    "nn.TransformerEncoderLayer(64, 8)", "nn.TransformerDecoderLayer(d_model=32, nhead=4, dim_feedforward=128)",
])
def test_parameter_counts(expr):
    assert number(r"\*\*([\d,]+) parameters\*\*", facts_for(expr)) == n_params(build(expr))


@pytest.mark.parametrize("expr,channels,dims", [
    ("nn.Conv2d(3, 16, kernel_size=3, stride=2, padding=1)", 3, 2), ("nn.Conv2d(3, 8, 5)", 3, 2),
    ("nn.Conv2d(3, 8, 3, padding='valid')", 3, 2), ("nn.Conv1d(4, 6, 5, dilation=2)", 4, 1),
    ("nn.MaxPool2d(2)", 1, 2), ("nn.MaxPool2d(3, stride=1, padding=1)", 1, 2), ("nn.MaxPool2d(3, 2)", 1, 2),
    ("nn.MaxPool2d(3, 2, ceil_mode=True)", 1, 2), ("nn.MaxPool2d(5, 3, ceil_mode=True)", 1, 2),
    ("nn.MaxPool1d(3, 2, 1, dilation=2)", 1, 1), ("nn.AvgPool2d(kernel_size=(2, 2))", 1, 2),
    ("nn.AvgPool1d(4, 4)", 1, 1), ("nn.AvgPool2d(3, 2, 1, ceil_mode=True)", 1, 2),
])
def test_output_sizes_from_32(expr, channels, dims):
    predicted = number(r"e\.g\. 32 → (\d+)", facts_for(expr))
    out = build(expr)(torch.zeros((1, channels) + (32,) * dims))
    assert out.shape[-1] == predicted


@pytest.mark.parametrize("expr", ["nn.ConvTranspose2d(16, 8, kernel_size=4, stride=2, padding=1)",
                                  "nn.ConvTranspose2d(4, 4, 3, stride=2, output_padding=1)",
                                  "nn.ConvTranspose1d(4, 2, 3, groups=2)"])
def test_transposed_conv_sizes_from_7(expr):
    predicted = number(r"e\.g\. 7 → (\d+)", facts_for(expr))
    module = build(expr)
    x = torch.zeros((1, module.in_channels) + (7,) * (2 if "2d" in expr else 1))
    assert module(x).shape[-1] == predicted


def test_same_padding_keeps_size_and_is_stride_one_only():
    assert build("nn.Conv2d(3, 8, kernel_size=3, padding='same')")(torch.zeros(1, 3, 32, 32)).shape[-1] == 32
    with pytest.raises(ValueError):
        build("nn.Conv2d(3, 8, 3, stride=2, padding='same')")


def test_attention_head_divisibility_raises():
    assert any("constructor raises" in f for f in facts_for("nn.MultiheadAttention(100, 8)"))
    with pytest.raises(AssertionError):
        build("nn.MultiheadAttention(100, 8)")
    with pytest.raises(AssertionError):
        build("nn.TransformerEncoderLayer(100, 8)")


def test_attention_and_transformer_defaults():
    mha, enc = build("nn.MultiheadAttention(64, 8)"), build("nn.TransformerEncoderLayer(64, 8)")
    assert mha.batch_first is False and mha.head_dim == 8
    assert enc.linear1.out_features == 2048 and enc.dropout.p == 0.1 and enc.norm_first is False
    assert enc.self_attn.batch_first is False


def test_layer_norm_same_in_train_and_eval_and_batch_of_one():
    ln = nn.LayerNorm(16)
    x = torch.randn(1, 16)
    train_out = ln.train()(x)
    assert torch.equal(train_out, ln.eval()(x)) and not list(ln.buffers())


def test_embedding_padding_row_is_zero_and_frozen():
    assert any("gets no gradient" in f for f in facts_for("nn.Embedding(10, 4, padding_idx=0)"))
    emb = nn.Embedding(10, 4, padding_idx=0)
    assert torch.count_nonzero(emb.weight[0]) == 0
    emb(torch.tensor([0, 3, 0])).sum().backward()
    assert torch.count_nonzero(emb.weight.grad[0]) == 0 and torch.count_nonzero(emb.weight.grad[3]) == 4
    with pytest.raises(IndexError):
        emb(torch.tensor([10]))


def test_sgd_momentum_steady_step_is_lr_over_one_minus_momentum():
    facts = facts_for("optim.SGD(model.parameters(), lr=0.01, momentum=0.9)")
    factor = number(r"\*\*([\d.]+)× lr\*\*", facts)
    w = torch.zeros(1, requires_grad=True)
    opt = optim.SGD([w], lr=0.01, momentum=0.9)
    for _ in range(300):
        before = w.detach().clone()
        opt.zero_grad()
        w.grad = torch.ones(1)
        opt.step()
    assert (before - w.detach()).item() == pytest.approx(0.01 * factor, rel=1e-3)
    assert any("no momentum" in f for f in facts_for("optim.SGD(model.parameters(), lr=0.1)"))
    assert optim.SGD([w]).defaults["momentum"] == 0 and optim.SGD([w]).defaults["lr"] == 0.001
    with pytest.raises(ValueError):
        optim.SGD([w], lr=0.1, nesterov=True)


def test_adam_defaults_and_decoupled_decay():
    w = torch.zeros(1, requires_grad=True)
    assert optim.Adam([w]).defaults["lr"] == 0.001 and optim.Adam([w]).defaults["weight_decay"] == 0
    assert optim.AdamW([w]).defaults["weight_decay"] == 0.01
    # AdamW with a zero gradient still shrinks the weight by lr * weight_decay * w (decoupled)
    w = torch.ones(1, requires_grad=True)
    opt = optim.AdamW([w], lr=0.1, weight_decay=0.5)
    w.grad = torch.zeros(1)
    opt.step()
    assert w.item() == pytest.approx(1 - 0.1 * 0.5)


def lrs(scheduler_expr, steps, lr=1.0):
    w = torch.zeros(1, requires_grad=True)
    opt = optim.SGD([w], lr=lr)
    sched = eval(scheduler_expr, {**NAMESPACE, "opt": opt})
    out = [opt.param_groups[0]["lr"]]
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append(opt.param_groups[0]["lr"])
    return out


def test_step_exponential_cosine_schedules():
    expr = "lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)"
    ratio = number(r"after 30: ([\d.e-]+)×", facts_for(expr))
    assert lrs(expr, 30)[30] == pytest.approx(ratio) and lrs(expr, 30)[9] == 1.0
    expr = "lr_scheduler.ExponentialLR(opt, gamma=0.9)"
    assert lrs(expr, 10)[10] == pytest.approx(number(r"after 10 steps ([\d.e-]+)×", facts_for(expr)), rel=1e-3)
    expr = "lr_scheduler.CosineAnnealingLR(opt, T_max=100)"
    curve = lrs(expr, 150)
    assert curve[100] == pytest.approx(0.0, abs=1e-9) and curve[150] > curve[100]  # "rises again"


def test_plateau_reduces_after_more_than_patience_bad_epochs():
    w = torch.zeros(1, requires_grad=True)
    opt = optim.SGD([w], lr=1.0)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=3)
    seen = []
    for _ in range(6):
        sched.step(1.0)  # never improves after the first
        seen.append(opt.param_groups[0]["lr"])
    assert seen[:4] == [1.0] * 4 and seen[4] == pytest.approx(0.1)  # 4 bad epochs > patience 3


def test_one_cycle_start_end_and_overstep():
    expr = "lr_scheduler.OneCycleLR(opt, max_lr=0.01, epochs=10, steps_per_epoch=100)"
    facts = facts_for(expr)
    curve = lrs(expr, 999)
    assert curve[0] == pytest.approx(number(r"from ([\d.e-]+) \(max_lr", facts))
    assert curve[-1] == pytest.approx(number(r"anneals to ([\d.e-]+)\.", facts), rel=1e-2)
    assert max(curve) == pytest.approx(0.01) and curve.index(max(curve)) == pytest.approx(300, abs=2)
    with pytest.raises(ValueError):
        lrs(expr, 1001)


@pytest.mark.filterwarnings("ignore:reduction:UserWarning")
def test_kl_div_mean_is_per_element_and_batchmean_per_example():
    logp = torch.log_softmax(torch.randn(4, 10), dim=1)
    target = torch.softmax(torch.randn(4, 10), dim=1)
    total = nn.KLDivLoss(reduction="sum")(logp, target)
    assert nn.KLDivLoss()(logp, target) == pytest.approx(total / 40)
    assert nn.KLDivLoss(reduction="batchmean")(logp, target) == pytest.approx(total / 4)


def test_flatten_defaults():
    x = torch.zeros(2, 3, 4, 4)
    assert nn.Flatten()(x).shape == (2, 48) and torch.flatten(x).shape == (96,)


def test_clipping_claims():
    g = torch.tensor([3.0, 4.0])
    w = torch.zeros(2, requires_grad=True)
    w.grad = g.clone()
    returned = nn.utils.clip_grad_norm_([w], max_norm=1.0)
    assert returned.item() == pytest.approx(5.0)  # the norm before clipping
    assert torch.allclose(w.grad, g / 5)          # same direction, norm 1
    w.grad = torch.tensor([3.0, 0.1])
    nn.utils.clip_grad_value_([w], 0.5)
    assert torch.allclose(w.grad, torch.tensor([0.5, 0.1]))  # direction changed


def test_grad_scaler_defaults_skip_and_backoff():
    scaler = torch.amp.GradScaler("cpu")
    assert scaler.get_growth_interval() == 2000 and scaler.get_backoff_factor() == 0.5
    w = torch.ones(1, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    scaler.scale((w * 1.0).sum())  # the scale is created lazily at the first scale()
    assert scaler.get_scale() == 65536.0
    w.grad = torch.tensor([math.inf])
    scaler.step(opt)
    scaler.update()
    assert w.item() == 1.0 and scaler.get_scale() == 32768.0  # step skipped, scale halved
    off = torch.amp.GradScaler("cpu", enabled=False)
    loss = (w * 2).sum()
    assert off.scale(loss) is loss


def test_backward_accumulates_frees_the_graph_and_needs_a_scalar():
    w = torch.ones(3, requires_grad=True)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    assert torch.equal(w.grad, torch.full((3,), 4.0))  # 2w, added twice
    with pytest.raises(RuntimeError):
        loss.backward()  # the graph's saved tensors are freed
    with pytest.raises(RuntimeError):
        (w * 2).backward()  # not a scalar, no gradient= given


def test_detach_shares_memory_and_stops_gradients():
    w = torch.ones(3, requires_grad=True)
    d = w.detach()
    assert not d.requires_grad
    d[0] = 5.0
    assert w[0].item() == 5.0


@pytest.mark.parametrize("expr", [
    "nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))",
    "nn.Sequential(nn.Linear(10, 20, bias=False), nn.BatchNorm1d(20), nn.GELU(), nn.Dropout(0.1), nn.Linear(20, 1))",
    "nn.Sequential(nn.Linear(16, 32), nn.LayerNorm(32), nn.Tanh(), nn.Linear(32, 3), nn.LogSoftmax(dim=1))",
    "nn.Sequential(nn.Linear(8, 8), nn.LayerNorm(8, bias=False), nn.BatchNorm1d(8, affine=False), nn.Linear(8, 1))",
    "nn.Sequential(nn.Linear(8, 8), nn.LayerNorm(8, elementwise_affine=False), nn.SiLU(), nn.Linear(8, 2))",
])
def test_sequential_parameters_and_output_shape(expr):
    facts = facts_for(expr)
    model = build(expr)
    assert number(r"\*\*([\d,]+) parameters\*\*", facts) == n_params(model)
    n_in = int(number(r"input `\(N, (\d+)\)`", facts))
    n_out = int(number(r"output `\(N, (\d+)\)`", facts))
    model.eval()
    assert model(torch.zeros(2, n_in)).shape == (2, n_out)


def test_sequential_mismatch_is_a_real_shape_error():
    expr = "nn.Sequential(nn.Linear(784, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Linear(128, 10))"
    facts = facts_for(expr)
    assert any("⚠ Layer 3" in f for f in facts)
    with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied"):
        build(expr).eval()(torch.zeros(2, 784))
