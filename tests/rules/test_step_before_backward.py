"""step-before-backward: optimizer.step() runs before this iteration's backward pass."""
import pytest

from conftest import lines, notebook

RULE = "step-before-backward"

BUGGY = [
    ("step_then_backward", """\
import torch

optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    optimizer.step()
    loss.backward()
""", [7]),
    ("in_train_function", """\
def train(model, loader, opt):
    for batch in loader:
        opt.zero_grad()
        opt.step()
        out = model(batch["x"])
        loss = out.mean()
        loss.backward()
""", [4]),
    ("amp_scaler_step_first", """\
for x, y in loader:
    optimizer.zero_grad()
    with torch.autocast("cuda"):
        loss = criterion(model(x), y)
    scaler.step(optimizer)
    scaler.scale(loss).backward()
    scaler.update()
""", [5]),
]

CORRECT = [
    ("correct_order", """\
for x, y in loader:
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
""",),
    ("zero_grad_after_step_at_loop_end", """\
for x, y in loader:
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
""",),
    ("lbfgs_closure", """\
import torch

optimizer = torch.optim.LBFGS(model.parameters(), lr=1)
for epoch in range(10):
    def closure():
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        return loss
    optimizer.step(closure)
""",),
    ("gradient_accumulation", """\
for i, (x, y) in enumerate(loader):
    loss = criterion(model(x), y) / 4
    loss.backward()
    if (i + 1) % 4 == 0:
        optimizer.step()
        optimizer.zero_grad()
""",),
    ("scheduler_step_before_backward_is_not_optimizer", """\
for x, y in loader:
    scheduler.step()
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
""",),
    ("gan_alternating_optimizers", """\
for real in loader:
    opt_d.zero_grad()
    d_loss = bce(D(real), ones) + bce(D(G(z).detach()), zeros)
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad()
    g_loss = bce(D(G(z)), ones)
    g_loss.backward()
    opt_g.step()
""",),
    ("amp_correct", """\
for x, y in loader:
    optimizer.zero_grad()
    scaler.scale(criterion(model(x), y)).backward()
    scaler.step(optimizer)
    scaler.update()
""",),
    ("accumulation_step_at_top_of_iteration", """\
for i, (x, y) in enumerate(loader):
    if i > 0 and i % 4 == 0:
        optimizer.step()
        optimizer.zero_grad()
    loss = criterion(model(x), y) / 4
    loss.backward()
""",),
    ("step_in_outer_loop_backward_in_inner", """\
for epoch in range(3):
    for x, y in loader:
        criterion(model(x), y).backward()
    optimizer.step()
    optimizer.zero_grad()
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
        "import torch\nopt = torch.optim.Adam(model.parameters())\n",
        "for x, y in loader:\n    opt.zero_grad()\n    opt.step()\n    loss_fn(model(x), y).backward()\n",
    ], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(1, 2)]


# Sweep C (DARTS-style architecture search): the architect's helper computes the alphas'
# gradients (with torch.autograd.grad) between alpha_optim's zero_grad and its step; the
# backward pass later in the iteration belongs to the other optimizer.
_SEARCH = """\
def search_epoch(model, architect, train_loader, valid_loader, w_optim, alpha_optim, lr):
    for (trn_X, trn_y), (val_X, val_y) in zip(train_loader, valid_loader):
        alpha_optim.zero_grad()
        {between}
        alpha_optim.step()
        w_optim.zero_grad()
        loss = criterion(model(trn_X), trn_y)
        loss.backward()
        w_optim.step()
"""


@pytest.mark.parametrize("between,expected", [
    ("architect.unrolled_backward(trn_X, trn_y, val_X, val_y, lr, w_optim)", []),
    ("model.backward_alpha(val_X, val_y)", []),
    ("grads = torch.autograd.grad(criterion(model(val_X), val_y), model.alphas())", []),
    ("architect.compute_gradients(val_X, val_y)", []),
    ("pass", [5]),                                       # nothing makes the alphas' gradients
    ("logits = model(val_X)", [5]),
    ("torch.nn.utils.clip_grad_norm_(model.alphas(), 5.0)", [5]),
])
def test_a_helper_named_for_gradients_before_the_step(between, expected):
    assert lines(_SEARCH.format(between=between), RULE) == expected


def test_a_function_of_the_file_that_backpropagates_before_the_step():
    src = """\
def alpha_step(model, x, y):
    criterion(model(x), y).backward()

""" + _SEARCH.format(between="alpha_step(model, val_X, val_y)")
    assert lines(src, RULE) == []


def test_a_gradient_helper_before_zero_grad_does_not_count():
    """Its gradients are cleared again before the step."""
    src = _SEARCH.format(between="pass").replace(
        "        alpha_optim.zero_grad()\n",
        "        architect.unrolled_backward(val_X, val_y)\n        alpha_optim.zero_grad()\n")
    assert lines(src, RULE) == [6]
