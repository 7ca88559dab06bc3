"""unregistered-layers: nn layers kept in a plain list or dict on an nn.Module."""
import pytest
from conftest import apply_fix, findings, lines, notebook, parses

RULE = "unregistered-layers"

BUGGY = [
    ("list_comprehension", """\
import torch
import torch.nn as nn

class MLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = [nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])]

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x
""", [7]),
    # A subclass of a local nn.Module subclass, layers appended under a condition.
    ("list_then_append_in_a_subclass", """\
from torch import nn

class Block(nn.Module):
    def __init__(self):
        super().__init__()

class Basic(Block):
    def __init__(self, n_in, n_out, normalize):
        super().__init__()
        self.layers = [nn.Linear(n_in, n_out)]
        if normalize:
            self.layers.append(nn.BatchNorm1d(n_out))
""", [10]),
    ("empty_list_filled_in_a_loop", """\
import torch.nn as nn

class Stack(nn.Module):
    def __init__(self, depth):
        super().__init__()
        self.blocks = []
        for _ in range(depth):
            self.blocks.append(nn.Conv2d(16, 16, 3, padding=1))
""", [6]),
    ("local_list_assigned_later", """\
import torch.nn as nn

class Stack(nn.Module):
    def __init__(self, depth):
        super().__init__()
        blocks = []
        for _ in range(depth):
            blocks.append(nn.Linear(8, 8))
        self.blocks = blocks
""", [9]),
    ("dict_of_heads", """\
import torch.nn as nn

class MultiHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.heads = {"age": nn.Linear(64, 1), "gender": nn.Linear(64, 2)}
""", [6]),
    ("list_of_parameters", """\
import torch
import torch.nn as nn

class Mixture(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.weights = [nn.Parameter(torch.randn(4, 4)) for _ in range(k)]
""", [7]),
    ("local_model_classes_in_a_tuple", """\
import torch.nn as nn

class Expert(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

class MoE(nn.Module):
    def __init__(self):
        super().__init__()
        self.experts = (Expert(), Expert())
""", [11]),
    # dropout in a plain list is not switched off by model.eval()
    ("list_of_dropouts", """\
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.drops = [nn.Dropout(0.5), nn.Dropout(0.2)]
""", [7]),
    # a block with weights among parameter-free ones
    ("list_of_blocks_with_weights", """\
import torch.nn as nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.avg = nn.AvgPool1d(3)
        self.fc = nn.Linear(4, 4)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = [Block() for _ in range(3)]
""", [14]),
]

