"""single-unit-softmax: a softmax over one output is the constant 1.0."""
import pytest

from conftest import lines, notebook

RULE = "single-unit-softmax"

BUGGY = [
    ("keras_dense_1_softmax", """\
import keras
from keras import layers

model = keras.Sequential([
    layers.Dense(32, activation="relu"),
    layers.Dense(1, activation="softmax"),
])
model.compile(loss="binary_crossentropy", optimizer="adam")
""", [6]),
    ("tf_keras_units_keyword", """\
import tensorflow as tf

model = tf.keras.models.Sequential()
model.add(tf.keras.layers.Dense(16, activation='relu'))
model.add(tf.keras.layers.Dense(units=1, activation='softmax'))
""", [5]),
    ("from_tf_keras_import_layers_functional", """\
from tensorflow.keras import layers

outputs = layers.Dense(1, activation="softmax")(x)
""", [3]),
    ("keras_dense_1_then_softmax_layer", """\
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([layers.Dense(8), layers.Dense(1), layers.Activation("softmax")])
""", [4]),
    ("torch_sequential_linear_1_softmax", """\
import torch.nn as nn

model = nn.Sequential(
    nn.Linear(64, 32),
    nn.ReLU(),
    nn.Linear(32, 1),
    nn.Softmax(dim=1),
)
""", [7]),
    ("torch_forward_functional", """\
import torch.nn as nn
import torch.nn.functional as F

class BinaryNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(20, 16)
        self.out = nn.Linear(16, 1)

    def forward(self, x):
        x = F.relu(self.hidden(x))
        return F.softmax(self.out(x), dim=1)
""", [12]),
    ("torch_forward_softmax_layer_attribute", """\
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 1)
        self.act = nn.Softmax(dim=-1)

    def forward(self, x):
        logits = self.fc(x)
        return self.act(logits)
""", [12]),
    ("torch_forward_method_last_dim", """\
import torch.nn as nn

class Scorer(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(128, 1)

    def forward(self, x):
        return self.head(x).softmax(-1)
""", [9]),
]

CORRECT = [
    ("keras_dense_1_sigmoid", """\
from tensorflow.keras import layers, models

model = models.Sequential([layers.Dense(16, activation="relu"), layers.Dense(1, activation="sigmoid")])
model.compile(loss="binary_crossentropy", optimizer="adam")
""",),
    ("keras_dense_2_softmax", """\
import keras

model = keras.Sequential([keras.layers.Dense(2, activation="softmax")])
""",),
    ("torch_linear_1_sigmoid", """\
import torch.nn as nn

model = nn.Sequential(nn.Linear(32, 1), nn.Sigmoid())
""",),
    ("torch_linear_10_softmax", """\
import torch.nn as nn

model = nn.Sequential(nn.Linear(32, 10), nn.Softmax(dim=1))
""",),
    ("attention_pooling_over_sequence", """\
import torch
import torch.nn as nn

class Attention(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.score = nn.Linear(hidden, 1)

    def forward(self, h):
        # h: (batch, seq, hidden) -> weights over the sequence axis
        return torch.softmax(self.score(h), dim=1)
""",),
    ("attention_weights_used_inside_forward", """\
import torch
import torch.nn as nn

class Pooler(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.w = nn.Linear(hidden, 1)
        self.fc = nn.Linear(hidden, 5)

    def forward(self, h):
        a = torch.softmax(self.w(h), dim=1)
        return self.fc((a * h).sum(dim=1))
""",),
    ("softmax_over_unknown_dim", """\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 1)

    def forward(self, x):
        return F.softmax(self.fc(x), dim=self.axis)
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
        "import keras\nfrom keras import layers\n",
        "model = keras.Sequential([\n    layers.Dense(4),\n    layers.Dense(1, activation='softmax'),\n])\n",
    ], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(1, 2)]


POOLER = """\
import torch.nn as nn

class Head(nn.Module):
    def __init__(self, h):
        super().__init__()
        self.NAME = nn.Sequential(nn.Linear(h, 512), nn.Tanh(), nn.Linear(512, 1), nn.Softmax(dim=DIM))
"""


@pytest.mark.parametrize("name,dim,expected", [
    ("attention", "1", []),          # attention pooling: one score per token, softmax over tokens
    ("att_pool", "1", []),
    ("classifier", "1", [6]),        # a one-unit classifier head: softmax of one number
    ("attention", "-1", [6]),        # over the single unit whatever the name
])
def test_attention_pooling_blocks_in_sequential(name, dim, expected):
    assert lines(POOLER.replace("NAME", name).replace("DIM", dim), RULE) == expected


def test_attention_class_name_counts_for_an_unnamed_sequential_block():
    src = POOLER.replace("self.NAME = nn.Sequential", "self.blocks.append(nn.Sequential").replace(
        "nn.Softmax(dim=DIM))", "nn.Softmax(dim=1)))").replace("class Head", "class AttentionPool")
    assert lines(src, RULE) == []


@pytest.mark.parametrize("cls,name", [
    ("AttentionLSTMClassifier", "classifier"),   # the attribute says classifier head: it decides
    ("FaceAttributeNet", "head"),                # `Attribute` is no attention ("att" as a word)
    ("Net", "flatten_head"),                     # `flatten` neither
])
def test_classifier_heads_named_so_are_still_reported(cls, name):
    src = POOLER.replace("NAME", name).replace("DIM", "1").replace("class Head", f"class {cls}")
    assert lines(src, RULE) == [6]


@pytest.mark.parametrize("imports", [
    "from keras.models import *\nfrom keras.layers import *\n",
    "from tensorflow.keras.layers import *\nfrom tensorflow.keras.models import *\nfrom tensorflow.keras.callbacks import *\n",
])
def test_names_from_several_keras_star_imports(imports):
    """Sweep 19e (buomsoo-kim's Keras notebooks): the small modules' names are known, so Dense
    comes from keras.layers even with several `*` imports."""
    src = imports + ('model = Sequential()\nmodel.add(Dense(64, activation="relu"))\n'
                     'model.add(Dense(1, activation="softmax"))\nmodel.compile(optimizer="adam", loss="binary_crossentropy")\n')
    assert len(lines(src, RULE)) == 1
    # two untabled modules: which one binds Dense is not known
    unknown = "from keras.layers import *\nfrom mylib import *\n" + src.split("\n", len(imports.splitlines()))[-1]
    assert lines(unknown, RULE) == []


def test_a_later_star_import_of_another_library_makes_a_name_unknown():
    src = ("from keras.models import *\nfrom keras.layers import *\nfrom utils import *\n"
           'model = Sequential()\nmodel.add(Dense(1, activation="softmax"))\nmodel.compile(loss="binary_crossentropy")\n')
    # Dense comes from keras.layers or from utils: not known
    assert lines(src, RULE) == []
