"""What the clipping rules claim about PyTorch, checked against PyTorch itself (CPU).

The rules never import torch; these tests do, so that a change in PyTorch's behaviour shows up
here instead of as a wrong diagnostic. Skipped where torch is not installed."""
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn


def _setup(seed=0):
    torch.manual_seed(seed)
    model = nn.Linear(8, 1)
    x, y = torch.randn(32, 8) * 10, torch.randn(32, 1) * 10  # large gradients: clipping bites
    return model, x, y


def _params(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def _train(order, steps=3):
    model, x, y = _setup()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(steps):
        opt.zero_grad()
        if order == "clip_before_backward":
            nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        nn.functional.mse_loss(model(x), y).backward()
        if order == "clip_between":
            nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        opt.step()
        if order == "clip_after_step":
            nn.utils.clip_grad_norm_(model.parameters(), 0.1)
    return _params(model)


def test_clip_after_step_or_before_backward_is_the_same_as_no_clip():
    """clip-grad-misplaced: those clips change no update."""
    unclipped = _train("none")
    assert torch.equal(_train("clip_after_step"), unclipped)
    assert torch.equal(_train("clip_before_backward"), unclipped)
    assert not torch.allclose(_train("clip_between"), unclipped)  # the clip does bite here


def _applied_gradient_norm(unscale_first):
    """The norm of the gradients the optimizer step applies (scaler.step unscales in place)."""
    model, x, y = _setup()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 16)
    opt.zero_grad()
    scaler.scale(nn.functional.mse_loss(model(x), y)).backward()
    if unscale_first:
        scaler.unscale_(opt)
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(opt)
    scaler.update()
    return torch.cat([p.grad.flatten() for p in model.parameters()]).norm().item()


def test_clipping_scaled_gradients_shrinks_the_update_by_the_scale_factor():
    """clip-grad-scaled: without unscale_(), the update is max_norm / scale, not max_norm."""
    right, wrong = _applied_gradient_norm(True), _applied_gradient_norm(False)
    assert right == pytest.approx(1.0, rel=1e-4)             # max_norm
    assert wrong == pytest.approx(1.0 / 2 ** 16, rel=1e-4)   # max_norm / scale


def test_one_cycle_stepped_per_epoch_stays_at_the_start_of_its_warm_up():
    """onecycle-stepped-per-epoch: 20 epochs of 400 batches, stepped once per epoch, never get
    far from max_lr / 25; stepped per batch, the same schedule reaches max_lr and anneals."""
    w = torch.zeros(1, requires_grad=True)

    def run(steps):
        opt = torch.optim.SGD([w], lr=0.1)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, epochs=20, steps_per_epoch=400)
        seen = []
        for _ in range(steps):
            opt.step()
            sched.step()
            seen.append(opt.param_groups[0]["lr"])
        return seen

    per_epoch = run(20)
    assert max(per_epoch) < 0.1 / 25 * 1.01
    per_batch = run(20 * 400 - 1)
    assert max(per_batch) == pytest.approx(0.1) and per_batch[-1] < 1e-5


def test_drop_last_leaves_examples_out_and_a_small_set_without_a_batch():
    """eval-loader-drop-last: floor(N / batch_size) batches, the remainder never seen; a set
    smaller than one batch yields none; batch_size=1 (the default) and drop_last=False see all."""
    from torch.utils.data import DataLoader, TensorDataset

    ds = TensorDataset(torch.arange(100))
    seen = [x for (b,) in DataLoader(ds, batch_size=32, drop_last=True) for x in b.tolist()]
    assert len(DataLoader(ds, batch_size=32, drop_last=True)) == 3 and seen == list(range(96))
    assert len(DataLoader(ds, batch_size=32)) == 4   # 32 + 32 + 32 + 4
    assert len(DataLoader(ds, drop_last=True)) == 100   # batch_size defaults to 1
    assert list(DataLoader(TensorDataset(torch.arange(20)), batch_size=32, drop_last=True)) == []
