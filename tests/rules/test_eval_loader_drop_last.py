"""eval-loader-drop-last: a validation or test loader that drops its last, incomplete batch."""
import pytest
from conftest import apply_fix, findings, fixed_once, lines, notebook

RULE = "eval-loader-drop-last"

BUGGY = [
    ("script_val_loader", """\
from torch.utils.data import DataLoader

train_loader = DataLoader(train_set, batch_size=64, shuffle=True, drop_last=True)
val_loader = DataLoader(val_set, batch_size=64, shuffle=False, drop_last=True)
for x, y in val_loader:
    correct += (model(x).argmax(1) == y).sum().item()
print(correct / len(val_set))
""", [4]),
    # milesial/Pytorch-UNet: the batch size comes through a dict splat, from a parameter
    # whose default is 1 but which the caller sets
    ("dict_splat_from_a_set_parameter", """\
import os
import torch
from torch.utils.data import DataLoader, random_split

def train_model(model, device, epochs=5, batch_size=1):
    train_set, val_set = random_split(dataset, [n_train, n_val])
    loader_args = dict(batch_size=batch_size, num_workers=os.cpu_count(), pin_memory=True)
    train_loader = DataLoader(train_set, shuffle=True, **loader_args)
    val_loader = DataLoader(val_set, shuffle=False, drop_last=True, **loader_args)
    return evaluate(model, val_loader, device)

train_model(model, device, batch_size=args.batch_size)
""", [9]),
    ("positional_batch_size_from_a_config", """\
import torch

test_loader = torch.utils.data.DataLoader(
    test_dataset, cfg["test_batch_size"], shuffle=False, num_workers=1, drop_last=True)
evaluate(model, test_loader)
""", [4]),
    ("neutral_loader_named_by_its_dataset", """\
from torch.utils.data import DataLoader as DL

loader = DL(dataset=testing_data, batch_size=batch_size, shuffle=True, drop_last=True)
for j, (x, y) in enumerate(loader):
    acc += accuracy(model(x), y)
""", [3]),
    ("tensor_dataset_of_validation_arrays", """\
from torch.utils.data import DataLoader, TensorDataset

dl = DataLoader(TensorDataset(X_val, y_val), batch_size=128, drop_last=True)
for xb, yb in dl:
    losses.append(loss_fn(model(xb), yb).item())
""", [3]),
    ("lightning_hook", """\
import pytorch_lightning as pl
from torch.utils.data import DataLoader

class Data(pl.LightningDataModule):
    def train_dataloader(self):
        return DataLoader(self.train_ds, batch_size=self.batch_size, shuffle=True, drop_last=True)

    def val_dataloader(self):
        return DataLoader(self.dev_ds, batch_size=self.batch_size, drop_last=True)
""", [9]),
    ("dict_key_names_the_role", """\
from torch.utils.data import DataLoader

loaders = {
    "train": DataLoader(train_ds, batch_size=32, shuffle=True, drop_last=True),
    "valid": DataLoader(valid_ds, batch_size=32, shuffle=False, drop_last=True),
}
runner.train(model=model, loaders=loaders)
""", [5]),
    ("argparse_default_above_one", """\
import argparse
import torch

parser = argparse.ArgumentParser()
parser.add_argument("--test_batch_size", type=int, default=200)
args = parser.parse_args()
test_loader = torch.utils.data.DataLoader(
    dataset=test_set, batch_size=args.test_batch_size, shuffle=False, drop_last=True
)
for x, _ in test_loader:
    nll += compute_bits_per_dim(x, model)
""", [8]),
    ("keras_test_pipeline", """\
import tensorflow as tf

db_train = tf.data.Dataset.from_tensor_slices((x_train, y_train))
db_train = db_train.shuffle(1000).batch(batchsz, drop_remainder=True)
db_test = tf.data.Dataset.from_tensor_slices((x_test, y_test))
db_test = db_test.batch(batchsz, drop_remainder=True)
model.fit(db_train, epochs=4, validation_data=db_test)
model.evaluate(db_test)
""", [6]),
    ("tf_pipeline_in_parentheses_looped_over", """\
import tensorflow as tf

def run():
    val_ds = tf.data.Dataset.from_tensor_slices((x_val, y_val))
    val_ds = (val_ds
              .map(preprocess)
              .batch(batch_size=32, drop_remainder=True))
    for x, y in val_ds:
        acc.update_state(y, model(x))
""", [7]),
]

