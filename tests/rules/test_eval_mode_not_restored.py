"""eval-mode-not-restored: eval() inside a training loop with no train() to switch back."""
from pathlib import Path

import pytest

from conftest import findings, lines, notebook, two_files

RULE = "eval-mode-not-restored"

BUGGY = [
    ("eval_at_epoch_end", """\
import torch

for epoch in range(10):
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_acc = evaluate_batch(model, val_loader)
""", [9]),
    ("train_called_once_before_the_loop", """\
import torch

model.train()
for epoch in range(10):
    for x, y in train_loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        acc = model(x_val)
""", [9]),
    ("validate_helper_without_train", """\
import torch

def validate(model, loader):
    model.eval()
    with torch.no_grad():
        return sum(model(x).argmax(1).eq(y).sum().item() for x, y in loader)

for epoch in range(5):
    for x, y in train_loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    validate(model, val_loader)
""", [13]),
    ("only_the_head_is_optimized", """\
import torch

optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.01)
for epoch in range(3):
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    model.eval()
""", [9]),
    ("periodic_eval_inside_batch_loop", """\
import torch

model.train()
for epoch in range(3):
    for i, (x, y) in enumerate(loader):
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
        if i % 100 == 0:
            model.eval()
            with torch.no_grad():
                print(model(x_val).argmax(1))
""", [10]),
    ("official_style_train_function_without_train", """\
import torch

def train(model, loader, optimizer):
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

def test(model, loader):
    model.eval()
    with torch.no_grad():
        for x, y in loader:
            model(x)

for epoch in range(1, 11):
    train(model, train_loader, optimizer)
    test(model, test_loader)
""", [17]),
]

CORRECT = [
    # PPLM's discriminator training (sweep 20): a method of the model's class puts the part that
    # trains back in training mode at the start of every epoch.
    ("own_method_switches_the_head_back_to_train", """\
import torch
import torch.nn as nn

class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.1))
        self.classifier_head = nn.Sequential(nn.Dropout(0.2), nn.Linear(8, 2))

    def train_custom(self):
        for p in self.encoder.parameters():
            p.requires_grad = False
        self.classifier_head.train()

    def forward(self, x):
        return self.classifier_head(self.encoder(x))

def train_epoch(loader, discriminator, optimizer):
    discriminator.train_custom()
    for x, y in loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(discriminator(x), y).backward()
        optimizer.step()

def evaluate_performance(loader, discriminator):
    discriminator.eval()
    with torch.no_grad():
        return sum((discriminator(x).argmax(1) == y).sum().item() for x, y in loader)

def train(discriminator, train_loader, test_loader, optimizer, epochs=3):
    for epoch in range(epochs):
        train_epoch(train_loader, discriminator, optimizer)
        evaluate_performance(test_loader, discriminator)
"""),
    ("train_at_top_of_each_epoch", """\
import torch

for epoch in range(10):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        acc = model(x_val)
""",),
    ("train_after_validation", """\
import torch

for epoch in range(10):
    for x, y in train_loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        acc = model(x_val)
    model.train()
""",),
    ("validate_helper_restores_train", """\
import torch

def validate(model, loader):
    model.eval()
    with torch.no_grad():
        for x, y in loader:
            model(x)
    model.train()

for epoch in range(5):
    for x, y in train_loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    validate(model, val_loader)
""",),
    ("official_mnist_train_and_test_helpers", """\
import torch

def train(model, loader, optimizer):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

def test(model, loader):
    model.eval()
    with torch.no_grad():
        for x, y in loader:
            model(x)

for epoch in range(1, 11):
    train(model, train_loader, optimizer)
    test(model, test_loader)
""",),
    ("eval_after_training_loop", """\
import torch

for epoch in range(10):
    for x, y in train_loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
model.eval()
""",),
    ("frozen_teacher_in_distillation", """\
import torch

optimizer = torch.optim.Adam(student.parameters())
for x, y in loader:
    teacher.eval()
    with torch.no_grad():
        t = teacher(x)
    loss = kd_loss(student(x), t, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
""",),
    ("final_evaluation_before_early_stop", """\
import torch

for epoch in range(100):
    for x, y in train_loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    if patience_exhausted:
        model.eval()
        break
""",),
    ("each_iteration_a_different_model", """\
def fit_and_score(model, train_loader, valid_loader):
    for x, y in train_loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    model.eval()
    return sum((model(x).argmax(1) == y).sum().item() for x, y in valid_loader)

for model, label in model_list:
    score = fit_and_score(model, train_loader, valid_loader)
""",),
    ("model_without_dropout_or_batchnorm", """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(100):
    optimizer.zero_grad()
    loss_fn(model(X_train).squeeze(), y_train).backward()
    optimizer.step()
    model.eval()
    with torch.inference_mode():
        test_loss = loss_fn(model(X_test).squeeze(), y_test)
""",),
    ("train_false_then_train_true", """\
for epoch in range(3):
    model.train(True)
    for x, y in loader:
        criterion(model(x), y).backward()
    model.train(False)
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_across_notebook_cells():
    found = notebook([
        "import torch\nmodel = Net()\n",
        "for epoch in range(3):\n    for x, y in loader:\n        loss_fn(model(x), y).backward()\n"
        "    model.eval()\n    print(model(x_val))\n",
    ], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(1, 3)]


def test_across_files_class_does_not_matter():
    models = """\
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.drop = nn.Dropout()

    def forward(self, x):
        return self.fc(self.drop(x))
"""
    train = """\
from models import Net

model = Net()
for epoch in range(3):
    for x, y in loader:
        loss_fn(model(x), y).backward()
    model.eval()
"""
    assert [f.location.line + 1 for f in two_files(models, train, RULE)] == [7]


# Found in huggingface/pytorch-image-models (train.py, legacy_train.py): models evaluated in the
# training loop that are never trained by backpropagation there.
_TIMM_LIKE = """\
import torch
from timm.utils import ModelEmaV3


def validate(model, loader):
    model.eval()
    with torch.no_grad():
        return sum(model(x).argmax(1).eq(y).sum().item() for x, y in loader)


def train_one_epoch(model, loader, optimizer, model_ema=None):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
        if model_ema is not None:
            model_ema.update(model)


{setup}
for epoch in range(10):
    train_one_epoch(model, train_loader, optimizer, {ema_kw})
    validate({evaluated}, val_loader)
"""


@pytest.mark.parametrize("setup,evaluated", [
    ("model_ema = ModelEmaV3(model, decay=0.999)", "model_ema"),                 # by name
    ("averaged = ModelEmaV3(model, decay=0.999)", "averaged"),                   # by its class
    ("averaged = torch.optim.swa_utils.AveragedModel(model)", "averaged"),
    ("teacher = build_teacher()", "teacher"),
    ("eval_model = task.get_eval_model()", "eval_model"),
    ("task = Task(model)", "task.get_eval_model(ema=True)"),                     # a call's result
], ids=["ema_name", "ema_class", "swa_class", "teacher", "eval_model", "call_result"])
def test_models_not_trained_by_backprop_are_left_alone(setup, evaluated):
    src = _TIMM_LIKE.format(setup=setup, ema_kw="model_ema=None", evaluated=evaluated)
    assert lines(src, RULE) == []


def test_the_trained_model_itself_is_still_flagged_next_to_an_ema():
    # train_one_epoch switches `model` back itself: restored. A loop that trains inline does not.
    src = """\
import torch
from timm.utils import ModelEmaV3

model_ema = ModelEmaV3(model)
for epoch in range(10):
    for x, y in train_loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
        model_ema.update(model)
    model.eval()
    model_ema.eval()
    with torch.no_grad():
        acc = accuracy(model(x_val), y_val)
"""
    assert lines(src, RULE) == [11]


def test_message_says_how_long_and_where_to_restore():
    # peft's dreambooth examples: train() at each epoch's start, a validation every N steps in
    # the batch loop; the rest of that epoch trains in eval mode.
    src = """\
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.1))
for epoch in range(3):
    model.train()
    for step, (x, y) in enumerate(loader):
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step % 100 == 0:
            model.eval()
            validate(model)
