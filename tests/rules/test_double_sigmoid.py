"""double-sigmoid: a sigmoid output fed to a loss (or a sigmoid) that applies sigmoid again."""
import pytest

from conftest import apply_fix, findings, lines, notebook, parses, two_files

RULE = "double-sigmoid"

BUGGY = [
    ("sigmoid_into_bce_with_logits", """\
import torch
import torch.nn as nn

criterion = nn.BCEWithLogitsLoss()
for x, y in loader:
    out = torch.sigmoid(model(x))
    loss = criterion(out, y)
""", [6]),
    ("functional_with_logits", """\
import torch.nn.functional as F

loss = F.binary_cross_entropy_with_logits(F.sigmoid(scores), labels)
""", [3]),
    ("sequential_sigmoid_then_logits_loss", """\
import torch.nn as nn

model = nn.Sequential(nn.Linear(8, 1), nn.Sigmoid())
loss = nn.BCEWithLogitsLoss()(model(x), y)
""", [3]),
    ("class_forward_sigmoid", """\
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 1)

    def forward(self, x):
        return torch.sigmoid(self.fc(x))

model = Net()
criterion = nn.BCEWithLogitsLoss()
loss = criterion(model(x), y)
""", [10]),
    ("sigmoid_of_sigmoid", """\
import torch

p = torch.sigmoid(logits)
q = torch.sigmoid(p)
""", [4]),
    ("keras_sigmoid_from_logits", """\
import keras
from keras import layers

model = keras.Sequential([layers.Dense(16, activation="relu"), layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True))
""", [4]),
    ("tf_keras_sigmoid_from_logits", """\
import tensorflow as tf

model = tf.keras.Sequential([
    tf.keras.layers.Dense(1, activation=tf.nn.sigmoid),
])
model.compile(loss=tf.keras.losses.BinaryCrossentropy(from_logits=True))
""", [4]),
]

CORRECT = [
    ("logits_into_bce_with_logits", """\
import torch
import torch.nn as nn

criterion = nn.BCEWithLogitsLoss()
logits = model(x)
loss = criterion(logits, y)
pred = torch.sigmoid(logits) > 0.5
""",),
    ("sigmoid_into_bce", """\
import torch
import torch.nn as nn

loss = nn.BCELoss()(torch.sigmoid(model(x)), y)
""",),
    ("keras_sigmoid_plain_bce", """\
from tensorflow.keras import layers, models

model = models.Sequential([layers.Dense(1, activation="sigmoid")])
model.compile(loss="binary_crossentropy")
""",),
    ("keras_logits_from_logits", """\
from tensorflow import keras

model = keras.Sequential([keras.layers.Dense(1)])
model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True))
""",),
    ("gate_sigmoid_of_other_value", """\
import torch

gate = torch.sigmoid(self_w)
y = torch.sigmoid(x) * gate
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_across_files():
    models = """\
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 1)

    def forward(self, x):
        return torch.sigmoid(self.fc(x))
"""
    train = """\
import torch.nn as nn
from models import Net

model = Net()
criterion = nn.BCEWithLogitsLoss()
for x, y in loader:
    loss = criterion(model(x), y)
"""
    found = two_files(models, train, RULE)
    assert [f.location.line + 1 for f in found] == [7]
    assert found[0].related[-1].location.path == "models.py"


def test_across_notebook_cells():
    found = notebook([
        "import torch\nimport torch.nn as nn\nprobs = torch.sigmoid(model(x))\n",
        "loss = nn.BCEWithLogitsLoss()(probs, y)\n",
    ], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(0, 2)]


def test_fix_removes_the_sigmoid():
    src = """\
import torch
import torch.nn as nn

criterion = nn.BCEWithLogitsLoss()
loss = criterion(torch.sigmoid(logits), y)
"""
    (finding,) = findings(src, RULE)
    fixed = apply_fix(src, finding)
    assert parses(fixed) and "sigmoid" not in fixed
    assert findings(fixed) == []


# joosthub/PyTorchNLPBook's review classifier: sigmoid only when the caller asks for it.
_FLAGGED = """\
import torch
import torch.nn as nn


class ReviewClassifier(nn.Module):
    def __init__(self, num_features):
        super().__init__()
        self.fc1 = nn.Linear(num_features, 1)

    def forward(self, x_in, apply_sigmoid=False):
        y_out = self.fc1(x_in).squeeze()
        if apply_sigmoid:
            y_out = torch.sigmoid(y_out)
        return y_out


classifier = ReviewClassifier(100)
loss_func = nn.BCEWithLogitsLoss()
"""


@pytest.mark.parametrize("use,expected", [
    ("loss = loss_func(classifier(x_in=x.float()), y.float())\n"
     "p = torch.sigmoid(classifier(x.view(1, -1))).item()\n", []),
    ("loss = loss_func(classifier(x, apply_sigmoid=True), y)\n", [13]),
    ("p = torch.sigmoid(classifier(x, apply_sigmoid=True))\n", [19]),
])
def test_sigmoid_behind_a_flag_of_forward(use, expected):
    assert lines(_FLAGGED + use, RULE) == expected


# A sigmoid output reshaped or indexed before BCEWithLogitsLoss is still squashed twice.
_RESHAPED = """\
import torch
import torch.nn as nn

crit = nn.BCEWithLogitsLoss()


def step(model, x, y, mask):
    p = torch.sigmoid(model(x))
    return crit({use}, y)
"""


@pytest.mark.parametrize("use,expected", [
    ("p.squeeze(1)", [8]), ("p.view(-1)", [8]), ("p[:, 0]", [8]), ("p[mask]", [8]),
    ("torch.flatten(p)", [8]), ("p.squeeze(-1)[mask]", [8]),
    # computed from the sigmoid, not the sigmoid's values
    ("torch.logit(p)", []), ("p.mean(1)", []), ("(p > 0.5).float()", []), ("p.log()", []),
])
def test_through_reshapes_and_indexing(use, expected):
    assert lines(_RESHAPED.format(use=use), RULE) == expected


def test_a_sigmoid_of_an_indexed_sigmoid():
    src = "import torch\n\np = torch.sigmoid(x)\nq = torch.sigmoid(p[:, 0])\nr = torch.sigmoid(p.sum(1))\n"
    assert lines(src, RULE) == [4]


def test_fix_through_an_index():
    src = _RESHAPED.format(use="p[:, 0]")
    (finding,) = findings(src, RULE)
    fixed = apply_fix(src, finding)
    assert "    p = model(x)\n" in fixed and parses(fixed) and lines(fixed, RULE) == []
