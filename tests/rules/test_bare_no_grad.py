"""bare-no-grad: torch.no_grad() / inference_mode() as a statement of its own."""
import pytest
from conftest import lines, notebook

RULE = "bare-no-grad"

BUGGY = [
    ("before_an_evaluation_loop", """\
import torch

def validate(model, loader):
    model.eval()
    torch.no_grad()
    for x, y in loader:
        out = model(x)
""", [5]),
    ("inference_mode_and_alias", """\
import torch as T

T.inference_mode()
preds = [net(x) for x in batches]
""", [3]),
    ("imported_name", """\
from torch import no_grad

no_grad()
y = model(x)
""", [3]),
    ("enable_grad_too", """\
import torch

torch.enable_grad()
loss = model(x).sum()
""", [3]),
]

CORRECT = [
    ("with_block", """\
import torch

with torch.no_grad():
    out = model(x)
""",),
    ("decorator_with_and_without_call", """\
import torch

@torch.no_grad()
def predict(x):
    return model(x)

@torch.inference_mode
def score(x):
    return model(x)
""",),
    ("kept_in_a_name", """\
import torch

ctx = torch.no_grad()
with ctx:
    out = model(x)
""",),
    # Called on its own, set_grad_enabled(False) does switch gradients off.
    ("set_grad_enabled_is_a_function", """\
import torch

torch.set_grad_enabled(False)
out = model(x)
""",),
    ("someone_elses_no_grad", """\
def no_grad():
    pass

no_grad()
""",),
    ("with_several_items", """\
import torch

with torch.no_grad(), open("log.txt", "w") as f:
    f.write(str(model(x)))
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[c[0] for c in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_message_says_what_to_do():
    from conftest import findings

    (f,) = findings(BUGGY[0][1], RULE)
    assert "with torch.no_grad():" in f.message and "not switched off" in f.message


def test_in_a_notebook_cell():
    (f,) = notebook(["import torch", "model.eval()\ntorch.no_grad()\nout = model(x)"], RULE)
    assert (f.location.cell, f.location.cell_line) == (1, 1)
