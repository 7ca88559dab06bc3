"""Look-alikes found by adversarial reviews of the rule changes of session 17 (precision sweeps
13 and 14): each is real code that a new exemption must not silence, or correct code that a new
resolution must not report. The comment at the top of each snippet says which; the expected
lines are those the rule must report (empty: silent)."""
import pytest
from conftest import lines, two_files

CASES = [
    ("mt_load_weights", "leakage-multitest", """\
# leakage-multitest: best checkpoint chosen on the TEST set (validation_data=(x_test, y_test),
# save_best_only), then the checkpoint's weights are loaded into a freshly built model and scored
# on the same test set (TF's save-and-load tutorial pattern). _of_another_model sees
# best_model = create_model() (no 'load' in the binding) and takes it for another model.
# Expected: leakage-multitest on the model.fit line (old code: reported). New: silent.
import tensorflow as tf

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()


def create_model():
    return tf.keras.Sequential([tf.keras.layers.Flatten(), tf.keras.layers.Dense(10)])


model = create_model()
ckpt = tf.keras.callbacks.ModelCheckpoint("best.weights.h5", monitor="val_accuracy",
                                          save_best_only=True, save_weights_only=True)
model.fit(x_train, y_train, epochs=50, validation_data=(x_test, y_test), callbacks=[ckpt])

best_model = create_model()
best_model.load_weights("best.weights.h5")
print(best_model.evaluate(x_test, y_test))
""", [18]),
    ("mt_alias2", "leakage-multitest", """\
# leakage-multitest: early stopping on test, then the SAME model evaluated through an alias
# (final_model = model). Expected: reported on the fit line (old: reported). New: silent.
import tensorflow as tf

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.cifar10.load_data()
model = make_small_cnn()
es = tf.keras.callbacks.EarlyStopping(monitor='val_loss', patience=3, restore_best_weights=True)
model.fit(x_train, y_train, epochs=50, validation_data=(x_test, y_test), callbacks=[es])
final_model = model
print(final_model.evaluate(x_test, y_test))
""", [8]),
    ("em_trained_factory", "missing-eval-mode", """\
# A factory that BUILDS AND TRAINS the model (backward + step inside) is taken as "fresh"
# (_fresh_factory only looks for load/pretrained/checkpoint text), so the evaluation under
# no_grad with dropout still active is silenced. Expected: missing-eval-mode at line 37
# (old code reported it); new code: silent.
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


def train_model(epochs=5):
    model = Net()
    optimizer = torch.optim.Adam(model.parameters())
    for epoch in range(epochs):
        for x, y in train_dl:
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
    return model


def main():
    model = train_model()
    correct = 0
    with torch.no_grad():
        for x, y in test_loader:
            correct += (model(x).argmax(1) == y).sum().item()
    print("test accuracy", correct / len(test_loader.dataset))


main()
""", [37]),
    ("em_seq_named_layers", "eval-mode-not-restored", """\
# eval-mode-not-restored NEW FALSE POSITIVE: nn.Sequential of layers held by names that are
# plain nn.Linear (followable, no dropout/BN): _layer_part -> model_is_mode_dependent(identifier)
# returns None for torch.nn.Linear, so the Sequential is 'unknown'. Expected: silent (old).
# New: eval-mode-not-restored at model.eval().
import torch
import torch.nn as nn
import torch.nn.functional as F

encoder = nn.Linear(784, 32)
decoder = nn.Linear(32, 784)
model = nn.Sequential(encoder, nn.ReLU(), decoder)
optimizer = torch.optim.Adam(model.parameters())
for epoch in range(10):
    for x, _ in train_loader:
        optimizer.zero_grad()
        F.mse_loss(model(x), x).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val = sum(F.mse_loss(model(x), x).item() for x, _ in val_loader)
""", []),
    ("hc_optional_import", "hardcoded-cuda", """\
# hardcoded-cuda: flash_attn is an OPTIONAL import (try/except ImportError), so the file runs
# without it and without a GPU; the unconditional .cuda() calls crash on CPU machines.
# Expected: 2 hardcoded-cuda findings (old: reported). New: whole file silent.
import torch
import torch.nn as nn

try:
    from flash_attn import flash_attn_func
    HAS_FLASH = True
except ImportError:
    HAS_FLASH = False


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 2)

    def forward(self, x):
        return self.fc(x)


model = Net().cuda()
x = torch.randn(4, 10).cuda()
print(model(x))
""", [23, 24]),
    ("hc_half_for_saving", "hardcoded-cuda", """\
# hardcoded-cuda: float32 training on 'cuda'; model.half() only makes a float16 copy to save.
# _halved_later takes any later model.half() in the scope as 'half-precision on the GPU'.
# Expected: the 3 hardcoded-cuda findings (old: reported). New: whole file silent.
import torch
import torch.nn as nn
import torch.nn.functional as F

model = nn.Linear(10, 2).to("cuda")
optimizer = torch.optim.Adam(model.parameters())
for x, y in train_dl:
    x, y = x.to("cuda"), y.to("cuda")
    optimizer.zero_grad()
    F.cross_entropy(model(x), y).backward()
    optimizer.step()

# a float16 copy of the weights, to save disk space: training above was float32
torch.save(model.half().state_dict(), "model_fp16.pt")
""", [8, 11, 11]),
    ("hc_half_cond", "hardcoded-cuda", """\
# hardcoded-cuda: model.half() only under 'if fp16:' (off by default); not GPU-only by design.
# Expected: 2 findings (old: reported). New: whole file silent.
import torch
import torch.nn as nn


def main(fp16=False):
    model = nn.Linear(10, 2).to("cuda")
    if fp16:
        model.half()
    x = torch.randn(3, 10).to("cuda")
    print(model(x))


main()
""", [8, 11]),
    ("hc_cond_assert", "hardcoded-cuda", """\
# hardcoded-cuda: the __init__ asserts CUDA only when use_gpu=True (default False); train()
# calls .cuda() unconditionally. Expected: 2 findings (old: reported). New: silent (every
# method of the class treated as guarded).
import torch
import torch.nn as nn


class Trainer:
    def __init__(self, use_gpu=False):
        if use_gpu:
            assert torch.cuda.is_available(), "no GPU"
        self.model = nn.Linear(10, 2)

    def train(self, x):
        self.model.cuda()
        return self.model(x.cuda())


Trainer().train(torch.randn(3, 10))
""", [15, 16]),
    ("hc_not_eq", "hardcoded-cuda", """\
# hardcoded-cuda: 'not device == "cpu"' is a negated CPU test but the negation is only
# detected via '!=' or ' not ' (with a leading space). Expected: move() else-branch (runs ON the
# CPU) reported, move2() body (non-CPU branch) exempt. New: the opposite (line 17 reported,
# line 12 silent). Old: both silent.
import torch


def move(x, device):
    if not device == "cpu":
        return x
    else:
        return x.cuda()


def move2(x, device):
    if not device == "cpu":
        return x.cuda()
    return x
""", [12]),
    ("hc_bnb_false", "hardcoded-cuda", """\
# hardcoded-cuda: BitsAndBytesConfig(load_in_4bit=False) -- no quantization -- still silences
# the file (any BitsAndBytesConfig(...) call counts). Expected: finding at model.cuda() (old). New: silent.
import torch
from transformers import AutoModelForCausalLM, BitsAndBytesConfig

quant = BitsAndBytesConfig(load_in_4bit=False)
model = AutoModelForCausalLM.from_pretrained("gpt2")
model.cuda()
""", [8]),
    ("fot_hparam_loop", "leakage-fit-on-test", """\
# leakage-fit-on-test: pca is refitted in a loop over HYPERPARAMETERS (on X_train), not over
# items; _refitted_per_item drops the name-hint finding for the later pca.fit(X_test).
# Expected: leakage-fit-on-test at line 17 (old: reported). New: silent.
import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression

X_train, y_train = np.load("train_X.npy"), np.load("train_y.npy")
X_test, y_test = np.load("test_X.npy"), np.load("test_y.npy")

for n in [2, 5, 10]:
    pca = PCA(n_components=n)
    pca.fit(X_train)
    print(n, pca.explained_variance_ratio_.sum())

pca = PCA(n_components=10)
pca.fit(X_test)
clf = LogisticRegression().fit(pca.transform(X_train), y_train)
print(clf.score(pca.transform(X_test), y_test))
""", [17]),
    ("fot_seed_loop", "leakage-fit-on-test", """\
# leakage-fit-on-test: scaler refitted in a loop over column names (on train), then
# fit_transform on the test frame. Expected: reported (old). New: silent.
import pandas as pd
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression

train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
scaler = StandardScaler()
for col in ["a", "b", "c"]:
    scaler.fit(train[[col]])
    print(col, scaler.mean_)

X_test_scaled = scaler.fit_transform(test[["a", "b", "c"]])
""", [14]),
    ("opt_else2", "optimizer-recreated-in-loop", """\
# optimizer-recreated-in-loop: the Adam is rebuilt in the ELSE branch of 'if epoch % 10 == 0',
# i.e. on 9 of every 10 epochs; _periodic_restart climbs through else_clause to the if.
# Expected: reported (old). New: silent.
import torch
import torch.nn as nn
import torch.nn.functional as F

model = nn.Linear(4, 1)
for epoch in range(100):
    if epoch % 10 == 0:
        print("epoch", epoch)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for x, y in loader:
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()
""", [13]),
    ("opt_attr_list", "optimizer-recreated-in-loop", """\
# optimizer-recreated-in-loop NEW FALSE POSITIVE: a fresh random restart per pass, parameters
# held in attributes (self.w, self.b rebuilt in the loop); _attribute_rebuilt_in now needs
# '<attr>.parameters(' in the optimizer args. Expected: silent (old; and the same code with
# plain local names is silent). New: reported.
import torch
import torch.nn.functional as F


class Fitter:
    def fit_restarts(self, x, y, n_restarts=5):
        for r in range(n_restarts):
            # a fresh random start per restart: new parameters, a new optimizer over them
            self.w = torch.randn(3, requires_grad=True)
            self.b = torch.zeros(1, requires_grad=True)
            optimizer = torch.optim.Adam([self.w, self.b], lr=0.01)
            for _ in range(100):
                optimizer.zero_grad()
                F.mse_loss(x @ self.w + self.b, y).backward()
                optimizer.step()
""", []),
    ("opt_attr_module", "optimizer-recreated-in-loop", """\
# optimizer-recreated-in-loop NEW FALSE POSITIVE: self.model rebuilt (pruned) each round, the
# optimizer takes self.model.module.parameters(). Expected: silent (old). New: reported.
import torch
import torch.nn as nn
import torch.nn.functional as F


class Pruner:
    def iterative_prune(self, rounds, loader):
        for r in range(rounds):
            # a new, pruned model each round: a new optimizer over its parameters
            self.model = nn.DataParallel(prune(self.model.module, amount=0.2))
            optimizer = torch.optim.SGD(self.model.module.parameters(), lr=0.01, momentum=0.9)
            for x, y in loader:
                optimizer.zero_grad()
                F.cross_entropy(self.model(x), y).backward()
                optimizer.step()
""", []),
    ("zg_self_train", "missing-zero-grad", """\
# missing-zero-grad: 'self.train()' (nn.Module mode switch) in the batch loop counts as a
# gradient-clearing helper because a module-level function named train() calls zero_grad.
# Expected: missing-zero-grad at opt.step() (old: reported). New: silent.
import torch
import torch.nn as nn
import torch.nn.functional as F


def train(model, loader, opt):
    for x, y in loader:
        opt.zero_grad()
        F.mse_loss(model(x), y).backward()
        opt.step()


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 1)

    def forward(self, x):
        return self.fc(x)

    def fit(self, loader, epochs=10):
        opt = torch.optim.SGD(self.parameters(), lr=0.1)
        for epoch in range(epochs):
            for x, y in loader:
                self.train()
                loss = F.mse_loss(self(x), y)
                loss.backward()
                opt.step()
""", [31]),
]


