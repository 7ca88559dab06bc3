"""Hover targets and the facts computed from this very call (engine level, no LSP)."""
import pytest

from nntutor.content import catalog
from nntutor.document import Document
from nntutor.hover import call_facts, concepts_in, render, target_at

SRC = '''import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from tensorflow import keras
from tensorflow.keras import layers
from sklearn.preprocessing import StandardScaler as SS
from sklearn.model_selection import train_test_split

drop = nn.Dropout(0.25)
y = F.dropout(x, p=0.1, training=self.training)
lstm = nn.LSTM(10, 20, num_layers=2, bidirectional=True)
conv = nn.Conv2d(3, 16, kernel_size=3, stride=2, padding=1)
criterion = nn.CrossEntropyLoss()
opt = optim.Adam(model.parameters(), lr=1e-3)
dense = layers.Dense(10, activation="softmax")
bn = layers.BatchNormalization()
scaler = SS()
X_train, X_test = train_test_split(X)
loss = criterion(out, y)
kdrop = keras.layers.Dropout(0.5)
'''


@pytest.fixture(scope="module")
def doc():
    return Document.from_text(SRC)


def hover_at(doc, needle, delta=0):
    offset = SRC.index(needle) + delta
    t = target_at(doc, catalog(), offset)
    return t, (render(catalog(), t, doc) if t else None)


@pytest.mark.parametrize("needle,concept", [
    ("Dropout(0.25)", "dropout"), ("dropout(x", "dropout"), ("LSTM(10", "lstm"),
    ("Conv2d(3", "cnn"), ("CrossEntropyLoss()", "cross-entropy-loss"), ("Adam(", "gradient-descent"),
    ('"softmax"', "softmax"), ("BatchNormalization()", "batch-normalization"),
    ("SS()", "data-normalization"), ("train_test_split(X)", "data-leakage"),
    ("criterion(out", "cross-entropy-loss"), ("Dropout(0.5)", "dropout"),
])
def test_targets(doc, needle, concept):
    t, text = hover_at(doc, needle, 1)
    assert t is not None and t.concept_id == concept
    assert text.startswith("**")


def test_dropout_numbers(doc):
    _, text = hover_at(doc, "Dropout(0.25)", 1)
    assert "25% of activations are zeroed" in text and "1.33" in text and "model.eval()" in text


def test_keras_dropout_uses_rate_and_training_flag(doc):
    _, text = hover_at(doc, "Dropout(0.5)", 1)
    assert "50%" in text and "training=False" in text


def test_lstm_shapes(doc):
    _, text = hover_at(doc, "LSTM(10", 1)
    assert "(L, N, 10)" in text and "(L, N, 40)" in text and "(4, N, 20)" in text
    assert "batch_first" in text


def test_conv_output_formula(doc):
    _, text = hover_at(doc, "Conv2d(3", 1)
    assert "⌊(in + 2·1 − 1·(3−1) − 1) / 2⌋ + 1" in text and "32 → 16" in text
    assert "448 parameters" in text  # 16*3*3*3 + 16


def test_cross_entropy_takes_logits(doc):
    _, text = hover_at(doc, "CrossEntropyLoss()", 1)
    assert "raw logits" in text and "class indices" in text


def test_interview_question_is_linked(doc):
    _, text = hover_at(doc, "Dropout(0.25)", 1)
    assert "Interview:" in text and "000#16" in text


def test_nothing_on_plain_code(doc):
    assert target_at(doc, catalog(), SRC.index("import torch") + 2) is None
    assert target_at(doc, catalog(), len(SRC.encode()) + 100) is None


def test_half_typed_call_never_raises():
    d = Document.from_text("import torch.nn as nn\nx = nn.LSTM(10, hidden_size=")
    t = target_at(d, catalog(), d.data.index(b"LSTM") + 1)
    assert t is not None and isinstance(call_facts(d, t), list)


def test_concepts_in_document(doc):
    found = concepts_in(doc, catalog())
    assert {"dropout", "lstm", "cnn", "softmax", "data-normalization", "data-leakage"} <= set(found)


FUNCTIONAL = '''import torch.nn.functional as F

a = F.dropout(x, 0.3)
b = F.dropout(x, p=0.1, training=self.training)
c = F.dropout2d(x, 0.2, True)
d = F.dropout(x, training=False)
'''


