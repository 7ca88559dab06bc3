"""clip-grad-misplaced: gradient clipping that clips no update."""
import pytest
from conftest import apply_fix, findings, lines, notebook

RULE = "clip-grad-misplaced"

BUGGY = [
    ("after_the_step", """\
import torch

for x, y in train_loader:
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
""", [8]),
    ("after_step_and_scheduler", """\
import torch.nn as nn

for step, batch in enumerate(dataloader):
    outputs = model(**batch)
    outputs.loss.backward()
    optimizer.step()
    scheduler.step()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.zero_grad()
""", [8]),
    ("one_update_method_ending_in_the_clip", """\
import torch

class Agent:
    def update(self, states, targets):
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(states), targets)
        loss.backward()
        self.optimizer.step()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 100)
""", [9]),
    ("before_backward_right_after_zero_grad", """\
import torch

for batch in loader:
    loss = compute_loss(model, batch)
    optimizer.zero_grad()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    loss.backward()
    optimizer.step()
""", [6]),
    ("accelerate_backward", """\
import torch

for batch in dataloader:
    loss = vae_loss(autoencoder, batch)
    optimizer.zero_grad()
    torch.nn.utils.clip_grad_norm_(autoencoder.parameters(), 1.0)
    accelerator.backward(loss)
    optimizer.step()
""", [6]),
    ("imported_name_clip_value_in_a_while_loop", """\
from torch.nn.utils import clip_grad_value_

while not done:
    loss = step_env(policy)
    opt.zero_grad()
    loss.backward()
    opt.step()
    clip_grad_value_(policy.parameters(), 0.5)
""", [8]),
    ("no_zero_grad_wraps_to_the_next_backward", """\
import torch

for x, y in loader:
    loss = criterion(net(x), y)
    loss.backward()
    optimizer.step()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
""", [7]),
    ("once_per_epoch_after_all_steps", """\
import torch

for epoch in range(epochs):
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
""", [8]),
    ("actor_critic_clips_cleared_gradients", """\
import torch
from torch import nn

critic_opt = torch.optim.Adam(critic.parameters(), lr=1e-3)
actor_opt = torch.optim.Adam(actor.parameters(), lr=1e-4)
for batch in buffer:
    value_loss, action_loss = losses(batch)
    nn.utils.clip_grad_norm_(critic.parameters(), 0.5)
    critic_opt.zero_grad()
    value_loss.backward()
    critic_opt.step()
    nn.utils.clip_grad_norm_(actor.parameters(), 0.5)
    actor_opt.zero_grad()
    action_loss.backward()
    actor_opt.step()
""", [8, 12]),
    ("two_optimizers_clip_right_after_its_own_clearing", """\
import torch

policy_opt = torch.optim.Adam(policy.parameters(), lr=1e-4)
alpha_opt = torch.optim.Adam([log_alpha], lr=1e-4)
for i in range(steps):
    losses = loss_module(buffer.sample())
    policy_opt.zero_grad()
    torch.nn.utils.clip_grad_norm_(policy.parameters(), 0.25)
    losses["policy"].backward()
    policy_opt.step()
    alpha_opt.zero_grad()
    losses["alpha"].backward()
    alpha_opt.step()
""", [8]),
]

