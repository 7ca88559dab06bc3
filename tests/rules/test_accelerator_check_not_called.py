"""accelerator-check-not-called: `torch.cuda.is_available` (and friends) tested without parentheses."""
import pytest
from conftest import findings, fixed_once, lines, notebook

RULE = "accelerator-check-not-called"

# (id, code, lines reported)
BUGGY = [
    ("conditional_device", """\
import torch
device = torch.device("cuda" if torch.cuda.is_available else "cpu")
model = Net().to(device)
""", [2]),
    ("if_statement", """\
import torch

def pick_device():
    if torch.cuda.is_available:
        return torch.device("cuda")
    elif torch.backends.mps.is_available:
        return torch.device("mps")
    return torch.device("cpu")
""", [4, 6]),
    ("and_operand_argparse", """\
import argparse
import torch
parser = argparse.ArgumentParser()
parser.add_argument("--no-cuda", action="store_true")
args = parser.parse_args()
use_cuda = not args.no_cuda and torch.cuda.is_available
device = torch.device("cuda" if use_cuda else "cpu")
""", [6]),
    ("not_guard_in_class", """\
import torch

class FP16Optimizer:
    def __init__(self, optimizer):
        if not torch.cuda.is_available:
            raise SystemError("Cannot use fp16 without CUDA.")
        self.optimizer = optimizer
""", [5]),
    ("function_first_in_and", """\
import torch
if torch.cuda.is_available and torch.cuda.device_count() > 1:
    model = torch.nn.DataParallel(model)
""", [2]),
    ("from_import_and_alias", """\
import torch.cuda as tcuda
from torch.cuda import is_available
assert tcuda.is_available, "this script needs a GPU"
gpu = bool(is_available)
""", [3, 4]),
    ("distributed_is_initialized", """\
import torch.distributed as dist

def log(msg):
    if dist.is_initialized and dist.get_rank() != 0:
        return
    print(msg)
""", [4]),
    ("compared_with_true", """\
import torch
if torch.cuda.is_available == True:
    torch.backends.cudnn.benchmark = True
""", [2]),
    ("cudnn_and_bf16", """\
import torch
if torch.backends.cudnn.is_available:
    torch.backends.cudnn.deterministic = True
dtype = torch.bfloat16 if torch.cuda.is_bf16_supported else torch.float16
""", [2, 4]),
    ("tensorflow", """\
import tensorflow as tf
if tf.test.is_gpu_available:
    print("training on the GPU")
""", [2]),
    ("stored_then_tested", """\
import torch
use_gpu = torch.cuda.is_available
if use_gpu:
    model = model.cuda()
""", [3]),
    ("while_and_lambda_and", """\
import torch
pick_mps = lambda: hasattr(torch.backends, "mps") and torch.backends.mps.is_available
while not torch.distributed.is_available:
    break
""", [2, 3]),
]

SILENT = [
    ("called", """\
import torch
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
if not torch.distributed.is_initialized():
    pass
"""),
    ("stored_and_called", """\
import torch
check = torch.cuda.is_available
if check():
    device = "cuda"
"""),
    ("list_of_checks", """\
import torch
checks = [("cuda", torch.cuda.is_available), ("mps", torch.backends.mps.is_available)]
for name, ok in checks:
    if ok():
        device = name
        break
"""),
    ("introspection", """\
import functools
import torch
assert callable(torch.cuda.is_available)
assert hasattr(torch.cuda, "is_available")
has = getattr(torch.cuda, "is_available")()
probe = functools.partial(torch.cuda.is_available)
"""),
    ("own_attribute", """\
import torch

class Slot:
    def __init__(self):
        self.is_available = True

    def take(self, slot):
        if self.is_available and slot.is_initialized:
            return slot
"""),
    ("comments_and_strings", """\
import torch
# device = "cuda" if torch.cuda.is_available else "cpu"
doc = "if torch.cuda.is_available: ..."
device = "cuda" if torch.cuda.is_available() else "cpu"
"""),
    ("monkeypatched", """\
import torch
original = torch.cuda.is_available
torch.cuda.is_available = lambda: False
torch.cuda.is_available = original
"""),
    ("fallback_callable", """\
import torch

def make_probe(custom=None):
    probe = custom or torch.cuda.is_available
    return probe
"""),
    ("local_variable_shadows", """\
from torch.cuda import is_bf16_supported

def setup():
    is_bf16_supported = False
    if is_bf16_supported:
        return "bf16"
"""),
    ("mock_return_value", """\
from unittest import mock
import torch
with mock.patch.object(torch.cuda, "is_available") as avail:
    avail.return_value = False
    torch.cuda.is_available.return_value = False
"""),
    ("no_import", """\
if cuda.is_available:
    pass
"""),
    ("unrelated_module", """\
import mylib
if mylib.is_available:
    pass
"""),
]


@pytest.mark.parametrize("name, code, expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_buggy(name, code, expected):
    assert lines(code, RULE) == expected


@pytest.mark.parametrize("name, code", SILENT, ids=[s[0] for s in SILENT])
def test_silent(name, code):
    assert lines(code, RULE) == []


def test_message_says_always_true_what_happens_and_the_fix():
    [f] = findings(BUGGY[0][1], RULE)
    assert f.severity.label == "error"
    assert "`torch.cuda.is_available` without parentheses is the function itself" in f.message
    assert "always true" in f.message and "without a GPU" in f.message
    assert '`.to("cuda")`' in f.message and "Call it: `torch.cuda.is_available()`" in f.message
    [n] = findings(BUGGY[3][1], RULE)
    assert "`not torch.cuda.is_available` is always False" in n.message and "never runs" in n.message
    [c] = findings(BUGGY[7][1], RULE)
    assert "this comparison is always False" in c.message
    [d] = findings(BUGGY[6][1], RULE)
    assert "`dist.get_rank()`" in d.message and "process group" in d.message


def test_quick_fix_adds_the_parentheses():
    out = fixed_once(BUGGY[0][1], RULE, "error")
    assert 'torch.device("cuda" if torch.cuda.is_available() else "cpu")' in out
    out = fixed_once(BUGGY[2][1], RULE)
    assert "use_cuda = not args.no_cuda and torch.cuda.is_available()" in out
    out = fixed_once(BUGGY[3][1], RULE)
    assert "if not torch.cuda.is_available():" in out


def test_a_stored_reference_is_reported_where_tested_without_a_fix():
    [f] = findings(BUGGY[10][1], RULE)
    assert f.location.line == 2 and f.fix is None
    assert "`use_gpu` holds the function `torch.cuda.is_available`" in f.message
    assert f.related and f.related[0].location.line == 1


def test_in_a_notebook():
    cells = ["import torch\n", "DEVICE = 'cuda' if torch.cuda.is_available else 'cpu'\n"]
    [f] = notebook(cells, RULE)
    assert f.location.cell == 1


def test_hardcoded_cuda_still_counts_the_check_and_this_rule_reports_it():
    code = """\
import torch
if torch.cuda.is_available:
    model = model.cuda()
"""
    assert lines(code, "hardcoded-cuda") == []
    assert lines(code, RULE) == [2]
