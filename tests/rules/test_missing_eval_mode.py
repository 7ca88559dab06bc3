"""missing-eval-mode: evaluation under no_grad while dropout / batch norm are in training mode."""
import pytest

from conftest import apply_fix, findings, lines, notebook, parses, two_files

RULE = "missing-eval-mode"

NET = """\
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.dropout = nn.Dropout(0.5)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        return self.fc2(self.dropout(torch.relu(self.fc1(x))))

"""  # 13 lines: snippets below continue at line 14

BUGGY = [
    ("eval_after_training_without_eval", NET + """\
model = Net()
for x, y in train_loader:
    optimizer.zero_grad()
    criterion(model(x), y).backward()
    optimizer.step()
with torch.no_grad():
    for x, y in test_loader:
        pred = model(x).argmax(1)
""", [21]),
    ("test_function_without_eval", NET + """\
def test(model, loader):
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
    return correct

model = Net()
test(model, test_loader)
""", [18]),
    ("loaded_checkpoint_inference", NET + """\
model = Net()
model.load_state_dict(torch.load("net.pt"))
with torch.inference_mode():
    logits = model(batch)
""", [17]),
    ("sequential_with_batchnorm", """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(20, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 2))
with torch.no_grad():
    out = model(x_val)
""", [6]),
    ("torchvision_model", """\
import torch
import torchvision

model = torchvision.models.resnet18(weights="DEFAULT")
with torch.no_grad():
    out = model(images)
""", [6]),
    ("no_grad_decorated_predict", NET + """\
model = Net()

@torch.no_grad()
def predict(model, x):
    return model(x).argmax(1)

predict(model, x)
""", [18]),
    ("validation_each_epoch_without_eval", NET + """\
model = Net()
for epoch in range(10):
    for x, y in train_loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    with torch.no_grad():
        val_acc = (model(x_val).argmax(1) == y_val).float().mean()
""", [21]),
    ("dropout_inside_a_local_block", """\
import torch
import torch.nn as nn

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        return self.drop(torch.relu(self.fc(x)))

class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Linear(64, 2)

    def forward(self, x):
        return self.head(self.block(x))

model = Model()
with torch.no_grad():
    out = model(x)
""", [24]),
    ("pretrained_backbone_attribute", """\
import torch
import torch.nn as nn
import torchvision

class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = torchvision.models.resnet50(weights="DEFAULT")
        self.head = nn.Linear(1000, 3)

    def forward(self, x):
        return self.head(self.backbone(x))

clf = Classifier()
with torch.no_grad():
    scores = clf(images)
""", [16]),
    ("train_helper_then_eval_without_eval", NET + """\
def train(model):
    model.train()
    for x, y in loader:
        loss_fn(model(x), y).backward()

def evaluate(model):
    with torch.no_grad():
        return model(x_val)

model = Net()
for epoch in range(3):
    train(model)
    evaluate(model)
""", [21]),
    # The same place for a classifier: its validation in the epoch loop is in training mode.
    ("classifier_validated_at_the_end_of_each_epoch", """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(8, 32), nn.Dropout(0.5), nn.Linear(32, 2))
opt = torch.optim.Adam(model.parameters())
for epoch in range(5):
    for x, y in train_loader:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    with torch.no_grad():
        val_out = model(x_val)
    print((val_out.argmax(1) == y_val).float().mean())
""", [12]),
]

CORRECT = [
    # ML2022 HW06 (sweep 20): the generator makes fakes under no_grad for the discriminator's
    # step, which backpropagates right after in the same call.
    ("gan_fakes_for_the_discriminator_step", """\
import torch
import torch.nn as nn

class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(100, 64), nn.BatchNorm1d(64), nn.ReLU())
    def forward(self, z):
        return self.net(z)

def discriminator_step(discriminator, generator, real, opt, loss_fn):
    with torch.no_grad():
        fake = generator(torch.randn(64, 100))
    loss = loss_fn(discriminator(real), discriminator(fake))
    discriminator.zero_grad()
    loss.backward()
    opt.step()

generator = Generator()
for epoch in range(10):
    for real in loader:
        discriminator_step(discriminator, generator, real, opt_d, loss_fn)
"""),
    # DTU 02456 (sweep 20): a GAN preview at the end of each epoch, the generator in train mode.
    ("gan_preview_at_the_end_of_each_epoch", """\
import torch
import torch.nn as nn

generator = nn.Sequential(nn.Linear(8, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 4))
g_opt = torch.optim.Adam(generator.parameters())
for epoch in range(5):
    for x in train_loader:
        generator.zero_grad()
        err = loss(discriminator(generator(torch.randn(16, 8))), ones)
        err.backward()
        g_opt.step()
    with torch.no_grad():
        x_fake = generator(torch.randn(64, 8))
    print(x_fake.mean())
"""),
    ("dropout_only_mentioned_in_a_comment", """\
import torch
import torch.nn as nn


class Plain(nn.Module):
    def __init__(self):
        super().__init__()
        # no Dropout or BatchNorm here: train and eval mode compute the same thing
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)


model = Plain()
with torch.no_grad():
    out = model(x)
"""),
    ("eval_then_no_grad", NET + """\
model = Net()
model.eval()
with torch.no_grad():
    out = model(x)
""",),
    ("train_false_counts_as_eval", NET + """\
model = Net()
model.train(False)
with torch.no_grad():
    out = model(x)
""",),
    ("train_mode_false_keyword", NET + """\
model = Net()
model.train(mode=False)
with torch.no_grad():
    out = model(x)
""",),
    ("train_with_a_flag_is_unknown", NET + """\
model = Net()
model.train(is_training)
with torch.no_grad():
    out = model(x)
""",),
    ("eval_in_constructor_chain", NET + """\
model = Net().to("cpu").eval()
with torch.no_grad():
    out = model(x)
""",),
    ("validate_helper_switches_modes", NET + """\
def validate(model, loader):
    model.eval()
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
    model.train()

model = Net()
for epoch in range(5):
    model.train()
    for x, y in train_loader:
        criterion(model(x), y).backward()
    validate(model, val_loader)
""",),
    ("helper_sets_eval_then_caller_evaluates", NET + """\
def prepare(model):
    model.eval()

model = Net()
prepare(model)
with torch.no_grad():
    out = model(x)
""",),
    ("no_dropout_no_batchnorm", """\
import torch
import torch.nn as nn

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 32)
        self.fc2 = nn.Linear(32, 2)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))

model = MLP()
with torch.no_grad():
    out = model(x)
""",),
    ("plain_sequential_without_dropout", """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 2))
with torch.no_grad():
    out = model(x_val)
""",),
    ("global_model_set_to_eval_before_function", NET + """\
model = Net()
model.eval()

def predict(x):
    with torch.no_grad():
        return model(x)
""",),
    ("unknown_model", """\
import torch

model = load_model("ckpt.pt")
with torch.no_grad():
    out = model(x)
""",),
    ("gan_samples_inside_training_step", """\
import torch
import torch.nn as nn

netG = nn.Sequential(nn.ConvTranspose2d(100, 64, 4), nn.BatchNorm2d(64), nn.ReLU(), nn.ConvTranspose2d(64, 3, 4))
for epoch in range(5):
    for i, real in enumerate(loader):
        netG.zero_grad()
        errG = criterion(netD(netG(noise)), ones)
        errG.backward()
        optimizerG.step()
        if i % 500 == 0:
            with torch.no_grad():
                samples = netG(fixed_noise).detach().cpu()
""",),
    ("no_grad_in_training_for_targets", NET + """\
target_net = Net()
target_net.eval()
policy = Net()
for s, a, r, s2 in buffer:
    with torch.no_grad():
        target = r + 0.99 * target_net(s2).max(1).values
""",),
    # Atcold/NYU-DLSP20 13-bayesian_nn: dropout switched on by an explicit train() right before
    # sampling under no_grad, with no training in between (Monte Carlo dropout).
    ("mc_dropout_explicit_train_then_sampling", NET + """\
net = Net()
net.train()
y_hat = list()
with torch.no_grad():
    for t in range(100):
        y_hat.append(net(xx))
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


TRAIN = """\
import torch
from models import Net

model = Net()
for x, y in loader:
    optimizer.zero_grad()
    loss_fn(model(x), y).backward()
    optimizer.step()
with torch.no_grad():
    acc = (model(x_val).argmax(1) == y_val).float().mean()
"""


def test_across_files():
    assert [f.location.line + 1 for f in two_files(NET, TRAIN, RULE)] == [10]


def test_across_files_model_without_dropout_is_silent():
    models = NET.replace("self.dropout(torch.relu(self.fc1(x)))", "torch.relu(self.fc1(x))") \
                .replace("        self.dropout = nn.Dropout(0.5)\n", "")
    assert two_files(models, TRAIN, RULE) == []


def test_across_notebook_cells():
    found = notebook([
        NET,
        "model = Net()\nfor x, y in loader:\n    loss_fn(model(x), y).backward()\n",
        "with torch.no_grad():\n    preds = model(x_test)\n",
    ], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(2, 1)]


@pytest.mark.parametrize("src", [BUGGY[0][1], BUGGY[4][1]])
def test_fix_inserts_eval(src):
    (finding,) = findings(src, RULE)
    fixed = apply_fix(src, finding)
    assert parses(fixed) and "model.eval()\nwith torch.no_grad():" in fixed
    assert lines(fixed, RULE) == []


def test_notebook_class_redefined_with_dropout_later_is_unknown():
    # Udacity-style notebook: the class gets dropout in a later cell; which definition the
    # evaluation cell saw depends on execution order, so the rule stays silent.
    plain = ("import torch\nfrom torch import nn\n\nclass Classifier(nn.Module):\n"
             "    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(784, 10)\n\n"
             "    def forward(self, x):\n        return self.fc(x)\n")
    evaluate = ("model = Classifier()\nfor x, y in loader:\n    loss_fn(model(x), y).backward()\n"
                "with torch.no_grad():\n    out = model(x_test)\n")
    dropout = plain.replace("self.fc = nn.Linear(784, 10)", "self.fc = nn.Linear(784, 10)\n        self.drop = nn.Dropout(0.2)") \
                   .replace("return self.fc(x)", "return self.fc(self.drop(x))")
    assert notebook([plain, evaluate, dropout], RULE) == []
    assert [(f.location.cell, f.location.cell_line) for f in notebook([dropout, evaluate], RULE)] == [(1, 4)]


# Look-alikes of the silent cases above that must still be reported.
STILL_FLAGGED = [
    ("train_then_imported_fit_then_no_grad", NET + """\
from helpers import fit

model = Net()
model.train()
fit(model, train_loader, epochs=3)
with torch.no_grad():
    pred = model(x_val)
""", [20]),
    ("train_then_training_helper_then_no_grad", NET + """\
def train_epoch(model, loader, opt):
    for x, y in loader:
        opt.zero_grad()
        criterion(model(x), y).backward()
        opt.step()

model = Net()
model.train()
train_epoch(model, train_loader, optimizer)
with torch.no_grad():
    pred = model(x_val)
""", [24]),
    ("train_then_training_loop_then_no_grad", NET + """\
model = Net()
model.train()
for x, y in train_loader:
    optimizer.zero_grad()
    criterion(model(x), y).backward()
    optimizer.step()
with torch.no_grad():
    pred = model(x_val)
""", [21]),
]


@pytest.mark.parametrize("name,src,expected", STILL_FLAGGED, ids=[b[0] for b in STILL_FLAGGED])
def test_still_flags(name, src, expected):
    assert lines(src, RULE) == expected


# -- evaluation with neither eval() nor no_grad ---------------------------------------------------
# NET (13 lines) comes first in each snippet: the snippet's own lines start at 14.
EVAL_BUGGY = [
    ("accuracy_helper_called_after_training", NET + """\
def compute_accuracy(model, data_loader):
    correct = 0
    for x, y in data_loader:
        correct += (model(x).argmax(1) == y).sum().item()
    return correct

model = Net()
for epoch in range(10):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    print(compute_accuracy(model, valid_loader))
""", [17]),
    ("test_loop_after_training", NET + """\
model = Net()
for x, y in train_loader:
    optimizer.zero_grad()
    loss_fn(model(x), y).backward()
    optimizer.step()

correct = 0
for x, y in test_loader:
    correct += (model(x).argmax(1) == y).sum().item()
""", [22]),
]

EVAL_CORRECT = [
    ("eval_called_inside_the_helper", NET + """\
def evaluate(model, loader):
    model.eval()
    return sum((model(x).argmax(1) == y).sum().item() for x, y in loader)

model = Net()
for x, y in train_loader:
    loss_fn(model(x), y).backward()
print(evaluate(model, test_loader))
"""),
    ("eval_called_by_the_caller", NET + """\
def evaluate(model, loader):
    total = 0
    for x, y in loader:
        total += (model(x).argmax(1) == y).sum().item()
    return total

model = Net()
for x, y in train_loader:
    loss_fn(model(x), y).backward()
model.eval()
print(evaluate(model, test_loader))
"""),
    ("no_dropout_or_batch_norm", """\
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
for x, y in train_loader:
    loss_fn(model(x), y).backward()
for x, y in test_loader:
    preds = model(x)
"""),
    ("the_loop_trains", NET + """\
model = Net()
for x, y in val_loader:  # fine-tuning on the validation split, on purpose
    loss_fn(model(x), y).backward()
    optimizer.step()
"""),
    ("not_named_like_evaluation", NET + """\
def sample(model, noise_batches):
    return [model(z) for z in noise_batches]

def collect(model, loader):
    feats = []
    for x, _ in loader:
        feats.append(model(x))
    return feats

model = Net()
feats = collect(model, train_loader)
"""),
    ("monte_carlo_dropout_on_purpose", NET + """\
model = Net()
model.train()  # keep dropout on: Monte Carlo dropout
draws = []
for x in test_loader:
    draws.append(model(x))
"""),
    ("under_no_grad_is_the_first_check", NET + """\
import torch
model = Net()
with torch.no_grad():
    for x, y in test_loader:
        preds = model(x)
"""),
]


@pytest.mark.parametrize("name,src,expected", EVAL_BUGGY, ids=[b[0] for b in EVAL_BUGGY])
def test_flags_evaluation_without_eval_or_no_grad(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", EVAL_CORRECT, ids=[c[0] for c in EVAL_CORRECT])
def test_silent_evaluation_look_alikes(name, src):
    found = findings(src, RULE)
    assert [f for f in found if "while still in training mode" in f.message] == []


def test_under_no_grad_reported_once_by_the_first_check():
    (finding,) = findings(dict((n, s) for n, s in EVAL_CORRECT)["under_no_grad_is_the_first_check"], RULE)
    assert "under no_grad" in finding.message


@pytest.mark.parametrize("src", [s for _, s, _ in EVAL_BUGGY])
def test_fix_calls_eval_before_the_loop(src):
    (finding,) = findings(src, RULE)
    fixed = apply_fix(src, finding)
    assert parses(fixed) and "model.eval()\n" in fixed
    assert lines(fixed, RULE) == []


def test_evaluation_loop_in_a_later_notebook_cell():
    found = notebook([
        NET,
        "model = Net()\nfor x, y in train_loader:\n    loss_fn(model(x), y).backward()\n",
        "correct = 0\nfor x, y in test_loader:\n    correct += (model(x).argmax(1) == y).sum().item()\n",
    ], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(2, 2)]


def test_eval_without_parentheses_is_reported_once_where_it_is_written():
    src = """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))
