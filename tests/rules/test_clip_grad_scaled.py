"""clip-grad-scaled: gradients clipped before GradScaler.unscale_()."""
import pytest
from conftest import apply_fix, findings, lines, notebook

RULE = "clip-grad-scaled"

BUGGY = [
    ("classic_amp_loop", """\
import torch

scaler = torch.cuda.amp.GradScaler()
for x, y in loader:
    optimizer.zero_grad()
    with torch.autocast("cuda"):
        loss = criterion(model(x), y)
    scaler.scale(loss).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    scaler.step(optimizer)
    scaler.update()
""", [9]),
    ("torch_amp_scaler_in_a_train_function", """\
from torch import nn
from torch.amp import GradScaler

def train_epoch(model, loader, opt, scaler: GradScaler):
    for batch in loader:
        opt.zero_grad(set_to_none=True)
        loss = model(batch).loss
        scaler.scale(loss).backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        scaler.step(opt)
        scaler.update()
""", [9]),
    ("clip_value_with_an_attribute_scaler", """\
import torch

class Trainer:
    def __init__(self, model):
        self.scaler = torch.amp.GradScaler("cuda")
        self.model = model

    def step(self, loss):
        self.optimizer.zero_grad()
        self.scaler.scale(loss).backward()
        torch.nn.utils.clip_grad_value_(self.model.parameters(), 0.5)
        self.scaler.step(self.optimizer)
        self.scaler.update()
""", [11]),
    ("amp_branch_of_an_if", """\
import torch

for x, y in loader:
    optimizer.zero_grad(set_to_none=True)
    loss = criterion(model(x), y)
    if use_amp:
        scaler.scale(loss).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
""", [8]),
    ("accumulation_clips_every_micro_batch", """\
import torch

for i, (x, y) in enumerate(loader):
    loss = criterion(net(x), y) / accum
    grad_scaler.scale(loss).backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
    if (i + 1) % accum == 0:
        grad_scaler.step(optimizer)
        grad_scaler.update()
        optimizer.zero_grad()
""", [6]),
]

CORRECT = [
    ("unscale_first", """\
import torch

scaler = torch.cuda.amp.GradScaler()
for x, y in loader:
    optimizer.zero_grad()
    scaler.scale(criterion(model(x), y)).backward()
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(optimizer)
    scaler.update()
"""),
    ("no_scaler", """\
import torch

for x, y in loader:
    optimizer.zero_grad()
    criterion(model(x), y).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
"""),
    ("disabled_scaler", """\
import torch

scaler = torch.cuda.amp.GradScaler(enabled=False)
for x, y in loader:
    optimizer.zero_grad()
    scaler.scale(criterion(model(x), y)).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(optimizer)
    scaler.update()
"""),
    ("unscale_in_a_local_helper", """\
import torch

def unscale_all():
    scaler.unscale_(optimizer)

for x, y in loader:
    optimizer.zero_grad()
    scaler.scale(criterion(model(x), y)).backward()
    unscale_all()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(optimizer)
    scaler.update()
"""),
    ("clip_after_the_scaler_step", """\
import torch

for x, y in loader:
    optimizer.zero_grad()
    scaler.scale(criterion(model(x), y)).backward()
    scaler.step(optimizer)
    scaler.update()
    log_norm(torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf")))
"""),
    ("accelerate_unscales_itself", """\
for batch in loader:
    optimizer.zero_grad()
    accelerator.backward(model(**batch).loss)
    accelerator.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
"""),
    ("an_unrelated_scale_method", """\
import torch

for x, y in loader:
    optimizer.zero_grad()
    augment.scale(criterion(model(x), y)).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    augment.step(optimizer)
"""),
    ("scaled_backward_of_the_previous_update", """\
import torch

for x, y in loader:
    optimizer.zero_grad()
    scaler.scale(criterion(model(x), y)).backward()
    scaler.unscale_(optimizer)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
"""),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_message_names_the_scaler_and_the_optimizer():
    (f,) = findings(BUGGY[0][1], RULE)
    assert "scaler.unscale_(optimizer)" in f.message and "scale factor" in f.message
    assert "`max_norm` is compared with scaled norms" in f.message
    assert f.concept == "vanishing-exploding-gradients"
    assert [r.message for r in f.related] == ["the scaled backward pass",
                                             "unscales only here, after the clip"]


def test_fix_inserts_unscale_before_the_clip():
    src = BUGGY[0][1]
    (f,) = findings(src, RULE)
    fixed = apply_fix(src, f)
    assert fixed.splitlines()[8:10] == [
        "    scaler.unscale_(optimizer)",
        "    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)",
    ]
    assert lines(fixed, RULE) == []
    assert lines(fixed, "clip-grad-misplaced") == []


def test_value_clipping_names_its_threshold():
    (f,) = findings(BUGGY[2][1], RULE)
    assert "`clip_value` is compared with scaled gradients" in f.message


def test_fix_uses_the_attribute_names():
    src = BUGGY[2][1]
    (f,) = findings(src, RULE)
    assert "    self.scaler.unscale_(self.optimizer)\n" in apply_fix(src, f)


def test_no_fix_when_the_step_is_conditional():
    (f,) = findings(BUGGY[4][1], RULE)
    assert f.fix is None  # unscale_ on every micro-batch would raise before the second


def test_no_fix_with_two_clips_before_one_step():
    src = """\
import torch

for x, y in loader:
    optimizer.zero_grad()
    scaler.scale(loss_fn(x, y)).backward()
    torch.nn.utils.clip_grad_norm_(encoder.parameters(), 1.0)
    torch.nn.utils.clip_grad_norm_(decoder.parameters(), 1.0)
    scaler.step(optimizer)
    scaler.update()
"""
    found = findings(src, RULE)
    assert [f.location.line + 1 for f in found] == [6, 7]
    assert all(f.fix is None for f in found)  # one unscale_ before both: the author's edit


def test_notebook_cells():
    cells = ["import torch\nscaler = torch.amp.GradScaler('cuda')\n", """\
for x, y in loader:
    optimizer.zero_grad()
    scaler.scale(criterion(model(x), y)).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(optimizer)
    scaler.update()
"""]
    (f,) = notebook(cells, RULE)
    assert f.location.cell == 1 and f.location.cell_line == 3
