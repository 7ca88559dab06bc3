"""rnn-dropout-single-layer: nn.LSTM / GRU / RNN with dropout and one layer."""
import pytest
from conftest import apply_fix, findings, lines, notebook

RULE = "rnn-dropout-single-layer"

BUGGY = [
    ("default_one_layer_keyword", """\
import torch.nn as nn

class SentimentRNN(nn.Module):
    def __init__(self, vocab, emb=128, hidden=256):
        super().__init__()
        self.embed = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, batch_first=True, dropout=0.5)
        self.fc = nn.Linear(hidden, 1)
""", [7]),
    ("explicit_one_layer_gru_and_rnn", """\
import torch
from torch import nn

enc = nn.GRU(input_size=64, hidden_size=128, num_layers=1, dropout=0.2, bidirectional=True)
rnn = torch.nn.RNN(10, 20, 1, dropout=0.1)
""", [4, 5]),
    ("positional_dropout", """\
import torch.nn as nn

lstm = nn.LSTM(8, 16, 1, True, True, 0.3)
rnn = nn.RNN(8, 16, 1, "tanh", True, True, 0.3)
""", [3, 4]),
    ("module_constants", """\
import torch.nn as nn

DROPOUT = 0.25
LAYERS = 1
lstm = nn.LSTM(300, 128, num_layers=LAYERS, dropout=DROPOUT)
""", [5]),
    ("from_import_and_multiline", """\
from torch.nn import LSTM as Recurrent

rnn = Recurrent(
    input_size=32,
    hidden_size=64,
    dropout=1,
)
""", [6]),
]

