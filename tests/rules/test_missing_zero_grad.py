"""missing-zero-grad: a training loop that steps the optimizer but never clears gradients."""
import pytest

from conftest import apply_fix, findings, lines, notebook, parses, two_files

RULE = "missing-zero-grad"

BUGGY = [
    ("clearing_only_in_a_comment", """\
import torch

optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
for x, y in loader:
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()  # p.grad = None would clear them, but nothing does
""", [7]),
    ("plain_loop", """\
import torch

optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
for epoch in range(10):
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
""", [8]),
    ("inside_train_function", """\
def train(model, loader, optimizer, criterion):
    model.train()
    for data, target in loader:
        output = model(data)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()
""", [7]),
    ("zero_grad_only_once_per_epoch", """\
from torch import optim

opt = optim.Adam(net.parameters())
for epoch in range(5):
    opt.zero_grad()
    for x, y in loader:
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
""", [9]),
    ("amp_grad_scaler", """\
import torch

scaler = torch.cuda.amp.GradScaler()
for x, y in loader:
    with torch.autocast("cuda"):
        loss = criterion(model(x), y)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
""", [8]),
    ("while_loop", """\
import torch

optimizer = torch.optim.Adam(params)
step = 0
while step < 1000:
    loss = compute_loss()
    loss.backward()
    optimizer.step()
    step += 1
""", [8]),
    # a method that clears nothing
    ("a_method_that_does_not_clear", """\
import torch
import torch.nn as nn


class Solver:
    def __init__(self):
        self.D = nn.Linear(4, 1)
        self.d_optimizer = torch.optim.Adam(self.D.parameters(), 1e-4)

    def reset_stats(self):
        self.seen = 0

    def train(self, loader):
        for x in loader:
            d_loss = self.D(x).mean()
            self.reset_stats()
            d_loss.backward()
            self.d_optimizer.step()
""", [18]),
]

