"""training-step-not-called: loss.backward / optimizer.step without parentheses."""
import pytest
from conftest import apply_fix, findings, lines, notebook, parses

RULE = "training-step-not-called"

BUGGY = [
    ("backward_not_called", """\
import torch

optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward
    optimizer.step()
""", [7]),
    ("step_not_called_on_an_optimizer", """\
import torch

opt = torch.optim.Adam(net.parameters())
for x, y in loader:
    opt.zero_grad()
    criterion(net(x), y).backward()
    opt.step  # update
""", [7]),
    ("scheduler_step_not_called", """\
import torch

scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)
for epoch in range(30):
    train_one_epoch()
    scheduler.step
""", [6]),
    ("optimizer_parameter_of_unknown_type", """\
import torch

def train(model, optimizer, loader):
    for x, y in loader:
        optimizer.zero_grad()
        loss = model(x).sum()
        loss.backward()
        optimizer.step
""", [8]),
    ("attribute_loss", """\
import torch

class Trainer:
    def update(self):
        self.loss.backward
        self.optimizer.step()
""", [5]),
]

CORRECT = [
    ("called", """\
import torch

for x, y in loader:
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
""",),
    # A gym environment or a stepper that is not an optimizer: `.step` as a statement is a
    # no-op there too, but not this rule's business.
    ("not_an_optimizer", """\
import torch

env.step
simulation.step
""",),
    ("kept_as_a_reference", """\
import torch

closure_step = optimizer.step
callback(loss.backward)
""",),
    ("longer_names", """\
import torch

loss.backward_hook
optimizer.steps
model.stepper
""",),
    ("commented_out", """\
import torch

loss.backward()
# loss.backward
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[c[0] for c in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[c[0] for c in BUGGY])
def test_fix_calls_the_method(name, src, expected):
    (f,) = findings(src, RULE)
    fixed = apply_fix(src, f)
    assert parses(fixed) and lines(fixed, RULE) == []


def test_backward_message_says_the_model_does_not_learn():
    (f,) = findings(BUGGY[0][1], RULE)
    assert "no gradient is computed" in f.message and "`loss.backward()`" in f.message


def test_in_a_notebook_cell():
    cells = ["import torch", "loss = model(x).sum()\nloss.backward\noptimizer.step()"]
    (f,) = notebook(cells, RULE)
    assert (f.location.cell, f.location.cell_line) == (1, 1)