CORRECT = [
    # An image-inpainting project (sweep 20): nn.Module.__setattr__ called by hand registers.
    ("dunder_setattr_registers", """\
import torch.nn as nn
class Net(nn.Module):
    def __init__(self, n=3):
        super().__init__()
        self.blocks = []
        for _ in range(n):
            self.blocks.append(nn.Conv2d(8, 8, 3, padding=1))
        for i, b in enumerate(self.blocks):
            self.__setattr__('block_{}'.format(i), b)
    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return x
""",),
    # LTSF-Linear's multi-scale decomposition: a list of moving averages (AvgPool1d only)
    ("list_of_parameter_free_modules", """\
import torch
import torch.nn as nn


class MovingAvg(nn.Module):
    def __init__(self, kernel_size, stride):
        super().__init__()
        self.avg = nn.AvgPool1d(kernel_size=kernel_size, stride=stride, padding=0)

    def forward(self, x):
        return self.avg(x)


class DecompMulti(nn.Module):
    def __init__(self, kernel_sizes):
        super().__init__()
        self.moving_avg = [MovingAvg(k, stride=1) for k in kernel_sizes]
        self.acts = [nn.ReLU(), nn.GELU()]
        self.layer = nn.Linear(1, len(kernel_sizes))
""",),
    ("module_list", """\
import torch.nn as nn

class MLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])])
""",),
    # The list is handed to a container: the layers are registered through it.
    ("list_handed_to_sequential", """\
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = [nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)]
        self.net = nn.Sequential(*self.layers)
""",),
    ("wrapped_afterwards", """\
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = []
        for _ in range(3):
            self.layers.append(nn.Linear(4, 4))
        self.layers = nn.ModuleList(self.layers)
""",),
    ("registered_by_hand", """\
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = [nn.Linear(4, 4) for _ in range(3)]
        for i, layer in enumerate(self.layers):
            self.add_module(f"layer{i}", layer)
""",),
    # No layers inside: sizes, functions, tensors.
    ("plain_data", """\
import torch
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.sizes = [784, 128, 10]
        self.acts = [F.relu, torch.tanh]
        self.buffers_ = [torch.zeros(3)]
        self.fc = nn.Linear(784, 10)
""",),
    # Not a torch module: MLX keeps layers in lists on purpose, plain classes may do anything.
    ("mlx_module", """\
import mlx.nn as nn

class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = [nn.Linear(8, 8) for _ in range(2)]
""",),
    ("not_a_module", """\
import torch.nn as nn

class Builder:
    def __init__(self):
        self.layers = [nn.Linear(8, 8) for _ in range(2)]
""",),
    # A local list that becomes a Sequential.
    ("local_list_to_sequential", """\
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        layers = [nn.Linear(4, 4), nn.ReLU()]
        self.body = nn.Sequential(*layers)
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[c[0] for c in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


@pytest.mark.parametrize("name,container", [
    ("list_comprehension", "nn.ModuleList("), ("list_then_append_in_a_subclass", "nn.ModuleList("),
    ("empty_list_filled_in_a_loop", "nn.ModuleList("), ("local_list_assigned_later", "nn.ModuleList("),
    ("dict_of_heads", "nn.ModuleDict("), ("list_of_parameters", "nn.ParameterList("),
    ("local_model_classes_in_a_tuple", "nn.ModuleList("),
])
def test_fix_wraps_it_in_the_container(name, container):
    src = {c[0]: c[1] for c in BUGGY}[name]
    (f,) = findings(src, RULE)
    fixed = apply_fix(src, f)
    assert parses(fixed) and container in fixed and lines(fixed, RULE) == []


def test_no_fix_when_something_else_is_in_the_list():
    src = """\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.steps = [nn.Linear(4, 4), F.relu]
"""
    (f,) = findings(src, RULE)
    assert f.fix is None  # nn.ModuleList would raise TypeError on F.relu


def test_fix_spells_torch_nn_as_the_file_does():
    src = """\
import torch

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = [torch.nn.Linear(2, 2)]
"""
    (f,) = findings(src, RULE)
    assert "torch.nn.ModuleList([torch.nn.Linear(2, 2)])" in apply_fix(src, f)


def test_message_says_what_goes_wrong():
    (f,) = findings(BUGGY[0][1], RULE)
    assert "`model.parameters()` leaves them out" in f.message and "nn.ModuleList" in f.message
    (f,) = findings(BUGGY[2][1], RULE)
    assert f.related and f.related[0].location.line == 7  # the append, 0-based


def test_in_a_notebook_cell():
    cells = ["import torch.nn as nn",
             ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
              "        self.fcs = [nn.Linear(2, 2) for _ in range(3)]")]
    (f,) = notebook(cells, RULE)
    assert (f.location.cell, f.location.cell_line) == (1, 3)



def test_object_setattr_bypasses_registration():
    """Review of sweep 20: `object.__setattr__(self, "teacher", t)` is the idiom that keeps a
    module out of the registry; it does not make the class one that registers by hand."""
    assert len(lines("""import torch.nn as nn

class Student(nn.Module):
    def __init__(self, teacher):
        super().__init__()
        object.__setattr__(self, "teacher", teacher)   # keep the teacher out of parameters()
        self.blocks = [nn.Linear(16, 16) for _ in range(4)]
        self.head = nn.Linear(16, 2)

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return self.head(x)
""", RULE)) == 1



def test_a_list_of_classes_wrapping_weight_free_classes():
    """Time-Series-Library (sweep 20): SeriesDecomp holds a MovingAvg over nn.AvgPool1d; a plain
    list of SeriesDecomp loses nothing. A wrapper of a class with weights still does."""
    src = """\
import torch.nn as nn

class MovingAvg(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.avg = nn.AvgPool1d(kernel_size=k, stride=1)

class SeriesDecomp(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.moving_avg = MovingAvg(k)

class SeriesDecompMulti(nn.Module):
    def __init__(self, kernels):
        super().__init__()
        self.decomps = [SeriesDecomp(k) for k in kernels]
"""
    assert lines(src, RULE) == []
    weighted = src.replace("nn.AvgPool1d(kernel_size=k, stride=1)", "nn.Linear(k, k)")
    assert len(lines(weighted, RULE)) == 1


def test_a_plain_class_named_like_a_later_module_class():
    """fast.ai part 2's 02_fully_connected notebook (sweep 21c): a plain `class Model():` holding
    hand-written layers, and a later cell's different `class Model(nn.Module)`."""
    src = """\
import torch
from torch import nn


class Lin:
    def __init__(self, w, b):
        self.w, self.b = w, b


class Model():
    def __init__(self, w1, b1, w2, b2):
        self.layers = [Lin(w1, b1), Lin(w2, b2)]


class Model(nn.Module):
    def __init__(self, n_in, nh):
        super().__init__()
        self.layers = [nn.Linear(n_in, nh), nn.ReLU()]
"""
    assert lines(src, RULE) == [18]
