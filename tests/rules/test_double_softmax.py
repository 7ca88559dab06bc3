"""double-softmax: softmax probabilities fed to a loss that applies log-softmax itself."""
import pytest

from conftest import apply_fix, findings, lines, notebook, parses, two_files

RULE = "double-softmax"

BUGGY = [
    ("functional_then_cross_entropy", """\
import torch.nn.functional as F

def step(model, x, y):
    logits = model(x)
    probs = F.softmax(logits, dim=1)
    return F.cross_entropy(probs, y)
""", [5]),
    ("inline_torch_softmax_criterion", """\
import torch
import torch.nn as nn

criterion = nn.CrossEntropyLoss()
for x, y in loader:
    out = model(x)
    loss = criterion(torch.softmax(out, dim=-1), y)
""", [7]),
    ("tensor_method_softmax", """\
import torch.nn as nn

criterion = nn.CrossEntropyLoss()
out = net(x).softmax(dim=1)
loss = criterion(out, y)
""", [4]),
    ("sequential_softmax_layer", """\
import torch.nn as nn

model = nn.Sequential(
    nn.Linear(784, 128),
    nn.ReLU(),
    nn.Linear(128, 10),
    nn.Softmax(dim=1),
)
criterion = nn.CrossEntropyLoss()
loss = criterion(model(x), y)
""", [7]),
    ("sequential_softmax_before_dropout", """\
from torch import nn

model = nn.Sequential(nn.Linear(20, 5), nn.Softmax(dim=1), nn.Flatten())
loss = nn.functional.cross_entropy(model(x), y)
""", [3]),
    ("inline_loss_object", """\
import torch.nn as nn
import torch.nn.functional as F

loss = nn.CrossEntropyLoss()(F.softmax(scores, dim=1), target)
""", [4]),
    ("class_forward_ends_in_softmax", """\
import torch
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return F.softmax(x, dim=1)

model = Net().to("cpu")
criterion = nn.CrossEntropyLoss()
for x, y in loader:
    loss = criterion(model(x), y)
""", [14]),
    ("class_softmax_then_reshape", """\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.fc(x)
        x = F.softmax(x, dim=1)
        x = x.view(x.size(0), -1)
        return x

net = Net()
loss = F.cross_entropy(net(x), y)
""", [11]),
    ("class_softmax_layer_attribute", """\
import torch.nn as nn

class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(32, 4)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        return self.softmax(self.fc(x))

model = Classifier()
out = model(x)
loss = nn.CrossEntropyLoss()(out, y)
""", [10]),
    ("model_and_criterion_passed_to_train", """\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 10)

    def forward(self, x):
        return F.softmax(self.fc(x), dim=1)

def train(model, loader, optimizer, criterion):
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()

net = Net()
train(net, loader, opt, nn.CrossEntropyLoss())
""", [10]),
    ("keras_softmax_from_logits", """\
import keras
from keras import layers

model = keras.Sequential([
    layers.Dense(64, activation="relu"),
    layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam",
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
""", [6]),
    ("tf_keras_softmax_from_logits", """\
import tensorflow as tf

model = tf.keras.Sequential([
    tf.keras.layers.Flatten(input_shape=(28, 28)),
    tf.keras.layers.Dense(128, activation='relu'),
    tf.keras.layers.Dense(10, activation='softmax'),
])
loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
model.compile(optimizer='adam', loss=loss_fn, metrics=['accuracy'])
""", [6]),
    ("from_tf_keras_import_layers_softmax_layer", """\
from tensorflow import keras
from tensorflow.keras import layers

inputs = keras.Input(shape=(32,))
x = layers.Dense(64, activation="relu")(inputs)
x = layers.Dense(3)(x)
outputs = layers.Softmax()(x)
model = keras.Model(inputs, outputs)
model.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True))
""", [7]),
]