"""
    (f,) = findings(src, RULE)
    assert f.location.line + 1 == 12
    assert "until the epoch's `model.train()`" in f.message
    assert "call `model.train()` right after the evaluation" in f.message
    (g,) = findings(src.replace("    model.train()\n", ""), RULE)
    assert "from then on" in g.message


# Sweep 12 (phlippe's adversarial-attack tutorial): the classifier is frozen and evaluated; the
# only thing any optimizer trains is the patch tensor.
_PATCH = """\
import torch
import torch.nn as nn
import torchvision

model = torchvision.models.resnet34(weights="IMAGENET1K_V1")


def eval_patch(model, patch, val_loader):
    model.eval()
    with torch.no_grad():
        for img, _ in val_loader:
            model(img + patch)


def patch_attack(model, train_loader, target_class):
    patch = nn.Parameter(torch.zeros(3, 64, 64), requires_grad=True)
    optimizer = torch.optim.SGD(PARAMS, lr=1e-1, momentum=0.8)
    for img, _ in train_loader:
        loss = nn.functional.cross_entropy(model(img + patch), target_class)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return patch.data


for c in class_ids:
    patch = patch_attack(model, train_loader, c)
    eval_patch(model, patch, val_loader)
"""


@pytest.mark.parametrize("params,expected", [
    ("[patch]", []),                          # only the patch is trained
    ("[patch] + list(model.parameters())", [28]),
    ("model.parameters()", [28]),
    ("params_of(model)", [28]),               # cannot tell what is trained: as before
])
def test_an_optimizer_over_tensors_only_trains_no_model(params, expected):
    assert lines(_PATCH.replace("PARAMS", params), RULE) == expected


LINEAR_PROBE = """\
import torch
import torch.nn as nn
import torchvision.models as models