model.eval
with torch.no_grad():
    preds = model(x_test)
"""
    assert [(f.rule, f.location.line + 1) for f in findings(src)] == [("mode-switch-not-called", 5)]
    assert lines(src.replace("model.eval\n", ""), RULE) == [6]  # without that line: this rule's


# -- the fix when training goes on after the evaluation -------------------------------------------
EPOCH_HELPER = NET + """\
def evaluate(net, loader):
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (net(x).argmax(1) == y).sum().item()
    return correct

model = Net()
for epoch in range(3):
    for x, y in train_loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    print(evaluate(model, test_loader))
"""

EPOCH_INLINE = NET + """\
model = Net()
for epoch in range(3):
    for x, y in train_loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    with torch.no_grad():
        val = criterion(model(x_val), y_val)
    print(val)
"""


@pytest.mark.parametrize("src", [EPOCH_HELPER, EPOCH_INLINE], ids=["helper_called_each_epoch", "inline_in_the_epoch"])
def test_fix_switches_back_to_training_when_training_goes_on(src):
    (finding,) = findings(src, RULE)
    assert finding.fix.title.endswith(".train()` after")
    fixed = apply_fix(src, finding)
    assert parses(fixed)
    assert ".eval()\n" in fixed and ".train()\n" in fixed
    # fixed for good: neither this rule nor eval-mode-not-restored has anything to say
    assert lines(fixed, RULE) == [] and lines(fixed, "eval-mode-not-restored") == []


def test_no_fix_when_the_evaluation_can_be_left_early():
    src = EPOCH_HELPER.replace(
        "            correct += (net(x).argmax(1) == y).sum().item()\n",
        "            correct += (net(x).argmax(1) == y).sum().item()\n            if correct > 100:\n                return correct\n")
    (finding,) = findings(src, RULE)
    assert finding.fix is None   # a `net.train()` after the block would not run on that path


def test_fix_after_the_last_epoch_stays_a_single_line():
    src = EPOCH_INLINE.replace("    with torch.no_grad():\n        val = criterion(model(x_val), y_val)\n    print(val)\n",
                               "with torch.no_grad():\n    val = criterion(model(x_val), y_val)\n")
    (finding,) = findings(src, RULE)
    assert finding.fix.title == "Call `model.eval()` before evaluating"


# (also checked by test_fixes_are_safe: the fix must not make eval-mode-not-restored fire)
FIXABLE = [EPOCH_HELPER, EPOCH_INLINE]


# -- which model classes are mode-dependent: what their bodies build, not the words they use ----

def _model_holding(block_body: str, block_first: bool = False) -> str:
    """A GPT-like model holding `TransformerBlock`s in an nn.ModuleList, evaluated under
    inference_mode without eval(); the block class is defined after the model by default."""
    model = """\
class GPT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.blocks = nn.ModuleList([TransformerBlock(cfg) for _ in range(cfg["n_layers"])])
        self.head = nn.Linear(cfg["emb_dim"], cfg["vocab_size"])

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return self.head(x)

"""
    block = f"""\
class TransformerBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
{block_body}
    def forward(self, x):
        return {"self.drop(self.ff(x))" if "self.drop" in block_body else "self.ff(x)"}

"""
    head = "import torch\nimport torch.nn as nn\n\n"
    # Trained weights loaded: not a fresh model (which is a smoke test, never reported).
    use = """\
@torch.inference_mode()
def test_forward(cfg, x, state):
    model = GPT(cfg)
    model.load_state_dict(state)
    out = model(x)
