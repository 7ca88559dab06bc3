"""missing-softmax: a loss that expects probabilities is fed raw scores."""
import pytest

from conftest import lines, notebook, two_files

RULE = "missing-softmax"

BUGGY = [
    ("keras_dense_no_activation_sparse_cce", """\
import keras
from keras import layers

model = keras.Sequential([
    layers.Dense(128, activation="relu"),
    layers.Dense(10),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
""", [6]),
    ("tf_keras_binary_dense_1", """\
import tensorflow as tf

model = tf.keras.Sequential([
    tf.keras.layers.Dense(16, activation='relu'),
    tf.keras.layers.Dense(1),
])
model.compile(optimizer='adam', loss='binary_crossentropy')
""", [5]),
    ("keras_activation_none_loss_object", """\
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential()
model.add(layers.Dense(64, activation="relu"))
model.add(layers.Dense(3, activation=None))
model.compile(loss=keras.losses.CategoricalCrossentropy())
""", [6]),
    ("keras_functional_logits", """\
from tensorflow import keras
from tensorflow.keras import layers

inputs = keras.Input(shape=(20,))
x = layers.Dense(32, activation="relu")(inputs)
outputs = layers.Dense(5)(x)
model = keras.Model(inputs=inputs, outputs=outputs)
model.compile(optimizer="adam", loss="categorical_crossentropy")
""", [6]),
    ("torch_bce_on_linear_output", """\
import torch.nn as nn

model = nn.Sequential(nn.Linear(20, 8), nn.ReLU(), nn.Linear(8, 1))
criterion = nn.BCELoss()
loss = criterion(model(x), y)
""", [5]),
    ("torch_functional_bce_on_class_logits", """\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(20, 1)

    def forward(self, x):
        return self.fc(x)

net = Net()
loss = F.binary_cross_entropy(net(x).squeeze(1), y)
""", [13]),
]

CORRECT = [
    ("keras_softmax_categorical", """\
from tensorflow.keras import layers, models

model = models.Sequential([layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])
model.compile(loss="categorical_crossentropy", optimizer="adam")
""",),
    ("keras_sigmoid_binary", """\
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([layers.Dense(8, activation="relu"), layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
""",),
    ("keras_logits_with_from_logits", """\
import tensorflow as tf

model = tf.keras.Sequential([tf.keras.layers.Dense(10)])
model.compile(loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
""",),
    ("keras_separate_softmax_layer", """\
import keras
from keras import layers

model = keras.Sequential([layers.Dense(10), layers.Softmax()])
model.compile(loss="sparse_categorical_crossentropy")
""",),
    ("keras_activation_added_later", """\
import keras
from keras import layers

model = keras.Sequential()
model.add(layers.Dense(10))
model.add(layers.Activation("softmax"))
model.compile(loss="categorical_crossentropy")
""",),
    ("keras_regression_mse", """\
import keras

model = keras.Sequential([keras.layers.Dense(1)])
model.compile(loss="mse")
""",),
    ("keras_unknown_activation_variable", """\
import keras

model = keras.Sequential([keras.layers.Dense(10, activation=final_act)])
model.compile(loss="categorical_crossentropy")
""",),
    ("torch_bce_after_sigmoid", """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(20, 1), nn.Sigmoid())
loss = nn.BCELoss()(model(x), y)
p = torch.sigmoid(logits)
loss2 = nn.BCELoss()(p, y)
""",),
    ("torch_bce_with_logits_on_logits", """\
import torch.nn as nn

model = nn.Linear(20, 1)
loss = nn.BCEWithLogitsLoss()(model(x), y)
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_across_files_torch_bce_on_logits():
    models = """\
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 1)

    def forward(self, x):
        return self.fc(x)
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
        "from tensorflow import keras\nfrom tensorflow.keras import layers\n",
        "model = keras.Sequential([\n    layers.Dense(64, activation='relu'),\n    layers.Dense(10),\n])\n",
        "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')\n",
    ], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(1, 2)]


def test_a_keras_loss_function_passed_by_reference():
    # sweep 18d (mrdbourke's tensorflow-deep-learning): the function, not the class or a string
    src = ("import tensorflow as tf\n\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(4, activation='relu'),\n"
           "                             tf.keras.layers.Dense(1)])\n"
           "model.compile(loss=tf.keras.losses.binary_crossentropy, optimizer='adam')\n")
    assert lines(src, RULE) == [4]


@pytest.mark.parametrize("use,expected", [
    ("model(x)[:, 0]", [7]), ("model(x).view(-1)[mask]", [7]), ("torch.flatten(model(x))", [7]),
    ("torch.sigmoid(model(x))[:, 0]", []), ("torch.softmax(model(x), 1)[:, 1]", []),
    ("model(x)[:, 0].clamp(0, 1)", []),
])
def test_raw_scores_reshaped_or_indexed_before_bce(use, expected):
    src = ("import torch\nimport torch.nn as nn\n\nmodel = nn.Sequential(nn.Linear(8, 1))\n"
           f"criterion = nn.BCELoss()\nfor x, y, mask in loader:\n    loss = criterion({use}, y)\n")
    assert lines(src, RULE) == expected