def train(loader, model, criterion, optimizer):
    model.eval()  # frozen-feature protocol: batch norm must not update its running statistics
    for images, target in loader:
        loss = criterion(model(images), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def validate(loader, model, criterion):
    model.eval()
    with torch.no_grad():
        for images, target in loader:
            criterion(model(images), target)


def main(train_loader, val_loader, epochs):
    model = models.resnet50()
    for name, param in model.named_parameters():
        if name not in ["fc.weight", "fc.bias"]:
            param.requires_grad = False
    criterion = nn.CrossEntropyLoss()
    parameters = list(filter(lambda p: p.requires_grad, model.parameters()))
    optimizer = torch.optim.SGD(parameters, 0.1, momentum=0.9)
    for epoch in range(epochs):
        train(train_loader, model, criterion, optimizer)
        validate(val_loader, model, criterion)
"""


def test_a_model_its_training_function_puts_in_eval_mode_trains_so_by_design():
    """MoCo / SimSiam `main_lincls.py`: train() starts with model.eval() on purpose."""
    assert lines(LINEAR_PROBE, RULE) == []


def test_an_evaluation_at_the_end_of_the_training_function_is_not_design():
    src = LINEAR_PROBE.replace(
        "    model.eval()  # frozen-feature protocol: batch norm must not update its running statistics\n", "").replace(
        "        optimizer.step()\n", "        optimizer.step()\n    model.eval()\n    score(model)\n", 1)
    assert lines(src, RULE) == [32, 33]


def test_a_model_also_switched_to_train_mode_is_not_taken_as_trained_in_eval_mode():
    """The exemption is for a model only ever in eval mode; with a `model.train()` somewhere the
    helper's eval() is reported as before."""
    src = LINEAR_PROBE.replace("    for epoch in range(epochs):\n",
                               "    model.train()\n    for epoch in range(epochs):\n")
    assert lines(src, RULE) == [32, 33]


def test_a_validation_at_the_top_of_each_epoch_in_the_training_function_is_not_design():
    """review 17: eval() + a no_grad validation first in each epoch, then the batches train in
    eval mode: the bug, not the linear-probe protocol (whose eval() is outside the loops)."""
    src = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        return self.fc2(self.drop(F.relu(self.fc1(x))))


def train(model, optimizer, train_loader, val_loader, epochs):
    for epoch in range(epochs):
        model.eval()
        with torch.no_grad():
            val_loss = sum(F.cross_entropy(model(x), y).item() for x, y in val_loader)
        for x, y in train_loader:
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()


model = Net()
optimizer = torch.optim.Adam(model.parameters())
train(model, optimizer, train_loader, val_loader, 10)
"""
    assert lines(src, RULE) == [19]


def test_eval_and_train_methods_with_arguments_are_not_mode_switches():
    """sweep 16: an `Evaluator` class (not an nn.Module) with `eval(test_loader)` and
    `train(train_loader, test_loader)` methods; nn.Module.eval() takes no argument."""
    src = """\
import torch


class Evaluator(object):
    def __init__(self, n_features, n_classes):
        self.clf = torch.nn.Sequential(torch.nn.Linear(n_features, n_classes), torch.nn.Dropout(0.1))

    def eval(self, test_loader):
        with torch.no_grad():
            self.clf.eval()
            correct = sum((self.clf(x).argmax(1) == y).sum().item() for x, y in test_loader)
            self.clf.train()
        return correct

    def train(self, train_loader, test_loader):
        optimizer = torch.optim.Adam(self.clf.parameters(), 3e-4)
        for epoch in range(200):
            for x, y in train_loader:
                optimizer.zero_grad()
                torch.nn.functional.cross_entropy(self.clf(x), y).backward()
                optimizer.step()
            self.eval(test_loader)
"""
    assert lines(src, RULE) == []
    # the same loop with the model's own eval() and no train() back is the bug
    assert lines(src.replace("            self.eval(test_loader)", "            self.clf.eval()"), RULE) == [22]


_RESTORING_TEST_HELPER = """\
import torch
import torch.nn as nn


def train(model, loader, lr):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()


def test_acc(model, loader):
    mode = model.training
    model.eval()
    with torch.no_grad():
        correct = sum((model(x).argmax(1) == y).sum().item() for x, y in loader)
    model.train(mode=mode)
    return correct


def test_all(model, loaders):
    return [test_acc(model, loader) for loader in loaders]
"""


def test_a_mode_restored_by_a_method_call_does_not_run_the_files_train_function():
    """sweep C (GMvandeVen's continual-learning tutorial): `model.train(mode=mode)` in an
    evaluation helper is nn.Module.train, not the file's own `def train(model, ...)`, so the
    loop over test loaders that calls the helper trains nothing."""
    src = _RESTORING_TEST_HELPER.replace(
        "    return [test_acc(model, loader) for loader in loaders]\n",
        "    precs = []\n    for loader in loaders:\n        precs.append(test_acc(model, loader))\n"
        "    return precs\n")
    assert lines(src, RULE) == []
    # a helper that never switches back, called in a loop that trains by itself: the bug
    step = ("        opt.zero_grad()\n        nn.functional.cross_entropy(model(x), y).backward()\n"
            "        opt.step()\n")
    buggy = src.replace("    model.train(mode=mode)\n", "").replace(
        "    for loader in loaders:\n", "    for x, y in loaders:\n" + step)
    assert lines(buggy, RULE) == [28]


@pytest.mark.parametrize("restore,expected", [
    ("model.train(was_training)", []),
    ("model.train(mode=was_training)", []),
    ("model.train(False)", [22]),           # still eval mode
    ("pass", [22]),
])
def test_a_saved_mode_put_back_after_the_evaluation(restore, expected):
    src = f"""\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)


def evaluate(model, loader):
    was_training = model.training
    model.eval()
    with torch.no_grad():
        acc = sum((model(x).argmax(1) == y).sum().item() for x, y in loader)
    {restore}
    return acc


for epoch in range(10):
    for x, y in train_loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    evaluate(model, val_loader)
"""
    assert lines(src, RULE) == expected



def test_a_model_built_anew_in_each_iteration_is_not_restored_anywhere():
    """sweep 16 (girafe-ai's gradient-check test): every pass builds a new BatchNorm layer,
    backpropagates through it, then checks its eval-mode output; the next pass has another."""
    src = """\
import numpy as np
import torch

for _ in range(100):
    torch_layer = torch.nn.BatchNorm1d(16, affine=False)
    layer_input = torch.from_numpy(np.random.uniform(-5, 5, (32, 16)).astype(np.float32))
    layer_input.requires_grad_(True)
    out = torch_layer(layer_input)
    out.backward(torch.ones_like(out))
    torch_layer.eval()
    out_eval = torch_layer(layer_input)
"""
    assert lines(src, RULE) == []
    # the same object moved in the loop (`.to()` returns it) is not a new model
    moved = src.replace("    torch_layer = torch.nn.BatchNorm1d(16, affine=False)\n", "    torch_layer = torch_layer.to('cpu')\n")
    moved = "import torch\ntorch_layer = torch.nn.BatchNorm1d(16, affine=False)\n" + moved.split("import torch\n", 1)[1]
    assert lines(moved, RULE) == [10]


TWO_STAGES = """\
import torch
from torch import nn
import torch.nn.functional as F

autoencoder = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4))
unet = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.Dropout(0.1))
train_loader = [torch.randn(2, 1, 8, 8) for _ in range(4)]