CORRECT = [
    # yunjey/stargan: gradients cleared through a method of the solver
    ("cleared_by_a_method_of_the_same_object", """\
import torch
import torch.nn as nn


class Solver:
    def __init__(self):
        self.D = nn.Linear(4, 1)
        self.d_optimizer = torch.optim.Adam(self.D.parameters(), 1e-4)

    def reset_grad(self):
        self.d_optimizer.zero_grad()

    def train(self, loader):
        for x in loader:
            d_loss = self.D(x).mean()
            self.reset_grad()
            d_loss.backward()
            self.d_optimizer.step()
""",),
    ("zero_grad_first", """\
for x, y in loader:
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
""",),
    ("zero_grad_after_step", """\
for x, y in loader:
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
""",),
    ("model_zero_grad", """\
for x, y in loader:
    model.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
""",),
    ("set_to_none", """\
for x, y in loader:
    optimizer.zero_grad(set_to_none=True)
    criterion(model(x), y).backward()
    optimizer.step()
""",),
    ("lbfgs_closure", """\
import torch

optimizer = torch.optim.LBFGS(model.parameters())
for i in range(20):
    def closure():
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        return loss
    optimizer.step(closure)
""",),
    ("lbfgs_closure_keyword", """\
import torch

optimizer = torch.optim.LBFGS([img])
for i in range(20):
    def closure():
        optimizer.zero_grad()
        loss = style_loss(img)
        loss.backward()
        return loss
    optimizer.step(closure=closure)
""",),
    ("gradient_accumulation", """\
accum = 4
for i, (x, y) in enumerate(loader):
    loss = criterion(model(x), y) / accum
    loss.backward()
    if (i + 1) % accum == 0:
        optimizer.step()
        optimizer.zero_grad()
""",),
    ("manual_param_grad_none", """\
for x, y in loader:
    for p in model.parameters():
        p.grad = None
    loss_fn(model(x), y).backward()
    optimizer.step()
""",),
    ("legacy_grad_data_zero", """\
for x, y in loader:
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    for p in model.parameters():
        if p.grad is not None:
            p.grad.data.zero_()
""",),
    ("gan_two_optimizers", """\
for real, _ in loader:
    netD.zero_grad()
    errD = criterion(netD(real), ones)
    errD.backward()
    optimizerD.step()
    netG.zero_grad()
    errG = criterion(netD(netG(noise)), ones)
    errG.backward()
    optimizerG.step()
""",),
    ("zero_grad_in_helper", """\
def reset(model):
    model.zero_grad()

for x, y in loader:
    reset(model)
    loss_fn(model(x), y).backward()
    optimizer.step()
""",),
    ("scheduler_step_only", """\
for epoch in range(10):
    train_one_epoch(model, loader, optimizer)
    scheduler.step()
""",),
    ("backward_and_step_in_helper", """\
def train_step(x, y):
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()

for x, y in loader:
    train_step(x, y)
""",),
    ("full_batch_step_after_loop", """\
optimizer.zero_grad()
for x, y in loader:
    loss_fn(model(x), y).backward()
optimizer.step()
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_across_notebook_cells():
    found = notebook([
        "import torch\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n",
        "for x, y in loader:\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n",
    ], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(1, 3)]


@pytest.mark.parametrize("src", [BUGGY[0][1], BUGGY[1][1], BUGGY[3][1]])
def test_fix_inserts_zero_grad(src):
    (finding,) = findings(src, RULE)
    fixed = apply_fix(src, finding)
    assert parses(fixed)
    assert ".zero_grad()" in fixed
    assert lines(fixed, RULE) == []


# Hand-written gradient steps (no optimizer): the same accumulation when `.grad` is never cleared.
MANUAL_BUGGY = [
    ("leaf_made_before_the_loop", """\
import torch

logit_tensor = torch.tensor(0.0, requires_grad=True)
for step in range(5):
    loss = loss_fn(torch.sigmoid(logit_tensor), target)
    loss.backward()
    logit_tensor.data -= lr * logit_tensor.grad.data
""", [7]),
    ("existing_tensor_rebound_each_pass", """\
for step in range(5):
    w = params[0]
    loss = (w * x).sum()
    loss.backward()
    w.data -= lr * w.grad
""", [5]),
    # chenyuntc/pytorch-book Chapter7 MPI_PyTorch.py: averaged gradients, never cleared.
    ("manual_update_from_reduced_grad", """\
for data, target in dataloader:
    loss = criterion(model(data), target)
    loss.backward()
    for name, param in model.named_parameters():
        grad_mean = comm.allreduce(param.grad.detach().cpu()) / size
        param.data -= lr * grad_mean
""", [6]),
    ("manual_sgd_on_leaf_tensors", """\
import torch

for t in range(500):
    loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
    loss.backward()
    with torch.no_grad():
        w1 -= learning_rate * w1.grad
        w2 -= learning_rate * w2.grad
""", [7]),
    # `.grad` set to something that is not zero does not clear it
    ("micrograd_grad_set_to_one", """\
for k in range(20):
    loss = sum((yout - ygt)**2 for ygt, yout in zip(ys, [n(x) for x in xs]))
    for p in n.parameters():
        p.grad = 0.5
    loss.backward()
    for p in n.parameters():
        p.data += -0.1 * p.grad
""", [7]),
    ("manual_sub_in_place", """\
for x, y in loader:
    loss = criterion(model(x), y)
    loss.backward()
    for p in model.parameters():
        p.data.sub_(lr * p.grad.data)
""", [5]),
    # d2l's from-scratch linear regression with the `param.grad.zero_()` line left out: the
    # step is in a helper, reported at its call in the loop.
    ("update_helper_that_never_clears", """\
import torch

def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size

for epoch in range(num_epochs):
    for X, y in data_iter(batch_size, features, labels):
        l = loss(net(X, w, b), y)
        l.sum().backward()
        sgd([w, b], lr, batch_size)
""", [12]),
    ("in_place_helper_that_never_clears", """\
def step(model, lr):
    for p in model.parameters():
        p.data.sub_(lr * p.grad.data)

for x, y in loader:
    loss = criterion(model(x), y)
    loss.backward()
    step(model, lr)
""", [8]),
]

MANUAL_CORRECT = [
    # gordicaleksa/pytorch-GANs playground.py (sweep 22b): a new leaf per pass.
    ("new_leaf_tensor_each_pass", """\
import torch

for logit in [-10.0, -1.0, 0.0, 1.0, 10.0]:
    logit_tensor = torch.tensor(logit, requires_grad=True)
    loss = loss_fn(torch.sigmoid(logit_tensor), target)
    loss.backward()
    logit_tensor.data -= lr * logit_tensor.grad.data
"""),
    ("detached_copy_each_pass", """\
for step in range(10):
    x = x0.detach().clone().requires_grad_(True)
    loss = f(x)
    loss.backward()
    x0 = x.data - lr * x.grad
    x.data -= lr * x.grad
"""),
    ("manual_update_then_zero", """\
import torch

for t in range(500):
    loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
    loss.backward()
    with torch.no_grad():
        w1 -= learning_rate * w1.grad
        w2 -= learning_rate * w2.grad
        w1.grad.zero_()
        w2.grad.zero_()
""",),
    # ShusenTang/Dive-into-DL-PyTorch 5.1: cleared with fill_(0).
    ("manual_update_then_fill_zero", """\
for i in range(20):
    l = ((conv2d(X) - Y) ** 2).sum()
    l.backward()
    conv2d.weight.data -= lr * conv2d.weight.grad
    conv2d.bias.data -= lr * conv2d.bias.grad
    conv2d.weight.grad.fill_(0)
    conv2d.bias.grad.fill_(0)
""",),
    ("model_zero_grad_with_manual_update", """\
import torch

for t in range(500):
    model.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad
""",),
    ("update_helper_that_clears", """\
def sgd(params, lr):
    for param in params:
        param.data -= lr * param.grad
        param.grad.data.zero_()

for X, y in data_iter:
    l = loss(net(X, w, b), y).sum()
    l.backward()
    sgd([w, b], lr)
""",),
    ("update_helper_then_clearing_in_the_loop", """\
def sgd(params, lr):
    for p in params:
        p.data -= lr * p.grad

for x, y in loader:
    loss = criterion(model(x), y)
    loss.backward()
    sgd(model.parameters(), lr)
    model.zero_grad()
""",),
    ("update_helper_that_sets_grad_none", """\
def sgd(params, lr):
    for p in params:
        p.data -= lr * p.grad
        p.grad = None

for x, y in loader:
    loss = criterion(model(x), y)
    loss.backward()
    sgd(model.parameters(), lr)
""",),
    # karpathy/nn-zero-to-hero (micrograd): scalar Values whose gradient is reset to 0.0
    ("micrograd_grad_set_to_zero", """\
for k in range(20):
    ypred = [n(x) for x in xs]
    loss = sum((yout - ygt)**2 for ygt, yout in zip(ys, ypred))
    for p in n.parameters():
        p.grad = 0.0
    loss.backward()
    for p in n.parameters():
        p.data += -0.1 * p.grad
""",),
    ("grad_set_to_zeros_like", """\
import torch

for x, y in loader:
    loss = criterion(model(x, w), y)
    loss.backward()
    with torch.no_grad():
        w -= lr * w.grad
        w.grad = torch.zeros_like(w)
""",),
    # Reads gradients (to log their norm) and changes no parameter: not a step.
    ("helper_reading_grads_only", """\
def grad_norm(params):
    total = 0.0
    for p in params:
        total += p.grad.norm() ** 2
    return total ** 0.5

for x, y in loader:
    loss = criterion(model(x), y)
    loss.backward()
    norms.append(grad_norm(model.parameters()))
""",),
    ("single_backward_no_loop", """\
loss.backward()
w.data -= 0.01 * w.grad
""",),
    ("update_not_from_grad", """\
for x, y in loader:
    loss = criterion(model(x), y)
    loss.backward()
    running -= 1
""",),
]


@pytest.mark.parametrize("name,src,expected", MANUAL_BUGGY, ids=[c[0] for c in MANUAL_BUGGY])
def test_flags_manual_updates(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", MANUAL_CORRECT, ids=[c[0] for c in MANUAL_CORRECT])
def test_silent_manual_updates(name, src):
    assert lines(src, RULE) == []


# `optimizer.zero_grad` written without parentheses: reported where the call was meant.
BARE_ZERO_GRAD = """\
import torch

optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for x, y in loader:
    optimizer.zero_grad  # clear
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
"""


def test_bare_zero_grad_is_reported_where_the_call_was_meant():
    (f,) = findings(BARE_ZERO_GRAD, RULE)
    assert f.location.line + 1 == 5 and "without parentheses" in f.message
    assert f.related[0].location.line + 1 == 8
    fixed = apply_fix(BARE_ZERO_GRAD, f)
    assert "optimizer.zero_grad()  # clear" in fixed and parses(fixed)
    assert lines(fixed, RULE) == []


def test_bare_zero_grad_outside_the_loop_is_not_the_clearing():
    src = BARE_ZERO_GRAD.replace("    optimizer.zero_grad  # clear\n", "").replace(
        "for x, y in loader:", "clear = optimizer.zero_grad\noptimizer.zero_grad\nfor x, y in loader:")
    (f,) = findings(src, RULE)
    assert "never calls zero_grad()" in f.message  # the loop's own finding, at the step


def test_an_optimizer_over_tensors_made_in_the_iteration_accumulates_nothing():
    # diffusers' pix2pix-zero: a fresh leaf and a fresh SGD per denoising step
    src = """\
import torch

for i, t in enumerate(timesteps):
    x_in = latents.detach().clone()
    x_in.requires_grad = True
    opt = torch.optim.SGD([x_in], lr=0.1)
    loss = unet(x_in, t).sum()
    loss.backward()
    opt.step()
    latents = x_in.detach()
"""
    assert lines(src, RULE) == []
    # the same loop over a tensor made once, before it: its gradient does add up
    before = src.replace("for i, t in enumerate(timesteps):\n    x_in = latents.detach().clone()\n",
                         "x_in = latents.detach().clone()\nfor i, t in enumerate(timesteps):\n")
    assert lines(before, RULE) == [9]


_MODEL_CLEARS = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


class EncDec(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(8, 16)
        self.dec = nn.Linear(16, 4)

    def forward(self, x, y):
        {clear}
        h = torch.tanh(self.enc(x))
        return F.cross_entropy(self.dec(h), y)


model = EncDec()
enc_optim = torch.optim.Adam(model.enc.parameters(), lr=1e-3)
dec_optim = torch.optim.Adam(model.dec.parameters(), lr=1e-3)
for epoch in range(5):
    for x, y in batches:
        loss = model(x, y)
        loss.backward()
        enc_optim.step()
        dec_optim.step()
"""


def test_a_model_whose_forward_clears_its_gradients():
    """threelittlemonkeys/seq2seq-pytorch (sweep 21b): forward() begins with self.zero_grad(),
    so every call of the model clears both halves' gradients before the backward pass."""
    assert lines(_MODEL_CLEARS.format(clear="self.zero_grad()"), RULE) == []


@pytest.mark.parametrize("clear", ["self.enc.zero_grad()", "pass  # self.zero_grad()", "print('zero_grad')"])
def test_a_forward_that_clears_part_or_nothing_is_still_flagged(clear):
    assert lines(_MODEL_CLEARS.format(clear=clear), RULE) == [25]


@pytest.mark.parametrize("clear,expected", [("self.zero_grad()", 0), ("self.enc.zero_grad()", 1)])
def test_a_model_of_another_file_whose_forward_clears(clear, expected):
    src = _MODEL_CLEARS.format(clear=clear)
    model_py = src.split("\n\nmodel = EncDec()")[0] + "\n"
    train_py = "import torch\nfrom models import EncDec\nmodel = EncDec()" + src.split("model = EncDec()")[1]
    assert len(two_files(model_py, train_py, RULE)) == expected


_STEP_PARAMETER = """\
import torch


class SimpleSGD(torch.optim.Optimizer):
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                p.data.add_(p.grad, alpha=-group["lr"])


def learn(model, optimizer, loss_fn, {params}, batch, chunk_size):
    {zero}
    for chunk in batch.split(chunk_size):
        loss = loss_fn(*step(chunk))
        loss.backward()
    optimizer.step()
"""


@pytest.mark.parametrize("params, zero", [
    ("step", "optimizer.zero_grad()"),   # the forward callable handed in
    ("step", "pass"),                    # still not SimpleSGD.step: a plain call runs no method
    ("forward", "optimizer.zero_grad()"),
])
def test_a_plain_call_is_not_a_method_of_the_file(params, zero):
    """Sweep A (tabular-benchmark lib/deep.py): `step(chunk)` calls the parameter `step`, not
    the `step` method of an optimizer class of the same file."""
    assert lines(_STEP_PARAMETER.format(params=params, zero=zero), RULE) == []


def test_a_helper_shadowed_by_a_parameter_is_not_followed():
    src = """\
def sgd(params, lr):
    for p in params:
        p.data -= lr * p.grad


def train(model, loss_fn, loader, sgd):
    for x, y in loader:
        loss = loss_fn(model(x), y)
        loss.backward()
        sgd(model.parameters())
"""
    assert lines(src, RULE) == []
    assert lines(src.replace(", sgd):", "):").replace("sgd(model.parameters())", "sgd(model.parameters(), 0.1)"),
                 RULE) == [10]


# Sweep D (a CMU 11-785 "mytorch" homework): a NumPy MLP whose own `zero_grads()` clears its
# `dW`, stepped by a hand-written SGD class; the name says what the method clears.
_MYTORCH = """\
import numpy as np

class MLP:
    def __init__(self):
        self.W = np.zeros((4, 2)); self.dW = np.zeros((4, 2))
    def zero_grads(self):
        self.dW.fill(0.0)
    def backward(self, d):
        self.dW += self.x.T @ d

class SGD:
    def __init__(self, model, lr): self.model, self.lr = model, lr
    def step(self):
        self.model.W -= self.lr * self.model.dW

mlp = MLP(); optim = SGD(mlp, 0.01)
for epoch in range(5):
    {clear}
    mlp.forward(x)
    mlp.backward(y)
    optim.step()
"""


@pytest.mark.parametrize("clear,expected", [
    ("mlp.zero_grads()", []),
    ("mlp.clear_gradients()", []),
    ("model.cleargrads()", []),          # Chainer's spelling
    ("pass", [21]),                      # never cleared: dW adds up
    ("mlp.zero_grads", [21]),            # not called
    ("mlp.grads()", [21]),               # a name that clears nothing
])
def test_a_method_named_for_clearing_gradients_clears_them(clear, expected):
    assert lines(_MYTORCH.format(clear=clear), RULE) == expected
