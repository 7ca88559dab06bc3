"""optimizer-recreated-in-loop: a stateful optimizer built anew on every pass of its training loop."""
import pytest
from conftest import apply_fix, findings, lines, notebook, parses

RULE = "optimizer-recreated-in-loop"

BUGGY = [
    ("adam_per_epoch", """\
import torch.optim as optim

def train(model, loader, epochs, lr):
    for epoch in range(epochs):
        optimizer = optim.Adam(model.parameters(), lr=lr)
        for x, y in loader:
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
""", [5]),
    # A learning-rate decay written as a new optimizer each epoch: the state goes with it.
    ("manual_decay_by_rebuilding", """\
import torch

for epoch in range(100):
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3 * 0.95 ** epoch)
    for x, y in loader:
        opt.zero_grad()
        net.loss(x, y).backward()
        opt.step()
""", [4]),
    # Passed to a helper that trains for one epoch.
    ("handed_to_an_epoch_helper", """\
import torch

for epoch in range(EPOCHS):
    optimizer = torch.optim.RMSprop(decoder.parameters(), lr=LR)
    train_loss = epoch_loop(train_batches, decoder, optimizer)
    val_loss = epoch_loop(val_batches, decoder)
""", [4]),
    ("sgd_with_momentum_per_batch", """\
from torch import optim

for x, y in loader:
    sgd = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    sgd.zero_grad()
    criterion(model(x), y).backward()
    sgd.step()
""", [4]),
    ("keras_optimizer_with_gradient_tape", """\
import tensorflow as tf

for epoch in range(epochs):
    optimizer = tf.keras.optimizers.Adam(lr * decay ** epoch)
    for x, y in dataset:
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
""", [4]),
    ("keras_recompiled_each_epoch_same_model", """\
from keras.optimizers import Adam

model = build_model()
for epoch in range(10):
    optim = Adam(learning_rate=1e-3)
    model.compile(optimizer=optim, loss="mse")
    model.fit(X, y, epochs=1)
""", [5]),
    ("while_loop", """\
import torch

step = 0
while step < 1000:
    optimizer = torch.optim.Adagrad(model.parameters())
    optimizer.zero_grad()
    model(batch).sum().backward()
    optimizer.step()
    step += 1
""", [5]),
    # another attribute rebuilt in the loop is not the model the optimizer trains
    ("other_attribute_rebuilt_each_pass", """\
import torch.optim as optim


class Trainer:
    def run(self, epochs):
        for epoch in range(epochs):
            self.history = []
            optimizer = optim.Adam(self.model.parameters(), lr=0.001)
            for x, y in self.train_loader:
                optimizer.zero_grad()
                self.criterion(self.model(x), y).backward()
                optimizer.step()
""", [8]),
    # review 17: an attribute decayed in the loop is not a new model
    ("attribute_learning_rate_decayed_each_pass", """\
import torch.optim as optim


class Trainer:
    def run(self, epochs):
        for epoch in range(epochs):
            self.lr = self.lr * 0.95
            optimizer = optim.SGD(self.model.parameters(), lr=self.lr, momentum=0.9)
            for x, y in self.train_loader:
                optimizer.zero_grad()
                self.criterion(self.model(x), y).backward()
                optimizer.step()
""", [8]),
    # rebuilt under a condition that is not periodic: every epoch once it holds
    ("rebuilt_under_a_threshold_condition", """\
import torch
import torch.nn as nn

for epoch in range(50):
    if epoch > 5:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    for x, y in loader:
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
""", [6]),
]