optimizer_g = torch.optim.Adam(autoencoder.parameters(), lr=1e-4)
for epoch in range(3):
    autoencoder.train()
    for images in train_loader:
        optimizer_g.zero_grad()
        loss = F.mse_loss(autoencoder(images).mean(1, keepdim=True), images)
        loss.backward()
        optimizer_g.step()

optimizer = torch.optim.Adam(unet.parameters(), lr=1e-4)
for epoch in range(3):
    unet.train()
    autoencoder.eval()
    for images in train_loader:
        optimizer.zero_grad()
        with torch.no_grad():
            z = autoencoder(images)
        noise = torch.randn_like(z)
        loss = F.mse_loss(unet(z + noise), noise)
        loss.backward()
        optimizer.step()
"""


def test_a_loop_whose_optimizers_train_other_models_does_not_train_the_evaluated_one():
    """sweep 16 (MONAI's latent diffusion tutorials): stage 2 steps only the unet's optimizer;
    the stage-1 autoencoder is switched to eval mode on purpose."""
    assert lines(TWO_STAGES, RULE) == []
    # the same loop stepping an optimizer that also takes the autoencoder's parameters
    both = TWO_STAGES.replace("optimizer = torch.optim.Adam(unet.parameters(), lr=1e-4)",
                              "optimizer = torch.optim.Adam(list(unet.parameters()) + list(autoencoder.parameters()))")
    # (with a validation between the eval() and the batches: an eval() right before them would
    # be a pass trained in eval mode on purpose, the linear-probe protocol)
    both = both.replace("    autoencoder.eval()\n", "    autoencoder.eval()\n    print(autoencoder(train_loader[0]).mean())\n")
    assert lines(both, RULE) == [21]



# Helpers that switch the module's model itself, not a parameter (sweep 16: a `train_step()`
# that starts with `model.train()` on the global model restores the mode; an `evaluate()` that
# ends in `model.eval()` on it is an eval() in the loop).
_GLOBAL = """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(10, 5), nn.Dropout(0.5))
opt = torch.optim.SGD(model.parameters(), lr=0.1)


def train_step(x, y):
    {train_switch}
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def evaluate():
    model.eval()
    with torch.no_grad():
        return sum(model(x).argmax(1).eq(y).sum().item() for x, y in val_loader)


"""


@pytest.mark.parametrize("train_switch,loop,expected", [
    # evaluate() leaves the global model in eval mode, nothing switches it back
    ("pass", "for epoch in range(9):\n    for x, y in loader:\n        train_step(x, y)\n    print(evaluate())\n", [24]),
    # train_step() switches it back at every step
    ("model.train()", "for epoch in range(9):\n    for x, y in loader:\n        train_step(x, y)\n    print(evaluate())\n", []),
    ("model.train()", "for epoch in range(9):\n    for x, y in loader:\n        train_step(x, y)\n    model.eval()\n", []),
    ("pass", "for epoch in range(9):\n    for x, y in loader:\n        train_step(x, y)\n    model.eval()\n", [24]),
    # main() has a model of its own: evaluate() switches the module's, not this one
    ("pass", "def main():\n    model = nn.Sequential(nn.Linear(10, 5), nn.Dropout(0.5))\n"
     "    opt = torch.optim.SGD(model.parameters(), lr=0.1)\n    for epoch in range(9):\n"
     "        for x, y in loader:\n            opt.zero_grad()\n"
     "            nn.functional.cross_entropy(model(x), y).backward()\n            opt.step()\n"
     "        print(evaluate())\n", []),
])
def test_helpers_that_switch_the_module_level_model(train_switch, loop, expected):
    src = _GLOBAL.format(train_switch=train_switch) + loop
    assert lines(src, RULE) == expected


# Sweep 18 (tkipf/pygcn, pyGAT): `train(epoch)` switches the model to train mode at its top,
# steps, then evaluates in eval mode; the next call switches back before it trains again.
_PYGCN = """\
import torch
import torch.nn as nn
import torch.nn.functional as F

model = nn.Sequential(nn.Linear(8, 16), nn.Dropout(0.5), nn.Linear(16, 3))
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)


def train({params}):
    {first}
    optimizer.zero_grad()
    F.cross_entropy(model(x), y).backward()
    optimizer.step()
    model.eval()
    print(F.cross_entropy(model(x), y).item())


for epoch in range(10):
    train({args})
"""


@pytest.mark.parametrize("params,args,first,expected", [
    ("epoch", "epoch", "model.train()", []),
    ("model, epoch", "model, epoch", "model.train()", []),
    # never switched back: the second epoch trains in eval mode
    ("epoch", "epoch", "pass", [19]),
    ("model, epoch", "model, epoch", "pass", [19]),
])
def test_a_helper_that_trains_in_train_mode_then_evaluates(params, args, first, expected):
    src = _PYGCN.format(params=params, args=args, first=first)
    assert lines(src, RULE) == expected


# Sweep 18 (DeepCTR-Torch's BaseModel.fit): a model's own `self.evaluate()` in its training loop,
# which calls `self.predict()`, which calls `self.eval()`; nothing switches back.
_OWN_FIT = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


class BaseModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 32), nn.Dropout(0.5), nn.Linear(32, 1))
        self.optim = torch.optim.Adam(self.parameters(), lr=1e-3)

    def fit(self, x, y, vx, vy, epochs=5):
        model = self.train()
        for epoch in range(epochs):
            self.optim.zero_grad()
            F.mse_loss(model(x), y).backward()
            self.optim.step()
            print(self.evaluate(vx, vy))

    def evaluate(self, x, y):
        return F.mse_loss(self.predict(x), y).item()

    def predict(self, x):
        model = self.eval()
        with torch.no_grad():
            return model(x){restore}
"""


