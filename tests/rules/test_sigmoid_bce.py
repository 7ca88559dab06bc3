"""sigmoid-bce: sigmoid + BCELoss, where BCEWithLogitsLoss is the stable form."""
import pytest

from conftest import apply_fix, findings, lines, notebook, parses, two_files

RULE = "sigmoid-bce"

BUGGY = [
    ("inline_sigmoid_criterion", """\
import torch
import torch.nn as nn

criterion = nn.BCELoss()
for x, y in loader:
    logits = model(x)
    loss = criterion(torch.sigmoid(logits), y)
""", [7]),
    ("functional_bce", """\
import torch
import torch.nn.functional as F

probs = torch.sigmoid(model(x))
loss = F.binary_cross_entropy(probs, y.float())
""", [4]),
    ("sequential_sigmoid_layer", """\
import torch.nn as nn

model = nn.Sequential(nn.Linear(30, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
criterion = nn.BCELoss()
loss = criterion(model(x).squeeze(), y)
""", [3]),
    ("forward_ends_in_sigmoid", """\
import torch
import torch.nn as nn

class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 1)

    def forward(self, x):
        return torch.sigmoid(self.fc(x))

D = Discriminator()
criterion = nn.BCELoss()
loss = criterion(D(real), ones)
""", [10]),
    ("tensor_method_sigmoid", """\
import torch.nn as nn

loss = nn.BCELoss()(out.sigmoid(), target)
""", [3]),
]

CORRECT = [
    ("bce_with_logits_on_raw_logits", """\
import torch.nn as nn

criterion = nn.BCEWithLogitsLoss()
logits = model(x)
loss = criterion(logits, y)
""",),
    ("bce_with_logits_pos_weight", """\
import torch
import torch.nn as nn

criterion = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([3.0]))
loss = criterion(model(x), y)
preds = torch.sigmoid(model(x)) > 0.5
""",),
    ("bce_on_unknown_probabilities", """\
import torch.nn.functional as F

loss = F.binary_cross_entropy(model(x), y)
""",),
    ("keras_sigmoid_binary_crossentropy", """\
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([layers.Dense(16, activation="relu"), layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_is_a_hint():
    (f,) = findings(BUGGY[0][1], RULE)
    assert f.severity.label == "hint"


def test_across_files():
    models = """\
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        return self.sigmoid(self.fc(x))
"""
    train = """\
import torch.nn as nn
from models import Net

model = Net()
criterion = nn.BCELoss()
loss = criterion(model(x), y)
"""
    assert [f.location.line + 1 for f in two_files(models, train, RULE)] == [6]


def test_across_notebook_cells():
    found = notebook([
        "import torch\nimport torch.nn as nn\ncriterion = nn.BCELoss()\n",
        "out = model(x)\nloss = criterion(torch.sigmoid(out), y)\n",
    ], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(1, 1)]


FIXABLE = [
    """\
import torch
import torch.nn as nn

criterion = nn.BCELoss()
loss = criterion(torch.sigmoid(logits), y)
""",
    """\
import torch.nn as nn

loss = nn.BCELoss(reduction="sum")(out.sigmoid(), target)
""",
]


@pytest.mark.parametrize("src", FIXABLE)
def test_fix_switches_to_bce_with_logits(src):
    (finding,) = findings(src, RULE)
    fixed = apply_fix(src, finding)
    assert parses(fixed)
    assert "BCEWithLogitsLoss" in fixed and "sigmoid" not in fixed
    assert findings(fixed) == []


NO_FIX = [
    ("criterion_used_twice", """\
import torch
import torch.nn as nn

criterion = nn.BCELoss()
loss = criterion(torch.sigmoid(logits), y)
val_loss = criterion(val_probs, val_y)
"""),
    ("bare_imported_class", """\
import torch
from torch.nn import BCELoss

criterion = BCELoss()
loss = criterion(torch.sigmoid(logits), y)
"""),
    ("functional_form", """\
import torch
import torch.nn.functional as F

loss = F.binary_cross_entropy(torch.sigmoid(logits), y)
"""),
]


@pytest.mark.parametrize("name,src", NO_FIX, ids=[n[0] for n in NO_FIX])
def test_no_fix_when_unsafe(name, src):
    (finding,) = findings(src, RULE)
    assert finding.fix is None


def test_a_sigmoid_slot_of_a_tuple_returned_by_forward():
    src = """\
import torch.nn as nn


class Disc(nn.Module):
    def __init__(self):
        super().__init__()
        self.adv = nn.Sequential(nn.Linear(128, 1), nn.Sigmoid())
        self.aux = nn.Linear(128, 10)

    def forward(self, x):
        return self.adv(x), self.aux(x)


d = Disc()
bce = nn.BCELoss()
validity, label = d(x)
loss = bce(validity, ones)
loss2 = bce(label.sigmoid(), ones)
"""
    assert lines(src, RULE) == [7, 18]


@pytest.mark.parametrize("use,expected", [
    ("torch.sigmoid(out)[:, 0]", [4]), ("torch.sigmoid(out).view(-1)[mask]", [4]),
    # softmax probabilities of one class are probabilities: BCELoss on them is fine
    ("torch.softmax(out, 1)[:, 1]", []), ("out[:, 0]", []),
])
def test_through_reshapes_and_indexing(use, expected):
    src = f"import torch\nimport torch.nn as nn\n\nloss = nn.BCELoss()({use}, y)\n"
    found = findings(src, RULE)
    assert [f.location.line + 1 for f in found] == expected
    assert all(f.fix is None for f in found)   # the sigmoid is not the loss input itself