SILENT = [
    ("default_drop_last", """\
from torch.utils.data import DataLoader

val_loader = DataLoader(val_set, batch_size=64, shuffle=False)
for x, y in val_loader:
    score(model(x), y)
"""),
    ("batch_size_one_or_none_or_default", """\
from torch.utils.data import DataLoader

val_loader = DataLoader(val_set, batch_size=1, drop_last=True)
test_loader = DataLoader(test_set, batch_size=None, drop_last=True)
dev_loader = DataLoader(dev_set, drop_last=True)
for loader in (val_loader, test_loader, dev_loader):
    evaluate(model, loader)
"""),
    ("whole_set_in_one_batch", """\
from torch.utils.data import DataLoader

test_loader = DataLoader(test_data, batch_size=len(test_data), shuffle=True, drop_last=True)
evaluate(model, test_loader)
"""),
    ("flag_decided_elsewhere", """\
from torch.utils.data import DataLoader

def make_loader(ds, is_train):
    return DataLoader(ds, batch_size=64, shuffle=is_train, drop_last=is_train)

val_loader = DataLoader(val_set, batch_size=64, drop_last=drop_last)
evaluate(model, val_loader)
"""),
    ("training_loader", """\
from torch.utils.data import DataLoader

train_loader = DataLoader(train_set, batch_size=64, shuffle=True, drop_last=True)
train_val_loader = DataLoader(train_val_set, batch_size=64, drop_last=True)
for x, y in train_loader:
    step(x, y)
"""),
    ("splat_without_a_batch_size_or_unknown", """\
from torch.utils.data import DataLoader

common = dict(num_workers=4, pin_memory=True)
val_loader = DataLoader(val_set, drop_last=True, **common)
test_loader = DataLoader(test_set, drop_last=True, **kwargs)
evaluate(model, val_loader)
evaluate(model, test_loader)
"""),
    ("parameter_defaulting_to_one", """\
from torch.utils.data import DataLoader

def get_val_loader(ds, batch_size=1):
    return DataLoader(ds, batch_size=batch_size, drop_last=True)

val_loader = get_val_loader(val_set)
"""),
    ("argparse_default_one", """\
import argparse
from torch.utils.data import DataLoader

parser = argparse.ArgumentParser()
parser.add_argument("--val-batch-size", type=int, default=1)
args = parser.parse_args()
val_loader = DataLoader(val_set, batch_size=args.val_batch_size, drop_last=True)
evaluate(model, val_loader)
"""),
    ("trains_despite_its_name", """\
from torch.utils.data import DataLoader

val_loader = DataLoader(val_set, batch_size=32, shuffle=True, drop_last=True)
for x, y in val_loader:
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
"""),
    ("handed_on_as_the_training_loader", """\
from torch.utils.data import DataLoader

val_loader = DataLoader(val_set, batch_size=32, drop_last=True)
test_loader = DataLoader(test_set, batch_size=32, drop_last=True)
trainer.fit(model, train_dataloaders=val_loader)

def fit(model, train_loader, epochs):
    ...

fit(model, test_loader, 3)
"""),
    ("episodic_loader", """\
from torch.utils.data import DataLoader

n_way = 5
val_loader = DataLoader(val_set, batch_size=n_way, num_workers=2, drop_last=True)
val_iter = iter(val_loader)
for _ in range(eval_batches):
    meta_eval(model, val_iter)
"""),
    ("sampler_not_loader", """\
import torch

val_sampler = torch.utils.data.distributed.DistributedSampler(val_dataset, shuffle=False, drop_last=True)
val_loader = torch.utils.data.DataLoader(val_dataset, batch_size=256, sampler=val_sampler)
validate(val_loader, model)
"""),
    ("model_built_for_full_batches", """\
import torch
from torch.utils.data import DataLoader

batch_size = 100
test_loader = DataLoader(mnist_test, batch_size=batch_size, shuffle=False, drop_last=True)

class CNN(torch.nn.Module):
    def forward(self, x):
        out = self.layer(x)
        return self.fc(out.view(batch_size, -1))

for image, label in test_loader:
    correct += (CNN()(image).argmax(1) == label).sum()
"""),
    ("test_batches_drawn_now_and_then", """\
from torch.utils.data import DataLoader

test_loader = DataLoader(test_dataset, batch_size=128, shuffle=True, drop_last=True)
test_iter = iter(test_loader)
for step, (x, y) in enumerate(dataloader):
    train_step(x)
    if step % 100 == 0:
        try:
            tx, ty = next(test_iter)
        except StopIteration:
            test_iter = iter(test_loader)
            tx, ty = next(test_iter)
"""),
    ("unused_or_peeked", """\
from torch.utils.data import DataLoader

test_loader = DataLoader(test_set, batch_size=16, drop_last=True)
val_loader = DataLoader(val_set, batch_size=16, drop_last=True)
images, labels = next(iter(val_loader))
for batch in val_loader:
    show(batch)
    break
"""),
    ("words_that_only_look_like_splits", """\
from torch.utils.data import DataLoader

interval_loader = DataLoader(interval_data, batch_size=32, drop_last=True)
device_loader = DataLoader(ds, batch_size=32, drop_last=True)
for x in interval_loader:
    pass
for x in device_loader:
    pass
"""),
    ("tf_on_tpu", """\
import tensorflow as tf

resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu="")
strategy = tf.distribute.TPUStrategy(resolver)
test_ds = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(128, drop_remainder=True)
model.evaluate(test_ds)
"""),
    ("tf_recurrent_state_sized_by_the_batch", """\
import tensorflow as tf

batchsz = 128
db_test = tf.data.Dataset.from_tensor_slices((x_test, y_test))
db_test = db_test.batch(batchsz, drop_remainder=True)

class MyRNN(tf.keras.Model):
    def __init__(self, units):
        super().__init__()
        self.state0 = [tf.zeros([batchsz, units])]

model.evaluate(db_test)
"""),
    ("tf_dataset_returned_to_code_not_shown", """\
import tensorflow as tf

def create_dataset(batch_size):
    test_dataset = tf.data.Dataset.from_tensor_slices((inp_val, target_val))
    test_dataset = test_dataset.batch(batch_size, drop_remainder=True)
    return test_dataset
"""),
    ("tf_training_pipeline", """\
import tensorflow as tf

train_ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(1000).batch(64, drop_remainder=True)
model.fit(train_ds, epochs=3)
"""),
]