@pytest.mark.parametrize("restore,expected", [
    ("", [18]),
    # predict() switches back after its no_grad block: nothing leaks
    ("\n\n    def unused(self):\n        pass", [18]),
])
def test_a_models_own_evaluate_method_in_its_fit_loop(restore, expected):
    assert lines(_OWN_FIT.format(restore=restore), RULE) == expected


def test_a_models_own_evaluate_method_that_switches_back_is_silent():
    src = _OWN_FIT.format(restore="").replace(
        "        model = self.eval()\n        with torch.no_grad():\n            return model(x)",
        "        self.eval()\n        with torch.no_grad():\n            out = self(x)\n        self.train()\n        return out")
    assert lines(src, RULE) == []


# A trainer (not a module) with its own `def eval(self)`: `self.eval()` runs that evaluation,
# it switches no mode (its body restores the model's mode itself).
def test_a_plain_trainer_class_with_its_own_eval_method():
    src = """\
import torch
import torch.nn.functional as F


class Trainer:
    def __init__(self, model, loader):
        self.model, self.loader = model, loader
        self.opt = torch.optim.Adam(self.model.parameters())

    def eval(self):
        self.model.eval()
        with torch.no_grad():
            acc = sum((self.model(x).argmax(1) == y).sum().item() for x, y in self.loader)
        self.model.train()
        return acc

    def fit(self, epochs):
        self.model.train()
        for epoch in range(epochs):
            for x, y in self.loader:
                self.opt.zero_grad()
                F.cross_entropy(self.model(x), y).backward()
                self.opt.step()
            print(self.eval())
"""
    assert lines(src, RULE) == []


# Sweep 19 (Modern-Computer-Vision-with-PyTorch): a Grad-CAM loop after training backpropagates
# a logit to read gradients; no optimizer steps there, so it is no training loop.
_GRADCAM = """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(2):
    model.train()
    for x, y in trn_dl:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()


def im2gradCAM(x):
    model.eval()
    logits = model(x)
    model.zero_grad()
    logits[0, 1].backward(retain_graph=True)
    return model[0].weight.grad.mean((1, 2, 3))


for i in range(20):
    heatmap = im2gradCAM(x[i:i + 1])
"""


def test_a_loop_that_backpropagates_without_a_step_is_no_training_loop():
    assert lines(_GRADCAM, RULE) == []
    # the same helper that also steps the optimizer trains
    stepping = _GRADCAM.replace("    return model[0].weight.grad", "    optimizer.step()\n    return model[0].weight.grad")
    assert lines(stepping, RULE) == [24]


def test_a_class_redefined_in_a_later_factory_is_read_where_it_is_built():
    """A notebook defines get_model() twice, each with a nested `neuralnet`: the first without
    batch norm or dropout (eval() changes nothing there), the second with batch norm."""
    src = (Path(__file__).parent / "data" / "eval_mode_redefined_nested_class.py").read_text()
    assert lines(src, RULE) == [72]


@pytest.mark.parametrize("step", [
    "        optimizer.first_step(zero_grad=True)\n        criterion(model(x), y).backward()\n        optimizer.second_step(zero_grad=True)\n",
    "        amp.step(optimizer)\n        amp.update()\n",
])
def test_a_loop_stepping_through_another_name_still_trains(step):
    """Review of sweep 19: a SAM optimizer's first_step/second_step, a GradScaler named amp."""
    src = f"""\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(20, 64), nn.Dropout(0.3), nn.Linear(64, 2))
scheduler.step()
for epoch in range(10):
    for x, y in loader:
        criterion(model(x), y).backward()
{step}    model.eval()
    evaluate(model)
"""
    assert len(lines(src, RULE)) == 1


def test_an_environment_step_is_no_optimizer_step():
    """Second review of sweep 19: a saliency loop over an RL environment after training."""
    src = _GRADCAM.replace("    heatmap = im2gradCAM(x[i:i + 1])\n",
                           "    heatmap = im2gradCAM(x[i:i + 1])\n    obs, reward, done, info = env.step(action)\n")
    assert lines(src, RULE) == []


# Sweep 25 (tf-keras-image-classifier's heatmap_check.py): a Grad-CAM loop over a loaded model in
# a file that steps no optimizer at all. Its backward runs on one selected logit: it reads
# gradients. A loss backpropagated with the steps out of sight still trains.
_LOADED_GRADCAM = """\
import torch


def heatmaps(model_path, images):
    model = torch.load(model_path)
    maps = []
    for img in images:
        model.eval()
        features = model.features(img.unsqueeze(0))
        output = model.classifier(features)
        index = torch.argmax(output).item()
        features.register_hook(lambda g: maps.append(g))
{backward}
    return maps
"""


@pytest.mark.parametrize("backward,expected", [
    ("        output[:, index].backward()", []),
    ("        pred_class = output[:, index]\n        pred_class.backward()", []),
    ("        output[0][index].backward()", []),
    ("        output.backward(gradient=torch.nn.functional.one_hot(torch.tensor([index]), 10).float())", []),
    # a loss (the first of a model's outputs), the optimizer stepped out of sight: trains
    ("        loss = output[0]\n        loss.backward()", [8]),
    ("        torch.nn.functional.cross_entropy(output, labels).backward()", [8]),
])
def test_a_selected_output_backpropagated_with_no_step_in_sight_reads_gradients(backward, expected):
    assert lines(_LOADED_GRADCAM.format(backward=backward), RULE) == expected


