"""missing-no-grad: an evaluation loop in eval mode that still records the autograd graph."""
import pytest

from conftest import apply_fix, findings, lines, notebook, parses, two_files

RULE = "missing-no-grad"

# rasbt/deeplearning-models: an accuracy helper, called after model.eval()
_HELPER = """\
import torch
import torch.nn as nn

def compute_accuracy(model, loader):
    correct = 0
    for x, y in loader:
        logits = model(x)
        correct += (logits.argmax(1) == y).sum()
    return correct

model = nn.Linear(10, 2)
model.eval()
"""


BUGGY = [
    ("frozen_weights_only_in_a_comment", """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(10, 32), nn.Dropout(0.2), nn.Linear(32, 2))
model.eval()  # not frozen: p.requires_grad = False is never set
for x, y in test_loader:
    out = model(x)
""", [7]),
    ("eval_loop_without_no_grad", """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(10, 32), nn.Dropout(0.2), nn.Linear(32, 2))
model.eval()
correct = 0
for x, y in test_loader:
    out = model(x)
    correct += (out.argmax(1) == y).sum().item()
""", [8]),
    ("evaluate_function", """\
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)

def evaluate(model, loader):
    model.eval()
    total = 0
    for x, y in loader:
        total += (model(x).argmax(1) == y).sum().item()
    return total

evaluate(Net(), test_loader)
""", [16]),
    ("val_loop_inside_epoch_loop", """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(10, 2))
for epoch in range(10):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    model.eval()
    for x, y in val_loader:
        val_out = model(x)
""", [13]),
]

