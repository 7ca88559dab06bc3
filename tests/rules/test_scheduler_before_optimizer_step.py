"""scheduler-before-optimizer-step: the learning-rate scheduler steps before the optimizer."""
import pytest
from conftest import apply_fix, findings, lines, notebook, parses

RULE = "scheduler-before-optimizer-step"

BUGGY = [
    # The pre-1.1 habit: step the epoch scheduler at the top of the epoch.
    ("epoch_scheduler_at_the_top_of_the_epoch", """\
import torch
from torch.optim.lr_scheduler import StepLR

optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
scheduler = StepLR(optimizer, step_size=10)
for epoch in range(30):
    scheduler.step()
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    validate(model)
""", [7]),
    # A per-batch warm-up stepped just before the optimizer (a parameter of unknown type).
    ("per_batch_scheduler_before_the_step", """\
import torch

def train_epoch(model, loader, optimizer, scheduler):
    for x, y in loader:
        optimizer.zero_grad()
        loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scheduler.step()
        optimizer.step()
""", [9]),
    # A None check of the scheduler itself does not change the order.
    ("under_a_none_check", """\
import torch

def train(loader, model, optimizer, scheduler):
    for img, _ in loader:
        model.zero_grad()
        loss = model(img).mean()
        loss.backward()
        if scheduler is not None:
            scheduler.step()
        optimizer.step()
""", [9]),
    # The optimizer steps in a local helper called after the scheduler.
    ("optimizer_steps_in_a_local_helper", """\
import torch

def train_one_epoch(model, loader, opt):
    for x, y in loader:
        opt.zero_grad()
        model.loss(x, y).backward()
        opt.step()

opt = torch.optim.Adam(model.parameters())
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)
for epoch in range(100):
    sched.step()
    train_one_epoch(model, loader, opt)
""", [12]),
    # An optimizer and a scheduler from transformers, not torch.optim.
    ("transformers_adamw", """\
import torch
from transformers import AdamW, get_linear_schedule_with_warmup

optimizer = AdamW(model.parameters(), lr=5e-5)
scheduler = get_linear_schedule_with_warmup(optimizer, 100, 1000)
for step in range(1000):
    loss = model(**next(batches)).loss
    loss.backward()
    scheduler.step()
    optimizer.step()
    optimizer.zero_grad()
""", [9]),
    # One update per call of a helper that the batch loop calls: the same order every batch.
    ("in_an_update_helper", """\
import torch

def train_task(model, loader, optimizer, scheduler):
    def update_parameters(loss):
        loss.backward()
        scheduler.step()
        optimizer.step()
        model.zero_grad()

    for batch in loader:
        update_parameters(model(batch).loss)
""", [6]),
    # Mixed precision: the GradScaler steps the optimizer.
    ("grad_scaler_steps_the_optimizer", """\
import torch

scaler = torch.cuda.amp.GradScaler()
for x, y in loader:
    optimizer.zero_grad()
    scaler.scale(criterion(model(x), y)).backward()
    lr_scheduler.step()
    scaler.step(optimizer)
    scaler.update()
""", [7]),
    ("lamb_optimizer_is_still_an_optimizer", """\
import torch
from torch_optimizer import Lamb

opt = Lamb(model.parameters(), lr=1e-3)
scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=10)
for x, y in loader:
    scheduler.step()
    opt.zero_grad()
    criterion(model(x), y).backward()
    opt.step()
""", [7]),
    # The same torch scheduler stepped without the epoch: one step ahead.
    ("torch_scheduler_without_the_epoch", """\
import torch
from torch.optim.lr_scheduler import StepLR

scheduler = StepLR(optimizer, step_size=80, gamma=0.1)
for epoch in range(100):
    scheduler.step()
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
""", [6]),
]