CORRECT = [
    ("between_backward_and_step", """\
import torch

for x, y in train_loader:
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
"""),
    ("amp_unscale_then_clip", """\
import torch

for x, y in loader:
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast("cuda"):
        loss = criterion(model(x), y)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(optimizer)
    scaler.update()
"""),
    ("gradient_accumulation", """\
import torch

for i, (x, y) in enumerate(loader):
    loss = criterion(model(x), y) / accum
    loss.backward()
    if (i + 1) % accum == 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
"""),
    ("accumulation_clip_every_micro_batch", """\
import torch

for i, (x, y) in enumerate(loader):
    criterion(model(x), y).backward()
    if (i + 1) % accum == 0:
        optimizer.step()
        optimizer.zero_grad()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
"""),
    ("step_in_a_local_helper", """\
import torch

def apply_update():
    optimizer.step()

for x, y in loader:
    optimizer.zero_grad()
    criterion(model(x), y).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    apply_update()
"""),
    ("closure_step", """\
import torch

for x, y in loader:
    def closure():
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        return loss
    optimizer.step(closure)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
"""),
    ("gan_generator_clip_before_its_step", """\
import torch

for real in loader:
    opt_d.zero_grad()
    d_loss(real).backward()
    opt_d.step()
    opt_g.zero_grad()
    g_loss().backward()
    torch.nn.utils.clip_grad_norm_(generator.parameters(), 1.0)
    opt_g.step()
"""),
    ("gan_with_known_optimizers", """\
import torch

opt_d = torch.optim.Adam(disc.parameters())
opt_g = torch.optim.Adam(gen.parameters())
for real in loader:
    opt_d.zero_grad()
    d_loss(real).backward()
    torch.nn.utils.clip_grad_norm_(disc.parameters(), 1.0)
    opt_d.step()
    opt_g.zero_grad()
    g_loss().backward()
    torch.nn.utils.clip_grad_norm_(gen.parameters(), 1.0)
    opt_g.step()
"""),
    ("between_two_backward_passes", """\
import torch

for x, y in loader:
    optimizer.zero_grad()
    loss_a(x).backward(retain_graph=True)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    loss_b(y).backward()
    optimizer.step()
"""),
    ("norm_measured_with_infinite_threshold", """\
import math
import torch

for x, y in loader:
    optimizer.zero_grad()
    criterion(model(x), y).backward()
    optimizer.step()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf"))
    norm2 = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=math.inf)
"""),
    ("a_local_function_of_that_name", """\
def clip_grad_norm_(params, max_norm):
    log_norms(params, max_norm)

for x, y in loader:
    optimizer.zero_grad()
    criterion(model(x), y).backward()
    optimizer.step()
    clip_grad_norm_(model.parameters(), 1.0)
"""),
    ("no_optimizer_step_in_sight", """\
import torch

def clip(model):
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
"""),
    ("step_only_under_an_if", """\
import torch

for x, y in loader:
    optimizer.zero_grad()
    criterion(model(x), y).backward()
    if not skip_step:
        optimizer.step()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
"""),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_message_says_why_and_links_the_step():
    (f,) = findings(BUGGY[0][1], RULE)
    assert "does not clip any update" in f.message
    assert "optimizer.step()" in f.message and "between `loss.backward()`" in f.message
    assert f.concept == "vanishing-exploding-gradients"
    assert {r.message for r in f.related} >= {"the step that used unclipped gradients"}


def test_fix_moves_the_clip_before_the_step():
    src = BUGGY[0][1]
    (f,) = findings(src, RULE)
    fixed = apply_fix(src, f)
    assert fixed.splitlines()[-2:] == [
        "    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)",
        "    optimizer.step()",
    ]
    assert lines(fixed, RULE) == []


def test_fix_moves_an_early_clip_after_backward():
    src = BUGGY[3][1]
    (f,) = findings(src, RULE)
    fixed = apply_fix(src, f)
    assert fixed.splitlines()[-3:] == [
        "    loss.backward()",
        "    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)",
        "    optimizer.step()",
    ]
    assert lines(fixed, RULE) == []


def test_no_fix_with_a_grad_scaler():
    src = """\
import torch

for x, y in loader:
    optimizer.zero_grad()
    scaler.scale(criterion(model(x), y)).backward()
    scaler.step(optimizer)
    scaler.update()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
"""
    (f,) = findings(src, RULE)
    assert f.fix is None  # the clip would also need scaler.unscale_(optimizer)


def test_notebook_cell():
    cells = ["import torch\n", """\
for x, y in loader:
    optimizer.zero_grad()
    criterion(model(x), y).backward()
    optimizer.step()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
"""]
    (f,) = notebook(cells, RULE)
    assert f.location.cell == 1 and f.location.cell_line == 4


def test_deprecated_alias_counts_only_from_torch():
    src = """\
import torch

for x, y in loader:
    optimizer.zero_grad()
    criterion(model(x), y).backward()
    optimizer.step()
    torch.nn.utils.clip_grad_norm(model.parameters(), 1.0)
    trainer.clip_grad_norm(model.parameters(), 1.0)
"""
    assert lines(src, RULE) == [7]


_AMP_BRANCHES = """\
import torch


def train(model, loader, optimizer, criterion, amp, scaler):
    for x, y in loader:
        optimizer.zero_grad()
        if amp:
            with torch.cuda.amp.autocast():
                loss = criterion(model(x), y)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss = criterion(model(x), y)
            {else_body}
"""


def test_a_clip_before_backward_in_the_else_branch():
    """A cassava solution's trainer (sweep 21a): the `else:` of `if amp:` clips before its
    backward pass; the `if` branch's step is not the one before it (they never run together)."""
    body = ("torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n            loss.backward()\n"
            "            optimizer.step()")
    assert lines(_AMP_BRANCHES.format(else_body=body), RULE) == [17]


def test_a_clip_between_backward_and_step_in_both_branches():
    body = ("loss.backward()\n            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n"
            "            optimizer.step()")
    assert lines(_AMP_BRANCHES.format(else_body=body), RULE) == []


def test_a_clip_in_the_condition_of_the_step():
    """Review of the if/else change: the clip in the `if`'s condition runs before its body's
    step; the condition is no branch of its own."""
    src = """\
import torch


def train(model, loader, optimizer, criterion, max_norm):
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        if torch.isfinite(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)):
            optimizer.step()
"""
    assert lines(src, RULE) == []


_MANUAL_UPDATE = """\
import torch
import torch.nn.functional as F


class Learner:
    def observe(self, x, y, meta_loss):
        self.opt_lr.zero_grad()
        meta_loss.backward()
        self.opt_lr.step()
        self.net.zero_grad()
        loss = F.cross_entropy(self.net(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
        for i, p in enumerate(self.net.parameters()):
            if p.grad is None:
                continue
            {use}
        self.net.zero_grad()
"""


@pytest.mark.parametrize("use, expected", [
    ("p.data = p.data - p.grad * self.lrs[i]", []),
    ("p.data.add_(p.grad, alpha=-0.01)", []),
    ("print(i, p.grad.norm())", [13]),
])
def test_clipped_gradients_applied_by_a_manual_update(use, expected):
    """Sweep D (La-MAML): the clipped gradients update the weights by hand (`p.grad` read into
    an assignment or an in-place update) before `zero_grad()`: no optimizer step needed. Only
    printed, they are still cleared unused."""
    assert lines(_MANUAL_UPDATE.format(use=use), RULE) == expected


_STORED = """\
import torch
import torch.nn.functional as F


def store_grad(params, buf):
    buf.copy_(torch.cat([p.grad.view(-1) for p in params()]))


def log_grad(params):
    print(sum(p.grad.norm() for p in params()))


for (x, y), (mx, my) in zip(loader, memory_loader):
    net.zero_grad()
    F.cross_entropy(net(mx), my).backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    {helper}(net.parameters, ref_grad)
    net.zero_grad()
    F.cross_entropy(net(x), y).backward()
    project(net, ref_grad)
    opt.step()
"""


@pytest.mark.parametrize("helper, expected", [("store_grad", []), ("log_grad", [16])])
def test_clipped_gradients_stored_by_a_helper(helper, expected):
    """Sweep D (GEM): a local helper copies the clipped memory gradients into a buffer before
    `zero_grad()`; a helper that only prints them uses nothing."""
    assert lines(_STORED.format(helper=helper), RULE) == expected


_TWO_OPTIMIZERS = """\
import torch
import torch.nn.functional as F
from base import BaseLearner


class Net(BaseLearner):
{init}
    def observe(self, x, y):
        for _ in range(self.glances):
            loss = F.cross_entropy(self.net(x), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
            self.opt_lr.step()
            self.opt_wt.step()
            self.net.zero_grad(set_to_none=True)
"""


def test_steps_of_optimizers_built_elsewhere_after_the_clip():
    """Sweep D (La-MAML): `self.opt_lr` and `self.opt_wt` are built by a base class of another
    module; either may hold the clipped parameters, so the clip may shape their steps. (With
    one optimizer every step counts already.)"""
    assert lines(_TWO_OPTIMIZERS.format(init=""), RULE) == []


def test_steps_of_optimizers_built_from_other_models_after_the_clip():
    init = """\
    def __init__(self, net, lrs, aux):
        self.net = net
        self.opt_lr = torch.optim.SGD(lrs.parameters(), lr=0.1)
        self.opt_wt = torch.optim.SGD(aux.parameters(), lr=0.1)
"""
    assert lines(_TWO_OPTIMIZERS.format(init=init), RULE) == [16]
