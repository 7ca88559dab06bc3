"""Models built by a function of the same file, and which definition of a redefined helper a call
runs (values.Values._factory_instance, facts.definition_in_effect): seen through the rules that
ask what a model is (missing-eval-mode, eval-mode-not-restored)."""
import pytest
from conftest import lines

FACTORY_WITH_DROPOUT = """\
import torch
import torch.nn as nn


def build_model():
    return nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.Dropout(0.8), nn.Linear(32, 2))


@torch.no_grad()
def validate_batch(model, data, criterion):
    ims, labels = data
    return criterion(model(ims), labels).item()


model = build_model()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for ex in range(10):
    for ims, labels in trn_dl:
        optimizer.zero_grad()
        criterion(model(ims), labels).backward()
        optimizer.step()
    for data in val_dl:
        loss = validate_batch(model, data, criterion)
"""


def test_a_model_from_a_local_factory_has_the_factorys_layers():
    assert lines(FACTORY_WITH_DROPOUT, "missing-eval-mode") == [12]


def test_a_factory_returning_a_tuple_gives_each_slot():
    src = FACTORY_WITH_DROPOUT.replace(
        "    return nn.Sequential(", "    net = nn.Sequential(").replace(
        "nn.Linear(32, 2))\n", "nn.Linear(32, 2))\n    return net, nn.CrossEntropyLoss(), None\n", 1).replace(
        "model = build_model()\ncriterion = nn.CrossEntropyLoss()",
        "model, criterion, _ = build_model()")
    assert "return net, nn.CrossEntropyLoss(), None" in src
    assert lines(src, "missing-eval-mode") == [13]


@pytest.mark.parametrize("body", [
    # returns that disagree, or that are not known: unknown, so silent
    "    if big:\n        return nn.Sequential(nn.Linear(64, 2), nn.Dropout(0.5))\n"
    "    return nn.Sequential(nn.Linear(64, 2))\n",
    "    return load_somehow()\n",
    "    yield nn.Sequential(nn.Linear(64, 2), nn.Dropout(0.5))\n",
    "    return\n",
])
def test_unknown_or_disagreeing_returns_stay_unknown(body):
    src = FACTORY_WITH_DROPOUT.replace(
        "    return nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.Dropout(0.8), nn.Linear(32, 2))\n", body)
    assert lines(src, "missing-eval-mode") == []


def test_a_factory_of_a_model_without_dropout_or_batch_norm_is_mode_independent():
    src = """\
import torch
import torch.nn as nn


def get_model():
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2))
    return model, torch.optim.Adam(model.parameters())


model, optimizer = get_model()
for epoch in range(5):
    for x, y in trn_dl:
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    with torch.no_grad():
        acc = (model(x_val).argmax(1) == y_val).float().mean()
"""
    assert lines(src, "eval-mode-not-restored") == []
    # the same with dropout in the factory is the bug
    assert lines(src.replace("nn.ReLU()", "nn.Dropout(0.3)"), "eval-mode-not-restored") == [16]


def test_a_call_runs_the_definition_in_effect_not_a_later_redefinition():
    first = """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Dropout(0.25), nn.Linear(10, 2))
optimizer = torch.optim.Adam(model.parameters())

def train_batch(x, y, model):
    model.train()
    loss_fn(model(x), y).backward()
    optimizer.step()
    optimizer.zero_grad()

@torch.no_grad()
def val_loss(x, y, model):
    model.eval()
    return loss_fn(model(x), y).item()

for epoch in range(30):
    for x, y in trn_dl:
        train_batch(x, y, model)
    for x, y in val_dl:
        v = val_loss(x, y, model)
"""
    later = """
def train_batch(x, y, model):
    loss_fn(model(x), y).backward()
    optimizer.step()
    optimizer.zero_grad()
"""
    assert lines(first + later, "eval-mode-not-restored") == []
    # the loop placed after the redefinition runs the one without train(): flagged
    loop_start = first.index("for epoch")
    moved = first[:loop_start] + later + "\n" + first[loop_start:]
    assert lines(moved, "eval-mode-not-restored") == [28]


def test_an_isinstance_test_in_weight_init_is_not_a_batch_norm_layer():
    src = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 32)
        self.fc2 = nn.Linear(32, 2)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))

    def initialize_weights(self):
        for m in self.modules():
            if isinstance(m, (nn.BatchNorm2d, nn.Dropout)):
                m.weight.data.fill_(1)
            elif type(m) == nn.BatchNorm1d or m.__class__.__name__.find("BatchNorm") != -1:
                pass


net = Net()
optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
for epoch in range(5):
    for x, y in train_loader:
        optimizer.zero_grad()
        F.cross_entropy(net(x), y).backward()
        optimizer.step()
    net.eval()
    with torch.no_grad():
        acc = (net(x_val).argmax(1) == y_val).float().mean()
"""
    assert lines(src, "eval-mode-not-restored") == []
    # a real batch-norm layer next to the same init code is still one
    with_bn = src.replace("self.fc2 = nn.Linear(32, 2)", "self.fc2 = nn.Linear(32, 2)\n        self.bn = nn.BatchNorm1d(32)")
    assert lines(with_bn, "eval-mode-not-restored") == [31]