@pytest.mark.parametrize("needle,expected,absent", [
    # p is the second argument of the functional form (the first is the input).
    ("dropout(x, 0.3)", ["p = 0.3", "30% of activations", "defaults to True", "training=self.training"], ["`x`"]),
    ("dropout(x, p=0.1", ["p = 0.1", "Active only while `self.training`"], ["defaults to True"]),
    ("dropout2d(x, 0.2", ["p = 0.2", "always active"], ["defaults to True"]),
    ("dropout(x, training=False", ["p = 0.5 (default)", "is the identity"], []),
])
def test_functional_dropout_reads_p_and_the_training_flag(needle, expected, absent):
    doc = Document.from_text(FUNCTIONAL)
    t = target_at(doc, catalog(), FUNCTIONAL.index(needle) + 1)
    text = render(catalog(), t, doc)
    assert all(e in text for e in expected), text
    assert not any(a in text for a in absent), text


NEWER_TRIGGERS = '''import torch
import torch.nn as nn
import tensorflow as tf
from tensorflow.keras import layers
from torch.autograd import Variable

nn.init.zeros_(layer.bias)
h = tf.nn.relu(z)
p = tf.nn.softmax(logits)
pool = layers.MaxPool2D(2)
with tf.GradientTape() as tape:
    pass
v = Variable(x, volatile=True)
w = Variable(x, requires_grad=True)
'''


@pytest.mark.parametrize("needle,concept", [
    ("zeros_(", "vanishing-exploding-gradients"), ("relu(z", "activation-functions"),
    ("softmax(logits", "softmax"), ("MaxPool2D(", "cnn"), ("GradientTape(", "autograd-graph"),
    ("Variable(x, v", "autograd-graph"),
])
def test_framework_spellings_people_use(needle, concept):
    """tf.nn activations, Keras' short pooling aliases, nn.init, GradientTape and the old
    Variable: among the most called library functions in the 35 public repositories of
    docs/precision.md that had no hover."""
    doc = Document.from_text(NEWER_TRIGGERS)
    t = target_at(doc, catalog(), NEWER_TRIGGERS.index(needle) + 1)
    assert t is not None and t.concept_id == concept


def test_variable_says_volatile_is_ignored():
    doc = Document.from_text(NEWER_TRIGGERS)
    volatile = render(catalog(), target_at(doc, catalog(), NEWER_TRIGGERS.index("Variable(x, v") + 1), doc)
    assert "`volatile` is **ignored**" in volatile and "torch.no_grad()" in volatile
    plain = render(catalog(), target_at(doc, catalog(), NEWER_TRIGGERS.index("Variable(x, r") + 1), doc)
    assert "0.4" in plain and "ignored" not in plain


SOFTMAX_SRC = '''import torch
import torch.nn as nn
import torch.nn.functional as F

a = nn.Softmax()
b = nn.LogSoftmax(dim=1)
c = F.softmax(x, -1)
d = F.log_softmax(x)
w = nn.Parameter(torch.zeros(3))
f = nn.Parameter(torch.ones(3), requires_grad=False)
'''


@pytest.mark.parametrize("needle,expected", [
    ("Softmax()", "**No `dim`**"),
    ("LogSoftmax(dim=1)", "Normalises along `dim=1`: the values along that axis sum to 1 (in log space)."),
    ("softmax(x, -1)", "Normalises along `dim=-1`"),
    ("log_softmax(x)", "**No `dim`**"),
    ("Parameter(torch.zeros", "listed by `parameters()`"),
    ("Parameter(torch.ones", "created **frozen**"),
])
def test_softmax_dim_and_parameter_facts(needle, expected):
    doc = Document.from_text(SOFTMAX_SRC)
    t = target_at(doc, catalog(), SOFTMAX_SRC.index(needle) + 1)
    assert t is not None
    facts = call_facts(doc, t)
    assert any(expected in f for f in facts), facts
    if needle.startswith("Parameter(torch.zeros"):
        assert t.concept_id == "neural-network-basics"
        assert not any("frozen" in f for f in facts)


LOADER_SRC = '''from torch.utils.data import DataLoader
a = DataLoader(train_ds, batch_size=64, shuffle=True, drop_last=True)
b = DataLoader(train_ds)
c = DataLoader(val_ds, batch_size=256, shuffle=False)
d = DataLoader(train_ds, 32, sampler=sampler)
'''


@pytest.mark.parametrize("needle,expected", [
    ("DataLoader(train_ds, batch_size=64", ["Batches of **64** examples; the last, incomplete batch is dropped.",
                                           "**reshuffled** at the start of every epoch"]),
    ("DataLoader(train_ds)", ["`batch_size` defaults to 1", "**not shuffled** (the default)"]),
    ("DataLoader(val_ds", ["the remainder (N mod 256)", "right for evaluation"]),
    ("DataLoader(train_ds, 32", ["Batches of **32** examples", "chosen by the sampler"]),
])
def test_data_loader_facts(needle, expected):
    doc = Document.from_text(LOADER_SRC)
    t = target_at(doc, catalog(), LOADER_SRC.index(needle) + 1)
    assert t is not None and t.concept_id == "epochs-batches-iterations"
    facts = call_facts(doc, t)
    for e in expected:
        assert any(e in f for f in facts), (e, facts)