CORRECT = [
    ("logits_to_cross_entropy", """\
import torch.nn as nn

criterion = nn.CrossEntropyLoss()
logits = model(x)
loss = criterion(logits, y)
probs = logits.softmax(dim=1)
""",),
    ("log_softmax_before_cross_entropy", """\
import torch.nn.functional as F

log_probs = F.log_softmax(model(x), dim=1)
loss = F.cross_entropy(log_probs, y)
""",),
    ("softmax_for_categorical", """\
import torch
import torch.nn.functional as F

logits = policy(state)
probs = F.softmax(logits, dim=-1)
dist = torch.distributions.Categorical(probs=probs)
action = dist.sample()
""",),
    ("softmax_for_multinomial", """\
import torch

probs = torch.softmax(logits / temperature, dim=-1)
next_token = torch.multinomial(probs, num_samples=1)
""",),
    ("softmax_only_for_prediction", """\
import torch
import torch.nn as nn
import torch.nn.functional as F

criterion = nn.CrossEntropyLoss()
out = model(x)
loss = criterion(out, y)
probs = F.softmax(out, dim=1)
pred = probs.argmax(dim=1)
print(probs[0])

def predict(model, x):
    with torch.no_grad():
        return F.softmax(model(x), dim=1)
""",),
    ("softmax_targets_distillation", """\
import torch.nn.functional as F

soft_targets = F.softmax(teacher_logits / T, dim=1)
loss = F.cross_entropy(student_logits, soft_targets)
""",),
    ("softmax_reassigned_before_loss", """\
import torch.nn.functional as F

out = F.softmax(model(x), dim=1)
confidence = out.max(1)
out = model(x)
loss = F.cross_entropy(out, y)
""",),
    ("nll_after_log_softmax_model", """\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def forward(self, x):
        return F.log_softmax(self.fc(x), dim=1)

loss = F.nll_loss(Net()(x), y)
""",),
    ("helper_called_with_different_models", """\
import torch.nn as nn
import torch.nn.functional as F

probs_model = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))
logits_model = nn.Sequential(nn.Linear(4, 3))

def step(model, x, y):
    return F.cross_entropy(model(x), y)

step(probs_model.eval(), x, y)
step(logits_model, x, y)
""",),
    ("keras_softmax_plain_categorical_crossentropy", """\
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([
    layers.Dense(64, activation="relu"),
    layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
""",),
    ("keras_logits_from_logits", """\
import keras

model = keras.Sequential([keras.layers.Dense(10)])
model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
""",),
    ("unknown_model_output", """\
import torch.nn as nn
import torchvision

model = torchvision.models.resnet18(num_classes=10)
loss = nn.CrossEntropyLoss()(model(x), y)
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


MODELS = """\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 10)

    def forward(self, x):
        return F.softmax(self.fc(x), dim=1)
"""

TRAIN = """\
import torch.nn as nn
from models import Net

model = Net()
criterion = nn.CrossEntropyLoss()
for x, y in loader:
    output = model(x)
    loss = criterion(output, y)
"""


def test_across_files():
    found = two_files(MODELS, TRAIN, RULE)
    assert [f.location.line + 1 for f in found] == [8]
    class_site = found[0].related[-1].location
    assert (class_site.path, class_site.line + 1) == ("models.py", 10)


def test_across_files_logits_model_is_silent():
    models = MODELS.replace("F.softmax(self.fc(x), dim=1)", "self.fc(x)")
    assert two_files(models, TRAIN, RULE) == []


def test_across_notebook_cells():
    found = notebook([
        "import torch.nn.functional as F\nlogits = model(x)\nprobs = F.softmax(logits, dim=1)\n",
        "loss = F.cross_entropy(probs, y)\nloss.backward()\n",
    ], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(0, 2)]


FIXABLE = [
    """\
import torch.nn.functional as F

loss = F.cross_entropy(F.softmax(out, dim=1), y)
""",
    """\
import torch.nn as nn

criterion = nn.CrossEntropyLoss()
loss = criterion(out.softmax(dim=1), y)
""",
]


@pytest.mark.parametrize("src", FIXABLE)
def test_fix_drops_the_softmax(src):
    (finding,) = findings(src, RULE)
    fixed = apply_fix(src, finding)
    assert parses(fixed)
    assert "softmax" not in fixed
    assert lines(fixed, RULE) == []


@pytest.mark.parametrize("star", ["from fastai.vision.all import *", "from torch_snippets import *"])
def test_torch_names_from_a_star_import_of_a_library_that_reexports_them(star):
    src = star + "\n\nmodel = nn.Sequential(nn.Linear(10, 3), nn.Softmax(dim=1))\nloss = nn.CrossEntropyLoss()(model(x), y)\n"
    assert lines(src, RULE) == [3]
    assert lines("from mylib import *\n\nmodel = nn.Sequential(nn.Linear(10, 3), nn.Softmax(dim=1))\n"
                 "loss = nn.CrossEntropyLoss()(model(x), y)\n", RULE) == []


# Sweep 18 (PyTorch-GAN's acgan, sgan, infogan): forward() returns a tuple and one slot, a
# class head ending in softmax, is unpacked and fed to CrossEntropyLoss.
_TWO_HEADS = """\
import torch
import torch.nn as nn


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.adv = nn.Sequential(nn.Linear(128, 1), nn.Sigmoid())
        self.aux = nn.Sequential(nn.Linear(128, 10), {head})

    def forward(self, x):
        validity = self.adv(x)
        label = self.aux(x)
        {ret}


d = Discriminator()
criterion = nn.CrossEntropyLoss()
{use}
"""


@pytest.mark.parametrize("head,ret,use,expected", [
    ("nn.Softmax(dim=1)", "return validity, label", "v, p = d(x)\nloss = criterion(p, y)\n", [9]),
    ("nn.Softmax(dim=1)", "return (validity, label)", "v, p = d(x)\nloss = criterion(p, y)\n", [9]),
    # the other slot goes to the loss: no softmax there
    ("nn.Softmax(dim=1)", "return validity, label", "v, p = d(x)\nloss = criterion(v, y)\n", []),
    ("nn.Identity()", "return validity, label", "v, p = d(x)\nloss = criterion(p, y)\n", []),
    # slots unpacked into a different number of names: which is which is unknown
    ("nn.Softmax(dim=1)", "return validity, label, x", "v, p = d(x)[:2]\nloss = criterion(p, y)\n", []),
    # two returns that disagree on the slot
    ("nn.Softmax(dim=1)", "if x is None:\n            return validity, validity\n        return validity, label",
     "v, p = d(x)\nloss = criterion(p, y)\n", []),
])
def test_a_slot_of_a_tuple_returned_by_forward(head, ret, use, expected):
    src = _TWO_HEADS.format(head=head, ret=ret, use=use)
    assert lines(src, RULE) == expected


# joosthub/PyTorchNLPBook: forward() applies softmax only when the caller asks for it; the
# training loop takes the default (logits), prediction passes apply_softmax=True.
_FLAGGED = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


class SurnameClassifier(nn.Module):
    def __init__(self, input_dim, hidden_dim, output_dim):
        super().__init__()
        self.fc1 = nn.Linear(input_dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, output_dim)

    def forward(self, x_in, apply_softmax=False):
        prediction_vector = self.fc2(F.relu(self.fc1(x_in)))
        if apply_softmax:
            prediction_vector = F.softmax(prediction_vector, dim=1)
        return prediction_vector


classifier = SurnameClassifier(80, 300, 18)
loss_func = nn.CrossEntropyLoss()
"""


@pytest.mark.parametrize("use,expected", [
    ("loss = loss_func(classifier(x), y)\nprobs = classifier(x, apply_softmax=True)\n", []),
    ("y_pred = classifier(x_in=x)\nloss = loss_func(y_pred, y)\n", []),
    ("loss = loss_func(classifier(x, False), y)\n", []),
    # the caller asks for the softmax and feeds it to the loss
    ("loss = loss_func(classifier(x, apply_softmax=True), y)\n", [15]),
    ("y_pred = classifier(x, True)\nloss = loss_func(y_pred, y)\n", [15]),
])
def test_softmax_behind_a_flag_of_forward(use, expected):
    assert lines(_FLAGGED + use, RULE) == expected


def test_an_early_return_behind_the_flag():
    src = _FLAGGED.replace(
        "        if apply_softmax:\n            prediction_vector = F.softmax(prediction_vector, dim=1)\n"
        "        return prediction_vector\n",
        "        if apply_softmax:\n            return F.softmax(prediction_vector, dim=1)\n"
        "        return prediction_vector\n")
    assert lines(src + "loss = loss_func(classifier(x), y)\n", RULE) == []
    assert lines(src + "loss = loss_func(classifier(x, apply_softmax=True), y)\n", RULE) == [15]


# Sweep 19 (fixes applied to real code): the quick fix that removes a softmax from forward()
# changes every caller's output, so it is offered only when every use of the model's output in
# the file is the loss or a class choice.
_IN_FORWARD = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        return self.softmax(self.fc(x))


net = Net().to(device)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(net.parameters())
for x, y in loader:
    optimizer.zero_grad()
    out = net(x)
    loss = criterion(out, y)
    loss.backward()
    optimizer.step()
net.eval()
"""


@pytest.mark.parametrize("after,fixable", [
    ("", True),
    ("pred = net(x_test).argmax(dim=1)\n", True),
    ("_, predicted = torch.max(net(x_test).data, 1)\n", True),
    ("probs = net(x_test)\npred = probs.argmax(1)\n", True),
    # probabilities read: printed, written out, thresholded; or the model handed on
    ("probs = net(x_test)\nprint(probs)\n", False),
    ("submission[cols] = net(x_test).numpy()\n", False),
    ("conf, pred = net(x_test).max(1)\n", False),
    ("evaluate(net, test_loader)\n", False),
])
def test_fix_in_forward_only_when_no_caller_reads_probabilities(after, fixable):
    src = _IN_FORWARD + after
    (finding,) = findings(src, RULE)
    assert (finding.fix is not None) == fixable
    if fixable:
        fixed = apply_fix(src, finding)
        assert "return self.fc(x)\n" in fixed   # the layer's argument, never `self`
        assert parses(fixed) and lines(fixed, RULE) == []


def test_a_model_built_elsewhere_gets_no_fix_in_its_forward():
    src = _IN_FORWARD.replace("net = Net().to(device)\n", "net = build(Net)\n")
    src = src.replace("    out = net(x)\n", "    out = Net()(x)\n")
    (finding,) = findings(src, RULE)
    assert finding.fix is None


# Sweep 19 (AnubhavGupta3377's CharCNN): the softmax ends a Sequential nested in another, or one
# first bound to a local name; and a model bound with its loss in one tuple assignment.
@pytest.mark.parametrize("init", [
    "        linear1 = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Dropout(0.5))\n"
    "        linear3 = nn.Sequential(nn.Linear(8, 4), nn.Softmax(dim=1))\n"
    "        self.layers = nn.Sequential(linear1, linear3)\n",
    "        self.layers = nn.Sequential(nn.Sequential(nn.Linear(10, 8), nn.ReLU()),\n"
    "                                    nn.Sequential(nn.Linear(8, 4), nn.Softmax(dim=1), nn.Dropout(0.1)))\n",
    "        head = nn.Sequential(nn.Linear(8, 4), nn.Softmax(dim=1))\n"
    "        self.layers = head\n",
])
def test_softmax_at_the_end_of_nested_or_named_sequentials(init):
    src = ("import torch\nfrom torch import nn\n\n\nclass CharCNN(nn.Module):\n    def __init__(self):\n"
           "        super().__init__()\n" + init +
           "\n    def forward(self, x):\n        return self.layers(x)\n\n\n"
           "criterion = nn.CrossEntropyLoss()\nloss = criterion(CharCNN()(x), y)\n")
    assert len(lines(src, RULE)) == 1


def test_a_softmax_in_the_middle_of_nested_sequentials_is_silent():
    src = ("import torch\nfrom torch import nn\n\n"
           "model = nn.Sequential(nn.Sequential(nn.Linear(10, 8), nn.Softmax(dim=1)), nn.Linear(8, 4))\n"
           "loss = nn.CrossEntropyLoss()(model(x), y)\n")
    assert lines(src, RULE) == []


def test_model_and_loss_bound_in_one_tuple_assignment():
    src = ("import torch\nfrom torch import nn\n\n"
           "model, criterion = nn.Sequential(nn.Linear(8, 4), nn.Softmax(dim=1)), nn.CrossEntropyLoss()\n"
           "loss = criterion(model(x), y)\n")
    assert lines(src, RULE) == [4]
    # an unpack of a call's result is not followed element by element
    called = src.replace("model, criterion = nn.Sequential(nn.Linear(8, 4), nn.Softmax(dim=1)), nn.CrossEntropyLoss()",
                         "model, criterion = build()")
    assert lines(called, RULE) == []


# Review of the fix-safety check (sweep 19): a tensor method on a layer's output, a subclass
# that inherits forward(), a log of the output fed to NLLLoss, a read before the rebinding.
def test_fix_of_a_tensor_softmax_on_a_layer_output_keeps_the_layer_call():
    src = _IN_FORWARD.replace("        return self.softmax(self.fc(x))\n", "        return self.fc(x).softmax(1)\n")
    (finding,) = findings(src, RULE)
    fixed = apply_fix(src, finding)
    assert "        return self.fc(x)\n" in fixed and parses(fixed)


@pytest.mark.parametrize("after", [
    "class Deep(Net):\n    pass\n\n\ndeep = Deep()\nprobs = deep(x_test)\nprint(probs)\n",
    "nll = F.nll_loss(net(x_test).log(), y_test)\n",
])
def test_no_fix_when_another_reader_needs_the_probabilities(after):
    (finding,) = findings(_IN_FORWARD + after, RULE)
    assert finding.fix is None


def test_no_fix_when_the_loop_reads_the_previous_pass_output():
    src = _IN_FORWARD.replace("    optimizer.zero_grad()\n    out = net(x)\n",
                              "    optimizer.zero_grad()\n    print(out)\n    out = net(x)\n")
    (finding,) = findings(src, RULE)
    assert finding.fix is None


@pytest.mark.parametrize("src", ["""import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 3)
        self.softmax = nn.Sequential(nn.Dropout(0.1), nn.Softmax(dim=1))

    def forward(self, x):
        return self.softmax(self.fc(x))

