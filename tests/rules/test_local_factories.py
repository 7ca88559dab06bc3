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
    with_bn = src.replace("self.fc2 = nn.Linear(32, 2)", "self.fc2 = nn.Linear(32, 2)\n        self.bn = nn.BatchNorm1d(32)") \
        .replace("return self.fc2(F.relu(self.fc1(x)))", "return self.fc2(F.relu(self.bn(self.fc1(x))))")
    assert lines(with_bn, "eval-mode-not-restored") == [31]


def test_a_factory_defined_under_different_conditions_is_unknown():
    """review 17: `def build()` in both branches of an `if`: which one runs is not known."""
    src = """\
import torch
import torch.nn as nn

if arch == "mlp":
    def build():
        return nn.Sequential(nn.Linear(10, 2), nn.Dropout(0.5))
else:
    def build():
        return nn.Sequential(nn.Linear(10, 2))

model = build()
optimizer = torch.optim.Adam(model.parameters())
for epoch in range(5):
    for x, y in trn_dl:
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    with torch.no_grad():
        acc = (model(x_val).argmax(1) == y_val).float().mean()
"""
    # unknown layers: reported (eval-mode-not-restored reports models it cannot see into)
    assert lines(src, "eval-mode-not-restored") == [18]


def test_decorated_redefinitions_are_still_ordered():
    src = """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Dropout(0.25), nn.Linear(10, 2))
optimizer = torch.optim.Adam(model.parameters())

@torch.no_grad()
def val_loss(x, y, model):
    model.eval()
    return loss_fn(model(x), y).item()

for epoch in range(30):
    for x, y in trn_dl:
        loss_fn(model(x), y).backward()
        optimizer.step()
        optimizer.zero_grad()
    v = val_loss(x_val, y_val, model)

@torch.no_grad()
def val_loss(x, y, model):
    return loss_fn(model(x), y).item()
"""
    # the loop runs the first val_loss, which switches to eval mode and is never undone (the
    # later redefinition, which would not switch, is not the one in effect)
    assert lines(src, "eval-mode-not-restored") == [17]


SMOKE = """\
import torch
import torch.nn as nn


def build_model(num_classes=10):
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 256), nn.BatchNorm1d(256), nn.ReLU(),
                         nn.Dropout(0.5), nn.Linear(256, num_classes))


@torch.no_grad()
def check_shapes():
    model = build_model()
    out = model(torch.randn(2, 3, 32, 32))
    assert out.argmax(1).shape == (2,)
"""


def test_a_model_fresh_from_a_local_factory_is_a_shape_check_not_an_evaluation():
    """review 17: as with `model = Net()` in the function, its weights are the random initial ones."""
    assert lines(SMOKE, "missing-eval-mode") == []


def test_a_factory_that_loads_weights_gives_a_trained_model():
    src = SMOKE.replace("    return nn.Sequential(", "    net = nn.Sequential(").replace(
        "nn.Linear(256, num_classes))\n", "nn.Linear(256, num_classes))\n"
        "    net.load_state_dict(torch.load('w.pt'))\n    return net\n", 1)
    assert lines(src, "missing-eval-mode") == [15]


def test_a_sequential_whose_layers_are_not_seen_is_unknown_not_free_of_dropout():
    """review 17: `nn.Sequential(*layers)` built by a factory from a list holding dropout."""
    src = """\
import torch
import torch.nn as nn


def make_mlp(sizes, p=0.5):
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU(), nn.Dropout(p)]
    return nn.Sequential(*layers)


model = make_mlp([784, 256, 10])
optimizer = torch.optim.Adam(model.parameters())
for epoch in range(10):
    for x, y in train_loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        acc = (model(x_val).argmax(1) == y_val).float().mean()
"""
    assert lines(src, "eval-mode-not-restored") == [19]
    # named layers all seen and free of dropout / batch norm: the modes are the same
    seen = src.replace("    return nn.Sequential(*layers)\n",
                       "    return nn.Sequential(OrderedDict([('fc', nn.Linear(sizes[0], sizes[-1])), ('act', nn.ReLU())]))\n")
    assert lines(seen, "eval-mode-not-restored") == []


def test_batch_norm_built_by_a_helper_function_of_the_file_counts():
    """review 17: MobileNet's `conv_bn()` helper; the class body only names BatchNorm2d in an
    isinstance test of its weight init."""
    src = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(inp, oup, stride):
    return nn.Sequential(nn.Conv2d(inp, oup, 3, stride, 1, bias=False), nn.BatchNorm2d(oup), nn.ReLU6(inplace=True))


class MobileNet(nn.Module):
    def __init__(self, n_class=10):
        super().__init__()
        self.features = nn.Sequential(conv_bn(3, 32, 2), conv_bn(32, 64, 2))
        self.classifier = nn.Linear(64, n_class)

    def forward(self, x):
        return self.classifier(self.features(x).mean([2, 3]))

    def _initialize_weights(self):
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1)


net = MobileNet()
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
    assert lines(src, "eval-mode-not-restored") == [32]


def test_a_sequential_of_layers_built_by_helper_functions_is_followed_into_them():
    """Packt's Cats_Vs_Dogs: `get_model()` stacks `conv_layer(...)` blocks, each an
    nn.Sequential with BatchNorm2d, and accuracy() runs under no_grad in training mode."""
    src = """\
import torch
import torch.nn as nn


def conv_layer(ni, no, kernel_size, stride=1):
    return nn.Sequential(nn.Conv2d(ni, no, kernel_size, stride), nn.ReLU(), nn.BatchNorm2d(no))


def get_model():
    model = nn.Sequential(conv_layer(3, 64, 3), conv_layer(64, 512, 3), nn.Flatten(), nn.Linear(512, 1))
    return model, nn.BCEWithLogitsLoss(), torch.optim.Adam(model.parameters(), lr=1e-3)


def train_batch(x, y, model, opt, loss_fn):
    loss_fn(model(x), y).backward()
    opt.step()
    opt.zero_grad()


@torch.no_grad()
def accuracy(x, y, model):
    return ((model(x) > 0) == y).tolist()


model, loss_fn, optimizer = get_model()
for epoch in range(5):
    for x, y in trn_dl:
        train_batch(x, y, model, optimizer, loss_fn)
    for x, y in val_dl:
        val_is_correct = accuracy(x, y, model)
"""
    assert lines(src, "missing-eval-mode") == [22]
    # the same blocks without batch norm: nothing for eval() to change
    assert lines(src.replace("nn.BatchNorm2d(no)", "nn.MaxPool2d(2)"), "missing-eval-mode") == []


def test_a_helper_defined_under_different_conditions_switches_nothing_known():
    """Which `validate` runs is not known, so neither is its mode switch: unknown, not the
    last definition's."""
    src = """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(10, 2), nn.Dropout(0.5))
optimizer = torch.optim.Adam(model.parameters())

if quick:
    def validate(model):
        pass
else:
    def validate(model):
        model.eval()

for epoch in range(5):
    for x, y in trn_dl:
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        optimizer.zero_grad()
    validate(model)
"""
    assert lines(src, "eval-mode-not-restored") == []
    # with one definition, the switch is known and not undone
    one = src.replace("if quick:\n    def validate(model):\n        pass\nelse:\n", "if True:\n")
    assert lines(one, "eval-mode-not-restored") == [16]