def test_torchvision_augmentation_ops_explain_augmentation():
    src = ("import torchvision.transforms as T\nfrom torchvision.transforms import v2\n"
           "tf = T.Compose([T.RandomHorizontalFlip(p=0.5), v2.RandAugment()])\n")
    doc = Document.from_text(src)
    for needle in ("RandomHorizontalFlip", "RandAugment"):
        t = target_at(doc, catalog(), src.index(needle) + 2)
        assert t is not None and t.concept_id == "data-augmentation", needle
        assert "Validation and test data must not be randomly augmented" in render(catalog(), t, doc)


def test_hover_on_a_suppression_id_names_the_rule():
    from nntutor.hover import suppression_hover

    src = ("# nntutor: ignore-file[hardcoded-cuda]\n"
           "x = 1  # note # nntutor: ignore[double-softmax, no-such-rule]\n")
    doc = Document.from_text(src)
    data = src.encode()
    at = data.index(b"hardcoded-cuda") + 3
    start, end, text = suppression_hover(doc, catalog(), at, "https://docs")
    assert data[start:end] == b"hardcoded-cuda"
    assert "silenced in this whole file" in text and "(https://docs/rules/hardcoded-cuda.md)" in text
    at = data.index(b"double-softmax")          # first character of the id
    start, end, text = suppression_hover(doc, catalog(), at)
    assert data[start:end] == b"double-softmax" and "silenced on this line" in text
    assert suppression_hover(doc, catalog(), data.index(b"no-such-rule") + 2) is None   # not a rule
    assert suppression_hover(doc, catalog(), data.index(b"note")) is None               # not the directive
    assert suppression_hover(doc, catalog(), data.index(b"x = 1")) is None              # not a comment


@pytest.mark.parametrize("args,expected", [
    ("", "Returns the accelerator PyTorch was **built** for"),
    ("check_available=True", "With `check_available=True`"),
])
def test_hover_current_accelerator_says_what_it_does_not_check(args, expected):
    src = f"import torch\nd = torch.accelerator.current_accelerator({args})\n"
    doc = Document.from_text(src)
    t = target_at(doc, catalog(), src.index("current_accelerator") + 3)
    assert t is not None and t.concept_id == "device-placement"
    assert expected in render(catalog(), t, doc)


@pytest.mark.parametrize("star,resolved", [
    ("from fastai.vision.all import *", True),
    ("from fastai.basics import *", True),
    ("from torch_snippets import *", True),
    ("from fastai.metrics import *", False),   # exports its own names only (an __all__)
    ("from mylib import *", False),
])
def test_torch_names_from_a_library_that_reexports_them(star, resolved):
    src = star + "\nnet = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))\n"
    doc = Document.from_text(src)
    t = target_at(doc, catalog(), src.index("Dropout") + 2)
    if resolved:
        assert t is not None and t.qual == "torch.nn.Dropout"
    else:
        assert t is None or t.qual != "torch.nn.Dropout"


def test_an_explicit_import_wins_over_a_star_export():
    src = "from fastai.vision.all import *\nimport tensorflow.keras.layers as nn\nd = nn.Dropout(0.5)\n"
    t = target_at(Document.from_text(src), catalog(), src.index("Dropout") + 2)
    assert t is not None and t.qual == "keras.layers.Dropout"


def test_a_name_from_a_star_import_is_hovered():
    src = "from sklearn.preprocessing import *\nscaler = StandardScaler()\n"
    doc = Document.from_text(src)
    t = target_at(doc, catalog(), src.index("StandardScaler") + 2)
    assert t is not None and t.qual == "sklearn.preprocessing.StandardScaler"
    assert render(catalog(), t, doc).startswith("**Feature scaling and normalization**")
    # two star imports: the module is unknown, no card is guessed
    src2 = "from sklearn.preprocessing import *\nfrom mylib import *\nscaler = StandardScaler()\n"
    doc2 = Document.from_text(src2)
    assert target_at(doc2, catalog(), src2.index("StandardScaler") + 2) is None


def test_tf_data_constructors_explain_the_pipeline():
    src = "import tensorflow as tf\nds = tf.data.Dataset.from_tensor_slices((X, y))\n" \
          "files = tf.data.Dataset.list_files('*.jpg')\n"
    d = Document.from_text(src)
    for needle in ("from_tensor_slices", "list_files"):
        t = target_at(d, catalog(), src.index(needle) + 2)
        assert t is not None and t.concept_id == "epochs-batches-iterations", needle
        text = render(catalog(), t, d)
        assert "Epochs, batches and iterations" in text
