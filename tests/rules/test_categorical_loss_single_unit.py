"""categorical-loss-single-unit: a Keras categorical cross-entropy over a one-unit output."""
import pytest

from conftest import apply_fix, findings, lines, notebook, parses

from nntutor.content import catalog

RULE = "categorical-loss-single-unit"

TORCH_NET = """\
import torch
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 64)
        self.drop = nn.Dropout(0.2)
        self.fc2 = nn.Linear(64, OUT)

    def forward(self, x):
        x = self.drop(F.relu(self.fc1(x)))
        x = self.fc2(x)
        return x

model = Net()
criterion = nn.CrossEntropyLoss()
for x, y in loader:
    loss = criterion(model(x), y)
"""

BUGGY = [
    ("torch_class_ending_in_one_output", TORCH_NET.replace("OUT", "1"), [20]),
    ("torch_sequential_and_functional_loss", """\
import torch.nn as nn
import torch.nn.functional as F

net = nn.Sequential(nn.Linear(20, 8), nn.ReLU(), nn.Linear(8, 1), nn.Sigmoid())
for x, y in loader:
    loss = F.cross_entropy(net(x), y)
""", [6]),
    ("torch_forward_returns_the_layer_call", """\
import torch.nn as nn

class Head(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.out = nn.Linear(d, 1)

    def forward(self, x):
        return self.out(x)

head = Head(32)
loss_fn = nn.CrossEntropyLoss()
out = head(feats)
loss = loss_fn(out, labels)
""", [14]),
    ("activation_layer_after_the_unit", """\
from keras.models import Sequential
from keras.layers import Dense, Activation

model = Sequential()
model.add(Dense(64, input_dim=20))
model.add(Activation("relu"))
model.add(Dense(1))
model.add(Activation("sigmoid"))
model.compile(loss="categorical_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
""", [9]),
    ("functional_activation_after_the_unit", """\
import keras
from keras import layers

inputs = keras.Input((20,))
h = layers.Dense(64, activation="relu")(inputs)
logit = layers.Dense(1)(h)
prob = layers.Activation("sigmoid")(logit)
model = keras.Model(inputs, prob)
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
""", [9]),
    ("sequential_list_sigmoid_unit", """\
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([
    layers.Dense(64, activation="relu", input_shape=(20,)),
    layers.Dropout(0.2),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
""", [9]),
    ("model_add_and_loss_class", """\
import keras

model = keras.Sequential()
model.add(keras.layers.Dense(32, activation="relu"))
model.add(keras.layers.Dense(units=1, activation="sigmoid"))
model.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy())
""", [6]),
    ("functional_model_linear_unit_from_logits", """\
import keras

inputs = keras.Input(shape=(20,))
x = keras.layers.Dense(64, activation="relu")(inputs)
outputs = keras.layers.Dense(1)(x)
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy(from_logits=True))
""", [7]),
    ("sparse_loss_on_one_unit", """\
import keras

model = keras.Sequential([keras.layers.Dense(16, activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")])
model.compile("adam", "sparse_categorical_crossentropy")
""", [5]),
    ("unit_count_through_a_name", """\
import keras

n_out = 1
loss_fn = keras.losses.SparseCategoricalCrossentropy()
model = keras.Sequential([keras.layers.Dense(n_out, activation="sigmoid")])
model.compile(optimizer="sgd", loss=loss_fn)
""", [6]),
]