"""
    return head + (block + model if block_first else model + block) + use


_PLAIN_BLOCK = "        self.ff = nn.Linear(cfg['emb_dim'], cfg['emb_dim'])\n"
_DROPOUT_BLOCK = _PLAIN_BLOCK + "        self.drop = nn.Dropout(cfg['drop_rate'])\n"


def test_user_transformer_block_without_dropout_is_not_mode_dependent():
    # Found in rasbt/LLMs-from-scratch (Qwen3Model, Llama3Model): the word "Transformer" in a
    # user's block name made the model count as having dropout.
    assert lines(_model_holding(_PLAIN_BLOCK), RULE) == []
    assert lines(_model_holding(_PLAIN_BLOCK, block_first=True), RULE) == []


@pytest.mark.parametrize("block_first", [False, True], ids=["block_below", "block_above"])
def test_block_with_dropout_in_a_module_list_makes_the_model_mode_dependent(block_first):
    src = _model_holding(_DROPOUT_BLOCK, block_first)
    assert lines(src, RULE) == [src.splitlines().index("    out = model(x)") + 1]


@pytest.mark.parametrize("layer,flagged", [
    ("nn.TransformerEncoderLayer(64, 4)", True),          # dropout=0.1 by default
    ("nn.LSTM(64, 64, num_layers=2, dropout=0.3)", True),
    ("nn.MultiheadAttention(64, 4, dropout=0.1)", True),
    ("nn.MultiheadAttention(64, 4, dropout=0.0)", False),
    ("nn.MultiheadAttention(64, 4)", False),
])
def test_torch_layers_that_drop_out(layer, flagged):
    src = f"""\
import torch
import torch.nn as nn

class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = {layer}

    def forward(self, x):
        return self.layer(x)

model = Encoder()
with torch.no_grad():
    out = model(x)
"""
    assert lines(src, RULE) == ([14] if flagged else [])


_SHAPE_TEST = NET + """\
def test_output_shapes():
    model = Net()
    model.load_state_dict(torch.load("net.pt"))   # trained weights: not a fresh model
    for batch in [1, 8, 32]:
        out = model(torch.randn(batch, 784))
        assert out.argmax(1).shape == (batch,)
"""


@pytest.mark.parametrize("path,expected", [
    ("tests/test_net.py", []),          # a pytest test of shapes, not an evaluation (timm's tests)
    ("net_test.py", []),
    ("evaluate.py", [18]),              # elsewhere `test_*` still names an evaluation
])
def test_pytest_tests_are_not_evaluations(path, expected):
    assert lines(_SHAPE_TEST, RULE, path=path) == expected


# hunkim/PyTorchZeroToAll's seq2seq `test()`: a model built in the function and never trained or
# loaded there prints tensor sizes; its outputs are no score.
_FRESH = NET + """\
def test():
    model = Net()
    for batch in [1, 8, 32]:
        out = model(torch.randn(batch, 784))
        print(out.size(), out.max())
"""


def test_a_fresh_untrained_model_is_not_evaluated():
    assert lines(_FRESH, RULE) == []


def test_a_model_given_weights_in_the_function_is_evaluated():
    load = "    model.load_state_dict(torch.load('net.pt'))\n"
    src = _FRESH.replace("    model = Net()\n", "    model = Net()\n" + load)
    assert len(lines(src, RULE)) == 1


# Found in NielsRogge/Transformers-Tutorials (ConvNeXT): after training, the notebook loads the
# fine-tuned model again with `from_pretrained` (eval mode) and runs it under no_grad.
_RELOADED = """\
import torch
from transformers import AutoModelForImageClassification

model = AutoModelForImageClassification.from_pretrained("facebook/convnext-tiny-224")
model.train()
for batch in dataloader:
    optimizer.zero_grad()
    model(**batch).loss.backward()
    optimizer.step()
{rebind}
with torch.no_grad():
    outputs = model(pixel_values)
"""


@pytest.mark.parametrize("rebind,expected", [
    ('model = AutoModelForImageClassification.from_pretrained("me/convnext-finetuned")', []),
    ("model = model.to(device)", [12]),          # the same module: still in training mode
    ("model = model.cuda().float()", [12]),
    ("pass", [12]),
])
def test_a_model_bound_again_after_train_has_its_own_mode(rebind, expected):
    assert lines(_RELOADED.format(rebind=rebind), RULE) == expected


def test_reloaded_in_a_later_notebook_cell():
    cells = _RELOADED.format(rebind="").split("with torch.no_grad")
    found = notebook([cells[0], 'model = AutoModelForImageClassification.from_pretrained("me/ft")\n',
                      "with torch.no_grad" + cells[1]], RULE)
    assert found == []


# -- dropout turned off where the model is built -------------------------------------------------
def _attention(init_params: str, init_body: str, forward: str = "return self.dropout(self.proj(x))") -> str:
    return f"""\
import torch
import torch.nn as nn
import torch.nn.functional as F

class Attention(nn.Module):
    def __init__(self, {init_params}):
        super().__init__()
        self.proj = nn.Linear(d_in, d_out)
{init_body}
    def forward(self, x):
        {forward}

"""


_USE = """\
with torch.no_grad():
    out = attn(batch)
"""
_LAYER = "        self.dropout = nn.Dropout(dropout)\n"


@pytest.mark.parametrize("params,body,forward,build,flagged", [
    # rasbt/LLMs-from-scratch ch. 3: the rate is a constructor argument, given as 0.0
    ("d_in, d_out, context_length, dropout, qkv_bias=False", _LAYER, None, "Attention(3, 2, 6, 0.0)", False),
    ("d_in, d_out, context_length, dropout, qkv_bias=False", _LAYER, None, "Attention(3, 2, 6, 0.1)", True),
    ("d_in, d_out, dropout", _LAYER, None, "Attention(3, 2, dropout=0)", False),
    ("d_in, d_out, dropout", _LAYER, None, "Attention(d_out=2, d_in=3, dropout=0.2)", True),
    ("d_in, d_out, dropout=0.0", _LAYER, None, "Attention(3, 2)", False),        # the default
    ("d_in, d_out, dropout=0.1", _LAYER, None, "Attention(3, 2)", True),
    ("d_in, d_out, dropout", _LAYER, None, "Attention(3, 2, rate)", True),       # unknown rate
    ("d_in, d_out, *, p", "        self.dropout = nn.Dropout(p=p)\n", None, "Attention(3, 2, p=0.0)", False),
    # through an attribute, to a functional dropout that follows the mode
    ("d_in, d_out, attn_pdrop", "        self.attn_pdrop = attn_pdrop\n",
     "return F.dropout(self.proj(x), p=self.attn_pdrop, training=self.training)", "Attention(3, 2, 0.0)", False),
    # a name bound to 0.0 counts as 0.0
    ("d_in, d_out, dropout", _LAYER, None, "Attention(3, 2, DROP)", False),
    # two rates: both must be 0
    ("d_in, d_out, dropout, resid", _LAYER + "        self.resid = nn.Dropout(resid)\n", None,
     "Attention(3, 2, 0.0, 0.1)", True),
    ("d_in, d_out, dropout, resid", _LAYER + "        self.resid = nn.Dropout(resid)\n", None,
     "Attention(3, 2, 0.0, 0.0)", False),
    # anything else that changes with the mode keeps the model mode-dependent
    ("d_in, d_out, dropout", _LAYER + "        self.norm = nn.BatchNorm1d(d_out)\n", None, "Attention(3, 2, 0.0)", True),
    ("d_in, d_out, dropout", "        self.dropout = nn.Dropout(0.5 * dropout + 0.1)\n", None, "Attention(3, 2, 0.0)", True),
    ("d_in, d_out, dropout", _LAYER + "        self.extra = nn.Dropout(0.2)\n", None, "Attention(3, 2, 0.0)", True),
    ("d_in, d_out, dropout, **kw", _LAYER, None, "Attention(3, 2, 0.0)", True),
    ("d_in, d_out, dropout", _LAYER, None, "Attention(3, 2, *args)", True),
    # the class's own code depends on the mode
    ("d_in, d_out, dropout", _LAYER, "return self.dropout(self.proj(x)) + (noise if self.training else 0)",
     "Attention(3, 2, 0.0)", True),
    ("d_in, d_out, dropout", _LAYER + "        self.rnn = nn.LSTM(d_out, d_out, 2, dropout=0.3)\n", None,
     "Attention(3, 2, 0.0)", True),
    ("d_in, d_out, dropout", _LAYER + "        self.rnn = nn.LSTM(d_out, d_out, 2, dropout=dropout)\n", None,
     "Attention(3, 2, 0.0)", False),
])
def test_dropout_rates_given_at_construction(params, body, forward, build, flagged):
    src = _attention(params, body, forward or "return self.dropout(self.proj(x))")
    src += "DROP = 0.0\n" if "DROP" in build else ""
    src += f"attn = {build}\n" + _USE
    expected = [src.splitlines().index("    out = attn(batch)") + 1] if flagged else []
    assert lines(src, RULE) == expected


def test_dropout_rate_zero_for_a_class_from_another_file():
    models = _attention("d_in, d_out, dropout", _LAYER)
    train = "import torch\nfrom models import Attention\n\nattn = Attention(3, 2, {})\n" + _USE
    assert [f.rule for f in two_files(models, train.format("0.0"), RULE)] == []
    assert [f.rule for f in two_files(models, train.format("0.5"), RULE)] == [RULE]


@pytest.mark.parametrize("init,block,build,flagged", [
    # the outer class hands its own rate to the block: judged at the outer constructor
    ("dropout", "Attention(3, 2, dropout)", "Model(0.0)", False),
    ("dropout", "Attention(3, 2, dropout)", "Model(0.1)", True),
    ("dropout=0.0", "Attention(3, 2, dropout=dropout)", "Model()", False),   # defaults all the way
    ("dropout=0.0", "Attention(3, 2, dropout=0.2)", "Model()", True),
    # a rate the block gets from anything else keeps the model mode-dependent
    ("dropout", "Attention(3, 2, dropout * 2)", "Model(0.0)", True),
    ("dropout", "Attention(3, 2, dropout)\n        self.norm = nn.BatchNorm1d(2)", "Model(0.0)", True),
])
def test_a_block_with_a_rate_inside_a_model(init, block, build, flagged):
    src = _attention("d_in, d_out, dropout", _LAYER) + f"""\
