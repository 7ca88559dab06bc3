"""onecycle-stepped-per-epoch: a OneCycleLR planned in batches, stepped once per epoch."""
import pytest
from conftest import apply_fix, findings, lines, notebook

RULE = "onecycle-stepped-per-epoch"

HEADER = """\
import torch
from torch.optim.lr_scheduler import OneCycleLR

optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
"""

LOOP = """\
for epoch in range(EPOCHS):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    scheduler.step()
"""

BUGGY = [
    ("steps_per_epoch_and_an_epoch_step", HEADER + """\
scheduler = OneCycleLR(optimizer, max_lr=0.1, epochs=EPOCHS, steps_per_epoch=len(train_loader))
""" + LOOP, [13]),
    ("total_steps_in_batches", HEADER + """\
scheduler = OneCycleLR(optimizer, max_lr=0.1, total_steps=EPOCHS * len(train_loader))
""" + LOOP, [13]),
    ("total_steps_through_a_name", HEADER + """\
total = len(train_loader) * EPOCHS
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, 0.1, total)
""" + LOOP, [14]),
    ("batch_loop_in_a_helper", HEADER + """\
scheduler = OneCycleLR(optimizer, max_lr=1e-2, epochs=10, steps_per_epoch=len(loader))

def train_one_epoch(model, loader, optimizer):
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()

for epoch in range(10):
    train_one_epoch(model, loader, optimizer)
    evaluate(model)
    scheduler.step()
""", [16]),
    ("trainer_class_with_self_scheduler", """\
import torch

class Trainer:
    def __init__(self, model, loader, epochs):
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
        self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
            self.optimizer, max_lr=3e-3, epochs=epochs, steps_per_epoch=len(loader))

    def fit(self, epochs):
        for epoch in range(epochs):
            for batch in self.loader:
                self.optimizer.zero_grad()
                self.loss(batch).backward()
                self.optimizer.step()
            self.scheduler.step()
""", [15]),
    ("amp_scaler_step", HEADER + """\
scheduler = OneCycleLR(optimizer, max_lr=0.1, epochs=EPOCHS, steps_per_epoch=len(train_loader))
scaler = torch.amp.GradScaler("cuda")
for epoch in range(EPOCHS):
    for x, y in train_loader:
        optimizer.zero_grad()
        scaler.scale(criterion(model(x), y)).backward()
        scaler.step(optimizer)
        scaler.update()
    scheduler.step()
""", [13]),
]

CORRECT = [
    ("stepped_per_batch", HEADER + """\
scheduler = OneCycleLR(optimizer, max_lr=0.1, epochs=EPOCHS, steps_per_epoch=len(train_loader))
for epoch in range(EPOCHS):
    for x, y in train_loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
        scheduler.step()
"""),
    ("a_per_epoch_one_cycle_on_purpose", HEADER + """\
scheduler = OneCycleLR(optimizer, max_lr=0.1, total_steps=EPOCHS)
""" + LOOP),
    ("steps_per_epoch_one", HEADER + """\
scheduler = OneCycleLR(optimizer, max_lr=0.1, epochs=EPOCHS, steps_per_epoch=1)
""" + LOOP),
    ("total_steps_unknown", HEADER + """\
scheduler = OneCycleLR(optimizer, max_lr=0.1, total_steps=args.total_steps)
""" + LOOP),
    ("another_scheduler_per_epoch", HEADER + """\
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30)
""" + LOOP),
    ("helper_steps_the_scheduler_itself", HEADER + """\
scheduler = OneCycleLR(optimizer, max_lr=1e-2, epochs=10, steps_per_epoch=len(loader))

def train_one_epoch(model, loader, optimizer, sched):
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
        sched.step()

for epoch in range(10):
    train_one_epoch(model, loader, optimizer, scheduler)
"""),
    ("single_loop_over_batches", HEADER + """\
scheduler = OneCycleLR(optimizer, max_lr=0.1, total_steps=len(train_loader))
for x, y in train_loader:
    optimizer.zero_grad()
    criterion(model(x), y).backward()
    optimizer.step()
    scheduler.step()
"""),
    ("a_different_object_stepped", HEADER + """\
scheduler = OneCycleLR(optimizer, max_lr=0.1, epochs=EPOCHS, steps_per_epoch=len(train_loader))
for epoch in range(EPOCHS):
    for x, y in train_loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
        scheduler.step()
    swa_scheduler.step()
"""),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_message_and_related_locations():
    (f,) = findings(BUGGY[0][1], RULE)
    assert "`steps_per_epoch=len(train_loader)`" in f.message and "max_lr / 25" in f.message
    assert f.concept == "learning-rate-schedules"
    assert [r.message for r in f.related] == ["built to step once per batch",
                                              "the optimizer steps once per batch here"]
    assert [r.location.line + 1 for r in f.related] == [5, 12]


def test_fix_moves_the_step_into_the_batch_loop():
    src = BUGGY[0][1]
    (f,) = findings(src, RULE)
    fixed = apply_fix(src, f)
    assert fixed.endswith("        optimizer.step()\n        scheduler.step()\n")
    assert lines(fixed, RULE) == []


def test_fix_follows_the_scaler_step():
    (f,) = findings(BUGGY[5][1], RULE)
    fixed = apply_fix(BUGGY[5][1], f)
    assert "        scaler.step(optimizer)\n        scheduler.step()\n        scaler.update()\n" in fixed
    assert lines(fixed, RULE) == []


def test_no_fix_when_the_batch_loop_is_in_a_helper():
    (f,) = findings(BUGGY[3][1], RULE)
    assert f.fix is None and "inside `train_one_epoch()`" in f.message


def test_notebook_cells():
    cells = [HEADER + "scheduler = OneCycleLR(optimizer, 0.1, epochs=5, steps_per_epoch=len(train_loader))\n",
             LOOP.replace("EPOCHS", "5")]
    (f,) = notebook(cells, RULE)
    assert f.location.cell == 1 and f.location.cell_line == 7