CORRECT = [
    # pytorch/opacus's scheduler unit tests: a noise scheduler stepped alone, no optimizer step
    # anywhere ("Lambda" is not the LAMB optimizer)
    ("opacus_noise_scheduler_test", """\
import unittest
from opacus.schedulers import LambdaNoise

class NoiseSchedulerTest(unittest.TestCase):
    def test_lambda_scheduler(self):
        def noise_lambda(epoch):
            return 1 - epoch / 10

        scheduler = LambdaNoise(self.optimizer, noise_lambda=noise_lambda)
        scheduler.step()
        self.assertEqual(self.optimizer.noise_multiplier, noise_lambda(1))
""",),
    ("documented_order_per_batch", """\
import torch

for x, y in loader:
    optimizer.zero_grad()
    criterion(model(x), y).backward()
    optimizer.step()
    scheduler.step()
""",),
    ("documented_order_per_epoch", """\
import torch

for epoch in range(30):
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    scheduler.step()
""",),
    # ReduceLROnPlateau steps on a metric, at the end of the epoch or wherever: not this rule.
    ("plateau_scheduler", """\
import torch

optimizer = torch.optim.Adam(model.parameters())
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)
for epoch in range(30):
    scheduler.step(val_loss)
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
""",),
    # A metric or epoch passed to a scheduler of unknown type: a plateau-like or custom one.
    ("unknown_scheduler_with_an_argument", """\
import torch

for epoch in range(30):
    scheduler.step(epoch)
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
""",),
    # A torch scheduler given the epoch (deprecated): the rate is computed for that epoch, so
    # stepping first skips nothing (StepLR(step_size=2): 1, 1, .1, .1).
    ("torch_scheduler_given_the_epoch", """\
import torch
from torch.optim.lr_scheduler import StepLR

scheduler = StepLR(optimizer, step_size=80, gamma=0.1)
for epoch in range(100):
    scheduler.step(epoch=epoch)
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    scheduler.step(epoch)
""",),
    # Skipped in the first epoch: the first call comes after optimizer steps.
    ("guarded_by_another_condition", """\
import torch

for epoch in range(30):
    if epoch > 0:
        scheduler.step()
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
""",),
    # Not a learning-rate scheduler: an environment, a simulation.
    ("not_a_scheduler", """\
import torch

for t in range(1000):
    obs = env.step(action)
    optimizer.zero_grad()
    policy_loss(obs).backward()
    optimizer.step()
""",),
    ("helper_in_the_documented_order", """\
import torch

def update_parameters(loss):
    loss.backward()
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()
""",),
    # Fast-forwarding a resumed schedule: no optimizer step there.
    ("no_optimizer_step_in_the_loop", """\
import torch

for epoch in range(30):
    scheduler.step()
    log(scheduler.get_last_lr())
""",),
    # The scheduler steps in a function nested in the loop's function, not in the loop.
    ("in_a_nested_function", """\
import torch

for x, y in loader:
    def on_batch_end():
        scheduler.step()
    optimizer.zero_grad()
    criterion(model(x), y).backward()
    optimizer.step()
    on_batch_end()
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[c[0] for c in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_fix_moves_the_epoch_scheduler_after_the_batch_loop():
    (f,) = findings(BUGGY[0][1], RULE)
    fixed = apply_fix(BUGGY[0][1], f)
    assert parses(fixed) and lines(fixed, RULE) == []
    body = fixed.splitlines()
    assert body[body.index("    scheduler.step()") - 1] == "        optimizer.step()"
    assert body[body.index("    scheduler.step()") + 1] == "    validate(model)"


def test_fix_moves_the_batch_scheduler_after_the_step():
    (f,) = findings(BUGGY[1][1], RULE)
    fixed = apply_fix(BUGGY[1][1], f)
    assert parses(fixed) and lines(fixed, RULE) == []
    assert fixed.rstrip().endswith("optimizer.step()\n        scheduler.step()")


def test_no_fix_inside_the_none_check():
    (f,) = findings(BUGGY[2][1], RULE)
    assert f.fix is None  # moving the line alone would leave the `if` empty


def test_message_and_related_step():
    (f,) = findings(BUGGY[0][1], RULE)
    assert "first learning rate of the schedule is skipped" in f.message
    assert f.related and f.related[0].location.line == 11  # optimizer.step(), 0-based


def test_in_a_notebook_cell():
    cells = ["import torch\nscheduler = torch.optim.lr_scheduler.StepLR(optimizer, 5)",
             ("for x, y in loader:\n    loss = model(x).sum()\n    loss.backward()\n"
              "    scheduler.step()\n    optimizer.step()\n    optimizer.zero_grad()")]
    (f,) = notebook(cells, RULE)
    assert (f.location.cell, f.location.cell_line) == (1, 3)


def test_both_steps_in_one_gradient_accumulation_branch():
    """Sweep 19g (ViT-pytorch's train.py): the scheduler before the optimizer inside the same
    `if (step + 1) % accumulation == 0:` still runs first at every update."""
    src = """\
import torch
from torch.optim.lr_scheduler import LinearLR

scheduler = LinearLR(optimizer)
for step, (x, y) in enumerate(loader):
    loss = criterion(model(x), y)
    loss.backward()
    if (step + 1) % 4 == 0:
        scheduler.step()
        optimizer.step()
        optimizer.zero_grad()
"""
    assert lines(src, RULE) == [9]
    # the scheduler under its own condition, the optimizer elsewhere: a guard, left alone
    guarded = src.replace("        scheduler.step()\n        optimizer.step()\n",
                          "        if epoch > 0:\n            scheduler.step()\n        optimizer.step()\n")
    assert lines(guarded, RULE) == []



def test_a_scheduler_class_of_the_file_steps_in_its_own_order():
    """rosinality's vq-vae-2 (sweep 20): a fastai-style CycleScheduler whose step() sets the
    learning rate of the step about to run is meant to be called first."""
    src = """\
import torch
import torch.nn as nn

class CycleScheduler:
    def __init__(self, optimizer, lrs):
        self.optimizer, self.lrs, self.n = optimizer, lrs, 0
    def step(self):
        for group in self.optimizer.param_groups:
            group["lr"] = self.lrs[min(self.n, len(self.lrs) - 1)]
        self.n += 1

model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = CycleScheduler(optimizer, [0.01, 0.05, 0.1])
for x, y in loader:
    optimizer.zero_grad()
    nn.functional.mse_loss(model(x), y).backward()
    scheduler.step()
    optimizer.step()
"""
    assert lines(src, RULE) == []
    subclass = src.replace("class CycleScheduler:", "class CycleScheduler(torch.optim.lr_scheduler.LRScheduler):")
    assert len(lines(subclass, RULE)) == 1


_TORCH_SCHEDULERS_AFTER_ALL = [
    ("s1_lambda_sub", """import math
import torch
import torch.nn as nn
from torch.optim.lr_scheduler import LambdaLR


class WarmupCosine(LambdaLR):
    def __init__(self, optimizer, warmup, total):
        def f(step):
            if step < warmup:
                return step / warmup
            return 0.5 * (1 + math.cos(math.pi * (step - warmup) / (total - warmup)))
        super().__init__(optimizer, f)


model = nn.Linear(4, 1)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
scheduler = WarmupCosine(optimizer, 100, 1000)
for x, y in loader:
    optimizer.zero_grad()
    nn.functional.mse_loss(model(x), y).backward()
    scheduler.step()
    optimizer.step()
"""),
    ("s2_wrapper", """import torch
import torch.nn as nn


class WarmupWrapper:
    def __init__(self, optimizer, total):
        self.inner = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)

    def step(self):
        self.inner.step()


model = nn.Linear(4, 1)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
scheduler = WarmupWrapper(optimizer, 1000)
for x, y in loader:
    optimizer.zero_grad()
    nn.functional.mse_loss(model(x), y).backward()
    scheduler.step()
    optimizer.step()
"""),
    ("s3_two_level", """import torch
import torch.nn as nn
from torch.optim.lr_scheduler import _LRScheduler


class BaseWarmup(_LRScheduler):
    pass


class LinearWarmup(BaseWarmup):
    def get_lr(self):
        return [b * min(1.0, self.last_epoch / 100) for b in self.base_lrs]


model = nn.Linear(4, 1)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
scheduler = LinearWarmup(optimizer)
for x, y in loader:
    optimizer.zero_grad()
    nn.functional.mse_loss(model(x), y).backward()
    scheduler.step()
    optimizer.step()
"""),
]


@pytest.mark.parametrize("name,src", _TORCH_SCHEDULERS_AFTER_ALL, ids=[c[0] for c in _TORCH_SCHEDULERS_AFTER_ALL])
def test_classes_that_are_or_hold_torch_schedulers(name, src):
    """A subclass of LambdaLR, a wrapper forwarding to CosineAnnealingLR, a base of the file
    subclassing _LRScheduler: still torch's order."""
    assert len(lines(src, RULE)) == 1


_IMPORTED_LOOP = """\
import torch
import torch.nn as nn
{imp}

model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = {made}
for x, y in loader:
    optimizer.zero_grad()
    nn.functional.mse_loss(model(x), y).backward()
    scheduler.step()
    optimizer.step()
"""


@pytest.mark.parametrize("imp,made", [
    ("from scheduler import CycleScheduler", "CycleScheduler(optimizer, 0.1, n_iter=1000)"),
    ("from .utils import OneCycle", "OneCycle(optimizer, 1000)"),
    ("import sched_utils", "sched_utils.Cosine(optimizer)"),
])
def test_a_scheduler_class_imported_from_the_project_steps_in_its_own_order(imp, made):
    """rosinality's vq-vae-2 train_vqvae.py (sweep 20d): `from scheduler import CycleScheduler`,
    a class of another file of the project that sets the coming step's learning rate."""
    assert lines(_IMPORTED_LOOP.format(imp=imp, made=made), RULE) == []


@pytest.mark.parametrize("imp,made", [
    ("from transformers import get_linear_schedule_with_warmup",
     "get_linear_schedule_with_warmup(optimizer, 100, 1000)"),
    ("from warmup_scheduler import GradualWarmupScheduler", "GradualWarmupScheduler(optimizer, 1, 5)"),
    ("from utils.solver import WarmupMultiStepLR", "WarmupMultiStepLR(optimizer, [30, 60])"),
    ("from utils.lr_scheduler import Warmup", "Warmup(optimizer)"),
    ("from helpers import make_scheduler", "make_scheduler(optimizer)"),
])
def test_imported_schedulers_that_are_torch_ones_still_flagged(imp, made):
    """A library's torch scheduler, a class named ...LR or kept in an lr_scheduler module, a
    factory function of unknown kind (named like a scheduler): torch's order."""
    assert lines(_IMPORTED_LOOP.format(imp=imp, made=made), RULE) == [11]


def test_a_scheduler_made_anew_at_each_iteration():
    """Deeachain/Segmentation-Pytorch (sweep 21a): a project's PolyLR is rebuilt every iteration
    from the absolute iteration number, so step() before optimizer.step() sets this iteration's
    rate."""
    src = """\
import torch
from utils.scheduler import PolyLR


def train(model, loader, optimizer, criterion, epoch, max_epochs):
    total = len(loader)
    for it, (x, y) in enumerate(loader):
        scheduler = PolyLR(optimizer, max_iter=max_epochs * total, cur_iter=epoch * total + it)
        scheduler.step()
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
"""
    assert lines(src, RULE) == []
    # the real code computes the iteration number first
    assert lines(src.replace("        scheduler = PolyLR(optimizer, max_iter=max_epochs * total, cur_iter=epoch * total + it)\n",
                             "        cur_iter = epoch * total + it\n"
                             "        scheduler = PolyLR(optimizer, max_iter=max_epochs * total, cur_iter=cur_iter)\n"), RULE) == []
    # a torch scheduler rebuilt and stepped first moves one step ahead all the same
    torch_made = src.replace("from utils.scheduler import PolyLR", "from torch.optim.lr_scheduler import LambdaLR").replace(
        "PolyLR(optimizer, max_iter=max_epochs * total, cur_iter=epoch * total + it)",
        "LambdaLR(optimizer, lambda e: 1 / (1 + e + it))")
    assert lines(torch_made, RULE) == [9]


@pytest.mark.parametrize("pick", ["warmup if epoch < 5 else cosine", "schedulers[epoch // 30]"])
def test_an_alias_of_a_scheduler_made_before_the_loop(pick):
    """Review: a name bound in the loop to a scheduler made before it is that scheduler."""
    src = f"""\
import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR

warmup = LinearLR(optimizer, start_factor=0.1, total_iters=5)
cosine = CosineAnnealingLR(optimizer, T_max=95)
schedulers = [warmup, cosine]
for epoch in range(100):
    scheduler = {pick}
    scheduler.step()
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
"""
    assert lines(src, RULE) == [9]


def test_a_warmup_schedule_class_of_the_project_is_a_torch_scheduler():
    """Review: ViT-pytorch's utils.scheduler.WarmupCosineSchedule subclasses LambdaLR."""
    src = _IMPORTED_LOOP.format(imp="from utils.scheduler import WarmupCosineSchedule",
                                made="WarmupCosineSchedule(optimizer, warmup_steps=500, t_total=10000)")
    assert lines(src, RULE) == [11]