class Model(nn.Module):
    def __init__(self, {init}):
        super().__init__()
        self.attn = {block}

    def forward(self, x):
        return self.attn(x)

model = {build}
with torch.no_grad():
    out = model(batch)
"""
    expected = [src.splitlines().index("    out = model(batch)") + 1] if flagged else []
    assert lines(src, RULE) == expected


def test_a_block_defined_below_the_model_keeps_it_mode_dependent():
    block = _attention("d_in, d_out, dropout", _LAYER).split("class Attention", 1)
    src = block[0] + """\
class Model(nn.Module):
    def __init__(self, dropout):
        super().__init__()
        self.attn = Attention(3, 2, dropout)

    def forward(self, x):
        return self.attn(x)

""" + "class Attention" + block[1] + """\
model = Model(0.0)
with torch.no_grad():
    out = model(batch)
"""
    assert lines(src, RULE) == [src.splitlines().index("    out = model(batch)") + 1]


@pytest.mark.parametrize("layer,flagged", [
    ("nn.Dropout(0.0)", False),
    ("nn.Dropout(p=0)", False),
    ("nn.Dropout(0.1)", True),
])
def test_dropout_layers_with_a_literal_zero_rate(layer, flagged):
    src = f"""\
import torch
import torch.nn as nn

class Head(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, dim), {layer})

    def forward(self, x):
        return self.net(x)

head = Head(8)
plain = nn.Sequential(nn.Linear(8, 8), {layer})
with torch.no_grad():
    out = head(x)
    out = plain(x)
"""
    assert lines(src, RULE) == ([15, 16] if flagged else [])


_HF = """\
import torch
from transformers import {cls}, {cfg}

hf_cfg = {cfg}(vocab_size=100, hidden_size=64, num_hidden_layers=2{extra})
hf_model = {cls}(hf_cfg)
with torch.no_grad():
    logits = hf_model(x).logits
"""


@pytest.mark.parametrize("cls,cfg,extra,flagged", [
    # rasbt/LLMs-from-scratch's equivalence tests: Llama / Qwen3 built from a config, no dropout
    ("Qwen3ForCausalLM", "Qwen3Config", "", False),
    # ... and the newer OLMo / Qwen / Gemma / Cohere classes (sweep 23: OLMo 3, Qwen3.5)
    ("Olmo3ForCausalLM", "Olmo3Config", "", False),
    ("Qwen3_5ForCausalLM", "Qwen3_5TextConfig", ", attention_dropout=0.0", False),
    ("Gemma3TextModel", "Gemma3TextConfig", "", False),
    ("Cohere2ForCausalLM", "Cohere2Config", ", attention_dropout=0.0", False),
    ("Qwen3_5ForCausalLM", "Qwen3_5TextConfig", ", attention_dropout=0.1", True),  # dropout asked for
    ("LlamaForCausalLM", "LlamaConfig", ", rope_theta=500000.0", False),
    ("LlamaModel", "LlamaConfig", ", attention_dropout=0.0", False),
    ("LlamaForCausalLM", "LlamaConfig", ", attention_dropout=0.1", True),     # dropout asked for
    ("LlamaForTokenClassification", "LlamaConfig", "", True),                 # its head drops out
    # litgpt's comparison tests (sweep 6): families whose configs default every dropout to 0
    ("GPTNeoXForCausalLM", "GPTNeoXConfig", "", False),
    ("FalconForCausalLM", "FalconConfig", ", parallel_attn=True", False),
    ("PhiForCausalLM", "PhiConfig", "", False),
    ("StableLmForCausalLM", "StableLmConfig", "", False),
    ("PhiForCausalLM", "PhiConfig", ", resid_pdrop=0.1", True),              # dropout asked for
    ("GPTNeoXForSequenceClassification", "GPTNeoXConfig", "", True),         # classifier_dropout 0.1
    ("GPT2LMHeadModel", "GPT2Config", "", True),                              # 0.1 by default
    ("BertForSequenceClassification", "BertConfig", "", True),
])
def test_transformers_models_built_from_a_config(cls, cfg, extra, flagged):
    src = _HF.format(cls=cls, cfg=cfg, extra=extra)
    assert lines(src, RULE) == ([7] if flagged else [])


def test_transformers_model_with_a_config_from_elsewhere_is_mode_dependent():
    src = """\
import torch
from transformers import AutoConfig, LlamaForCausalLM

model = LlamaForCausalLM(AutoConfig.from_pretrained("some/checkpoint"))
with torch.no_grad():
    out = model(x)
"""
    assert lines(src, RULE) == [6]


def test_a_subclass_with_a_zero_rate_keeps_what_it_inherits():
    src = _attention("d_in, d_out", "        self.norm = nn.BatchNorm1d(d_out)\n", "return self.norm(self.proj(x))")
    src += """\
class WithDropout(Attention):
    def __init__(self, d_in, d_out, dropout):
        super().__init__(d_in, d_out)
        self.dropout = nn.Dropout(dropout)

attn = WithDropout(3, 2, 0.0)
""" + _USE
    assert lines(src, RULE) == [src.splitlines().index("    out = attn(batch)") + 1]


def test_a_model_trained_by_a_helper_in_the_function_is_evaluated():
    src = NET + """\
def main(train_loader, test_loader):
    model = Net()
    train(model, train_loader, epochs=10)
    correct = 0
    for x, y in test_loader:
        correct += (model(x).argmax(1) == y).sum().item()
    print(correct)
"""
    assert lines(src, RULE) == [19]


def test_a_pretrained_model_built_in_the_function_is_evaluated():
    src = """\
import torch
import torchvision

def predict(test_loader):
    model = torchvision.models.resnet18(weights="DEFAULT")
    preds = []
    for x, _ in test_loader:
        preds.append(model(x).argmax(1))
    return preds
"""
    assert lines(src, RULE) == [8]


# The per-epoch validation loop written inline after the batch loop, with neither eval() nor
# no_grad (y33-j3T's Coursera GAN course, C3W1: a batch-norm classifier scored in train mode).
EPOCH_VALIDATION = NET + """\
def fit(train_loader, val_loader):
    model = Net()
    optimizer = torch.optim.Adam(model.parameters())
    for epoch in range(10):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            criterion(model(x), y).backward()
            optimizer.step()
        correct = 0
        for x, y in val_loader:
            correct += (model(x).argmax(1) == y).sum().item()
        print(correct)
"""


def test_a_validation_loop_inside_the_epoch_loop():
    assert lines(EPOCH_VALIDATION, RULE) == [25]
    (finding,) = findings(EPOCH_VALIDATION, RULE)
    fixed = apply_fix(EPOCH_VALIDATION, finding)
    assert parses(fixed) and lines(fixed, RULE) == []
    assert "        model.eval()\n        for x, y in val_loader:" in fixed
    assert "print(correct)" in fixed.split("model.train()\n")[-1]   # back to training after it


@pytest.mark.parametrize("change", [
    ("        correct = 0\n", "        correct = 0\n        model.eval()\n"),             # switched
    ("        for x, y in val_loader:\n", "        for x, y in val_loader:\n"
     "            optimizer.zero_grad()\n            criterion(model(x), y).backward()\n"),   # trains on it
    ("for x, y in val_loader:", "for x, y in more_batches:"),                             # not named so
    ("            correct += (model(x)", "            correct += (other(x)"),                # another model
])
def test_validation_inside_the_epoch_loop_look_alikes(change):
    assert lines(EPOCH_VALIDATION.replace(*change), RULE) == []


@pytest.mark.parametrize("inner", [
    # gradient accumulation inside the batch loop, before its backward (`acc_steps` reads "acc")
    "        for i in range(acc_steps):\n            loss = loss + criterion(model(x[i]), y[i])\n",
    # training metrics logged in the training step itself (`metrics` reads like evaluation)
    "        for name, metric in metrics.items():\n            log[name] = metric(model(x), y)\n",
])
def test_loops_inside_the_training_step_are_not_validation(inner):
    src = NET + ("model = Net()\nfor epoch in range(3):\n    for x, y in train_loader:\n"
                 "        optimizer.zero_grad()\n        loss = 0\n" + inner +
                 "        loss.backward()\n        optimizer.step()\n")
    assert lines(src, RULE) == []


def test_an_environment_step_is_not_training():
    """A random-policy baseline scored in train mode after a warm-up `env.step(...)`: no optimizer
    steps, so the model is still the fresh one (a smoke test of the loop, no score to be off)."""
    src = NET + """\
def baseline(env, test_episodes):
    policy = Net()
    obs = env.step(env.action_space.sample())
    for episode in test_episodes:
        print(policy(obs))
"""
    assert lines(src, RULE) == []
    loaded = src.replace("    obs = env.step(env.action_space.sample())\n",
                         "    policy.load_state_dict(torch.load('policy.pt'))\n")
    assert lines(loaded, RULE) == [18]


def test_a_test_loop_after_the_step_inside_the_batch_loop_is_an_evaluation():
    """wandb's fashion-MNIST example scores the test set every 100 steps from inside the batch
    loop, after the optimizer step, in train mode."""
    src = NET + """\
model = Net()
for epoch in range(3):
    for i, (x, y) in enumerate(train_loader):
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
        if i % 100 == 0:
            for xt, yt in test_loader:
                correct = (model(xt).argmax(1) == yt).sum()
"""
    assert lines(src, RULE) == [22]
    # the same loop before the step is part of the training step (a warm-up pass, say)
    moved = src.replace("        optimizer.step()\n        if i % 100 == 0:\n", "        if i % 100 == 0:\n")
    moved = moved.replace("(model(xt).argmax(1) == yt).sum()\n", "(model(xt).argmax(1) == yt).sum()\n        optimizer.step()\n")
    assert "optimizer.step()" in moved.split("test_loader")[1]
    assert lines(moved, RULE) == []


# Sweep 12 (ethen8181's transformer notebook, BloodAxe's model tests): a model built right there
# and run once under no_grad to look at output shapes.
_FRESH_NO_GRAD = NET + """\
def main(source):
    net = Net()
    with torch.no_grad():
        output = net(source)
    print(output.argmax(1))   # the values: a shape alone would be no evaluation either
