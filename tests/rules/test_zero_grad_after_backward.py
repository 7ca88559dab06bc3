"""zero-grad-after-backward: zero_grad() between backward() and optimizer.step()."""
import pytest
from conftest import apply_fix, findings, lines, notebook

RULE = "zero-grad-after-backward"

BUGGY = [
    ("cleared_in_the_same_branch_as_the_step", """\
for i, (x, y) in enumerate(loader):
    loss = criterion(model(x), y)
    loss.backward()
    if accumulate:
        optimizer.zero_grad()
        optimizer.step()
    elif (i + 1) % 4 == 0:
        optimizer.step()
""", [5]),
    ("classic", """\
import torch

optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for x, y in loader:
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
""", [7]),
    ("in_a_train_function", """\
def train_epoch(model, train_loader, criterion, optimizer, device):
    for idx, (data, gt) in enumerate(train_loader):
        loss_m = criterion(model(data), gt).mean()

        loss_m.backward()
        optimizer.zero_grad()
        optimizer.step()
""", [6]),
    ("model_zero_grad_of_the_optimized_model", """\
import torch

opt = torch.optim.SGD(net.parameters(), lr=0.1)
for x, y in loader:
    loss = loss_fn(net(x), y)
    loss.backward()
    net.zero_grad()
    opt.step()
""", [7]),
    ("amp_scaler", """\
for x, y in loader:
    with torch.autocast("cuda"):
        loss = criterion(model(x), y)
    scaler.scale(loss).backward()
    optimizer.zero_grad(set_to_none=True)
    scaler.step(optimizer)
    scaler.update()
""", [5]),
    ("a_single_training_step_function", """\
def train_step(x, y):
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()
""", [4]),
    ("cleared_twice_second_one_after_backward", """\
for x, y in loader:
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
""", [5]),
    ("another_optimizer_cleared_after_it", """\
for real in loader:
    d_loss.backward()
    opt_d.zero_grad()
    opt_g.zero_grad()
    opt_d.step()
""", [3]),
    ("backward_in_an_inner_loop_cleared_at_its_end", """\
for epoch in range(10):
    for chunk in chunks:
        criterion(model(chunk), target).backward()
        optimizer.zero_grad()
    optimizer.step()
""", [4]),
]

CORRECT = [
    ("if_elif_branches_are_exclusive", """\
for i, (x, y) in enumerate(loader):
    loss = criterion(model(x), y)
    loss.backward()
    if num_grad_acc is None:
        optimizer.step()
        optimizer.zero_grad()
    elif (i + 1) % num_grad_acc == 0:
        optimizer.step()
        optimizer.zero_grad()
""",),
    ("if_else_branches_are_exclusive", """\
for x, y in loader:
    loss = criterion(model(x), y)
    loss.backward()
    if skip_step:
        optimizer.zero_grad()
    else:
        optimizer.step()
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
    ("gradient_accumulation", """\
for i, (x, y) in enumerate(loader):
    loss = criterion(model(x), y) / 4
    loss.backward()
    if (i + 1) % 4 == 0:
        optimizer.step()
        optimizer.zero_grad()
""",),
    ("gan_other_optimizer_cleared", """\
for real in loader:
    opt_d.zero_grad()
    d_loss = bce(D(real), ones) + bce(D(G(z)), zeros)
    d_loss.backward()
    opt_g.zero_grad()
    opt_d.step()
    g_loss = bce(D(G(z)), ones)
    g_loss.backward()
    opt_g.step()
""",),
    ("gan_sequential_updates", """\
for real in loader:
    netD.zero_grad()
    errD.backward()
    optimizerD.step()
    netG.zero_grad()
    errG.backward()
    optimizerG.step()
""",),
    ("other_model_cleared", """\
import torch

opt = torch.optim.Adam(student.parameters())
for x in loader:
    loss = distill(student(x), teacher(x))
    loss.backward()
    teacher.zero_grad()
    opt.step()
""",),
    ("skip_a_nan_batch", """\
for x, y in loader:
    loss = criterion(model(x), y)
    loss.backward()
    if torch.isnan(loss):
        optimizer.zero_grad()
        continue
    optimizer.step()
""",),
    ("backward_again_after_clearing", """\
for x, y in loader:
    saliency_loss.backward()
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
""",),
    ("backward_in_a_helper_after_clearing", """\
def compute(batch):
    loss = criterion(model(batch))
    loss.backward()
    return loss

for batch in loader:
    warmup_loss.backward()
    optimizer.zero_grad()
    compute(batch)
    optimizer.step()
""",),
    ("lbfgs_closure", """\
for epoch in range(10):
    def closure():
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        return loss
    optimizer.step(closure)
""",),
    ("manual_grad_none_between_is_deliberate_freezing", """\
for x, y in loader:
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    for p in frozen_params:
        p.grad = None
    optimizer.step()
""",),
    ("zero_grad_in_a_test_without_step", """\
def test_zero_grad_clears_gradients():
    loss(model(x)).backward()
    optimizer.zero_grad()
    assert all(p.grad is None for p in model.parameters())
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_message_and_related():
    src = "for x, y in loader:\n    loss.backward()\n    optimizer.zero_grad()\n    optimizer.step()\n"
    (f,) = findings(src, RULE)
    assert f.message.startswith("`optimizer.zero_grad()` runs after `loss.backward()` and before `optimizer.step()`")
    assert [r.message for r in f.related] == ["backward pass whose gradients are cleared",
                                              "the step that finds no gradients"]
    assert [r.location.line for r in f.related] == [1, 3]
    assert f.concept == "training-loop"


def test_fix_moves_the_clearing_after_the_step():
    src = """\
for x, y in loader:
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    total += loss.item()
"""
    (f,) = findings(src, RULE)
    fixed = apply_fix(src, f)
    assert fixed == """\
for x, y in loader:
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    total += loss.item()
"""
    assert lines(fixed, RULE) == []
    assert lines(fixed, "missing-zero-grad") == []


def test_fix_when_the_step_ends_the_file():
    src = "for x in loader:\n    loss.backward()\n    optimizer.zero_grad()\n    optimizer.step()"
    (f,) = findings(src, RULE)
    assert apply_fix(src, f) == "for x in loader:\n    loss.backward()\n    optimizer.step()\n    optimizer.zero_grad()"


def test_no_fix_when_the_step_is_in_another_block():
    src = """\
for epoch in range(10):
    for chunk in chunks:
        criterion(model(chunk), target).backward()
        optimizer.zero_grad()
    optimizer.step()
"""
    (f,) = findings(src, RULE)
    assert f.fix is None


def test_across_notebook_cells():
    found = notebook([
        "import torch\nopt = torch.optim.Adam(model.parameters())\n",
        "for x, y in loader:\n    loss_fn(model(x), y).backward()\n    opt.zero_grad()\n    opt.step()\n",
    ], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(1, 2)]