CORRECT = [
    # review of session 14: the one-output layer is not the one that runs
    ("torch_head_chosen_in_a_branch", """\
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, n_classes):
        super().__init__()
        self.body = nn.Linear(4, 8)
        if n_classes > 2:
            self.fc = nn.Linear(8, n_classes)
        else:
            self.fc = nn.Linear(8, 1)

    def forward(self, x):
        return self.fc(self.body(x))

model = Net(10)
loss = nn.CrossEntropyLoss()(model(x), y)
""",),
    ("torch_head_swapped_for_transfer_learning", """\
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 8)
        self.head = nn.Linear(8, 1)

    def forward(self, x):
        return self.head(self.body(x))

model = Net()
model.load_state_dict(torch.load("pretrained_regressor.pt"))
model.head = nn.Linear(8, 5)
loss = nn.CrossEntropyLoss()(model(x), y)
""",),
    ("torch_two_outputs", TORCH_NET.replace("OUT", "2"),),
    ("torch_one_output_with_bce", TORCH_NET.replace("OUT", "1").replace("nn.CrossEntropyLoss()", "nn.BCEWithLogitsLoss()"),),
    # a score per position squeezed into (N, L): cross-entropy over the positions is right
    ("torch_scores_squeezed", """\
import torch.nn as nn

qa = nn.Linear(768, 1)
criterion = nn.CrossEntropyLoss()
for h, start in loader:
    loss = criterion(qa(h).squeeze(-1), start)
""",),
    ("torch_sequential_ending_in_a_wide_layer", """\
import torch.nn as nn
import torch.nn.functional as F

net = nn.Sequential(nn.Linear(20, 1), nn.ReLU(), nn.Linear(1, 10))
loss = F.cross_entropy(net(x), y)
""",),
    # one score per time step, flattened: T classes (a span-start classifier)
    ("one_unit_per_step_flattened", """\
import keras
from keras import layers

inputs = keras.Input((12, 8))
h = layers.LSTM(16, return_sequences=True)(inputs)
scores = layers.Dense(1)(h)
logits = layers.Flatten()(scores)
model = keras.Model(inputs, logits)
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
""",),
    ("one_unit_layer_popped", """\
import keras

model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(10, activation="softmax"),
                          keras.layers.Dense(1)])
model.pop()
model.compile(optimizer="adam", loss="categorical_crossentropy")
""",),
    ("time_distributed_is_not_followed", """\
import keras

model = keras.Sequential([keras.layers.TimeDistributed(keras.layers.Dense(1))])
model.compile(optimizer="adam", loss="categorical_crossentropy")
""",),
    ("binary_loss_on_one_sigmoid_unit", """\
import keras

model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy")
""",),
    ("categorical_loss_on_ten_units", """\
import keras

model = keras.Sequential([keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="categorical_crossentropy")
""",),
    ("two_units_sparse", """\
import keras

model = keras.Sequential([keras.layers.Dense(2)])
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
""",),
    # single-unit-softmax reports this one: one bug, one report
    ("one_softmax_unit_is_the_other_rule", """\
import keras

model = keras.Sequential([keras.layers.Dense(1, activation="softmax")])
model.compile(optimizer="adam", loss="categorical_crossentropy")
""",),
    ("regression_with_mse", """\
import keras

model = keras.Sequential([keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
""",),
    ("unit_count_unknown", """\
import keras

def build(n_classes):
    model = keras.Sequential([keras.layers.Dense(n_classes, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model
""",),
    ("last_layer_is_not_the_one_unit_layer", """\
import keras

model = keras.Sequential([keras.layers.Dense(1), keras.layers.Dense(4, activation="softmax")])
model.compile(optimizer="adam", loss="categorical_crossentropy")
""",),
    ("a_model_rebuilt_before_compile", """\
import keras

model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy")
model = keras.Sequential([keras.layers.Dense(3, activation="softmax")])
model.compile(optimizer="adam", loss="categorical_crossentropy")
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_is_an_error_with_the_output_layer_related():
    (f,) = findings(dict((n, s) for n, s, _ in BUGGY)["sequential_list_sigmoid_unit"], RULE)
    assert f.severity.label == "error"
    assert "always 0" in f.message
    assert [r.location.line for r in f.related] == [6]   # 0-based: the Dense(1) line


def test_torch_message_names_both_failures_and_the_linear():
    (f,) = findings(TORCH_NET.replace("OUT", "1"), RULE)
    assert "IndexError" in f.message and "BCEWithLogitsLoss" in f.message and f.fix is None
    assert [r.location.line for r in f.related] == [9]   # self.fc2 = nn.Linear(64, 1)


def test_fix_switches_to_binary_cross_entropy():
    src = dict((n, s) for n, s, _ in BUGGY)["sequential_list_sigmoid_unit"].replace(
        '"categorical_crossentropy"', "'categorical_crossentropy'")
    (f,) = findings(src, RULE)
    fixed = apply_fix(src, f)
    assert parses(fixed) and "loss='binary_crossentropy'" in fixed   # the file's own quotes
    assert lines(fixed, RULE) == []


@pytest.mark.parametrize("name", ["model_add_and_loss_class", "functional_model_linear_unit_from_logits",
                                  "sparse_loss_on_one_unit"])
def test_no_fix_where_the_binary_loss_needs_more(name):
    (f,) = findings(dict((n, s) for n, s, _ in BUGGY)[name], RULE)
    assert f.fix is None


def test_fix_after_a_sigmoid_activation_layer():
    src = dict((n, s) for n, s, _ in BUGGY)["activation_layer_after_the_unit"]
    (f,) = findings(src, RULE)
    assert 'loss="binary_crossentropy"' in apply_fix(src, f)


def test_linear_unit_with_sparse_loss_says_so():
    src = """\
import keras

model = keras.Sequential([keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
"""
    (f,) = findings(src, RULE)
    assert "from_logits=True" in f.message


def test_across_notebook_cells():
    found = notebook([
        "import keras\nmodel = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n",
        "model.compile(optimizer='adam', loss='categorical_crossentropy')\n",
    ], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(1, 0)]


def test_a_quiz_item_drills_it():
    items = [q for c in catalog().concepts.values() for q in c.quiz if q.rule == RULE]
    assert items and all(q.concept == "cross-entropy-loss" for q in items)
