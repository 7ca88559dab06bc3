"""nll-without-log-softmax: NLLLoss fed probabilities or raw logits instead of log-probabilities."""
import pytest

from conftest import lines, notebook, two_files

RULE = "nll-without-log-softmax"

BUGGY = [
    # The other way round: named log_softmax, holding a Softmax (the class decides).
    ("softmax_layer_named_log_softmax", """\
import torch.nn as nn

class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(768, 2)
        self.log_softmax = nn.Softmax(dim=1)

    def forward(self, x):
        return self.log_softmax(self.fc(x))

model = Head()
loss = nn.NLLLoss()(model(x), y)
""", [13]),
    ("softmax_into_nll_loss", """\
import torch.nn.functional as F

output = F.softmax(model(data), dim=1)
loss = F.nll_loss(output, target)
""", [4]),
    ("logits_from_sequential", """\
import torch.nn as nn

model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
criterion = nn.NLLLoss()
loss = criterion(model(x), y)
""", [5]),
    ("class_returns_logits", """\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        return self.fc2(x)

model = Net()
for data, target in train_loader:
    output = model(data)
    loss = F.nll_loss(output, target)
""", [17]),
    ("softmax_layer_then_nll", """\
from torch import nn

head = nn.Sequential(nn.Linear(16, 3), nn.Softmax(dim=1))
loss = nn.NLLLoss()(head(h), labels)
""", [4]),
]

CORRECT = [
    # A BERT fine-tuning notebook (sweep 20): the attribute is named softmax but holds a LogSoftmax.
    ("log_softmax_layer_named_softmax", """\
import torch.nn as nn

class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(768, 2)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, x):
        return self.softmax(self.fc(x))

model = Head()
loss = nn.NLLLoss()(model(x), y)
"""),
    ("official_mnist_log_softmax", """\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output

model = Net()
output = model(data)
loss = F.nll_loss(output, target)
""",),
    ("log_softmax_module", """\
import torch.nn as nn

model = nn.Sequential(nn.Linear(10, 4), nn.LogSoftmax(dim=1))
loss = nn.NLLLoss()(model(x), y)
""",),
    ("log_of_softmax", """\
import torch
import torch.nn.functional as F

loss = F.nll_loss(torch.log(F.softmax(out, dim=1)), y)
""",),
    ("log_of_clamped_probs", """\
import torch
import torch.nn.functional as F

probs = F.softmax(out, dim=1)
loss = F.nll_loss(torch.log(probs + 1e-8), y)
""",),
    ("unknown_model", """\
import torch.nn.functional as F

model = build_model(cfg)
loss = F.nll_loss(model(x), y)
""",),
    ("cross_entropy_on_logits", """\
import torch.nn as nn

model = nn.Linear(10, 3)
loss = nn.CrossEntropyLoss()(model(x), y)
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


MODELS = """\
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 10)

    def forward(self, x):
        return self.fc(x)
"""

TRAIN = """\
import torch.nn.functional as F
from models import Net

model = Net()
for data, target in loader:
    output = model(data)
    loss = F.nll_loss(output, target)
"""


def test_across_files():
    assert [f.location.line + 1 for f in two_files(MODELS, TRAIN, RULE)] == [7]


def test_across_files_log_softmax_model_is_silent():
    models = MODELS.replace("return self.fc(x)", "return self.fc(x).log_softmax(dim=1)")
    assert two_files(models, TRAIN, RULE) == []


def test_across_notebook_cells():
    found = notebook([
        "import torch.nn as nn\nmodel = nn.Sequential(nn.Linear(4, 3))\n",
        "criterion = nn.NLLLoss()\nloss = criterion(model(x), y)\n",
    ], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(1, 1)]


# Sweep 19a (AnubhavGupta3377's text classifiers): the model trains itself in a method, with
# `self(x)` and a loss held in an attribute; or a trainer holds both model and loss.
_SELF_TRAINING = """\
import torch
from torch import nn


class TextCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(300, 4)
        self.softmax = nn.Softmax(dim=1)
        self.loss_op = nn.NLLLoss()

    def forward(self, x):
        return {last}

    def run_epoch(self, loader, optimizer):
        for x, y in loader:
            optimizer.zero_grad()
            loss = self.loss_op(self(x), y)
            loss.backward()
            optimizer.step()


class Trainer:
    def __init__(self):
        self.model = TextCNN()
        self.criterion = nn.NLLLoss()

    def step(self, x, y):
        return self.criterion(self.model(x), y)
"""


def test_a_model_training_itself_with_a_loss_attribute():
    assert lines(_SELF_TRAINING.format(last="self.softmax(self.fc(x))"), RULE) == [18, 29]
    assert lines(_SELF_TRAINING.format(last="torch.log_softmax(self.fc(x), dim=1)"), RULE) == []


def test_a_subclass_with_its_own_forward_or_loss_is_not_the_base():
    """Third review of sweep 19: `self(x)` in a base method may run a subclass's forward, and
    a subclass may assign another loss to the attribute."""
    forward = _SELF_TRAINING.format(last="self.softmax(self.fc(x))") + """

class LogCNN(TextCNN):
    def forward(self, x):
        return torch.log_softmax(self.fc(x), dim=1)
"""
    assert 18 not in lines(forward, RULE)
    loss = _SELF_TRAINING.format(last="self.softmax(self.fc(x))") + """

class CECNN(TextCNN):
    def __init__(self):
        super().__init__()
        self.loss_op = nn.CrossEntropyLoss()
"""
    assert 18 not in lines(loss, RULE)


def test_a_subclass_without_its_own_forward_keeps_the_base_output():
    src = _SELF_TRAINING.format(last="self.softmax(self.fc(x))") + """

class BigCNN(TextCNN):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(300, 4)
"""
    assert 18 in lines(src, RULE)


# Reshapes and indexing keep what the tensor is: probabilities or raw scores reshaped for the
# loss are still reported, log-probabilities reshaped are still right.
_RESHAPED = """\
import torch
import torch.nn as nn
import torch.nn.functional as F

head = nn.Linear(256, 12)
nll = nn.NLLLoss()


def step(h, y, mask):
    out = {out}
    return nll({use}, y)
"""


@pytest.mark.parametrize("out,use,expected", [
    ("F.softmax(head(h), dim=-1)", "out.view(-1, 12)", [11]),
    ("F.softmax(head(h), dim=-1)", "out[mask]", [11]),
    ("F.softmax(head(h), dim=-1)", "torch.flatten(out, 0, 1)", [11]),
    ("head(h)", "out[:, -1]", [11]),
    ("head(h)", "out.permute(0, 2, 1)", [11]),
    # log-probabilities, however they are reshaped or indexed
    ("F.log_softmax(head(h), dim=-1)", "out.view(-1, 12)[mask]", []),
    ("F.log_softmax(head(h), dim=-1)", "out.transpose(1, 2)", []),
    ("F.softmax(head(h), dim=-1)", "out.view(-1, 12).log()", []),
    ("F.softmax(head(h), dim=-1)", "torch.log(out[mask])", []),
    ("F.softmax(head(h), dim=-1).log()", "out[:, :-1]", []),
    # a value computed from the probabilities is not followed
    ("F.softmax(head(h), dim=-1)", "torch.log(out.sum(-1))", []),
])
def test_through_reshapes_and_indexing(out, use, expected):
    assert lines(_RESHAPED.format(out=out, use=use), RULE) == expected
