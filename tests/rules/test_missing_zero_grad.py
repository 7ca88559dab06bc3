"""missing-zero-grad: a training loop that steps the optimizer but never clears gradients."""
import pytest

from conftest import apply_fix, findings, lines, notebook, parses

RULE = "missing-zero-grad"

BUGGY = [
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
]

CORRECT = [
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