CORRECT = [
    ("stacked_layers", """\
import torch.nn as nn

a = nn.LSTM(8, 16, num_layers=2, dropout=0.5)
b = nn.GRU(8, 16, 3, dropout=0.1)
""",),
    ("no_or_zero_dropout", """\
import torch.nn as nn

a = nn.LSTM(8, 16)
b = nn.LSTM(8, 16, dropout=0)
c = nn.GRU(8, 16, dropout=0.0)
""",),
    ("runtime_values_and_the_usual_guard", """\
import torch.nn as nn

class Encoder(nn.Module):
    def __init__(self, n_in, hidden, num_layers=1, dropout=0.3, cfg=None):
        super().__init__()
        self.a = nn.LSTM(n_in, hidden, num_layers=num_layers, dropout=dropout)
        self.b = nn.GRU(n_in, hidden, num_layers, dropout=dropout if num_layers > 1 else 0)
        self.c = nn.LSTM(n_in, hidden, dropout=cfg.dropout)
        self.d = nn.LSTM(n_in, hidden, dropout=0.3, **cfg.rnn_kwargs)
""",),
    ("invalid_probability_raises_anyway", """\
import torch.nn as nn

a = nn.LSTM(8, 16, dropout=1.5)
""",),
    ("keras_and_cells", """\
import torch.nn as nn
from tensorflow import keras

a = keras.layers.LSTM(32, dropout=0.2, recurrent_dropout=0.2)
b = nn.LSTMCell(8, 16)
c = nn.Dropout(0.5)
""",),
    ("not_torch", """\
class LSTM:
    def __init__(self, *a, **k):
        pass

m = LSTM(8, 16, dropout=0.5)
""",),
    ("layers_chosen_in_branches", """\
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, deep):
        super().__init__()
        if deep:
            layers = 2
        else:
            layers = 1
        self.rnn = nn.LSTM(10, 20, num_layers=layers, dropout=0.3)

N_LAYERS = 1
if FULL:
    N_LAYERS = 3
gru = nn.GRU(4, 8, N_LAYERS, dropout=0.2)
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_message_and_concept():
    (f,) = findings("import torch.nn as nn\nm = nn.GRU(4, 8, dropout=0.4)\n", RULE)
    assert f.message.startswith("`dropout=0.4` has no effect on this one-layer GRU")
    assert f.concept == "lstm"
    assert (f.location.line, f.location.column) == (1, 25)  # on the value


@pytest.mark.parametrize("src,fixed", [
    ("import torch.nn as nn\nm = nn.LSTM(4, 8, batch_first=True, dropout=0.5)\n",
     "import torch.nn as nn\nm = nn.LSTM(4, 8, batch_first=True)\n"),
    ("import torch.nn as nn\nm = nn.LSTM(dropout=0.5, input_size=4, hidden_size=8)\n",
     "import torch.nn as nn\nm = nn.LSTM(input_size=4, hidden_size=8)\n"),
    ("import torch.nn as nn\nm = nn.LSTM(\n    4,\n    8,\n    dropout=0.5,\n)\n",
     "import torch.nn as nn\nm = nn.LSTM(\n    4,\n    8,\n)\n"),
])
def test_fix_removes_the_argument(src, fixed):
    (f,) = findings(src, RULE)
    assert f.fix.title.startswith("Remove `dropout=0.5`")
    assert apply_fix(src, f) == fixed
    assert findings(fixed, RULE) == []


def test_no_fix_for_positional_or_commented_arguments():
    (positional,) = findings("import torch.nn as nn\nm = nn.LSTM(8, 16, 1, True, True, 0.3)\n", RULE)
    assert positional.fix is None
    src = "import torch.nn as nn\nm = nn.LSTM(8, 16,  # sizes\n            dropout=0.3)\n"
    (commented,) = findings(src, RULE)
    assert commented.fix is None


def test_in_a_notebook():
    found = notebook(["import torch.nn as nn\n", "x = 1\nrnn = nn.LSTM(8, 16, dropout=0.2)\n"], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(1, 1)]


CALLERS_BUGGY = """\
import torch.nn as nn

class Encoder(nn.Module):
    def __init__(self, vocab, emb, hidden, num_layers=1, dropout=0.3):
        super().__init__()
        self.embed = nn.Embedding(vocab, emb)
        self.rnn = nn.GRU(emb, hidden, num_layers=num_layers, dropout=dropout, batch_first=True)

def small():
    return Encoder(1000, 64, 128, dropout=0.2)

enc = Encoder(1000, 64, 128, 1, 0.2)
"""


def test_values_from_every_construction_in_the_file():
    (f,) = findings(CALLERS_BUGGY, RULE)
    assert f.location.line + 1 == 7
    assert "in every `Encoder(...)` of this file (dropout=0.2, num_layers=1)" in f.message
    assert [r.location.line + 1 for r in f.related] == [10, 12]
    assert f.fix is None  # the line is right for other arguments; the callers choose


@pytest.mark.parametrize("callers", [
    "",                                              # never built here: unknown
    "enc = Encoder(1000, 64, 128, num_layers=2)\n",  # stacked
    "a = Encoder(1000, 64, 128)\nb = Encoder(1000, 64, 128, 2)\n",   # they disagree
    "enc = Encoder(1000, 64, 128, dropout=0.0)\n",   # no dropout
    "enc = Encoder(1000, 64, 128, **cfg)\n",         # unknown
    "enc = Encoder(1000, 64, 128, n, p)\n",          # unknown names
])
def test_silent_when_the_callers_do_not_all_build_the_bug(callers):
    src = CALLERS_BUGGY[:CALLERS_BUGGY.index("def small")] + callers
    assert lines(src, RULE) == []


def test_plain_function_defaults():
    src = """\
import torch.nn as nn

def make_rnn(n_in, hidden, layers=1, p=0.5):
    return nn.LSTM(n_in, hidden, layers, dropout=p)

rnn = make_rnn(10, 20)
"""
    (f,) = findings(src, RULE)
    assert "in every `make_rnn(...)` of this file" in f.message


# -- values kept on `self` ------------------------------------------------------------------------
SELF_HEADER = """\
import torch.nn as nn

class Encoder(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers=1, dropout=0.2):
        super().__init__()
"""

SELF_BUGGY = [
    ("self_attribute_from_a_defaulted_parameter", SELF_HEADER + """\
        self.num_layers = num_layers
        self.lstm = nn.LSTM(input_size, hidden_size, self.num_layers, dropout=dropout, batch_first=True)

enc = Encoder(10, 20)
""", [7]),
    ("self_attribute_literal_and_dropout_through_self", SELF_HEADER + """\
        self.num_layers = 1
        self.p = 0.3
        self.rnn = nn.GRU(input_size, hidden_size, num_layers=self.num_layers, dropout=self.p)
""", [8]),
]

SELF_CORRECT = [
    ("self_attribute_three_layers", SELF_HEADER + """\
        self.num_layers = 3
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers=self.num_layers, dropout=dropout)
"""),
    ("callers_pass_more_layers", SELF_HEADER + """\
        self.num_layers = num_layers
        self.lstm = nn.LSTM(input_size, hidden_size, self.num_layers, dropout=dropout)

enc = Encoder(10, 20, num_layers=2)
"""),
    ("assigned_twice", SELF_HEADER + """\
        self.num_layers = 1
        if input_size > 100:
            self.num_layers = 2
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers=self.num_layers, dropout=0.2)
"""),
    ("augmented_assignment", SELF_HEADER + """\
        self.num_layers = 1
        self.num_layers += extra
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers=self.num_layers, dropout=0.2)
"""),
    ("tuple_unpack", SELF_HEADER + """\
        self.num_layers = 1
        self.num_layers, self.h = layers_and_size()
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers=self.num_layers, dropout=0.2)
"""),
    ("from_a_config_object", SELF_HEADER + """\
        self.num_layers = cfg.num_layers
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers=self.num_layers, dropout=0.2)
"""),
    ("inherited_attribute", SELF_HEADER + """\
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers=self.num_layers, dropout=0.2)
"""),
    ("another_objects_attribute", SELF_HEADER + """\
        other.num_layers = 1
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers=other.num_layers, dropout=0.2)
"""),
]


@pytest.mark.parametrize("name,src,expected", SELF_BUGGY, ids=[b[0] for b in SELF_BUGGY])
def test_flags_values_kept_on_self(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", SELF_CORRECT, ids=[c[0] for c in SELF_CORRECT])
def test_silent_values_kept_on_self(name, src):
    assert lines(src, RULE) == []


def test_self_attribute_finding_names_the_constructor_call():
    (f,) = findings(SELF_BUGGY[0][1], RULE)
    assert "in every `Encoder(...)` of this file" in f.message and f.fix is None