@pytest.mark.parametrize("name, src, expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name, src", SILENT, ids=[s[0] for s in SILENT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_message_names_the_loader_and_what_is_lost():
    [f] = findings(BUGGY[0][1], RULE)
    assert f.message.startswith("`val_loader` evaluates with `drop_last=True`")
    assert "up to batch_size - 1 examples are never scored" in f.message
    assert "leave `drop_last` at its default, False" in f.message
    assert f.severity.label == "warning"
    [t] = findings(BUGGY[8][1], RULE)
    assert t.message.startswith("`db_test` evaluates with `drop_remainder=True`")
    # the finding is on the keyword argument itself
    src = BUGGY[0][1]
    assert src.splitlines()[f.location.line][f.location.column:].startswith("drop_last=True")


def test_fix_removes_the_keyword_with_its_comma():
    out = fixed_once(BUGGY[0][1], RULE)
    assert "val_loader = DataLoader(val_set, batch_size=64, shuffle=False)\n" in out
    # the training loader keeps its drop_last
    assert "DataLoader(train_set, batch_size=64, shuffle=True, drop_last=True)" in out
    out = fixed_once(BUGGY[1][1], RULE)
    assert "DataLoader(val_set, shuffle=False, **loader_args)" in out
    out = fixed_once(BUGGY[8][1], RULE)
    assert "db_test = db_test.batch(batchsz)\n" in out


def test_fix_when_the_keyword_comes_first_or_ends_with_a_trailing_comma():
    src = """\
from torch.utils.data import DataLoader

val_loader = DataLoader(
    val_set,
    batch_size=12,
    drop_last=True,
)
evaluate(model, val_loader)
"""
    assert "    batch_size=12,\n)" in fixed_once(src, RULE)
    src = "from torch.utils.data import DataLoader\n" \
          "test_loader = DataLoader(drop_last=True, dataset=test_set, batch_size=8)\nevaluate(test_loader)\n"
    assert "DataLoader(dataset=test_set, batch_size=8)" in fixed_once(src, RULE)


def test_no_fix_where_a_comment_would_go_with_it():
    src = """\
from torch.utils.data import DataLoader

val_loader = DataLoader(
    val_dataset,
    batch_size=BATCH_SIZE,  # the GPU holds 32
    drop_last=True,  # skip the last batch
)
evaluate(model, val_loader)
"""
    [f] = findings(src, RULE)
    assert f.fix is None


def test_in_a_notebook():
    cells = ["import torch\nbatch_size = 128\n",
             ("test_loader = torch.utils.data.DataLoader(mnist_test, batch_size=batch_size,\n"
              "                                          shuffle=False, drop_last=True)\n"),
             "for image, label in test_loader:\n    total += label.size(0)\n"]
    [f] = notebook(cells, RULE)
    assert f.location.cell == 1 and f.location.cell_line == 1
    assert notebook(cells[:2], RULE) == []   # made but never gone through


@pytest.mark.parametrize("path", ["tests/test_loaders.py", "loaders_test.py", "conftest.py"])
def test_pytest_modules_are_left_alone(path):
    assert lines(BUGGY[0][1], RULE, path=path) == []


def test_a_name_saying_both_is_left_alone():
    src = """\
from torch.utils.data import DataLoader

val_loader = DataLoader(train_subset, batch_size=64, drop_last=True)
evaluate(model, val_loader)
"""
    assert lines(src, RULE) == []


def test_the_validation_loader_of_a_lightning_fit_is_still_reported():
    src = """\
from torch.utils.data import DataLoader

train_loader = DataLoader(train_set, batch_size=64, shuffle=True, drop_last=True)
val_loader = DataLoader(val_set, batch_size=64, drop_last=True)
trainer.fit(model, train_loader, val_loader)
"""
    assert lines(src, RULE) == [4]


def test_applying_the_fix_leaves_nothing_to_report():
    for _name, src, _expected in BUGGY:
        for f in findings(src, RULE):
            if f.fix is not None:
                assert not [g for g in findings(apply_fix(src, f), RULE)
                            if g.location.line == f.location.line]
