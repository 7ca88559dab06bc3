"""best-weights-not-copied: the best weights kept as `model.state_dict()` (no copy) in a training
loop, then restored, saved or returned after more training."""
import pytest
from conftest import apply_fix, findings, fixed_once, lines, notebook

RULE = "best-weights-not-copied"

BUGGY = [
    # The classic hand-written early stopping of a script.
    ("script_restore_after_loop", """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
best_loss, best_state = float("inf"), None
for epoch in range(100):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
    val_loss = evaluate(model, val_loader)
    if val_loss < best_loss:
        best_loss = val_loss
        best_state = model.state_dict()
model.load_state_dict(best_state)
""", [17]),
    # `.copy()` copies the dict, not the tensors; handed back to the caller.
    ("shallow_copy_returned", """\
def fit(model, optimizer, train_loader, val_loader, epochs=50):
    best_acc, best_model_state = 0.0, None
    for epoch in range(epochs):
        for x, y in train_loader:
            optimizer.zero_grad()
            criterion(model(x), y).backward()
            optimizer.step()
        acc = accuracy(model, val_loader)
        if acc > best_acc:
            best_acc = acc
            best_model_state = model.state_dict().copy()
    return best_model_state
""", [11]),
    # Several names in one tuple assignment; the training is in a helper of another module.
    ("tuple_assignment_imported_epoch_helper", """\
from engine import train_one_epoch, validate

def run(model, optimizer, loaders, patience=10):
    best, best_state, bad = float("inf"), None, 0
    for epoch in range(200):
        train_one_epoch(model, loaders["train"], optimizer)
        val = validate(model, loaders["val"])
        if val < best:
            best, best_state, bad = val, model.state_dict(), 0
        else:
            bad += 1
            if bad >= patience:
                break
    model.load_state_dict(best_state)
    return model
""", [9]),
    # A trainer class: the snapshot in one method, restored in another.
    ("trainer_attribute_restored_in_another_method", """\
import torch

class Trainer:
    def __init__(self, model, lr):
        self.model = model
        self.optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        self.best_acc = 0.0

    def train_epoch(self, loader):
        for x, y in loader:
            self.optimizer.zero_grad()
            self.criterion(self.model(x), y).backward()
            self.optimizer.step()

    def fit(self, train_loader, val_loader, epochs):
        for epoch in range(epochs):
            self.train_epoch(train_loader)
            acc = self.evaluate(val_loader)
            if acc > self.best_acc:
                self.best_acc = acc
                self.best_weights = self.model.state_dict()

    def restore_best(self):
        self.model.load_state_dict(self.best_weights)
""", [21]),
    # Saved to disk after the loop: the file holds the last epoch's weights.
    ("saved_after_loop", """\
import torch

best_dice = 0
for epoch in range(num_epochs):
    train(model, train_loader, optimizer)
    dice = evaluate(model, val_loader)
    if dice > best_dice:
        best_dice = dice
        best_model = model.state_dict()
torch.save(best_model, "unet_best.pth")
""", [9]),
    # ML2022 HW04: the save runs every `save_steps` steps, outside the branch that took the snapshot.
    ("saved_later_in_the_loop", """\
import torch

best_accuracy, best_state_dict = -1.0, None
for step in range(total_steps):
    loss = model_fn(next(train_iterator), model, criterion, device)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    if (step + 1) % valid_steps == 0:
        valid_accuracy = valid(valid_loader, model, criterion, device)
        if valid_accuracy > best_accuracy:
            best_accuracy = valid_accuracy
            best_state_dict = model.state_dict()
    if (step + 1) % save_steps == 0 and best_state_dict is not None:
        torch.save(best_state_dict, save_path)
""", [13]),
    # A checkpoint dict whose model entry is the live state dict.
    ("checkpoint_dict_saved_after_loop", """\
import torch

for epoch in range(epochs):
    train_loss = train_fn(model, loader, optimizer, scheduler)
    score = valid_fn(model, valid_loader)
    if score > best_score:
        best_score = score
        best_ckpt = {"epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict()}
torch.save(best_ckpt, f"fold{fold}_best.pth")
""", [8]),
    # A comprehension that keeps the tensors: a new dict of the same tensors.
    ("comprehension_without_clone", """\
import torch

for epoch in range(epochs):
    for xb, yb in dl:
        loss = loss_fn(net(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    if (v := val_loss(net)) < best:
        best = v
        best_params = {k: v.detach() for k, v in net.state_dict().items()}
net.load_state_dict(best_params)
""", [11]),
    # `dict(...)` is a shallow copy too.
    ("dict_copy_returned_in_tuple", """\
def train_model(model, optimizer, loader, epochs):
    best_loss, best_weights = 1e9, None
    for epoch in range(epochs):
        for batch in loader:
            optimizer.zero_grad()
            loss = model(**batch).loss
            loss.backward()
            optimizer.step()
        if loss.item() < best_loss:
            best_loss, best_weights = loss.item(), dict(model.state_dict())
    return best_loss, best_weights
""", [10]),
    # Roll back a diverged epoch: `prev` is the current weights, so nothing is rolled back.
    ("rollback_earlier_in_the_loop", """\
prev_state = None
for epoch in range(epochs):
    if prev_state is not None and diverged(history):
        model.load_state_dict(prev_state)
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    prev_state = model.state_dict()
""", [9]),
    # The optimizer's state alone: its moment estimates change in place too.
    ("optimizer_state", """\
import torch

opt = torch.optim.Adam(model.parameters())
for epoch in range(epochs):
    train(model, opt, loader)
    if evaluate(model) > best:
        best = evaluate(model)
        best_opt = opt.state_dict()
opt.load_state_dict(best_opt)
""", [8]),
]