model = Net()
criterion = nn.CrossEntropyLoss()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    opt.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    opt.step()
""", """import torch
import torch.nn as nn

class StableSoftmax(nn.Module):
    def forward(self, x):
        return torch.softmax(x - x.max(1, keepdim=True).values, dim=1)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 3)
        self.softmax = StableSoftmax()

    def forward(self, x):
        return self.softmax(self.fc(x))

model = Net()
criterion = nn.CrossEntropyLoss()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    opt.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    opt.step()
""", """import torch
import torch.nn as nn

import functools
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 3)
        self.softmax = functools.partial(torch.softmax, dim=1)

    def forward(self, x):
        return self.softmax(self.fc(x))

model = Net()
criterion = nn.CrossEntropyLoss()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    opt.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    opt.step()
"""],
                         ids=["sequential_ending_in_softmax", "class_of_the_file", "functools_partial"])
def test_an_attribute_named_softmax_holding_more_than_a_layer(src):
    """Review of sweep 20: `self.softmax` holding a Sequential, a class of the file or a partial
    of torch.softmax is still read (only a plain activation layer decides by its class)."""
    assert len(lines(src, RULE)) == 1


_REPLACED_HEAD = """\
import timm
import torch
from torch.nn import CrossEntropyLoss


class Net(torch.nn.Module):
    def __init__(self, out_features=10):
        super().__init__()
        self.vit = timm.create_model("vit_small_patch16_224", pretrained=True)
        n = self.vit.get_classifier().in_features
        self.vit.{head} = torch.nn.Sequential(
            torch.nn.Linear(n, out_features),
            {last}
        )

    def forward(self, x):
        return self.vit(x)


