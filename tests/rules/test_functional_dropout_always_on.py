"""functional-dropout-always-on: F.dropout in a model's method without the training flag."""
import pytest
from conftest import apply_fix, findings, lines, notebook, parses

RULE = "functional-dropout-always-on"

BUGGY = [
    ("forward_default_training", """\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.dropout(x, p=0.5)
        return self.fc2(x)
""", [12]),
    ("positional_p_and_alias", """\
from torch import nn
from torch.nn import functional as fn

class Encoder(nn.Module):
    def forward(self, h):
        return fn.dropout2d(h, 0.2)
""", [6]),
    ("full_module_path_in_a_helper_method", """\
import torch
import torch.nn as nn

class Block(nn.Module):
    def _drop(self, x):
        return torch.nn.functional.dropout(x, self.p)

    def forward(self, x):
        return self._drop(self.lin(x))
""", [6]),
    # A subclass of a local model class is a model too.
    ("subclass_of_a_local_model", """\
import torch.nn as nn
import torch.nn.functional as F

class Base(nn.Module):
    pass

class Head(Base):
    def forward(self, x):
        return self.out(F.alpha_dropout(x, 0.1))
""", [9]),
    # dsgiitr/d2l-pytorch's dropout notebook: gated on a flag of the model's own, fixed in
    # __init__; eval() never changes it, so dropout stays on in evaluation.
    ("own_is_training_flag_is_not_the_mode", """\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self, is_training=True):
        super().__init__()
        self.is_training = is_training

    def forward(self, X):
        H1 = F.relu(self.linear_1(X))
        if self.is_training == True:
            H1 = F.dropout(H1, 0.5)
        return self.linear_2(H1)
""", [12]),
]