def test_a_conditional_partial_unfreeze_does_not_restore_training_mode():
    """Review of sweep 20: `if epoch == 3: model.unfreeze_backbone()` (self.backbone.train())
    does not put the model's head back in training mode after the per-epoch eval()."""
    src = """import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(10, 10), nn.BatchNorm1d(10))
        self.head = nn.Sequential(nn.Dropout(0.5), nn.Linear(10, 2))

    def forward(self, x):
        return self.head(self.backbone(x))

    def unfreeze_backbone(self):
        for p in self.backbone.parameters():
            p.requires_grad = True
        self.backbone.train()

model = Net()
opt = torch.optim.Adam(model.parameters())
model.train()
for epoch in range(10):
    for x, y in train_loader:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        acc = sum((model(x).argmax(1) == y).sum().item() for x, y in val_loader)
    if epoch == 3:
        model.unfreeze_backbone()
"""
    assert len(lines(src, RULE)) == 1



@pytest.mark.parametrize("src", ["""import torch
import torch.nn as nn


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(10, 10)
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(10, 2)

    def train_custom(self):
        for p in self.encoder.parameters():
            p.requires_grad = False
        self.train()

    def forward(self, x):
        return self.head(self.drop(self.encoder(x)))


def evaluate(model, loader):
    model.eval()
    with torch.no_grad():
        for x, y in loader:
            model(x)


if __name__ == "__main__":
    discriminator = Discriminator()
    opt = torch.optim.Adam(discriminator.parameters())
    for epoch in range(10):
        discriminator.train_custom()
        for x, y in loader:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(discriminator(x), y)
            loss.backward()
            opt.step()
        evaluate(discriminator, test_loader)
""",
                                 """import torch
import torch.nn as nn


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(10, 10)
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(10, 2)

    def train_custom(self):
        for p in self.encoder.parameters():
            p.requires_grad = False
        self.train()

    def forward(self, x):
        return self.head(self.drop(self.encoder(x)))


def evaluate(model, loader):
    model.eval()
    with torch.no_grad():
        for x, y in loader:
            model(x)


def main(args):
    if args.do_train:
        discriminator = Discriminator()
        opt = torch.optim.Adam(discriminator.parameters())
        for epoch in range(10):
            discriminator.train_custom()
            for x, y in loader:
                opt.zero_grad()
                loss = nn.functional.cross_entropy(discriminator(x), y)
                loss.backward()
                opt.step()
            evaluate(discriminator, test_loader)
"""],
                         ids=["under_main_guard", "under_do_train_flag"])
def test_a_mode_method_called_under_an_if_around_the_loop_restores(src):
    """Second review of sweep 20: an `if` around the whole loop (`if __name__ == "__main__":`)
    decides nothing per pass; train_custom() still restores the mode each epoch."""
    assert lines(src, RULE) == []



def test_a_nested_step_function_switching_the_enclosing_model_back():
    """distil-whisper (sweep 20e): `def train_step()` nested in main() starts with
    `student_model.train()` and is called every iteration: the mode is restored. Without that
    line the eval() in the loop is still reported."""
    src = """import torch
from torch import nn


def main():
    student_model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.1), nn.Linear(4, 1))
    optimizer = torch.optim.AdamW(student_model.parameters())
    loader = [(torch.randn(8, 4), torch.randn(8, 1)) for _ in range(10)]

    def train_step(x, y):
        student_model.train()          # every step switches back to training mode
        return nn.functional.mse_loss(student_model(x), y)

    step = 0
    for epoch in range(3):
        for x, y in loader:
            loss = train_step(x, y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            step += 1
            if step % 5 == 0:
                student_model.eval()
                with torch.no_grad():
                    val = sum(nn.functional.mse_loss(student_model(a), b) for a, b in loader)
                print(step, float(val))


if __name__ == "__main__":
    main()
"""
    assert lines(src, RULE) == []
    assert len(lines(src.replace("        student_model.train()          # every step switches back to training mode\n", ""), RULE)) == 1


_ADAPTED_COPY = """\
from copy import deepcopy
import torch
import torch.nn as nn


class Meta(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))

    def adapt(self, x, y):
        local_model = deepcopy(self.net)
        local_model.train()
        opt = torch.optim.SGD(local_model.parameters(), lr=0.1)
        nn.functional.cross_entropy(local_model(x), y).backward()
        opt.step()
        return local_model, opt


meta = Meta()
for x, y in tasks:
    {binding}
    with torch.no_grad():
        local_model.eval()
        print(local_model(x).argmax(1))
"""


@pytest.mark.parametrize("binding", [
    "local_model, _ = meta.adapt(x, y)",
    "local_model = meta.adapt(x, y)[0]",
    "local_model = deepcopy(meta.net)",
])
def test_a_model_handed_back_new_at_each_iteration(binding):
    """A meta-learning notebook (sweep 20d): each task adapts a fresh copy, evaluates it, and
    drops it; the next iteration's model is another object."""
    assert lines(_ADAPTED_COPY.format(binding=binding), RULE) == []


@pytest.mark.parametrize("binding", [
    "local_model = reload(local_model, x); meta.adapt(x, y)",
    "local_model, _ = meta.adapt(local_model, y)",
])
def test_a_model_handed_back_from_itself_is_still_the_same_model(binding):
    src = _ADAPTED_COPY.format(binding=binding).replace("meta = Meta()\n", "meta = Meta()\nlocal_model = meta.net\n")
    assert lines(src, RULE) == [25]