@pytest.mark.parametrize("name,rule,src,expected", CASES, ids=[c[0] for c in CASES])
def test_review_lookalike(name, rule, src, expected):
    assert lines(src, rule) == expected



NETS = """\
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = torchvision.models.resnet18(weights="DEFAULT")
        self.backbone.fc = nn.Identity()
        self.backbone.eval()          # frozen feature extractor
        for p in self.backbone.parameters():
            p.requires_grad = False
        self.head = nn.Sequential(nn.Dropout(0.5), nn.Linear(512, 10))

    def forward(self, x):
        with torch.no_grad():
            feats = self.backbone(x)
        return self.head(feats)


"""

EVALUATE = """\
import torch
from nets import Classifier

# Classifier.__init__ freezes its backbone with self.backbone.eval(), but its dropout head is
# still in training mode: this evaluation under no_grad runs with dropout active.
# Expected: missing-eval-mode at the model(x) line (as before this change); new code: silent.
model = Classifier()
model.load_state_dict(torch.load("classifier.pt"))

correct = 0
with torch.no_grad():
    for x, y in test_loader:
        correct += (model(x).argmax(1) == y).sum().item()
print("test accuracy", correct / len(test_loader.dataset))
"""


def test_a_class_that_freezes_only_its_backbone_in_init_is_still_in_training_mode():
    """`self.backbone.eval()` in `__init__` next to a dropout head of its own: a fresh instance
    evaluated under no_grad still runs the head's dropout (the class is in another file)."""
    found = two_files(NETS, EVALUATE, "missing-eval-mode", models_path="nets.py", train_path="evaluate.py")
    assert [f.location.line + 1 for f in found] == [13]