SILENT = [
    ("deepcopy", """\
import copy
for epoch in range(epochs):
    train(model, loader, optimizer)
    if (val := evaluate(model)) < best:
        best, best_state = val, copy.deepcopy(model.state_dict())
model.load_state_dict(best_state)
"""),
    ("deepcopy_imported_name", """\
from copy import deepcopy
def fit(model, optimizer, loader):
    best_state = None
    for epoch in range(10):
        for x, y in loader:
            optimizer.zero_grad(); loss_fn(model(x), y).backward(); optimizer.step()
        if better(model):
            best_state = deepcopy(model.state_dict())
    return best_state
"""),
    ("clone_comprehensions", """\
for epoch in range(epochs):
    train_one_epoch(model, loader, optimizer)
    if evaluate(model) < best:
        best_a = {k: v.clone() for k, v in model.state_dict().items()}
        best_b = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        best_c = {k: v.cpu() for k, v in model.state_dict().items()}
model.load_state_dict(best_a)
torch.save(best_b, "b.pt")
torch.save(best_c, "c.pt")
"""),
    # Written to disk at the moment it is the best: correct.
    ("saved_to_disk_in_the_branch", """\
import torch
for epoch in range(epochs):
    train_one_epoch(model, loader, optimizer)
    acc = evaluate(model)
    if acc > best_acc:
        best_acc = acc
        torch.save(model.state_dict(), "best.pt")
"""),
    ("named_then_saved_in_the_same_branch", """\
import torch
for epoch in range(epochs):
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
    if loss.item() < best:
        best = loss.item()
        best_unet = model.state_dict()
        torch.save(best_unet, unet_path)
        print("best so far", best)
"""),
    # After training there is nothing left to change it.
    ("taken_after_training", """\
import torch
for epoch in range(epochs):
    train_one_epoch(model, loader, optimizer)
final_state = model.state_dict()
torch.save(final_state, "final.pt")
model.load_state_dict(final_state)
"""),
    # Taken at the end of every pass: after the loop it holds the final weights, as meant.
    ("last_epoch_snapshot", """\
import torch
for epoch in range(epochs):
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    scheduler.step()
    last_state = model.state_dict()
torch.save(last_state, "last.pt")
"""),
    ("keras_get_weights_and_deepcopied_model", """\
import copy
for epoch in range(epochs):
    model.fit(x, y, epochs=1)
    if model.evaluate(xv, yv) < best:
        best_weights = model.get_weights()
        best_model = copy.deepcopy(model)
model.set_weights(best_weights)
"""),
    # DQN: the target network copies the policy's values; checkpoints saved on the spot.
    ("target_network_sync", """\
import torch
for step in range(num_steps):
    loss = dqn_loss(policy_net, target_net, replay.sample(64))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 1000 == 0:
        target_net.load_state_dict(policy_net.state_dict())
    if step % 10000 == 0:
        ckpt = {"policy": policy_net.state_dict(), "optimizer": optimizer.state_dict(), "step": step}
        torch.save(ckpt, f"ckpt_{step}.pt")
"""),
    # A new model on each pass: the snapshot of an earlier one is not trained any more.
    ("new_model_per_configuration", """\
import torch
for lr in [1e-2, 1e-3, 1e-4]:
    model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    train(model, optimizer, loader)
    acc = evaluate(model)
    if acc > best_acc:
        best_acc, best_state = acc, model.state_dict()
final = Net()
final.load_state_dict(best_state)
"""),
    ("reloaded_from_disk_before_use", """\
import torch
for epoch in range(epochs):
    train(model, loader, optimizer)
    if evaluate(model) > best:
        best_state = model.state_dict()
        torch.save(best_state, "best.pt")
best_state = torch.load("best.pt")
model.load_state_dict(best_state)
"""),
    ("scheduler_and_scaler_states", """\
import torch
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 10)
for epoch in range(epochs):
    train(model, loader, optimizer)
    scheduler.step()
    if evaluate(model) > best:
        best_sched = scheduler.state_dict()
        best_scaler = scaler.state_dict()
scheduler.load_state_dict(best_sched)
scaler.load_state_dict(best_scaler)
"""),
    # No training in the loop: an export of several networks.
    ("export_loop", """\
import torch
for name, net in networks.items():
    state = net.state_dict()
    torch.save(state, f"{name}.pt")
    exported[name] = state
model.load_state_dict(state)
"""),
]