model = Net()
ce_loss = CrossEntropyLoss()
for x, y in train_loader:
    loss = ce_loss(model(x), y)
"""


@pytest.mark.parametrize("head", ["head", "fc", "classifier"])
def test_a_pretrained_backbones_head_replaced_by_one_ending_in_softmax(head):
    """wuhanstudio's timm tutorial (sweep 21a): the ViT's head becomes Linear + Softmax, and the
    wrapper's output goes to CrossEntropyLoss."""
    assert lines(_REPLACED_HEAD.format(head=head, last="torch.nn.Softmax(dim=1),"), RULE) == [13]


@pytest.mark.parametrize("head,last", [("head", "torch.nn.Dropout(0.1),"),     # logits
                                       ("pre_logits", "torch.nn.Softmax(dim=1),")])   # not the head
def test_a_replaced_head_without_softmax_or_another_attribute(head, last):
    assert lines(_REPLACED_HEAD.format(head=head, last=last), RULE) == []


# Precision sweeps: a softmax reshaped, transposed or indexed on its way to the loss. Shape,
# layout and indexing operations pick or rearrange the probabilities without changing them, so
# CrossEntropyLoss still gets probabilities.
_RESHAPED = """\
import torch
import torch.nn as nn
import torch.nn.functional as F

criterion = nn.CrossEntropyLoss()


def step(logits, targets, mask, n_classes):
    probs = F.softmax(logits, dim=-1)
    probs = {op}
    loss = criterion(probs, targets)
    return loss
"""


