"""mode-switch-not-called: model.eval / model.train without parentheses."""
import pytest
from conftest import apply_fix, findings, lines, notebook, parses

RULE = "mode-switch-not-called"

BUGGY = [
    ("eval_before_inference", """\
import torch

def predict(model, batch):
    model.eval
    with torch.no_grad():
        return model(batch)
""", [4]),
    ("train_in_a_training_loop_with_a_comment", """\
import torch.nn as nn

net = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.2), nn.Linear(8, 1))
for epoch in range(10):
    net.train  # back to training mode
    for x, y in loader:
        loss = criterion(net(x), y)
""", [5]),
    ("attribute_receiver_used_as_module_elsewhere", """\
import torch

class Trainer:
    def evaluate(self, loader):
        self.model.eval
        with torch.no_grad():  # with the eval() fixed, a loop outside no_grad is missing-no-grad's
            for x, y in loader:
                self.model(x)

    def fit(self):
        self.model.train()
""", [5]),
    ("local_model_class", """\
import torch.nn as nn

class Net(nn.Module):
    def forward(self, x):
        return x

model = Net()
model.eval
""", [8]),
]

CORRECT = [
    ("called", """\
import torch

def predict(model, batch):
    model.eval()
    with torch.no_grad():
        return model(batch)
""",),
    # A dataset split shown as the last line of a notebook cell: not a module.
    ("dataset_split_displayed", """\
import torch
from tensorflow.examples.tutorials.mnist import input_data

mnist = input_data.read_data_sets("MNIST_data/")
mnist.train
""",),
    ("pandas_eval_method_referenced", """\
import torch
import pandas as pd

df = pd.read_csv("data.csv")
df.eval
""",),
    ("assigned_not_a_statement", """\
import torch

to_eval = model.eval
to_eval()
""",),
    ("longer_names", """\
import torch

model.evaluate
model.training
model.train_step
""",),
    ("in_a_comment", """\
import torch

model.eval()
# model.eval
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
    assert (".eval()" in fixed) or (".train()" in fixed)


def test_in_a_notebook_cell():
    cells = ["import torch\nmodel = torch.nn.Linear(2, 1)", "model.eval\nmodel(x)"]
    (f,) = notebook(cells, RULE)
    assert (f.location.cell, f.location.cell_line) == (1, 0)