"""


def test_a_fresh_untrained_model_under_no_grad_is_not_evaluated():
    assert lines(_FRESH_NO_GRAD, RULE) == []


def test_a_model_given_weights_before_no_grad_is_evaluated():
    load = "    net.load_state_dict(torch.load('net.pt'))\n"
    src = _FRESH_NO_GRAD.replace("    net = Net()\n", "    net = Net()\n" + load)
    assert len(lines(src, RULE)) == 1
    trained = _FRESH_NO_GRAD.replace("    net = Net()\n", "    net = Net()\n    train(net, loader)\n")
    assert len(lines(trained, RULE)) == 1


# Sweep 12 (omerbsezer/Fast-Pytorch): `if CUDA: model = model.cuda()` keeps the object, so it
# keeps its mode; the test loop inside the training loop was missed.
_CUDA_REBOUND = NET + """\
def run(train_load, test_load, epochs=5):
    model = Net()
    if torch.cuda.is_available():
        model = model.cuda()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for epoch in range(epochs):
        for i, (images, labels) in enumerate(train_load):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
            if (i + 1) % 100 == 0:
                correct = 0
                for images, labels in test_load:
                    outputs = model(images)
                    correct += (outputs.argmax(1) == labels).sum()
"""


@pytest.mark.parametrize("rebind", [
    "        model = model.cuda()\n",
    "        model = model.to('cuda').float()\n",
])
def test_a_model_moved_to_the_gpu_keeps_its_training_mode(rebind):
    src = _CUDA_REBOUND.replace("        model = model.cuda()\n", rebind)
    assert lines(src, RULE) == [28]   # outputs = model(images)


def test_a_model_moved_to_the_gpu_keeps_its_eval_mode():
    src = _CUDA_REBOUND.replace("                for images, labels in test_load:\n",
                                "                model.eval()\n                model = model.cuda()\n"
                                "                for images, labels in test_load:\n")
    assert lines(src, RULE) == []


def test_another_object_bound_to_the_name_is_not_followed():
    """`model = other` is an alias whose mode is not known here: silent, as before."""
    src = _CUDA_REBOUND.replace("        model = model.cuda()\n", "        model = pick(model)\n")
    assert lines(src, RULE) == []


def test_a_fresh_model_moved_to_the_gpu_is_still_fresh():
    """BloodAxe's model tests: `model = HPFNet(num_classes=4).cuda()` under @torch.no_grad()."""
    src = _FRESH_NO_GRAD.replace("    net = Net()\n", "    net = Net().cuda()\n")
    assert lines(src, RULE) == []
    loaded = _FRESH_NO_GRAD.replace("    net = Net()\n",
                                    "    net = Net().cuda()\n    net.load_state_dict(torch.load('n.pt'))\n")
    assert len(lines(loaded, RULE)) == 1


# One module, two names: `best_model = model` aliases the object, so a switch through either
# name is a switch of both (sweep 16 missed `best_model(x)` here; the third case was a false
# report on `model` after `best_model.eval()`).
_TRAINED = """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(10, 5), nn.Dropout(0.5))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
"""


@pytest.mark.parametrize("tail,expected", [
    ("best_model = model\nwith torch.no_grad():\n    p = best_model(t)\n", [12]),
    ("best_model = model\nmodel.eval()\nwith torch.no_grad():\n    p = best_model(t)\n", []),
    ("best_model = model\nbest_model.eval()\nwith torch.no_grad():\n    p = model(t)\n", []),
    ("model.eval()\nbest_model = model\nwith torch.no_grad():\n    p = best_model(t)\n", []),
    ("model.eval()\nbest_model = model\nmodel.train()\nwith torch.no_grad():\n    p = best_model(t)\n", [14]),
    ("best_model = model\nbest_model.eval()\nmodel.train()\nwith torch.no_grad():\n    p = best_model(t)\n", [14]),
    # `model` names a new module afterwards: the alias keeps the old, trained one
    ("best_model = model\nbest_model.eval()\nmodel = nn.Sequential(nn.Dropout(0.1))\nwith torch.no_grad():\n"
     "    p = best_model(t)\n", []),
])
def test_a_mode_switch_through_an_alias(tail, expected):
    assert lines(_TRAINED + tail, RULE) == expected


_HELPERS = """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(10, 5), nn.Dropout(0.5))


def prepare():
    model.eval()


def reset():
    model.train()


"""


@pytest.mark.parametrize("calls,expected", [
    ("prepare()\n", []),              # switches the module's model to eval mode
    ("pass\n", [17]),
    ("model.eval()\nreset()\n", [18]),  # switches it back to training mode
])
def test_a_helper_that_switches_the_module_level_model(calls, expected):
    src = _HELPERS + calls + "with torch.no_grad():\n    out = model(x)\n"
    assert lines(src, RULE) == expected


# Sweep 18e (ethen8181's sentence-transformer notebook): a wrapper whose only dropout is inside a
# Hugging Face model it loads with from_pretrained, which leaves that model in eval mode.
_HF_WRAPPER = """\
import torch
import torch.nn as nn
from transformers import AutoModel


class Encoder(nn.Module):
    def __init__(self, name):
        super().__init__()
        self.base = AutoModel.from_pretrained(name){own}

    def forward(self, ids):
        return {out}


model = Encoder("distilbert-base-uncased")
{before}with torch.no_grad():
    out = model(ids)
"""


@pytest.mark.parametrize("own,before,expected", [
    ("", "", []),
    ("\n        self.drop = nn.Dropout(0.1)", "", [18]),     # a dropout of its own, in training mode
    # trained after model.train(), then evaluated without eval()
    ("", "opt = torch.optim.Adam(model.parameters())\nmodel.train()\nfor x in data:\n    opt.zero_grad()\n"
         "    model(x).sum().backward()\n    opt.step()\n", [23]),
])
def test_a_wrapper_around_a_from_pretrained_model(own, before, expected):
    out = "self.drop(self.base(input_ids=ids).last_hidden_state[:, 0])" if "self.drop" in own \
        else "self.base(input_ids=ids).last_hidden_state[:, 0]"
    assert lines(_HF_WRAPPER.format(own=own, before=before, out=out), RULE) == expected


def test_a_wrapper_declaring_a_dropout_it_never_uses():
    """chaii QA notebook (sweep 20): `self.dropout` is declared and never called, so the only
    dropout that runs is the from_pretrained model's, in eval mode."""
    src = _HF_WRAPPER.format(own="\n        self.dropout = nn.Dropout(0.1)", before="",
                             out="self.base(input_ids=ids).last_hidden_state[:, 0]")
    assert lines(src, RULE) == []


# ethen8181's torch_transformer notebook: a fresh model run once under no_grad to see the
# size of what it returns. Dropout and batch norm never change an output's shape.
SHAPE_MODEL = NET + """\

model = Net()
x = torch.randn(2, 4)
"""


@pytest.mark.parametrize("use,expected", [
    ("with torch.no_grad():\n    output = model(x)\nprint(output.shape)\n", []),
    ("with torch.no_grad():\n    print(model(x).shape, model(x).size(0))\n", []),
    ("with torch.no_grad():\n    out = model(x)\nassert len(out) == 2 and out.dim() == 2\n", []),
    # the output itself is read: a prediction, an argmax, a value printed
    ("with torch.no_grad():\n    out = model(x)\nprint(out.shape, out.argmax(1))\n", [18]),
    ("with torch.no_grad():\n    out = model(x)\nprint(out)\n", [18]),
    ("with torch.no_grad():\n    out, h = model(x)\nprint(out.shape)\n", [18]),
    ("with torch.no_grad():\n    print(model(x).mean())\n", [18]),
])
def test_a_look_at_the_output_shape_is_no_evaluation(use, expected):
    assert lines(SHAPE_MODEL + use, RULE) == expected


def test_other_values_under_the_output_name_do_not_count():
    """`output` is a common name: a later training loop's `output` is another value."""
    src = SHAPE_MODEL + """\
with torch.no_grad():
    output = model(x)
print(output.shape)
optimizer = torch.optim.Adam(model.parameters())
for xb, yb in loader:
    output = model(xb)
    loss = criterion(output, yb)
"""
    assert lines(src, RULE) == []
    # but a later read of *this* value is a read
    assert lines(src.replace("print(output.shape)\n", "print(output.shape)\nprint(output.argmax(1))\n"), RULE) == [18]


def test_a_subclass_inherits_its_parents_batch_norm():
    """A subclass that adds no dropout or batch norm of its own still runs its parent's."""
    src = """\
import torch
import torch.nn as nn

class Parent(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.norm = nn.BatchNorm1d(2)
    def forward(self, x):
        return self.norm(self.fc(x))

class Child(Parent):
    def __init__(self):
        super().__init__()
        self.extra = nn.Linear(2, 2)

model = Child()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x in loader:
    opt.zero_grad()
    model(x).sum().backward()
    opt.step()
with torch.no_grad():
    out = model(x_test)
"""
    assert lines(src, RULE) == [24]