@pytest.mark.parametrize("name, code, expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_buggy(name, code, expected):
    assert lines(code, RULE) == expected


@pytest.mark.parametrize("name, code", SILENT, ids=[s[0] for s in SILENT])
def test_silent(name, code):
    assert lines(code, RULE) == []


def test_message_names_the_use_and_the_copy():
    [f] = findings(BUGGY[0][1], RULE)
    assert "`best_state` keeps no copy" in f.message
    assert "share storage with `model`'s parameters and buffers" in f.message
    assert "`model.load_state_dict(best_state)` restores the latest weights, not the best ones" in f.message
    assert "copy.deepcopy(model.state_dict())" in f.message
    assert f.concept == "early-stopping" and f.severity.label == "error"
    assert f.related and f.related[0].location.line + 1 == 18
    [g] = findings(BUGGY[1][1], RULE)
    assert "`.copy()` copies only the dict" in g.message and "`return best_model_state` hands back" in g.message
    [o] = findings(BUGGY[-1][1], RULE)
    assert "optimizer's live state" in o.message and "latest optimizer state" in o.message


def test_one_finding_per_checkpoint_dict():
    # the model's and the optimizer's entries of one dict: reported once, on the model's
    [f] = findings(BUGGY[6][1], RULE)
    assert "`model.state_dict()`" in f.message


def test_quick_fix_deep_copies_when_copy_is_imported():
    src = "import copy\n" + BUGGY[0][1]
    out = fixed_once(src, RULE)
    assert "best_state = copy.deepcopy(model.state_dict())" in out
    # the shallow `.copy()` is replaced as a whole
    src = "import copy as cp\n" + BUGGY[1][1]
    out = fixed_once(src, RULE)
    assert "best_model_state = cp.deepcopy(model.state_dict())\n" in out
    src = "from copy import deepcopy\n" + BUGGY[2][1]
    out = fixed_once(src, RULE)
    assert "best, best_state, bad = val, deepcopy(model.state_dict()), 0" in out


def test_no_fix_without_copy_imported_or_for_a_comprehension():
    [f] = findings(BUGGY[0][1], RULE)
    assert f.fix is None
    [g] = findings("import copy\n" + BUGGY[7][1], RULE)
    assert g.fix is None   # its filter or transform would be lost


def test_fix_in_a_function_uses_its_local_import():
    src = """\
def fit(model, opt, loader):
    import copy
    best = None
    for epoch in range(5):
        train_one_epoch(model, opt, loader)
        if improved(model):
            best = model.state_dict()
    return best
"""
    [f] = findings(src, RULE)
    assert "copy.deepcopy(model.state_dict())" in apply_fix(src, f)


def test_in_a_notebook_restored_in_the_patience_branch():
    cells = ["import torch\nmodel = Net()\noptimizer = torch.optim.Adam(model.parameters())\n",
             """\
for epoch in range(epochs):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
    val = evaluate(model)
    if val < best_val:
        best_val, counter = val, 0
        best_model_state = model.state_dict()
    else:
        counter += 1
        if counter >= patience:
            model.load_state_dict(best_model_state)
            break
"""]
    [f] = notebook(cells, RULE)
    assert f.location.cell == 1 and f.location.cell_line + 1 == 11


def test_validation_between_the_snapshot_and_the_save_is_not_training():
    # pyaf's trainer: `state` saved at once, saved again after validation only
    src = """\
import torch

class Trainer:
    def iterate(self, epoch, phase):
        for images, targets in self.loaders[phase]:
            loss = self.criterion(self.net(images), targets)
            if phase == "train":
                loss.backward()
                self.optimizer.step()
        return loss

    def train(self):
        for epoch in range(self.num_epochs):
            self.iterate(epoch, "train")
            state = {"epoch": epoch, "state_dict": self.net.state_dict()}
            torch.save(state, self.ckpt_path)
            val_loss = self.iterate(epoch, "val")
            if val_loss < self.best_loss:
                self.best_loss = val_loss
                torch.save(state, self.model_path)
"""
    assert lines(src, RULE) == []