_PROBE = """\
import torch
import torch.nn as nn
import torchvision


def evaluate(model, loader):
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
    return correct


def linear_probe(encoder, train_loader, val_loader, epochs=10):
    optimizer = torch.optim.SGD(encoder.fc.parameters(), lr=0.1)
    criterion = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        encoder.eval()
{between}        for x, y in train_loader:
            optimizer.zero_grad()
            loss = criterion(encoder(x), y)
            loss.backward()
            optimizer.step()
        acc = evaluate(encoder, val_loader)


encoder = torchvision.models.resnet18(num_classes=10)
linear_probe(encoder, train_loader, val_loader)
"""


def test_eval_right_before_the_batches_trains_in_eval_mode_on_purpose():
    """AidenDurrant/MoCo-Pytorch's finetune() (sweep 21d): the linear-evaluation protocol puts
    the frozen encoder in eval mode at the top of each epoch, right before its batch loop; the
    evaluation later in the epoch changes nothing."""
    assert lines(_PROBE.format(between=""), RULE) == []
    assert lines(_PROBE.format(between="        # frozen batch norm\n"), RULE) == []
    # (the real finetune() sets up counters and the loader in between)
    assert lines(_PROBE.format(between="        run_loss = 0\n        loader = tqdm(train_loader)\n"), RULE) == []


def test_a_validation_between_eval_and_the_batches_is_still_the_bug():
    src = _PROBE.format(between="        print(evaluate(encoder, val_loader))\n")
    assert lines(src, RULE) == [19, 20, 26]


_FITTER = """\
import torch
import torch.nn as nn


class Fitter:
    def __init__(self, model, optimizer, criterion):
        self.model = model
        self.optimizer = optimizer
        self.criterion = criterion

    def fit(self, train_loader, n_epochs):
        for epoch in range(n_epochs):
            loss = self.train_one_epoch(train_loader)
            self.model.eval()
            torch.save(self.model.state_dict(), f"epoch{{epoch}}.bin")

    def train_one_epoch(self, train_loader):
        {switch}
        for x, y in train_loader:
            self.optimizer.zero_grad()
            loss = self.criterion(self.model(x), y)
            loss.backward()
            self.optimizer.step()
        return loss.item()
"""


def test_a_trainer_method_that_switches_the_held_model_back():
    """The Kaggle "Fitter" template (sweep 21a: a cassava and a wheat-detection solution): the
    epoch loop calls self.train_one_epoch(), which starts with self.model.train()."""
    assert lines(_FITTER.format(switch="self.model.train()"), RULE) == []


@pytest.mark.parametrize("switch", ["pass", "self.train()", "self.other.train()"])
def test_a_trainer_method_that_switches_something_else_back(switch):
    assert lines(_FITTER.format(switch=switch), RULE) == [14]


_FOR_ELSE = """\
import torch
from torch import nn

model = nn.Sequential(nn.Linear(784, 10), nn.Dropout(0.2))
optimizer = torch.optim.Adam(model.parameters())
for e in range(30):
    for x, y in loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    else:
        with torch.no_grad():
            model.eval()
            for x, y in loader:
                val_loss = nn.functional.cross_entropy(model(x), y)
{after}"""


def test_a_validation_in_the_else_of_the_batch_loop():
    """Udacity's "Inference and Validation" exercise (sweep 21c): the validation sits in the
    `else:` of the batch loop, which runs once after it, and `model.train()` follows."""
    assert lines(_FOR_ELSE.format(after="    model.train()\n"), RULE) == []


def test_a_validation_in_the_else_of_the_batch_loop_never_switched_back():
    assert lines(_FOR_ELSE.format(after=""), RULE) == [13]


_FROZEN_ENCODER = """\
import torch


def encode_batch(encoder, inputs):
    encoder.eval()
    with torch.no_grad():
        emb = encoder(inputs)
    return emb.float()


def train_epoch(model, loader, encoder):
    model.train()
    for inputs, labels in loader:
        emb = encode_batch(encoder, inputs)
        loss = model.loss(model(emb), labels)
        model.optimizer.zero_grad()
        loss.backward()
        model.optimizer.step()
{more}"""


def test_a_frozen_encoder_only_ever_run_without_grad():
    """A CS224n project's text classifier (sweep 21c): the encoder is a frozen feature extractor,
    only run under no_grad; the head is trained through its own optimizer."""
    assert lines(_FROZEN_ENCODER.format(more=""), RULE) == []


@pytest.mark.parametrize("more", [
    "\n\ndef finetune(encoder, x):\n    return encoder(x).sum()\n",                 # run with grad too
    "\n\nopt = torch.optim.Adam(encoder.parameters())\n",                           # its parameters optimized
    "\n\ntrainer = Trainer(encoder)\n",                                             # handed out of sight
])
def test_an_encoder_that_may_be_trained_is_still_flagged(more):
    assert lines(_FROZEN_ENCODER.format(more=more), RULE) == [14]


def test_a_model_whose_loss_helper_runs_with_and_without_grad_is_trained():
    """Review of the frozen-extractor exemption: the same loss helper trains (with gradients)
    and validates (under no_grad); the optimizer takes parameter groups of the model's parts."""
    src = """\
import torch
import torch.nn.functional as F


def compute_loss(model, batch):
    x, y = batch
    return F.cross_entropy(model(x), y)


model = torch.hub.load("pytorch/vision", "resnet18")
optimizer = torch.optim.AdamW([{"params": model.layer4.parameters(), "lr": 1e-4},
                               {"params": model.fc.parameters(), "lr": 1e-3}])
for epoch in range(10):
    for batch in train_loader:
        loss = compute_loss(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(compute_loss(model, b).item() for b in val_loader)
"""
    assert lines(src, RULE) == [19]