# Review of the sweep-20 changes: each must stay reported.
_MODEL_FIT_METHOD = """import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 2)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.fc(self.drop(x))

    def fit(self, loader, epochs):
        opt = torch.optim.Adam(self.parameters())
        self.train()
        for epoch in range(epochs):
            for x, y in loader:
                opt.zero_grad()
                nn.functional.cross_entropy(self(x), y).backward()
                opt.step()

model = Net()
model.fit(train_loader, 10)
with torch.no_grad():
    preds = model(x_test).argmax(1)
print((preds == y_test).float().mean())
"""
_GCN_VALIDATION_IN_TRAIN = """import torch
import torch.nn as nn
import torch.nn.functional as F

class GCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(16, 16)
        self.l2 = nn.Linear(16, 7)
        self.dropout = nn.Dropout(0.5)

    def forward(self, x, adj):
        x = self.dropout(F.relu(adj @ self.l1(x)))
        return adj @ self.l2(x)

model = GCN()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

def train(epoch):
    model.train()
    optimizer.zero_grad()
    output = model(features, adj)
    loss_train = F.cross_entropy(output[idx_train], labels[idx_train])
    loss_train.backward()
    optimizer.step()
    with torch.no_grad():
        output = model(features, adj)
        acc_val = (output[idx_val].argmax(1) == labels[idx_val]).float().mean()
    print(epoch, loss_train.item(), acc_val.item())

for epoch in range(200):
    train(epoch)
"""
_TEXT_GENERATOR = """import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 2)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.fc(self.drop(x))

text_generator = Net()
opt = torch.optim.Adam(text_generator.parameters())
for epoch in range(10):
    text_generator.train()
    for x, y in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(text_generator(x), y).backward()
        opt.step()
    with torch.no_grad():
        val_loss = sum(nn.functional.cross_entropy(text_generator(x), y).item() for x, y in val_loader)
    print(epoch, val_loss)
"""


@pytest.mark.parametrize("src", [_MODEL_FIT_METHOD, _GCN_VALIDATION_IN_TRAIN, _TEXT_GENERATOR],
                         ids=["own_fit_trains_then_inference", "validation_after_backward_in_train",
                              "a_language_models_generator_is_no_gan"])
def test_training_mode_inference_still_reported(src):
    assert len(lines(src, RULE)) == 1


# Review of sweep 20: layers reached without their attribute's name still run.
_LAYERS_REACHED_INDIRECTLY = [
    ("m1_children_loop", """import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(10, 2)

    def forward(self, x):
        for layer in self.children():
            x = layer(x)
        return x

model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()

with torch.no_grad():
    acc = (model(xt).argmax(1) == yt).float().mean()
"""),
    ("m2_getattr", """import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 2)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.fc(getattr(self, 'drop')(x))

model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()

with torch.no_grad():
    acc = (model(xt).argmax(1) == yt).float().mean()
"""),
    ("m3_seq_in_forward_via_modules", """import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 2)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        for m in self.modules():
            if m is not self:
                x = m(x)
        return x

model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()

with torch.no_grad():
    acc = (model(xt).argmax(1) == yt).float().mean()
"""),
    ("m6_self_dict", """import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(10, 2)

    def forward(self, x):
        for mod in self._modules.values():
            x = mod(x)
        return x

model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()

with torch.no_grad():
    acc = (model(xt).argmax(1) == yt).float().mean()
"""),
]


@pytest.mark.parametrize("name,src", _LAYERS_REACHED_INDIRECTLY, ids=[c[0] for c in _LAYERS_REACHED_INDIRECTLY])
def test_a_dropout_reached_indirectly_counts(name, src):
    assert len(lines(src, RULE)) == 1


def test_an_unused_dropout_next_to_non_ascii_text():
    """Byte offsets of the document, characters of the class text: a non-ASCII docstring must
    not shift what is left out."""
    assert lines("""import torch
import torch.nn as nn

class Net(nn.Module):
    \"\"\"分类模型：输入十维特征，输出两个类别的得分。\"\"\"
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 2)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.fc(x)

model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()

with torch.no_grad():
    acc = (model(xt).argmax(1) == yt).float().mean()
""", RULE) == []



@pytest.mark.parametrize("src", ["""import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 64)
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(64, 2)

    def forward(self, x):
        return self.fc2(self.drop(F.relu(self.fc1(x))))

    def fit_epoch(self, loader, opt):
        self.train()
        for x, y in loader:
            self._update(x, y, opt)

    def _update(self, x, y, opt):
        opt.zero_grad()
        loss = F.cross_entropy(self(x), y)
        loss.backward()
        opt.step()


model = Net()
opt = torch.optim.Adam(model.parameters())
for epoch in range(10):
    model.fit_epoch(loader, opt)
    with torch.no_grad():
        acc = (model(X_val).argmax(1) == y_val).float().mean()
    print(epoch, acc.item())
""",
                                 """import torch
import torch.nn as nn


class TinyGPT(nn.Module):
    def __init__(self, vocab, d_model=128):
        super().__init__()
        self.emb = nn.Embedding(vocab, d_model)
        self.drop = nn.Dropout(0.1)
        self.out = nn.Linear(d_model, vocab)

    def forward(self, x):
        return self.out(self.drop(self.emb(x)))


generator = TinyGPT(1000, d_model=128)
opt = torch.optim.Adam(generator.parameters())
for epoch in range(10):
    generator.train()
    for x, y in loader:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(generator(x).transpose(1, 2), y)
        loss.backward()
        opt.step()
    with torch.no_grad():
        sample = generator(prompt).argmax(-1)
        print(decode(sample))
""",
                                 """import torch
import torch.nn as nn


class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 64), nn.Dropout(0.1), nn.Linear(64, 2))

    def forward(self, x):
        return self.net(x)


G = Policy()
critic = nn.Linear(4, 1)
opt = torch.optim.Adam(G.parameters())
for epoch in range(100):
    G.train()
    for s, a in buffer:
        loss = -G(s).log_softmax(-1)[a].mean()
        opt.zero_grad(); loss.backward(); opt.step()
    with torch.no_grad():
        acc = (G(val_states).argmax(-1) == val_actions).float().mean()
    print(acc)
"""],
                         ids=["fit_epoch_trains_through_a_helper_method", "transformer_d_model_is_no_discriminator",
                              "actor_critic_is_no_gan"])
def test_second_review_training_mode_inference_reported(src):
    assert len(lines(src, RULE)) == 1



def test_a_wgan_critic_is_a_discriminator():
    assert lines("""import torch
import torch.nn as nn
import torchvision.utils as vutils


class Generator(nn.Module):
    def __init__(self, z_dim=100):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(z_dim, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Linear(256, 784), nn.Tanh())

    def forward(self, z):
        return self.net(z)


class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(784, 256), nn.LeakyReLU(0.2), nn.Linear(256, 1))

    def forward(self, x):
        return self.net(x)


gen = Generator()
critic = Critic()
opt_g = torch.optim.RMSprop(gen.parameters(), lr=5e-5)
opt_c = torch.optim.RMSprop(critic.parameters(), lr=5e-5)
fixed_noise = torch.randn(64, 100)
for epoch in range(50):
    for real, _ in loader:
        real = real.view(-1, 784)
        for _ in range(5):
            noise = torch.randn(real.size(0), 100)
            fake = gen(noise)
            loss_c = -(critic(real).mean() - critic(fake.detach()).mean())
            opt_c.zero_grad()
            loss_c.backward()
            opt_c.step()
            for p in critic.parameters():
                p.data.clamp_(-0.01, 0.01)
        loss_g = -critic(gen(noise)).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    with torch.no_grad():
        samples = gen(fixed_noise)
    vutils.save_image(samples.view(-1, 1, 28, 28), f"epoch_{epoch}.png")
""", RULE) == []


_FUNCTIONAL_ONLY = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 100)

    def forward(self, x, drop_prob=0.0):
        {line}
        return self.fc(x)


dec = Decoder()
x = torch.randn(4, 16)
with torch.no_grad():
    sample_logits = dec(x, 0.0)
"""


@pytest.mark.parametrize("line", [
    "x = F.dropout(x, drop_prob)",                   # the caller's rate: 0 here
    "x = F.dropout(x, p=0.5)",                       # always on: eval() would change nothing
    "x = F.dropout(x, p=0.5, inplace=False)",
    # a dropout module built in forward is always in training mode too (sweep 24)
    "x = F.dropout(x, 0.5) + self.bn(x) if hasattr(self, 'bn') else nn.Dropout(0.2)(x)",
])
def test_functional_dropout_that_ignores_the_mode_asks_for_no_eval(line):
    """A decoder whose only dropout is `F.dropout` without `training` (sweep 20d: the rate comes
    from the caller, evaluation passes 0): `eval()` would change nothing, so its absence is no bug
    (functional-dropout-always-on reports the always-on call on its own)."""
    assert lines(_FUNCTIONAL_ONLY.format(line=line), RULE) == []


@pytest.mark.parametrize("line", [
    "x = F.dropout(x, 0.5, training=self.training)",
    "x = F.dropout(x, 0.5, self.training)",
    "x = F.dropout(x, 0.5) if self.training else x",
    "x = F.dropout(x, 0.5) + self.bn(x) if hasattr(self, 'bn') else F.dropout(x, 0.2, self.training)",
])
def test_functional_dropout_that_follows_the_mode_still_asks_for_eval(line):
    assert lines(_FUNCTIONAL_ONLY.format(line=line), RULE) == [19]


_SMOKE = """\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.drop = nn.Linear(16, 10), nn.Dropout(0.1)

    def forward(self, x):
        return self.fc(self.drop(x))