CORRECT = [
    ("with_no_grad", """\
import torch
import torch.nn as nn

model = nn.Linear(10, 2)
model.eval()
with torch.no_grad():
    for x, y in test_loader:
        out = model(x)
""",),
    ("inference_mode", """\
import torch
import torch.nn as nn

model = nn.Linear(10, 2)
model.eval()
with torch.inference_mode():
    for x in loader:
        preds = model(x)
""",),
    ("decorated_function", """\
import torch
import torch.nn as nn

@torch.no_grad()
def evaluate(model, loader):
    model.eval()
    for x, y in loader:
        out = model(x)

evaluate(nn.Linear(3, 1), loader)
""",),
    ("called_under_no_grad", """\
import torch
import torch.nn as nn

def evaluate(model, loader):
    model.eval()
    for x, y in loader:
        out = model(x)

with torch.no_grad():
    evaluate(nn.Linear(3, 1), loader)
""",),
    ("helper_called_under_set_grad_enabled_false", _HELPER + """\
with torch.set_grad_enabled(False):  # save memory during inference (rasbt/deeplearning-models)
    print(compute_accuracy(model, test_loader))
""",),
    ("set_grad_enabled_phase", """\
import torch
import torch.nn as nn

model = nn.Linear(10, 2)
for phase in ["train", "val"]:
    if phase == "train":
        model.train()
    else:
        model.eval()
    for inputs, labels in dataloaders[phase]:
        with torch.set_grad_enabled(phase == "train"):
            outputs = model(inputs)
""",),
    ("global_set_grad_enabled_false", """\
import torch
import torch.nn as nn

torch.set_grad_enabled(False)
model = nn.Linear(10, 2)
model.eval()
for x in loader:
    out = model(x)
""",),
    ("saliency_needs_gradients", """\
import torch.nn as nn

model = nn.Linear(10, 2)
model.eval()
for x, y in loader:
    x.requires_grad_(True)
    score = model(x)[0, y]
    score.backward()
    saliency = x.grad.abs()
""",),
    ("adversarial_examples_with_autograd_grad", """\
import torch
import torch.nn as nn
import torch.nn.functional as F

model = nn.Linear(10, 2)
model.eval()
for x, y in loader:
    x.requires_grad_(True)
    loss = F.cross_entropy(model(x), y)
    grad, = torch.autograd.grad(loss, x)
    x_adv = x + 0.03 * grad.sign()
""",),
    ("training_mode_loop", """\
import torch.nn as nn

model = nn.Linear(10, 2)
model.train()
for x, y in loader:
    out = model(x)
""",),
    ("frozen_parameters", """\
import torch.nn as nn

model = nn.Linear(10, 2)
for p in model.parameters():
    p.requires_grad = False
model.eval()
for x in loader:
    feats = model(x)
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_is_a_hint():
    (f,) = findings(BUGGY[0][1], RULE)
    assert f.severity.label == "hint"


def test_no_fix_without_torch_import():
    src = """\
import torch.nn as nn

model = nn.Linear(3, 1)
model.eval()
for x in loader:
    out = model(x)
"""
    (finding,) = findings(src, RULE)
    assert finding.fix is None


def test_across_notebook_cells():
    found = notebook([
        "import torch.nn as nn\nmodel = nn.Linear(4, 2)\nmodel.eval()\n",
        "for x in loader:\n    preds = model(x)\n",
    ], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(1, 1)]


@pytest.mark.parametrize("src", [b[1] for b in BUGGY])
def test_fix_wraps_loop_in_no_grad(src):
    (finding,) = findings(src, RULE)
    fixed = apply_fix(src, finding)
    assert parses(fixed) and "with torch.no_grad():" in fixed
    assert lines(fixed, RULE) == []
    assert {f.rule for f in findings(fixed)} <= {f.rule for f in findings(src)} - {RULE}


def test_across_files():
    models = """\
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)
"""
    train = """\
import torch
from models import Net

model = Net()
model.load_state_dict(torch.load("net.pt"))
model.eval()
for x in loader:
    preds = model(x).argmax(1)
"""
    assert [f.location.line + 1 for f in two_files(models, train, RULE)] == [8]


# Found in yandexdataschool/Practical_DL (week 11): a tokenizer from `from_pretrained` is not a
# model, though Hugging Face's `from_pretrained` leaves models in eval mode.
_HF_LOOP = """\
import torch
from transformers import AutoTokenizer, AutoModelForSequenceClassification

reward_tokenizer = AutoTokenizer.from_pretrained("distilbert-base-cased")
reward_model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-cased")
reward_model.eval()
for text in texts:
    inputs = reward_tokenizer(text, return_tensors="pt")
{model_call}
"""


def test_a_tokenizer_is_not_a_model():
    src = _HF_LOOP.format(model_call="    with torch.no_grad():\n        reward = reward_model(**inputs).logits[0, 0].item()")
    assert lines(src, RULE) == []


def test_the_model_next_to_it_still_is():
    src = _HF_LOOP.format(model_call="    reward = reward_model(**inputs).logits[0, 0].item()")
    assert lines(src, RULE) == [9]




@pytest.mark.parametrize("calls,flagged", [
    # rasbt/deeplearning-models resnet-ex-1: the per-epoch call is guarded, the test call is not
    ("with torch.set_grad_enabled(False):\n    train_acc = compute_accuracy(model, train_loader)\n"
     "print(compute_accuracy(model, test_loader))\n", True),
    ("with torch.no_grad():\n    train_acc = compute_accuracy(model, train_loader)\n"
     "print(compute_accuracy(model, test_loader))\n", True),
    ("with torch.no_grad():\n    train_acc = compute_accuracy(model, train_loader)\n"
     "with torch.set_grad_enabled(False):\n    print(compute_accuracy(model, test_loader))\n", False),
])
def test_a_helper_is_left_to_its_callers_only_when_every_call_is_guarded(calls, flagged):
    src = _HELPER + calls
    assert lines(src, RULE) == ([7] if flagged else [])


def test_a_function_never_called_here_is_judged_on_its_own():
    # chenyuntc/pytorch-book Chapter11: `gen(**kwargs)` is run through fire.Fire(), not by name
    src = """\
import fire
import torch.nn as nn

def gen(**kwargs):
    model = nn.LSTM(8, 8)
    model.eval()
    for _ in range(100):
        out = model(x)

if __name__ == "__main__":
    fire.Fire()
"""
    assert lines(src, RULE) == [8]


def test_volatile_variables_are_named_in_the_message():
    """Code written for PyTorch 0.3 turned the graph off with `Variable(x, volatile=True)`; since
    0.4 the flag only warns. The finding says so (L1aoXingyu's and other pre-0.4 tutorials)."""
    src = """\
import torch
import torch.nn as nn
from torch.autograd import Variable

model = nn.Sequential(nn.Linear(10, 32), nn.Dropout(0.2), nn.Linear(32, 2))
model.eval()
for x, y in test_loader:
    x = Variable(x, volatile=True)
    out = model(x)
"""
    (f,) = findings(src, RULE)
    assert "`volatile=True` has had no effect since PyTorch 0.4" in f.message
    plain = src.replace(", volatile=True", "")
    (g,) = findings(plain, RULE)
    assert "volatile" not in g.message


# After an epoch's batch loop: GAN notebooks sample from the generator in eval mode and keep the
# samples; a full-batch validation runs at the epoch's level. Nothing computed there can feed a
# backward of the iteration, so the graph is recorded for nothing (and kept with the samples).
_GAN = """\
import torch
import torch.nn as nn

G = nn.Sequential(nn.Linear(100, 128), nn.Dropout(0.3), nn.Linear(128, 784), nn.Tanh())
samples = []
for epoch in range(num_epochs):
    for real_images, _ in train_loader:
        g_optimizer.zero_grad()
        g_loss = real_loss(D(G(torch.randn(64, 100))))
        g_loss.backward()
        g_optimizer.step()
    G.eval()
    samples_z = G(fixed_z)
    samples.append(samples_z)
    G.train()
"""


def test_sampling_after_the_batch_loop_is_reported_and_wrapped():
    (f,) = findings(_GAN, RULE)
    assert f.location.line == 12
    fixed = apply_fix(_GAN, f)
    assert "    with torch.no_grad():\n        samples_z = G(fixed_z)\n    samples.append(samples_z)\n" in fixed
    assert parses(fixed) and lines(fixed, RULE) == []


def test_full_batch_validation_after_the_batch_loop_is_reported():
    src = """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.Linear(16, 1))
for epoch in range(100):
    model.train()
    for xb, yb in loader:
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    val_loss = loss_fn(model(X_val), y_val)
    print(epoch, val_loss.item())
"""
    assert lines(src, RULE) == [13]


@pytest.mark.parametrize("src", [
    # under no_grad already
    _GAN.replace("    samples_z = G(fixed_z)\n", "    with torch.no_grad():\n        samples_z = G(fixed_z)\n"),
    # computed before the batch loop, which may backpropagate through it
    """\
import torch.nn as nn

teacher = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.1))
for epoch in range(10):
    teacher.eval()
    targets = teacher(X)
    for i in range(0, len(X), 32):
        loss = ((student(X[i:i + 32]) - targets[i:i + 32]) ** 2).mean()
        loss.backward()
        opt.step()
""",
    # a backward at the call's own level: the loop trains with what it computes
    """\
import torch.nn as nn

model = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.1))
for epoch in range(10):
    model.eval()
    out = model(X)
    loss = out.sum()
    loss.backward()
    opt.step()
""",
])
def test_silent_where_the_graph_may_be_needed(src):
    assert lines(src, RULE) == []


def test_the_wrap_keeps_tab_indentation():
    src = _GAN.replace("    ", "\t")
    (f,) = findings(src, RULE)
    fixed = apply_fix(src, f)
    assert "\twith torch.no_grad():\n\t\tsamples_z = G(fixed_z)\n" in fixed
    assert parses(fixed)


def test_the_wrap_leaves_the_lines_of_a_multiline_string_alone():
    src = _GAN.replace("    samples_z = G(fixed_z)\n",
                       '    samples_z = G(fixed_z, note=f"""epoch {epoch}\nlast line""")\n')
    (f,) = findings(src, RULE)
    fixed = apply_fix(src, f)
    assert '        samples_z = G(fixed_z, note=f"""epoch {epoch}\nlast line""")\n' in fixed
    assert parses(fixed)


# A trainer's `validate()` (sweep 16's `self.unet(x)`): a member switched with `.eval()` in the
# method is a module in eval mode there, whatever the file knows of its class; so is a
# parameter the helper itself switches.
_TRAINER = """\
import torch
import torch.nn as nn


class Trainer:
    def __init__(self, unet, val_loader):
        self.unet = unet
        self.val_loader = val_loader

    def validate(self):
{body}
"""


@pytest.mark.parametrize("body,expected", [
    ("        self.unet.eval()\n        for x, y in self.val_loader:\n            out = self.unet(x)\n", [13]),
    ("        self.unet.eval()\n        with torch.no_grad():\n            for x, y in self.val_loader:\n"
     "                out = self.unet(x)\n", []),
    # not switched in this method: its mode is the caller's business
    ("        for x, y in self.val_loader:\n            out = self.unet(x)\n", []),
    ("        self.unet.train()\n        for x, y in self.val_loader:\n            out = self.unet(x)\n", []),
    # a loop that backpropagates needs the graph
    ("        self.unet.eval()\n        for x, y in self.val_loader:\n            self.unet(x).sum().backward()\n", []),
    # another member switched: this one's mode is unknown
    ("        self.ema.eval()\n        for x, y in self.val_loader:\n            out = self.unet(x)\n", []),
])
def test_a_member_switched_to_eval_mode(body, expected):
    assert lines(_TRAINER.format(body=body), RULE) == expected


@pytest.mark.parametrize("switch,expected", [
    ("    unet.eval()\n", [7]),
    ("", []),                                  # mode unknown: never called here
    ("    unet.eval('x + 1')\n", []),          # not nn.Module.eval (pandas' takes an expression)
])
def test_a_parameter_the_helper_switches_to_eval_mode(switch, expected):
    src = ("import torch\n\n\ndef validate(unet, val_loader):\n" + switch +
           "    for x, y in val_loader:\n        out = unet(x)\n")
    assert lines(src, RULE) == expected


# The adversarial review of the `.eval()`-as-evidence path.
@pytest.mark.parametrize("src", [
    # a loss helper through a frozen network: its caller backpropagates the result
    "import torch\nimport torch.nn.functional as F\n\n\ndef multiscale_perceptual_loss(vgg, fake, real):\n"
    "    vgg.eval()\n    loss = 0\n    for f, r in zip(fake, real):\n        loss += F.l1_loss(vgg(f), vgg(r))\n"
    "    return loss\n",
    # Flax NNX: no torch here, no torch.no_grad to ask for
    "from flax import nnx\n\n\ndef evaluate(model, loader):\n    model.eval()\n    for x, y in loader:\n"
    "        out = model(x)\n",
    # Lightning runs validation_step under no_grad
    "import torch\nimport pytorch_lightning as pl\n\n\nclass Lit(pl.LightningModule):\n"
    "    def validation_step(self, batch, idx):\n        self.unet.eval()\n        for x in batch:\n"
    "            out = self.unet(x)\n",
])
def test_eval_as_evidence_needs_an_evaluation(src):
    assert lines(src, RULE) == []


def test_a_torchvision_only_inference_script_is_checked():
    # the second review: the gate skips Flax / Paddle files, not torch code imported via torchvision
    src = ("import torchvision\n\n\ndef evaluate(model, loader):\n    model.eval()\n    for x, y in loader:\n"
           "        out = model(x)\n")
    assert lines(src, RULE) == [7]


def test_eval_is_no_evidence_of_a_torch_module_next_to_another_framework():
    # the third review: a Flax NNX model fed by torch's DataLoader
    src = ("import torch\nfrom flax import nnx\n\n\ndef evaluate(model, loader):\n    model.eval()\n"
           "    for x, y in loader:\n        out = model(x)\n")
    assert lines(src, RULE) == []


def test_informer_style_vali_names_are_evaluation():
    """Sweep 19e (Informer2020's `def vali(self, vali_loader, ...)`)."""
    src = """\
import numpy as np
import torch


class Exp:
    def vali(self, vali_loader, criterion):
        self.model.eval()
        total_loss = []
        for batch_x, batch_y in vali_loader:
            pred = self.model(batch_x.float())
            total_loss.append(criterion(pred.detach().cpu(), batch_y.float()))
        self.model.train()
        return np.average(total_loss)
"""
    assert lines(src, RULE) == [10]


def test_fix_does_not_wrap_an_epoch_loop_that_trains_through_a_helper():
    """Sweep 19 (fixes on Modern-Computer-Vision-with-PyTorch): the backward pass is inside
    train_batch(), so the epoch loop is no evaluation loop; only the display loop is wrapped."""
    src = """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.2), nn.Linear(8, 3))


def train_batch(x, y, model, optimizer, criterion):
    model.train()
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


@torch.no_grad()
def validate_batch(x, y, model):
    model.eval()
    return criterion(model(x), y).item()


for ep in range(2):
    for x, y in train_loader:
        loss = train_batch(x, y, model, optimizer, criterion)
    for x, y in val_loader:
        val_loss = validate_batch(x, y, model)
    for jx in range(2):
        pred = model(torch.randn(1, 4))
"""
    (finding,) = findings(src, RULE)
    fixed = apply_fix(src, finding)
    assert parses(fixed)
    assert "    with torch.no_grad():\n        for jx in range(2):\n" in fixed
    assert "with torch.no_grad():\n    for ep in range(2):" not in fixed


def test_a_decorator_of_the_file_that_runs_under_no_grad():
    """Sweep 19f (simple-faster-rcnn's @nograd): the wrapper's `with t.no_grad()` covers it."""
    src = """\
import torch as t
from torch import nn


def nograd(f{annotation}):
    def new_f(*args, **kwargs):
        with t.no_grad():
            return f(*args, **kwargs)
    return new_f


class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))

    def forward(self, x):
        return self.body(x)

    @{decorator}
    def predict(self, imgs):
        self.eval()
        outs = []
        for img in imgs:
            outs.append(self(img[None]).mean().item())
        self.train()
        return outs
"""
    assert lines(src.format(decorator="nograd", annotation=""), RULE) == []
    assert lines(src.format(decorator="nograd", annotation=": Callable"), RULE) == []
    assert len(lines(src.format(decorator="staticmethod", annotation=""), RULE)) == 1


def test_a_decorator_that_only_does_bookkeeping_under_no_grad():
    """Third review of sweep 19: the wrapper updates an EMA under no_grad, but calls the
    function itself outside it."""
    src = """\
import torch
from torch import nn


def with_ema(f):
    def new_f(*args, **kwargs):
        out = f(*args, **kwargs)
        with torch.no_grad():
            ema.update()
        return out
    return new_f


model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))


@with_ema
def predict_all(loader):
    model.eval()
    for x in loader:
        preds = model(x)
"""
    assert len(lines(src, RULE)) == 1


@pytest.mark.parametrize("epoch_call", [
    "    fit_epoch(train_loader)\n",          # a helper calling the helper that trains
    "    trainer.fit_one_epoch(train_loader)\n",   # a method of the file that trains
])
def test_fix_does_not_wrap_training_through_deeper_helpers(epoch_call):
    src = """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.2), nn.Linear(8, 3))


def train_batch(x, y):
    model.train()
    optimizer.zero_grad()
    criterion(model(x), y).backward()
    optimizer.step()


def fit_epoch(loader):
    for x, y in loader:
        train_batch(x, y)


class Trainer:
    def fit_one_epoch(self, loader):
        for x, y in loader:
            train_batch(x, y)


for ep in range(2):
""" + epoch_call + """\
    model.eval()
    for x, y in val_loader:
        correct = (model(x).argmax(1) == y).sum()
"""
    (finding,) = findings(src, RULE)
    fixed = apply_fix(src, finding)
    assert parses(fixed) and "with torch.no_grad():\n        for x, y in val_loader:" in fixed