@pytest.mark.parametrize("between", [
    "        print(evaluate(val_loader))\n",      # a helper of the file that evaluates
])
def test_an_eval_before_the_batches_then_a_helper_is_a_validation(between):
    src = _PROBE.format(between=between).replace("def evaluate(model, loader):", "def evaluate(loader, model=None):")
    assert 19 in lines(src, RULE)


def test_an_evaluation_helper_before_the_batches_of_a_model_set_to_train_first():
    src = """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.Linear(8, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)


def evaluate(loader):
    model.eval()
    with torch.no_grad():
        return sum((model(x).argmax(1) == y).sum().item() for x, y in loader)


def train(train_loader, val_loader, epochs=10):
    model.train()
    for epoch in range(epochs):
        evaluate(val_loader)
        for x, y in train_loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
"""
    assert lines(src, RULE) == [17]



_LAST_PASS = """\
import torch.nn as nn

model = nn.Sequential(nn.Linear(8, 32), nn.Dropout(0.1), nn.Linear(32, 8))
optimizer = torch.optim.Adam(model.parameters())
for epoch in range(5):
    model.train()
    for i, x in enumerate(loader):
        loss = (model(x) - x).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if {cond}:
            model.eval()
            print(epoch, evaluate(model))
"""


@pytest.mark.parametrize("cond,expected", [
    ("i == len(loader) - 1", []), ("i + 1 == len(loader)", []), ("(i+1) == len(loader)", []),
    ("i % 5 == 0", [13]), ("i == len(other) - 1", [13]), ("step == len(loader) - 1", [13]),
])
def test_eval_only_on_the_last_pass_before_the_epochs_train(cond, expected):
    # (tqch/ddpm-torch's toy trainer, sweep 22b)
    assert lines(_LAST_PASS.format(cond=cond), RULE) == expected


def test_last_pass_of_a_progress_bar_over_the_loader():
    src = """\
class Trainer:
    def train(self):
        for e in range(self.epochs):
            self.model.train()
            with tqdm(self.trainloader, desc="epochs") as t:
                for i, x in enumerate(t):
                    self.step(x)
                    if i == len(self.trainloader) - 1:
                        self.model.eval()
                        self.evaluate()

    def step(self, x):
        loss = self.model(x).mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
"""
    assert lines(src, RULE) == []
    assert lines(src.replace("model.train()", "model.zero_grad()"), RULE) == [9]


_ZERO_RATE = """\
import torch
import torch.nn as nn


class FeedForward(nn.Module):
    def __init__(self, dim, dropout=0.0):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Dropout(dropout))

    def forward(self, x):
        return self.net(x)


class Decoder(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.block = {block}
        self.out = nn.Linear(dim, 1)

    def forward(self, x):
        return self.out(self.block(x))


decoder = Decoder(16)
opt = torch.optim.Adam(decoder.parameters())
for it in range(100):
    loss = ((decoder(x) - y) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if it % 10 == 0:
        decoder.eval()
        print(decoder(x).mean().item())
"""


@pytest.mark.parametrize("block,expected", [
    # sweep C: dropout at rate 0 changes nothing between the modes
    ("nn.Sequential(nn.Linear(dim, dim), nn.Dropout(0.0))", []),
    ("FeedForward(dim)", []),                     # the block's default rate, 0.0
    ("FeedForward(dim, dropout=0.0)", []),
    # a real rate: still reported
    ("nn.Sequential(nn.Linear(dim, dim), nn.Dropout(0.1))", [32]),
    ("FeedForward(dim, dropout=0.1)", [32]),
    ("FeedForward(dim, 0.0)\n        self.norm = nn.BatchNorm1d(dim)", [33]),
])
def test_a_model_whose_only_dropout_has_rate_zero(block, expected):
    assert lines(_ZERO_RATE.format(block=block), RULE) == expected


def test_a_model_whose_zero_rate_comes_through_two_blocks():
    src = _ZERO_RATE.replace("class Decoder", """\
class Block(nn.Module):
    def __init__(self, dim, dropout=0.0):
        super().__init__()
        self.ffn = FeedForward(dim, dropout)

    def forward(self, x):
        return self.ffn(x) + x


class Decoder""")
    assert lines(src.format(block="Block(dim)"), RULE) == []
    assert lines(src.format(block="Block(dim, dropout=0.1)"), RULE) == [41]


_PROBE_PER_CHECKPOINT = """\
import copy
import torch
import torch.nn as nn

encoder = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.1))
enc_opt = torch.optim.Adam(encoder.parameters())


def train(model, loader, optimizer):
    for x, y in loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()


for ckpt in checkpoints:
    encoder.load_state_dict(torch.load(ckpt))
    encoder.eval()
    with torch.no_grad():
        feats = encoder(x)
    clf = copy.deepcopy(head)
    opt = torch.optim.Adam({params})
    for epoch in range(3):
        train({model}, loader, opt)
"""


@pytest.mark.parametrize("params,model,expected", [
    # sweep D: the helper trains a fresh head with the optimizer it is given, not the encoder
    ("clf.parameters(), lr=1e-3", "clf", []),
    # the helper trains the encoder, or an optimizer that takes it: still reported
    ("encoder.parameters(), lr=1e-3", "encoder", [18]),
    ("list(clf.parameters()) + list(encoder.parameters())", "clf", [18]),
    ("params", "clf", [18]),                    # whose parameters: not said
])
def test_a_helper_stepping_another_models_optimizer(params, model, expected):
    src = _PROBE_PER_CHECKPOINT.format(params=params, model=model)
    assert lines(src, RULE) == expected