@pytest.mark.parametrize("op", [
    "probs.view(-1, n_classes)", "probs.reshape(-1, n_classes)", "probs.flatten(0, 1)",
    "probs.permute(0, 2, 1)", "probs.transpose(1, 2)", "probs.transpose(1, 2).contiguous()",
    "probs.squeeze()", "probs.squeeze(1)", "probs.unsqueeze(0)", "probs.movedim(-1, 1)",
    "probs[:, :-1]", "probs[mask]", "probs[..., 1:]", "probs[0]", "probs.T",
    "torch.flatten(probs, 0, 1)", "torch.reshape(probs, (-1, n_classes))",
    "torch.transpose(probs, 1, 2)", "torch.squeeze(probs)", "probs.masked_select(mask)",
    "probs.view(-1, n_classes)[mask]",
])
def test_a_softmax_reshaped_or_indexed_before_the_loss(op):
    src = _RESHAPED.format(op=op)
    (finding,) = findings(src, RULE)
    assert finding.location.line + 1 == 9
    fixed = apply_fix(src, finding)
    assert "    probs = logits\n" in fixed and parses(fixed)
    assert lines(fixed, RULE) == []


# Operations that compute new values are not followed: reductions, log (log-probabilities are
# right for the loss), max / argmax / topk, gather + log, and arithmetic. (A softmax masked and
# renormalised by arithmetic is still probabilities, so that one is a miss the rule accepts.)
@pytest.mark.parametrize("op", [
    "probs.sum(-1)", "probs.mean(dim=-1)", "probs.log()", "torch.log(probs).view(-1, n_classes)",
    "probs.max(-1)[0]", "probs.argmax(-1)", "probs * mask", "1 - probs",
    "torch.gather(probs, -1, targets.unsqueeze(-1)).log()", "probs.log()[mask]",
    "probs.topk(3)[0]", "probs.cumsum(-1)",
])
def test_an_operation_that_changes_the_values_is_not_followed(op):
    assert lines(_RESHAPED.format(op=op), RULE) == []