{body}"""


@pytest.mark.parametrize("body", [
    # a script's smoke test of the model it defines (sweep 21c)
    "if __name__ == '__main__':\n    model = Net()\n    with torch.no_grad():\n        print(model(torch.randn(1, 16)))\n",
    # `model = model.to(device)` is the same fresh module (sweep 21c)
    "def smoke_test(device):\n    model = Net()\n    model = model.to(device)\n    with torch.no_grad():\n"
    "        print(model(torch.randn(4, 16, device=device)).sum())\n",
])
def test_a_fresh_model_smoke_tested(body):
    assert lines(_SMOKE.format(body=body), RULE) == []


@pytest.mark.parametrize("body,line", [
    ("if __name__ == '__main__':\n    model = Net()\n    model.load_state_dict(torch.load('m.pt'))\n"
     "    with torch.no_grad():\n        print(model(torch.randn(1, 16)))\n", 18),
    ("if __name__ == '__main__':\n    model = Net()\n    fit()\n"
     "    with torch.no_grad():\n        print(model(torch.randn(1, 16)))\n\n\ndef fit():\n    pass\n", 18),
    ("model = Net()\nwith torch.no_grad():\n    print(model(torch.randn(1, 16)))\n", 16),   # a notebook cell
    ("def smoke_test(device):\n    model = Net()\n    model.load_state_dict(torch.load('m.pt'))\n"
     "    model = model.to(device)\n    with torch.no_grad():\n        print(model(torch.randn(4, 16)).sum())\n", 19),
])
def test_a_model_loaded_trained_or_of_a_notebook_is_still_evaluated(body, line):
    assert lines(_SMOKE.format(body=body), RULE) == [line]


@pytest.mark.parametrize("where", ["main", "function"])
def test_a_fresh_model_trained_by_its_own_method(where):
    """Review: `model.fit(loader)` (a method of the model that runs backward and step) trains the
    fresh model before the no_grad evaluation."""
    body = ("    model = Net()\n    model.fit(train_loader)\n    with torch.no_grad():\n"
            "        print(model(torch.randn(1, 16)).argmax(1))\n")
    head = "if __name__ == '__main__':\n" if where == "main" else "def main():\n"
    assert lines(_SMOKE.format(body=head + body), RULE) == [18]


_SET_MODE = """\
import torch
import torch.nn as nn

class SaltNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 16, 3), nn.BatchNorm2d(16), nn.Conv2d(16, 1, 1))
    def forward(self, x):
        return self.body(x)
    def set_mode(self, mode):
        if mode in ["eval", "valid", "test"]:
            self.eval()
        else:
            self.train()

def run_predict(test_loader, ckpt):
    net = SaltNet()
    net.load_state_dict(torch.load(ckpt))
    {switch}
    with torch.no_grad():
        return [torch.sigmoid(net(x)) for x in test_loader]
"""


@pytest.mark.parametrize("switch,expected", [
    # Heng's TGS models switch themselves (liaopeiyuan/kaggle-solutions, sweep 22a)
    ('net.set_mode("test")', []), ('net.set_mode("valid")', []), ("net.set_mode(mode)", []),
    ("pass", [21]), ('loader.set_mode("test")', [21]),
])
def test_a_model_that_switches_its_own_mode(switch, expected):
    assert lines(_SET_MODE.format(switch=switch), RULE) == expected


@pytest.mark.parametrize("switch,expected", [
    ('net.set_mode("valid")', []), ('dataset.set_mode("valid")', [7]), ("pass", [7]),
])
def test_set_mode_of_a_model_class_of_another_module(switch, expected):
    src = f"""\
import torch
from torchvision.models import resnet18
net = resnet18()
net.load_state_dict(torch.load("ckpt.pth"))
{switch}
with torch.no_grad():
    probs = torch.sigmoid(net(images))
"""
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("look,expected", [
    # BloodAxe/Kaggle-2020-Alaska2 tests/test_models.py (sweep 22a): a fresh model, counted
    ("print(count_parameters(model))", []),
    ("summary(model)", []),
    # MikaKat/pneumonia-detection-cnn unet.py (sweep 22d)
    ("n = sum(p.numel() for p in model.parameters())", []),
    ("opt = torch.optim.SGD(model.parameters(), lr=0.1)", [9]),
    ("load_weights(model, 'ckpt.pth')", [9]),
    ("train(model, loader)", [9]),
])
def test_a_fresh_model_only_inspected_before_its_smoke_test(look, expected):
    src = f"""\
import torch
from torch import nn
from models import HPFNet

@torch.no_grad()
def test_hpfnet():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
    {look}
    output = model(torch.randn((2, 3, 64, 64)))
    print(output.mean(), output.argmax(1))
"""
    assert lines(src, RULE) == expected


_NORM_SELECTOR = """\
import torch
import torch.nn as nn

class ConvLayer(nn.Module):
    def __init__(self, cin, cout, norm="instance"):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        if norm == "instance":
            self.norm = nn.InstanceNorm2d(cout, affine=True)
        {branch}
    def forward(self, x):
        return self.norm(self.conv(x))

class TransformerNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = ConvLayer(3, 32)
        self.body = nn.Sequential(ConvLayer(32, 32, {arg}), nn.ReLU())

    def forward(self, x):
        return self.body(self.first(x))

net = TransformerNet()
net.load_state_dict(torch.load("style.pth"))
with torch.no_grad():
    out = net(torch.rand(1, 3, 64, 64))
"""


@pytest.mark.parametrize("branch,arg,expected", [
    # rrmina/fast-neural-style-pytorch (sweep 22b): batch norm only when norm="batch" is passed
    ('elif norm == "batch":\n            self.norm = nn.BatchNorm2d(cout)', 'norm="None"', []),
    ('elif (norm=="batch"):\n            self.norm = nn.BatchNorm2d(cout)', '"instance"', []),
    ('elif norm in ("batch", "bn"):\n            self.norm = nn.BatchNorm2d(cout)', 'norm="instance"', []),
    # the branch is taken, or may be: reported
    ('elif norm == "batch":\n            self.norm = nn.BatchNorm2d(cout)', 'norm="batch"', [27]),
    ('elif norm in ("batch", "bn"):\n            self.norm = nn.BatchNorm2d(cout)', 'norm="bn"', [27]),
    ('elif norm == "batch":\n            self.norm = nn.BatchNorm2d(cout)', "norm=args.norm", [27]),
    ('else:\n            self.norm = nn.BatchNorm2d(cout)', 'norm="none"', [27]),
    ('self.norm = nn.Sequential(nn.InstanceNorm2d(cout), nn.Dropout(0.1))', 'norm="instance"', [26]),
])
def test_batch_norm_chosen_by_a_constructor_argument(branch, arg, expected):
    assert lines(_NORM_SELECTOR.format(branch=branch, arg=arg), RULE) == expected


def test_a_batch_norm_default_is_taken_by_default():
    src = _NORM_SELECTOR.format(branch='elif norm == "batch":\n            self.norm = nn.BatchNorm2d(cout)',
                                arg='norm="instance"').replace('norm="instance"):', 'norm="batch"):')
    assert lines(src, RULE) == [27]


def test_the_selected_blocks_class_seen_from_another_file():
    models = _NORM_SELECTOR.format(branch='elif norm == "batch":\n            self.norm = nn.BatchNorm2d(cout)',
                                   arg='norm="None"').split("net = TransformerNet()")[0]
    train = """\
import torch
from transformer import TransformerNet
net = TransformerNet()
net.load_state_dict(torch.load("style.pth"))
with torch.no_grad():
    out = net(torch.rand(1, 3, 64, 64))
"""
    assert two_files(models, train, RULE, models_path="transformer.py") == []
    batch = models.replace('ConvLayer(3, 32)', 'ConvLayer(3, 32, norm="batch")')
    assert len(two_files(batch, train, RULE, models_path="transformer.py")) == 1


_GENERATE = """\
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

tok = AutoTokenizer.from_pretrained("gpt2")
model = AutoModelForCausalLM.from_pretrained("gpt2")
optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
model.train()
for batch in train_loader:
    model(**batch).loss.backward()
    optimizer.step()
    optimizer.zero_grad()
{before}
ids = model.generate(**tok("Once upon a time", return_tensors="pt"), max_new_tokens=40)
"""


@pytest.mark.parametrize("before,expected", [
    # microsoft/git-base captioning fine-tune (sweep 23a): generate() keeps the training mode
    ("", [13]),
    ("with torch.no_grad():\n    pass", [14]),
    # switched first: silent
    ("model.eval()", []),
    ("model.train(False)", []),
    # another, freshly loaded model (from_pretrained leaves it in eval mode)
    ('model = AutoModelForCausalLM.from_pretrained("out/")', []),
])
def test_generate_after_training(before, expected):
    assert lines(_GENERATE.format(before=before), RULE) == expected


@pytest.mark.parametrize("given,expected", [
    # ethen's seq2seq notebook (session 23): a transformers Trainer that evaluates every epoch
    # leaves the model it trained in eval mode; whether it does is its settings', not the code's
    ("model", []),
    ("model=model", []),
    # a Trainer of another model says nothing about this one
    ("other", [14]),
])
def test_generate_after_a_trainer_of_that_model(given, expected):
    before = (f"trainer = Seq2SeqTrainer({given}, args, eval_dataset=val_ds)\n"
              "trainer.train()")
    assert lines(_GENERATE.format(before=before), RULE) == expected


def test_generate_after_training_fix_inserts_eval():
    src = _GENERATE.format(before="")
    (f,) = findings(src, RULE)
    fixed = apply_fix(src, f)
    assert "model.eval()\nids = model.generate(" in fixed and parses(fixed)


def test_generate_in_a_helper_whose_callers_set_eval():
    src = _GENERATE.format(before="").replace("ids = model.generate(", "def sample(m):\n    return m.generate(") + """\
model.eval()
print(sample(model))
"""
    assert lines(src, RULE) == []
    assert lines(src.replace("model.eval()\nprint", "print"), RULE) == [14]


def test_generate_of_a_model_class_that_switches_to_eval_itself():
    src = NET.replace("    def forward", """\
    @torch.no_grad()
    def generate(self, x, steps):
        {switch}
        for _ in range(steps):
            x = self(x)
        return x

    def forward""") + """\