CORRECT = [
    ("training_flag_passed", """\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def forward(self, x):
        x = F.dropout(x, p=0.5, training=self.training)
        return self.fc(x)
""",),
    ("training_flag_positional", """\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def forward(self, x):
        return self.fc(F.dropout(x, 0.5, self.training))
""",),
    # kuangliu/pytorch-cifar EfficientNet: dropout only under `if self.training`.
    ("guarded_by_self_training", """\
import torch.nn as nn
import torch.nn.functional as F

class EfficientNet(nn.Module):
    def forward(self, x):
        out = self.features(x)
        if self.training and self.dropout_rate > 0:
            out = F.dropout(out, p=self.dropout_rate)
        return self.linear(out)
""",),
    # The flag comes in as a parameter named `training` (a caller passes self.training).
    ("training_parameter", """\
import torch.nn as nn
import torch.nn.functional as F

class Block(nn.Module):
    def drop(self, x, training):
        if training:
            x = F.dropout(x, 0.2)
        return x
""",),
    # A model that overrides train() keeps its own flag in step with the mode.
    ("own_flag_kept_by_a_train_override", """\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def train(self, mode=True):
        self.is_training = mode
        return super().train(mode)

    def forward(self, x):
        if self.is_training:
            x = F.dropout(x, 0.5)
        return self.fc(x)
""",),
    ("layer_module_not_functional", """\
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.fc(self.drop(x))
""",),
    # Monte Carlo dropout keeps dropout on at inference on purpose.
    ("mc_dropout_on_purpose", """\
import torch.nn as nn
import torch.nn.functional as F

class MCDropoutNet(nn.Module):
    def forward(self, x):
        return self.fc(F.dropout(x, 0.3))
""",),
    ("explicitly_always_on", """\
import torch.nn as nn
import torch.nn.functional as F

class Policy(nn.Module):
    def forward(self, scores):
        return F.dropout(scores, 0.1, True)  # exploration noise, on purpose
""",),
    # Not a model: an augmentation helper applied during training only.
    ("plain_function_not_a_model", """\
import torch.nn.functional as F

def augment(x):
    return F.dropout(x, 0.1)
""",),
    ("other_class_not_a_model", """\
import torch.nn.functional as F

class Augment:
    def __call__(self, x):
        return F.dropout(x, 0.1)
""",),
    ("someone_elses_dropout", """\
import torch.nn as nn

def dropout(x, p):
    return x

class Net(nn.Module):
    def forward(self, x):
        return dropout(x, 0.5)
""",),
    ("kwargs_forwarded", """\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def forward(self, x, **kw):
        return F.dropout(x, **kw)
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[c[0] for c in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[c[0] for c in BUGGY])
def test_fix_passes_the_training_flag(name, src, expected):
    (finding,) = findings(src, RULE)
    fixed = apply_fix(src, finding)
    assert parses(fixed)
    assert "training=self.training" in fixed
    assert lines(fixed, RULE) == []


def test_fix_after_a_trailing_comma_and_a_comment():
    src = """\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def forward(self, x):
        return F.dropout(
            x,
            p=0.5,  # heavy
        )
"""
    (finding,) = findings(src, RULE)
    fixed = apply_fix(src, finding)
    assert parses(fixed) and "p=0.5, training=self.training,  # heavy" in fixed


def test_no_fix_without_self():
    src = """\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    @staticmethod
    def drop(x):
        return F.dropout(x, 0.5)
"""
    (finding,) = findings(src, RULE)
    assert finding.fix is None


def test_in_a_notebook_cell():
    cells = ["import torch.nn as nn\nimport torch.nn.functional as F",
             "class Net(nn.Module):\n    def forward(self, x):\n        return F.dropout(x, 0.5)"]
    (finding,) = notebook(cells, RULE)
    assert finding.location.cell == 1 and finding.location.cell_line == 2


def test_the_word_training_in_a_docstring_or_string_is_no_evidence():
    src = '''\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def forward(self, x):
        """Dropout regularises training."""
        print("training step")
        return self.fc(F.dropout(x, 0.5))
'''
    assert lines(src, RULE) == [8]


def test_train_and_eval_methods_that_are_loops_do_not_keep_a_flag():
    src = '''\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def forward(self, x):
        return self.fc(F.dropout(x, 0.5))

    def train(self, loader, epochs=10):
        for x, y in loader:
            self.step(x, y)

    def eval(self, loader):
        return sum(self(x).argmax(1).eq(y).sum() for x, y in loader)
'''
    assert lines(src, RULE) == [6]


_RATE_PARAM = """\
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 20)
        self.fc2 = nn.Linear(20, 2)

    def forward(self, x, {param}):
        x = F.relu(self.fc1(x))
        x = F.dropout(x, {arg})
        return self.fc2(x)
"""


@pytest.mark.parametrize("param,arg", [
    ("drop_prob", "drop_prob"),
    ("drop_prob", "p=drop_prob"),
    ("drop_prob=0.0", "drop_prob"),
    ("drop_prob=None", "drop_prob"),
    ("*, drop_prob", "drop_prob"),
])
def test_a_rate_the_caller_passes_is_left_to_the_caller(param, arg):
    """A research model (sweep 20d) whose forward takes the dropout rate: training passes it,
    evaluation passes 0, so the call follows the caller's choice."""
    assert lines(_RATE_PARAM.format(param=param, arg=arg), RULE) == []


@pytest.mark.parametrize("param,arg", [
    ("drop_prob=0.5", "drop_prob"),        # on unless every evaluation passes 0
    ("drop_prob", "0.3"),                  # the parameter is not the rate
    ("drop_prob", "self.p"),
])
def test_a_nonzero_default_or_another_rate_is_still_flagged(param, arg):
    assert lines(_RATE_PARAM.format(param=param, arg=arg), RULE) == [13]


def test_a_rate_parameter_rebound_in_the_method_is_flagged():
    src = _RATE_PARAM.format(param="drop_prob", arg="drop_prob").replace(
        "        x = F.relu(self.fc1(x))\n", "        x = F.relu(self.fc1(x))\n        drop_prob = 0.5\n")
    assert lines(src, RULE) == [14]


def test_a_rate_parameter_the_parent_fills_with_its_own_rate():
    """Review: the block takes the rate, but its parent always passes `self.drop_rate`, in
    evaluation too."""
    src = """\
import torch.nn as nn
import torch.nn.functional as F


class ResidualBlock(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, d), nn.Linear(d, d)

    def forward(self, x, drop_rate):
        h = F.dropout(F.relu(self.fc1(x)), drop_rate)
        return x + self.fc2(h)


class Net(nn.Module):
    def __init__(self, d, drop_rate=0.1):
        super().__init__()
        self.blocks = nn.ModuleList(ResidualBlock(d) for _ in range(4))
        self.drop_rate = drop_rate

    def forward(self, x):
        for block in self.blocks:
            x = block(x, {arg})
        return x
"""
    assert lines(src.format(arg="self.drop_rate"), RULE) == [11]
    assert lines(src.format(arg="0.2"), RULE) == [11]
    assert lines(src.format(arg="self.drop_rate if self.training else 0.0"), RULE) == []


# F.scaled_dot_product_attention has no training flag: its dropout_p applies in every mode.
ATTENTION_BUGGY = [
    # donglinkang2021/learnGPT: the rate kept on the module, passed as is.
    ("rate_held_by_the_module", """\
import torch.nn as nn
import torch.nn.functional as F

class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, dropout):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.attn_dropout = dropout

    def forward(self, x):
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        y = F.scaled_dot_product_attention(query=q, key=k, value=v, is_causal=True,
                                           dropout_p=self.attn_dropout)
        return y
""", [12]),
    ("full_path_literal_rate", """\
import torch
import torch.nn as nn

class Attn(nn.Module):
    def forward(self, q, k, v):
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=0.1)
""", [6]),
    ("positional_rate_of_a_dropout_layer", """\
import torch.nn as nn
from torch.nn.functional import scaled_dot_product_attention

class Attn(nn.Module):
    def forward(self, q, k, v, mask):
        return scaled_dot_product_attention(q, k, v, mask, self.attn_drop.p)
""", [6]),
    ("local_name_bound_to_a_rate", """\
import torch.nn as nn
import torch.nn.functional as F

class Attn(nn.Module):
    def forward(self, q, k, v):
        p = 0.2
        return F.scaled_dot_product_attention(q, k, v, dropout_p=p)
""", [7]),
]

ATTENTION_CORRECT = [
    # karpathy/nanoGPT
    ("rate_under_self_training", """\
import torch.nn as nn
import torch.nn.functional as F

class CausalSelfAttention(nn.Module):
    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=None,
            dropout_p=self.dropout if self.training else 0, is_causal=True)
""",),
    ("positional_rate_under_self_training", """\
import torch.nn as nn
import torch.nn.functional as F

class Attention(nn.Module):
    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v, None, (self.p if self.training else 0.))
""",),
    # rasbt/LLMs-from-scratch: the rate chosen from the mode before the call.
    ("name_set_from_the_mode", """\
import torch.nn as nn
import torch.nn.functional as F

class MHA(nn.Module):
    def forward(self, q, k, v):
        use_dropout = 0. if not self.training else self.dropout
        return F.scaled_dot_product_attention(q, k, v, dropout_p=use_dropout, is_causal=True)
""",),
    ("no_rate_or_zero", """\
import torch.nn as nn
import torch.nn.functional as F

class Attn(nn.Module):
    def forward(self, q, k, v):
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return F.scaled_dot_product_attention(a, k, v, dropout_p=0.0)
""",),
    ("rate_attribute_set_to_zero", """\
import torch.nn as nn
import torch.nn.functional as F

class Attn(nn.Module):
    def __init__(self):
        super().__init__()
        self.dropout = 0.0

    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout)
""",),
    # A plain function: the caller decides the rate, mode unknown here.
    ("plain_function_with_a_training_parameter", """\
import torch.nn.functional as F

def attention(q, k, v, p, training):
    return F.scaled_dot_product_attention(q, k, v, dropout_p=p if training else 0)
""",),
    ("plain_function_not_a_model", """\
import torch.nn.functional as F

def attention(q, k, v):
    return F.scaled_dot_product_attention(q, k, v, dropout_p=0.1)
""",),
    # The caller passes the rate (no default): training passes it, evaluation 0.
    ("rate_parameter_the_caller_fills", """\
import torch.nn as nn
import torch.nn.functional as F

class Attn(nn.Module):
    def forward(self, q, k, v, dropout_p):
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)
""",),
]


@pytest.mark.parametrize("name,src,expected", ATTENTION_BUGGY, ids=[c[0] for c in ATTENTION_BUGGY])
def test_attention_dropout_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", ATTENTION_CORRECT, ids=[c[0] for c in ATTENTION_CORRECT])
def test_attention_dropout_silent(name, src):
    assert lines(src, RULE) == []


@pytest.mark.parametrize("name,src,expected", ATTENTION_BUGGY, ids=[c[0] for c in ATTENTION_BUGGY])
def test_attention_fix_drops_only_in_training(name, src, expected):
    (finding,) = findings(src, RULE)
    assert "dropout_p" in finding.message and "model.eval()" in finding.message
    fixed = apply_fix(src, finding)
    assert parses(fixed)
    assert "if self.training else 0.0" in fixed
    assert lines(fixed, RULE) == []