BUGGY_RESHAPED = [
    ("inline_softmax_view_into_functional_loss", """\
import torch.nn.functional as F

def sequence_loss(out, y, C):
    loss = F.cross_entropy(out.softmax(-1).view(-1, C), y.view(-1))
    return loss
""", [4]),
    ("forward_returns_softmax_view", """\
import torch.nn as nn
import torch.nn.functional as F

class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(128, 17)

    def forward(self, x):
        b = x.size(0)
        x = self.fc(x)
        return F.softmax(x, 1).view(b, -1)

model = Tagger()
criterion = nn.CrossEntropyLoss()
for x, y in loader:
    loss = criterion(model(x), y)
""", [12]),
    ("forward_softmax_then_last_step", """\
import torch
import torch.nn as nn

class RNNClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(32, 64, batch_first=True)
        self.out = nn.Linear(64, 5)

    def forward(self, x):
        h, _ = self.rnn(x)
        probs = torch.softmax(self.out(h), dim=-1)
        return probs[:, -1, :]

net = RNNClassifier()
loss_fn = nn.CrossEntropyLoss()
loss = loss_fn(net(x), y)
""", [12]),
    ("model_output_indexed_by_a_mask", """\
import torch.nn as nn

model = nn.Sequential(nn.Linear(64, 9), nn.Softmax(dim=-1))
criterion = nn.CrossEntropyLoss()
for x, y, mask in loader:
    out = model(x)
    loss = criterion(out[mask], y[mask])
""", [3]),
    ("token_classification_flattened_with_torch_functions", """\
import torch
import torch.nn.functional as F

def token_loss(logits, labels):
    probs = torch.softmax(logits, dim=2)
    probs = torch.flatten(probs, 0, 1)
    return F.cross_entropy(probs, torch.flatten(labels))
""", [5]),
    ("slot_of_a_tuple_returned_by_forward_by_index", """\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 4)

    def forward(self, x):
        h = self.fc(x)
        return F.softmax(h, dim=1), h

net = Net()
loss = nn.CrossEntropyLoss()(net(x)[0], y)
""", [11]),
]


