"""softmax-implicit-dim: nn.Softmax() / F.softmax(x) without dim."""
import pytest
from conftest import findings, lines, notebook

RULE = "softmax-implicit-dim"

BUGGY = [
    ("module_in_init", """\
import torch.nn as nn

class Attn(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.attn = nn.Linear(hidden * 2, hidden)
        self.softmax = nn.Softmax()
""", [7]),
    ("functional_one_argument", """\
import torch.nn.functional as F

probs = F.softmax(logits)
logp = F.log_softmax(logits, dim=None)
""", [3, 4]),
    ("log_softmax_and_softmin_modules_and_chained", """\
import torch
from torch import nn

head = nn.Sequential(nn.Linear(8, 3), nn.LogSoftmax())
inverse = torch.nn.Softmin()
sm = nn.Softmax().cuda()
""", [4, 5, 6]),
    ("from_import_alias", """\
from torch.nn.functional import softmax as sm

p = sm(scores)
""", [3]),
]

CORRECT = [
    ("dim_given", """\
import torch
import torch.nn as nn
import torch.nn.functional as F

a = nn.Softmax(dim=1)
b = nn.LogSoftmax(-1)
c = F.softmax(x, 1)
d = F.log_softmax(x, dim=-1)
e = torch.softmax(x, dim=0)
f = x.softmax(-1)
g = nn.Softmax2d()
""",),
    ("splats_may_carry_dim", """\
import torch.nn as nn
import torch.nn.functional as F

a = nn.Softmax(*args)
b = F.softmax(x, **kw)
""",),
    ("keras_softmax_has_a_default_axis", """\
from tensorflow import keras

layer = keras.layers.Softmax()
out = keras.activations.softmax(x)
""",),
    ("not_torch", """\
from scipy.special import softmax

p = softmax(x)
def softmax(z):
    return z
softmax(y)
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_message_explains_the_guess():
    (f,) = findings("import torch.nn as nn\nsm = nn.Softmax()\n", RULE)
    assert f.message.startswith("`nn.Softmax()` has no `dim`")
    assert "dim 0 for 1-D and 3-D inputs" in f.message
    assert f.fix is None  # which axis holds the classes is not knowable from here
    assert f.concept == "softmax"


def test_in_a_notebook():
    found = notebook(["import torch.nn.functional as F\n", "p = F.softmax(out)\n"], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(1, 0)]