model = Net()
opt = torch.optim.Adam(model.parameters())
model.train()
for x, y in train_loader:
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
samples = model.generate(seed, 10)
"""
    assert lines(src.replace("{switch}", "self.eval()"), RULE) == []
    assert lines(src.replace("{switch}", "pass"), RULE) == [28]


# Sweep 24 (a BiLSTM-CRF tagger): the only dropout that runs is a module built inside forward()
# from a rate argument; a fresh module is always in training mode, so eval() changes nothing
# (the evaluation passes a zero rate). A registered dropout called in forward still counts.
_DROPOUT_IN_FORWARD = """import torch
import torch.nn as nn

class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(32, 32)
        self.out = nn.Linear(32, 5)
        self.drop = nn.Dropout(0.5)

    def forward(self, x, drop_prob):
        {drop}
        h, _ = self.lstm(d(x))
        return self.out(d(h))

model = Tagger()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    opt.zero_grad()
    nn.functional.cross_entropy(model(x, 0.5), y).backward()
    opt.step()

with torch.no_grad():
    acc = (model(xt, 0).argmax(1) == yt).float().mean()
"""


@pytest.mark.parametrize("drop,expected", [
    ("d = nn.Dropout(p=drop_prob)", []),
    ("d = nn.Dropout(drop_prob)  # fresh on every call", []),
    ("d = self.drop", [24]),
])
def test_a_dropout_built_inside_forward_ignores_eval(drop, expected):
    assert lines(_DROPOUT_IN_FORWARD.format(drop=drop), RULE) == expected


def test_a_dropout_built_inside_forward_and_registered_counts():
    """`self.d = nn.Dropout(p)` in forward, or a local one handed elsewhere, is not followed."""
    src = _DROPOUT_IN_FORWARD.format(drop="self.d = d = nn.Dropout(drop_prob)")
    assert lines(src, RULE) == [24]
    src = _DROPOUT_IN_FORWARD.format(drop="d = nn.Sequential(nn.Dropout(drop_prob))")
    assert lines(src, RULE) == [24]


def test_a_dropout_built_in_a_helper_method_of_forward_ignores_eval():
    """The tagger's own shape: forward() calls `self.forward_lstm(...)`, which builds the
    dropout. A helper that returns the module instead of calling it is not followed (the
    module leaves the method: conservatively, the class still counts as having dropout)."""
    helper = _DROPOUT_IN_FORWARD.replace(
        "    def forward(self, x, drop_prob):\n        {drop}\n",
        "    def forward(self, x, drop_prob):\n        return self.forward_lstm(x, drop_prob)\n\n"
        "    def forward_lstm(self, x, drop_prob):\n        {drop}\n")
    assert lines(helper.format(drop="d = nn.Dropout(p=drop_prob)"), RULE) == []
    returned = helper.replace("        h, _ = self.lstm(d(x))\n        return self.out(d(h))\n",
                              "        return d\n").replace(
        "return self.forward_lstm(x, drop_prob)", "return self.out(self.forward_lstm(x, drop_prob)(x))")
    assert lines(returned.format(drop="d = nn.Dropout(p=drop_prob)"), RULE) == [26]


# Sweep A (a licence-plate recogniser's speed test): a warm-up for timing throws the outputs
# away, in a helper whose only callers hand it a model just built. Nothing is scored, and the
# batch-norm statistics it updates are those of random weights.
_WARM_UP = NET + """\
import time

def test_model(data, model):
    for _ in range(3):
        {warm_up}
    t0 = time.time()
    output = model(data)
    print(time.time() - t0, output.shape)


if __name__ == "__main__":
{caller}
"""
_BUILT = "    model = Net()\n    test_model(torch.randn(5, 784), model)\n"


@pytest.mark.parametrize("warm_up,caller,expected", [
    ("model(data)", _BUILT, []),
    ("model(data)", "    for size in (1, 8):\n        model = Net()\n        test_model(torch.randn(size, 784), model)\n", []),
    # the warm-up's output is read: a score, even of a fresh model
    ("print(model(data).argmax(1))", _BUILT, [18]),
    # a model given weights, or trained, before the call: the warm-up changes its batch norm
    ("model(data)", _BUILT.replace("Net()\n", "Net()\n    model.load_state_dict(torch.load('net.pt'))\n"), [18]),
    ("model(data)", _BUILT + "    model.load_state_dict(torch.load('net.pt'))\n    test_model(torch.randn(5, 784), model)\n", [18]),
    ("model(data)", "    model = Net()\n    for epoch in range(3):\n        test_model(torch.randn(5, 784), model)\n"
                    "        fit(model)\n", [18]),
])
def test_a_warm_up_of_a_freshly_built_model(warm_up, caller, expected):
    assert lines(_WARM_UP.format(warm_up=warm_up, caller=caller), RULE) == expected


# Sweep D (dlwpt p1ch8): the same `validate(model, ...)` is called first with a model without
# dropout, later with a dropout model, both in training mode: the second call is an evaluation
# with dropout on.
_VALIDATE_TWICE = NET + """\
class Plain(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 10)
    def forward(self, x):
        return self.fc(x)

def validate(model, loader):
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
    return correct

model = {first}()
training_loop(model, train_loader)
print(validate(model, val_loader))
model = {second}()
training_loop(model, train_loader)
print(validate(model, val_loader))
"""


@pytest.mark.parametrize("first,second,expected", [
    ("Plain", "Net", [25]),
    ("Net", "Plain", [25]),
    ("Plain", "Plain", []),
])
def test_a_helper_called_with_a_dropout_model_among_others(first, second, expected):
    assert lines(_VALIDATE_TWICE.format(first=first, second=second), RULE) == expected


# -- helpers imported from another file of the project (the cross-file index) ------------------
HELPERS = """\
import torch


def train(model, loader, criterion, optimizer):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()


def evaluate(model, loader, criterion):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for x, y in loader:
            total += criterion(model(x), y).item()
    return total / len(loader)
"""

MAIN = """\
import torch
import torch.nn as nn
from helpers import train, evaluate

model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 1))
criterion = nn.L1Loss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

for epoch in range(5):
    train(model, train_loader, criterion, optimizer)
    val_loss = evaluate(model, val_loader, criterion)

predicted = []
for inputs, targets in val_loader:
    outputs = model(inputs)
    predicted.extend(outputs.tolist())
"""


def test_an_imported_helper_that_calls_eval_leaves_the_model_in_eval_mode():
    # seen in public notebooks (sweep 27): `evaluate` of util/utilities.py ends each epoch
    assert two_files(HELPERS, MAIN, RULE, models_path="helpers.py", train_path="main.py") == []


def test_an_imported_training_helper_called_last_leaves_it_in_training_mode():
    swapped = MAIN.replace("    train(model, train_loader, criterion, optimizer)\n", "") \
        .replace("    val_loss = evaluate(model, val_loader, criterion)\n",
                 "    val_loss = evaluate(model, val_loader, criterion)\n"
                 "    train(model, train_loader, criterion, optimizer)\n")
    found = two_files(HELPERS, swapped, RULE, models_path="helpers.py", train_path="main.py")
    assert [f.location.line + 1 for f in found] == [15]


def test_an_imported_helper_is_known_by_its_module_path_only():
    # `from other import evaluate`: not the evaluate of helpers.py (names like evaluate and
    # train are defined in many files and libraries): unknown, so the model is taken to be in
    # the mode it was built in, as before the index knew helpers
    other = MAIN.replace("from helpers import train, evaluate", "from other import train, evaluate")
    found = two_files(HELPERS, other, RULE, models_path="helpers.py", train_path="main.py")
    assert [f.location.line + 1 for f in found] == [15]
    package = MAIN.replace("from helpers import train, evaluate", "from .utils.helpers import train, evaluate")
    assert two_files(HELPERS, package, RULE, models_path="proj/utils/helpers.py", train_path="proj/main.py") == []


def test_a_function_of_the_file_itself_wins_over_an_import_of_the_same_name():
    own = MAIN.replace("predicted = []\n", "def evaluate(model, loader, criterion):\n"
                       "    return sum(criterion(model(x), y).item() for x, y in loader)\n\n\npredicted = []\n")
    found = two_files(HELPERS, own, RULE, models_path="helpers.py", train_path="main.py")
    assert [f.location.line + 1 for f in found] == [19]


def test_an_imported_helper_that_ends_in_train_mode_after_its_evaluation():
    # `def evaluate(model): model.eval() ... model.train()`: the helper's last word counts
    restoring = HELPERS.replace("    return total / len(loader)\n", "    model.train()\n    return total / len(loader)\n")
    found = two_files(restoring, MAIN, RULE, models_path="helpers.py", train_path="main.py")
    assert [f.location.line + 1 for f in found] == [15]


# Sweep 27 (a "loss goes down" unit test): a model built from random weights in a pytest test and
# trained there for a step checks the training code; its training-mode loss is no score. Loading
# weights into it makes it a trained model again, and outside a test module it is an evaluation.
_LOSS_GOES_DOWN = NET + """\
def test_one_epoch_reduces_loss():
    model = Net()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x, y = torch.randn(16, 784), torch.randint(0, 10, (16,))
    LOAD
    with torch.no_grad():
        start = loss_fn(model(x), y).item()
    train_one_epoch(model, [(x, y)] * 5, opt, loss_fn)
    with torch.no_grad():
        end = loss_fn(model(x), y).item()
    assert end <= start
"""


@pytest.mark.parametrize("load,path,expected", [
    ("", "tests/test_train.py", []),
    ("", "train_check.py", [20]),                                      # not a test module
    ("model.load_state_dict(torch.load('net.pt'))", "tests/test_train.py", [20]),
    ("load_checkpoint(model, 'net.pt')", "tests/test_train.py", [20]),
])
def test_a_model_trained_inside_a_unit_test_is_no_trained_model(load, path, expected):
    assert lines(_LOSS_GOES_DOWN.replace("LOAD", load), RULE, path=path) == expected