CORRECT_RESHAPED = [
    ("logits_reshaped_before_the_loss", """\
import torch.nn as nn

criterion = nn.CrossEntropyLoss()
logits = model(x)
loss = criterion(logits.view(-1, logits.size(-1)), y.view(-1))
""",),
    ("softmax_reshaped_for_argmax_only", """\
import torch.nn.functional as F

logits = model(x)
loss = F.cross_entropy(logits.view(-1, 10), y.view(-1))
probs = F.softmax(logits, dim=-1).view(-1, 10)
acc = (probs.argmax(dim=1) == y.view(-1)).float().mean()
""",),
    ("softmax_reshaped_then_log_into_nll", """\
import torch
import torch.nn.functional as F

probs = F.softmax(logits, dim=-1)
log_probs = torch.log(probs.view(-1, 10) + 1e-8)
loss = F.nll_loss(log_probs, y.view(-1))
xent = F.cross_entropy(logits.view(-1, 10), y.view(-1))
""",),
    ("softmax_target_slot_of_the_loss", """\
import torch.nn.functional as F

soft = F.softmax(teacher(x) / T, dim=-1).view(-1, 10)
loss = F.cross_entropy(student(x).view(-1, 10), soft)
""",),
    ("logits_slot_of_a_tuple_returned_by_forward", """\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 4)

    def forward(self, x):
        h = self.fc(x)
        return F.softmax(h, dim=1), h

net = Net()
loss = nn.CrossEntropyLoss()(net(x)[1], y)
""",),
    ("dictionary_output_by_key", """\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def forward(self, x):
        return F.softmax(self.fc(x), dim=1)

out = {"probs": Net()(x), "logits": logits}
loss = nn.CrossEntropyLoss()(out["logits"], y)
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY_RESHAPED, ids=[b[0] for b in BUGGY_RESHAPED])
def test_flags_through_reshapes_and_indexing(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT_RESHAPED, ids=[c[0] for c in CORRECT_RESHAPED])
def test_silent_through_reshapes_and_indexing(name, src):
    assert lines(src, RULE) == []


def test_fix_of_a_forward_ending_in_softmax_then_view():
    (finding,) = findings(BUGGY_RESHAPED[1][1], RULE)
    fixed = apply_fix(BUGGY_RESHAPED[1][1], finding)
    assert "        return x.view(b, -1)\n" in fixed and parses(fixed)


def test_across_files_through_a_reshape_and_a_mask():
    train = TRAIN.replace("    loss = criterion(output, y)\n",
                          "    loss = criterion(torch.flatten(output, 0, 1)[mask], y)\n")
    found = two_files(MODELS, "import torch\n" + train, RULE)
    assert [f.location.line + 1 for f in found] == [9]
    assert found[0].related[-1].location.path == "models.py"


@pytest.mark.parametrize("attr", ["expand", "view", "flatten", "select"])
def test_a_layer_attribute_named_like_a_tensor_method(attr):
    # `self.view(x)` calls the module held in `self.view`, not Tensor.view: its layers decide
    src = f"""\
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.{attr} = nn.Sequential(nn.Linear(4, 4), nn.Softmax(dim=1))

    def forward(self, x):
        return self.{attr}(self.fc(x))

net = Net()
loss = nn.CrossEntropyLoss()(net(x), y)
"""
    assert lines(src, RULE) == [7]


# The quick fix removes the softmax where it is applied: only when nothing but the loss (or a
# class choice) reads its value. Probabilities kept in a name that a metric or a print also
# reads must stay probabilities there.
_BOUND = """\
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score

criterion = nn.CrossEntropyLoss()


def step(model, x, y):
    logits = model(x)
    probs = F.softmax(logits, dim=1)
    loss = criterion({loss_input}, y)
    {other}
    return loss
"""


@pytest.mark.parametrize("loss_input,other,fixed", [
    ("probs", "pred = probs.argmax(dim=1)", True),
    ("probs.view(-1, 10)", "pred = torch.argmax(probs, 1)", True),
    ("probs[:, :10]", "pass", True),
    ("probs", "auc = roc_auc_score(y, probs[:, 1].detach())", False),
    ("probs.view(-1, 10)", "print(probs.max(dim=1).values)", False),
    ("probs", "history.append(probs)", False),
])
def test_the_fix_only_where_nothing_else_reads_the_probabilities(loss_input, other, fixed):
    src = _BOUND.format(loss_input=loss_input, other=other)
    found = findings(src, "double-softmax")
    assert len(found) == 1
    assert (found[0].fix is not None) == fixed
    if fixed:
        assert "probs = logits\n" in apply_fix(src, found[0])