CORRECT = [
    # ybabakhin's salt solution: a warm restart every cycle for snapshot ensembling
    ("periodic_restart_for_snapshot_ensembles", """\
import torch
import torch.nn as nn

optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(50):
    for x, y in loader:
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
    if (epoch + 1) % 10 == 0:
        torch.save(model.state_dict(), f"snapshot{epoch}.pth")
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
""",),
    # jindongwang/transferlearning's iterative pruning: each pass prunes into a new model
    ("attribute_model_rebuilt_each_pass", """\
import torch.optim as optim


class Pruner:
    def run(self, iterations):
        for _ in range(iterations):
            self.model = prune_conv_layer(self.model)
            optimizer = optim.SGD(self.model.parameters(), lr=0.001, momentum=0.9)
            for x, y in self.train_loader:
                optimizer.zero_grad()
                self.criterion(self.model(x), y).backward()
                optimizer.step()
""",),
    ("created_once", """\
import torch

optimizer = torch.optim.Adam(model.parameters())
for epoch in range(10):
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
""",),
    # A grid search: each learning rate is a new run with a new model.
    ("grid_over_learning_rates", """\
import torch

for lr in [1e-2, 1e-3, 1e-4]:
    model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
""",),
    # Folds / repeated runs: a new model per pass, whatever the loop iterates over.
    ("new_model_each_pass", """\
import torch

for k in range(5):
    net = build_model()
    optimizer = torch.optim.Adam(net.parameters())
    train(net, folds[k], optimizer)
""",),
    ("weights_restored_each_pass", """\
import torch

for epoch_budget in range(3):
    model.load_state_dict(initial_state)
    optimizer = torch.optim.Adam(model.parameters())
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
""",),
    ("loop_over_folds", """\
import torch

for fold, (train_idx, val_idx) in enumerate(kfold.split(X)):
    optimizer = torch.optim.Adam(model.parameters())
    fit(model, optimizer, train_idx)
""",),
    # Plain SGD keeps no state between steps: rebuilding it changes nothing.
    ("plain_sgd", """\
import torch

for epoch in range(10):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1 * 0.9 ** epoch)
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
""",),
    # Built in the loop but never used to train there.
    ("not_used_in_the_loop", """\
import torch

for name in ["adam", "adamw"]:
    candidates[name] = torch.optim.Adam(model.parameters())
for epoch in range(3):
    optimizer = torch.optim.Adam(model.parameters())
    print(optimizer)
""",),
    # A new parameter group per stage of progressive unfreezing: new parameters each pass.
    ("new_parameters_each_stage", """\
import torch

for epoch in range(10):
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params)
    unfreeze_next(model)
    optimizer.step()
""",),
    # The optimizer is built in a function defined in the loop's body, not in the loop itself.
    ("in_a_function", """\
import torch

def make_optimizer(model):
    return torch.optim.Adam(model.parameters())

for epoch in range(10):
    opt = make_optimizer(model)
    opt.step()
""",),
    # Sweep 12: Keras bagging / fold loops build a new model per pass and compile a new
    # optimizer into it (a held optimizer variable, not only `compile(optimizer=Adam())`).
    ("keras_bagging_new_model_per_pass", """\
from keras.models import Sequential
from keras.layers import Dense
from keras.optimizers import Adam

def train_bags(X, y, nbags):
    for j in range(1, nbags + 1):
        model = Sequential([Dense(1)])
        optim = Adam(lr=1e-3)
        model.compile(optimizer=optim, loss="mean_squared_error")
        model.fit(X, y, epochs=10)
""",),
    ("keras_old_kfold_new_model_per_fold", """\
from sklearn.cross_validation import KFold
from keras.optimizers import SGD
from keras.applications import DenseNet121

def cv(train_data, train_target, nfolds=10):
    kf = KFold(len(train_data), n_folds=nfolds, shuffle=True, random_state=0)
    for train_index, test_index in kf:
        model = DenseNet121(weights=None, classes=3)
        sgd = SGD(lr=1e-3, decay=1e-6, momentum=0.9, nesterov=True)
        model.compile(optimizer=sgd, loss="categorical_crossentropy")
        model.fit(train_data[train_index], train_target[train_index], epochs=10)
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[c[0] for c in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_fix_moves_the_optimizer_before_the_loop():
    src = BUGGY[0][1]
    (f,) = findings(src, RULE)
    fixed = apply_fix(src, f)
    assert parses(fixed) and lines(fixed, RULE) == []
    body = fixed.splitlines()
    i = body.index("    optimizer = optim.Adam(model.parameters(), lr=lr)")
    assert body[i + 1] == "    for epoch in range(epochs):"
    assert body[i + 2] == "        for x, y in loader:"


@pytest.mark.parametrize("name", ["manual_decay_by_rebuilding", "keras_optimizer_with_gradient_tape"])
def test_no_fix_when_it_reads_the_loop_variable(name):
    src = {c[0]: c[1] for c in BUGGY}[name]
    (f,) = findings(src, RULE)
    assert f.fix is None  # moving it out would change the learning rate it is built with


def test_message_names_what_is_lost():
    (f,) = findings(BUGGY[0][1], RULE)
    assert "running averages of the gradient" in f.message and "scheduler" in f.message
    (f,) = findings(BUGGY[3][1], RULE)
    assert "momentum buffers" in f.message
    assert f.related and f.related[0].location.line == 6  # sgd.step(), 0-based


def test_in_a_notebook_cell():
    cells = ["import torch", ("for epoch in range(5):\n    opt = torch.optim.Adam(m.parameters())\n"
                             "    for x in data:\n        opt.zero_grad()\n        m(x).sum().backward()\n"
                             "        opt.step()")]
    (f,) = notebook(cells, RULE)
    assert (f.location.cell, f.location.cell_line) == (1, 1)


def test_weights_reset_of_another_model_do_not_excuse_this_one():
    """Alternating two models: the second is reloaded from the first every epoch (a fresh run
    for it, silent), but the first keeps its weights and loses its Adam state (reported)."""
    src = """\
import torch

def training(model_ae, model_ndmd, epochs, lr):
    for epoch in range(epochs):
        optimizer = torch.optim.Adam(model_ae.parameters(), lr=lr)
        for x in batches():
            optimizer.zero_grad()
            model_ae(x).sum().backward()
            optimizer.step()
        model_ndmd.load_state_dict(model_ae.state_dict())
        optimizer = torch.optim.Adam(model_ndmd.parameters(), lr=lr)
        for x in batches():
            optimizer.zero_grad()
            model_ndmd(x).sum().backward()
            optimizer.step()
"""
    assert lines(src, RULE) == [5]


# Sweep 19 (Modern-Computer-Vision-with-PyTorch's captioning notebook): rebuilt once, at a chosen
# epoch, to drop the learning rate by hand.
_AT_EPOCH = """\
import torch

optimizer = torch.optim.AdamW(params, lr=1e-3)
for epoch in range(10):
    {rebuild}
    for x, y in trn_dl:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
"""


@pytest.mark.parametrize("rebuild,expected", [
    ("if epoch == 5: optimizer = torch.optim.AdamW(params, lr=1e-4)", []),
    ("if epoch in (5, 8): optimizer = torch.optim.AdamW(params, lr=1e-4)", []),
    ("if epoch in milestones: optimizer = torch.optim.AdamW(params, lr=1e-4)", []),
    ("if epoch != 5: optimizer = torch.optim.AdamW(params, lr=1e-4)", [5]),
    ("if epoch > 5: optimizer = torch.optim.AdamW(params, lr=1e-4)", [5]),
    ("if lr_changed == True: optimizer = torch.optim.AdamW(params, lr=1e-4)", [5]),
    ("if epoch in range(5, 10): optimizer = torch.optim.AdamW(params, lr=1e-4)", [5]),
])
def test_rebuilt_at_chosen_passes_only(rebuild, expected):
    assert lines(_AT_EPOCH.format(rebuild=rebuild), RULE) == expected


def test_a_rebuild_at_the_first_batch_happens_every_epoch():
    src = """\
import torch

for epoch in range(20):
    for i, (x, y) in enumerate(train_loader):
        if i == 0:
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
"""
    assert lines(src, RULE) == [6]


# Sweep 19a (prakashpandey9's text classification main.py): the optimizer is built inside the
# training function that the epoch loop calls.
_PER_CALL = """\
import torch


def train_model(model, train_iter, epoch):
    optim = torch.optim.Adam(filter(lambda p: p.requires_grad, model.parameters()))
    model.train()
    for text, target in train_iter:
        optim.zero_grad()
        loss_fn(model(text), target).backward()
        optim.step()


model = build()
{loop}
"""


@pytest.mark.parametrize("loop,expected", [
    ("for epoch in range(10):\n    train_model(model, train_iter, epoch)\n", [5]),
    ("for epoch in range(10):\n    train_model(model=model, train_iter=train_iter, epoch=epoch)\n", [5]),
    # called once; a new model per pass (a fresh run); a loop over settings
    ("train_model(model, train_iter, 0)\n", []),
    ("for epoch in range(10):\n    model = build()\n    train_model(model, train_iter, epoch)\n", []),
    ("for lr in [1e-3, 1e-4]:\n    train_model(model, train_iter, 0)\n", []),
])
def test_an_optimizer_built_in_a_function_called_every_epoch(loop, expected):
    assert lines(_PER_CALL.format(loop=loop), RULE) == expected


def test_a_model_built_inside_the_function_is_a_new_run_per_call():
    src = _PER_CALL.replace("def train_model(model, train_iter, epoch):\n",
                            "def train_model(model, train_iter, epoch):\n    model = build()\n")
    assert lines(src.format(loop="for epoch in range(10):\n    train_model(model, train_iter, epoch)\n"), RULE) == []


def test_a_chosen_epoch_inside_a_fold_loop_is_still_a_chosen_pass():
    """Second review of sweep 19: a learning-rate drop by hand in each fold's epochs."""
    src = """\
import torch

for fold in range(5):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(20):
        if epoch == 10:
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
        for x, y in loader:
            optimizer.zero_grad()
            criterion(model(x), y).backward()
            optimizer.step()
"""
    assert lines(src, RULE) == []


def test_per_call_optimizer_look_alikes():
    """Third review of sweep 19: an optimizer the caller may pass in, and a helper that runs
    its own epochs (called once per pruning round)."""
    passed = _PER_CALL.replace("def train_model(model, train_iter, epoch):\n    optim = torch.optim.Adam(",
                               "def train_model(model, train_iter, epoch, optim=None):\n    if optim is None:\n        optim = torch.optim.Adam(")
    assert lines(passed.format(loop="for epoch in range(10):\n    train_model(model, train_iter, epoch, opt)\n"), RULE) == []
    own_epochs = _PER_CALL.replace("    for text, target in train_iter:\n", "    for e in range(n_epochs):\n      for text, target in train_iter:\n")
    own_epochs = own_epochs.replace("        optim.zero_grad()\n        loss_fn(model(text), target).backward()\n        optim.step()\n",
                                    "        optim.zero_grad()\n        loss_fn(model(text), target).backward()\n        optim.step()\n".replace("        ", "          "))
    assert lines(own_epochs.format(loop="for r in range(3):\n    train_model(model, train_iter, r)\n"), RULE) == []


def test_an_inner_loop_that_is_no_epoch_loop_does_not_exempt():
    """Fourth review of sweep 19: a WGAN critic loop inside the per-epoch helper."""
    src = _PER_CALL.replace("    for text, target in train_iter:\n",
                            "    for text, target in train_iter:\n      for _ in range(n_critic):\n")
    src = src.replace("        optim.zero_grad()\n        loss_fn(model(text), target).backward()\n        optim.step()\n",
                      "        optim.zero_grad()\n        loss_fn(model(text), target).backward()\n        optim.step()\n".replace("        ", "          "))
    assert lines(src.format(loop="for epoch in range(10):\n    train_model(model, train_iter, epoch)\n"), RULE) == [5]


# Sweep D (ogb linkproppred run.py): rebuilt when the step reaches a threshold that the same
# branch moves on: a learning-rate drop by hand at a few milestones.
_MILESTONE = """\
import torch

optimizer = torch.optim.Adam(model.parameters(), lr=lr)
for step in range(max_steps):
    optimizer.zero_grad()
    criterion(model(x), y).backward()
    optimizer.step()
    if step >= warm_up_steps:
        lr = lr / 10
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
{moved}"""


@pytest.mark.parametrize("moved,expected", [
    ("        warm_up_steps = warm_up_steps * 3\n", []),
    ("        warm_up_steps *= 3\n", []),
    ("        warm_up_steps = step + 1000\n", []),
    # the threshold stays (only read): rebuilt on every step past it
    ("", [10]),
    ("        print(warm_up_steps)\n", [10]),
])
def test_rebuilt_when_a_moving_threshold_is_reached(moved, expected):
    assert lines(_MILESTONE.format(moved=moved), RULE) == expected


# Sweep D (andri27 model_based.py): the helper runs its own passes, `for it in
# range(max_model_iter)` around the minibatch loop, and is called once per aggregation round.
_OWN_PASSES = """\
import torch


def train_model(model, X, y, max_model_iter, batch_size):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
{loops}            opt.zero_grad()
            loss_fn(model(X[mb:mb + batch_size]), y[mb:mb + batch_size]).backward()
            opt.step()


for aggregation_round in range(3):
    train_model(model, X, y, 55, 16)
"""


@pytest.mark.parametrize("loops,expected", [
    ("    for it in range(max_model_iter):\n        for mb in range(0, len(X), batch_size):\n", []),
    ("    for it in range(max_model_iter):\n        for mb, _ in enumerate(loader):\n", []),
    ("    for it in tqdm(range(max_model_iter)):\n        for mb in range(0, len(X), batch_size):\n", []),
    ("    for mb in tqdm(range(len(X) // batch_size)):\n        for _ in range(n_critic):\n", [5]),
    # one pass over the data per call, with a critic-style repeat inside or around the batches
    ("    if True:\n        for mb in range(0, len(X), batch_size):\n", [5]),
    ("    for mb in range(0, len(X), batch_size):\n        for _ in range(n_critic):\n", [5]),
    ("    for mb in range(len(X) // batch_size):\n        for _ in range(n_critic):\n", [5]),
])
def test_a_helper_running_its_own_passes_whatever_the_bound_is_called(loops, expected):
    assert lines(_OWN_PASSES.format(loops=loops), RULE) == expected


# Sweep C (hikmatkhan MAML with higher): the inner optimizer is only handed to
# `higher.innerloop_ctx`, which builds its own differentiable optimizer from it per task.
_MAML = """\
import torch
import torch.nn.functional as F
{imp}

meta_opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(100):
    meta_opt.zero_grad()
    for t in range(4):
        inner_opt = torch.optim.Adam(model.parameters(), lr=0.1)
        with {ctx}(model, inner_opt, copy_initial_weights=False) as (fmodel, diffopt):
            for _ in range(5):
                diffopt.step(F.cross_entropy(fmodel(xs), ys))
            F.cross_entropy(fmodel(xq), yq).backward()
{extra}    meta_opt.step()
"""


@pytest.mark.parametrize("imp,ctx,extra,expected", [
    ("import higher", "higher.innerloop_ctx", "", []),
    ("from higher import innerloop_ctx", "innerloop_ctx", "", []),
    # stepped itself too: its own state is lost on every task
    ("import higher", "higher.innerloop_ctx", "        inner_opt.step()\n", [9]),
    # another library's context manager may train with it
    ("import mylib", "mylib.innerloop_ctx", "", [9]),
])
def test_an_optimizer_only_handed_to_higher(imp, ctx, extra, expected):
    assert lines(_MAML.format(imp=imp, ctx=ctx, extra=extra), RULE) == expected


# Sweep C (GMvandeVen continual-learning tutorial): `train` runs `iters` steps, making a new
# iterator over the data whenever the last one runs out, and is called once per context.
_ITERS = """\
import torch
import torch.nn.functional as F


def train(model, dataset, iters, lr):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    iters_left = 1
    for batch_index in range(1, iters + 1):
        iters_left -= 1
        if iters_left == 0:
{renew}            iters_left = len(data_loader)
        x, y = next(data_loader)
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()


data_loader = iter(DataLoader(train_set, batch_size=128))
for context_id in range(5):
    train(model, train_datasets[context_id], iters=2000, lr=1e-4)
"""


@pytest.mark.parametrize("renew,expected", [
    ("            data_loader = iter(DataLoader(dataset, batch_size=128, shuffle=True))\n", []),
    # the iterator is never renewed: one pass at most per call
    ("            print('out of data')\n", [6]),
])
def test_a_helper_cycling_through_its_data(renew, expected):
    assert lines(_ITERS.format(renew=renew), RULE) == expected


def test_a_one_epoch_helper_called_per_epoch_is_still_flagged():
    src = """\
import torch
import torch.nn.functional as F


def train_one_epoch(model, loader, lr):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for x, y in loader:
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()


for epoch in range(20):
    train_one_epoch(model, train_loader, 1e-3)
"""
    assert lines(src, RULE) == [6]


# Sweep C: a list of settings held in a name, as `for shots in [1, 5]:`.
_SETTINGS = """\
import torch
import torch.nn.functional as F

{binding}
for shots in shots_lst:
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(100):
        opt.zero_grad()
        F.cross_entropy(model(sample(shots)), y).backward()
        opt.step()
"""


@pytest.mark.parametrize("binding,expected", [
    ("shots_lst = [1, 5]", []),
    ("shots_lst = ('1shot', '5shot')", []),
    # not a literal list of settings: batches of data, or a name bound twice
    ("shots_lst = loader", [6]),
    ("shots_lst = [(x1, y1), (x2, y2)]", [6]),
    ("shots_lst = [1, 5]\nif full:\n    shots_lst = loader", [8]),
])
def test_a_list_of_settings_held_in_a_name(binding, expected):
    assert lines(_SETTINGS.format(binding=binding), RULE) == expected
