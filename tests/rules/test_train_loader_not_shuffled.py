"""train-loader-not-shuffled: a training DataLoader left at shuffle=False."""
import pytest
from conftest import apply_fix, findings, lines, notebook

RULE = "train-loader-not-shuffled"

BUGGY = [
    ("tensor_dataset_loop", """\
import torch
from torch.utils.data import DataLoader, TensorDataset

train_ds = TensorDataset(X_train, y_train)
train_loader = DataLoader(train_ds, batch_size=64)

for epoch in range(10):
    for xb, yb in train_loader:
        loss = model(xb, yb)
""", [5]),
    ("image_folder_through_enumerate_tqdm", """\
import torch
from torchvision import datasets
from tqdm import tqdm

train_data = datasets.ImageFolder("data/train", transform=tf)
loader = torch.utils.data.DataLoader(train_data, batch_size=32, num_workers=4)
for i, (x, y) in enumerate(tqdm(loader)):
    step(x, y)
""", [6]),
    # the first rows in stored order (a random_split part is in random order: test below)
    ("subset_part_passed_to_a_trainer", """\
from torch.utils.data import DataLoader, Subset

train_ds = Subset(full, range(n_train))
val_ds = Subset(full, range(n_train, len(full)))
train_dl = DataLoader(train_ds, batch_size=128)
val_dl = DataLoader(val_ds, batch_size=256)
trainer.fit(model, train_dl, val_dl)
""", [5]),
    ("local_map_style_class_used_where_made", """\
from torch.utils.data import Dataset, DataLoader

class Pairs(Dataset):
    def __init__(self, rows):
        self.rows = rows
    def __len__(self):
        return len(self.rows)
    def __getitem__(self, i):
        return self.rows[i]

def fit(model, train_rows):
    for batch in DataLoader(Pairs(train_rows), batch_size=16):
        model.step(batch)
""", [12]),
    ("neutral_name_trained_on_in_a_loop", """\
import torch
from torch.utils.data import DataLoader, TensorDataset

ds = TensorDataset(X, y)
loader = DataLoader(ds, batch_size=64)
for epoch in range(5):
    for i, (xb, yb) in enumerate(loader):
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
""", [5]),
    ("opacus_without_poisson_sampling", """\
from opacus import PrivacyEngine
from torch.utils.data import DataLoader, TensorDataset

train_loader = DataLoader(TensorDataset(X, y), batch_size=64)
model, optimizer, train_loader = PrivacyEngine().make_private(
    module=model, optimizer=optimizer, data_loader=train_loader, noise_multiplier=1.0,
    max_grad_norm=1.0, poisson_sampling=False)
for xb, yb in train_loader:
    optimizer.zero_grad()
    criterion(model(xb), yb).backward()
    optimizer.step()
""", [4]),
    ("dataset_that_reads_its_index", """\
import torch
from torch.utils.data import DataLoader, Dataset

class Rows(Dataset):
    def __init__(self, rows):
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i: int):
        return torch.tensor(self.rows[i])

train_loader = DataLoader(Rows(rows), batch_size=32)
for x in train_loader:
    optimizer.zero_grad()
    model(x).sum().backward()
    optimizer.step()
""", [14]),
    ("training_loop_with_an_early_break", """\
from torch.utils.data import DataLoader, TensorDataset

dl_train = DataLoader(TensorDataset(X, y), batch_size=8)
for step, (xb, yb) in enumerate(dl_train):
    optimizer.zero_grad()
    criterion(model(xb), yb).backward()
    optimizer.step()
    if step == max_steps:
        break
""", [3]),
    ("tuple_assigned_loaders", """\
from torch.utils.data import DataLoader, TensorDataset

dl_train, dl_val = DataLoader(TensorDataset(X, y), batch_size=8), DataLoader(TensorDataset(Xv, yv), batch_size=8)
for features, labels in dl_train:
    optimizer.zero_grad()
    criterion(model(features), labels).backward()
    optimizer.step()
""", [3]),
    # showing samples while training is still training
    ("loop_that_shows_batches_and_trains", """\
import matplotlib.pyplot as plt
from torch.utils import data
from torchvision.datasets import MNIST

dst = MNIST("data", download=True)
trainloader = data.DataLoader(dst, batch_size=4)
for i, (imgs, labels) in enumerate(trainloader):
    plt.imshow(imgs[0, 0].numpy())
    plt.show()
    train_batch(model, imgs, labels)
""", [6]),
    ("loop_that_shows_batches_and_calls_a_local_trainer", """\
import matplotlib.pyplot as plt
from torch.utils import data
from torchvision.datasets import MNIST


def go(model, x, y):
    model.zero_grad()
    criterion(model(x), y).backward()
    opt.step()


dst = MNIST("data", download=True)
trainloader = data.DataLoader(dst, batch_size=4)
for i, (imgs, labels) in enumerate(trainloader):
    plt.imshow(imgs[0, 0].numpy())
    go(model, imgs, labels)
""", [13]),
]

CORRECT = [
    # meetps/pytorch-semseg: each loader module's `__main__` shows training samples, trains nothing
    ("loop_that_only_shows_batches", """\
import matplotlib.pyplot as plt
from torch.utils import data
from torchvision.datasets import MNIST

dst = MNIST("data", download=True)
trainloader = data.DataLoader(dst, batch_size=4)
for i, (imgs, labels) in enumerate(trainloader):
    imgs = imgs.numpy()[:, ::-1, :, :]
    f, axarr = plt.subplots(4, 2)
    for j in range(4):
        axarr[j][0].imshow(imgs[j])
        axarr[j][1].imshow(dst.decode_segmap(labels.numpy()[j]))
    plt.show()
    if input() == "ex":
        break
""",),
    # DeepLearningDTU's course: a loader made inline only to print one batch's shapes
    ("loader_made_to_peek", """\
from torch.utils.data import DataLoader, TensorDataset

train_dataset = TensorDataset(X, y)
x, y = next(iter(DataLoader(train_dataset, batch_size=64)))
print(x.shape, y.shape)
""",),
    # lyhue1991/eat_pytorch_in_20_days: a demo loader shown once, then rebuilt with shuffle=True
    ("demo_loader_then_rebuilt_shuffled", """\
from torch.utils.data import DataLoader, TensorDataset

ds_train, ds_val = TensorDataset(X, y), TensorDataset(Xv, yv)
dl_train, dl_val = DataLoader(ds_train, batch_size=8), DataLoader(ds_val, batch_size=8)
for features, labels in dl_train:
    print(features, labels)
    break

dl_train = DataLoader(ds_train, batch_size=50, shuffle=True)
for features, labels in dl_train:
    optimizer.zero_grad()
    criterion(model(features), labels).backward()
    optimizer.step()
""",),
    # lyhue1991/eat_pytorch_in_20_days: a DataLoader demo shows one batch and stops
    ("loader_looked_at_once", """\
from torch.utils.data import DataLoader, TensorDataset

dl_train = DataLoader(TensorDataset(X, y), batch_size=8)
for features, labels in dl_train:
    print(features, labels)
    break
""",),
    # labmlai's arithmetic dataset: every item is a new random sample, the index is not read
    ("dataset_that_ignores_its_index", """\
import torch
from torch.utils.data import DataLoader, Dataset

class ArithmeticDataset(Dataset):
    def __init__(self, seq_len: int, n: int):
        self.seq_len, self.n = seq_len, n

    def __len__(self):
        return self.n

    def __getitem__(self, idx: int):
        s = torch.tensor(make_random_problem())
        return s[:self.seq_len], s[1:self.seq_len + 1]

train_loader = DataLoader(ArithmeticDataset(64, 10_000), batch_size=32)
for x, y in train_loader:
    optimizer.zero_grad()
    criterion(model(x), y).backward()
    optimizer.step()
""",),
    # pytorch/opacus tutorials: make_private returns a loader with Poisson sampling
    ("opacus_make_private_resamples", """\
from opacus import PrivacyEngine
from torch.utils.data import DataLoader, TensorDataset

train_loader = DataLoader(TensorDataset(X, y), batch_size=64)
privacy_engine = PrivacyEngine()
model, optimizer, train_loader = privacy_engine.make_private_with_epsilon(
    module=model, optimizer=optimizer, data_loader=train_loader,
    epochs=10, target_epsilon=8.0, target_delta=1e-5, max_grad_norm=1.0)
for xb, yb in train_loader:
    optimizer.zero_grad()
    criterion(model(xb), yb).backward()
    optimizer.step()
""",),
    ("shuffled_or_sampled", """\
from torch.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

train_ds = TensorDataset(X, y)
a_train = DataLoader(train_ds, batch_size=64, shuffle=True)
b_train = DataLoader(train_ds, batch_size=64, sampler=WeightedRandomSampler(w, len(w)))
c_train = DataLoader(train_ds, 64, True)
d_train = DataLoader(train_ds, **loader_kwargs)
for loader in (a_train, b_train, c_train, d_train):
    for xb, yb in loader:
        pass
""",),
    ("explicit_false_is_a_decision", """\
from torch.utils.data import DataLoader, TensorDataset

train_loader = DataLoader(TensorDataset(X, y), batch_size=35, shuffle=False)  # stateful RNN: keep order
for xb, yb in train_loader:
    pass
""",),
    ("evaluation_loaders", """\
from torch.utils.data import DataLoader, TensorDataset

val_loader = DataLoader(TensorDataset(Xv, yv), batch_size=256)
test_loader = DataLoader(TensorDataset(Xt, yt), batch_size=256)
train_eval_loader = DataLoader(TensorDataset(X, y), batch_size=256)
for loader in (val_loader, test_loader, train_eval_loader):
    for xb, yb in loader:
        pass
""",),
    ("iterable_or_unknown_datasets", """\
from torch.utils.data import DataLoader, IterableDataset

class Stream(IterableDataset):
    def __iter__(self):
        yield from read_lines()

train_loader = DataLoader(Stream(), batch_size=32)          # shuffle=True would raise
train_loader2 = DataLoader(load_train_set(), batch_size=32)  # type unknown
for loader in (train_loader, train_loader2):
    for batch in loader:
        pass
""",),
    ("neutral_name_not_trained_on", """\
from torch.utils.data import DataLoader, TensorDataset

loader = DataLoader(TensorDataset(X, y), batch_size=64)     # evaluation: no backward
with torch.no_grad():
    for xb, yb in loader:
        preds.append(model(xb))
dl = DataLoader(TensorDataset(X, y), batch_size=64)         # handed on: what it does is unknown
fit(model, dl)
data = DataLoader(TensorDataset(X, y), batch_size=64)       # backward without a step in the loop
for xb, yb in data:
    model(xb).sum().backward()
optimizer.step()
""",),
    ("neutral_name_evaluation_dataset", """\
from torch.utils.data import DataLoader, TensorDataset

test_ds = TensorDataset(Xt, yt)
loader = DataLoader(test_ds, batch_size=64)   # its dataset says test
for xb, yb in loader:
    loss = criterion(model(xb), yb)
    loss.backward()
    optimizer.step()
""",),
    ("only_peeked_at", """\
from torch.utils.data import DataLoader, TensorDataset

train_loader = DataLoader(TensorDataset(X, y), batch_size=8)
images, labels = next(iter(train_loader))
print(len(train_loader), train_loader.dataset)
""",),
    ("not_torch", """\
class DataLoader:
    pass

train_loader = DataLoader(train_ds)
for b in train_loader:
    pass
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_message_related_and_fix():
    src = BUGGY[0][1]
    (f,) = findings(src, RULE)
    assert f.message.startswith("`train_loader` never shuffles")
    assert f.concept == "epochs-batches-iterations"
    assert [r.location.line + 1 for r in f.related] == [4]
    fixed = apply_fix(src, f)
    assert "train_loader = DataLoader(train_ds, batch_size=64, shuffle=True)\n" in fixed
    assert findings(fixed, RULE) == []


def test_fix_after_a_trailing_comma_and_a_comment():
    src = """\
from torch.utils.data import DataLoader, TensorDataset

train_loader = DataLoader(
    TensorDataset(X, y),
    batch_size=64,  # fits on the GPU
)
for xb, yb in train_loader:
    pass
"""
    (f,) = findings(src, RULE)
    fixed = apply_fix(src, f)
    assert "    batch_size=64, shuffle=True,  # fits on the GPU\n" in fixed
    assert findings(fixed, RULE) == []


def test_in_a_notebook():
    found = notebook([
        "from torch.utils.data import DataLoader, TensorDataset\ntrain_ds = TensorDataset(X, y)\n",
        "train_loader = DataLoader(train_ds, batch_size=32)\n",
        "for xb, yb in train_loader:\n    pass\n",
    ], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(1, 0)]


@pytest.mark.parametrize("use", [
    "self.fit_loader(loader=train_loader, epochs=epochs)",   # a keyword argument
    "return train_loader, None",                              # handed to the caller
])
def test_handed_on(use):
    src = f"""\
from torch.utils.data import DataLoader, TensorDataset

class Model:
    def fit(self, x, y, epochs=10):
        train_ds = TensorDataset(x, y)
        train_loader = DataLoader(train_ds, batch_size=32)
        {use}
"""
    assert lines(src, RULE) == [6]


TF_BUGGY = """\
import tensorflow as tf
from sklearn.model_selection import train_test_split

X_train, X_val, y_train, y_val = train_test_split(X, y)
train_dataset = tf.data.Dataset.from_tensor_slices((X_train, y_train)).batch(32).prefetch(2)
val_dataset = tf.data.Dataset.from_tensor_slices((X_val, y_val)).batch(32)
model.fit(train_dataset, validation_data=val_dataset, epochs=10)
"""


def test_tf_data_named_by_its_arrays():
    src = """\
import tensorflow as tf

dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train)).batch(64)
for epoch in range(epochs):
    for step, (xb, yb) in enumerate(dataset):
        train_step(xb, yb)
"""
    assert lines(src, RULE) == [3]


def test_tf_data_pipeline_without_shuffle():
    (f,) = findings(TF_BUGGY, RULE)
    assert f.location.line + 1 == 5
    assert f.message.startswith("`train_dataset` is never shuffled: a tf.data pipeline")
    assert "only applies to NumPy inputs" in f.message
    fixed = apply_fix(TF_BUGGY, f)
    assert ("from_tensor_slices((X_train, y_train)).shuffle(len(X_train)).batch(32).prefetch(2)"
            in fixed)
    assert findings(fixed, RULE) == []


@pytest.mark.parametrize("src", [
    # shuffled in the chain, after batching, or on a later line
    "ds = tf.data.Dataset.from_tensor_slices((X_train, y_train)).shuffle(1000).batch(32)\nmodel.fit(ds)\n",
    "ds = tf.data.Dataset.from_tensor_slices((X_train, y_train)).batch(32).shuffle(8)\nmodel.fit(ds)\n",
    "train_ds = tf.data.Dataset.from_tensor_slices((X, y)).batch(32)\n"
    "train_ds = train_ds.shuffle(100)\nmodel.fit(train_ds)\n",
    # not batched here (shuffled and batched in a later statement), or not the training data
    "train_ds = tf.data.Dataset.from_tensor_slices((X, y))\ntrain_ds = train_ds.shuffle(100).batch(32)\n",
    "test_ds = tf.data.Dataset.from_tensor_slices((X_test, y_test)).batch(32)\nmodel.evaluate(test_ds)\n",
    # only peeked at
    "train_ds = tf.data.Dataset.from_tensor_slices((X, y)).batch(32)\nsample = next(iter(train_ds))\n",
])
def test_tf_data_silent(src):
    assert lines("import tensorflow as tf\n" + src, RULE) == []


# Found in rasbt/LLMs-from-scratch: full-batch loaders, and tests that fix the order on purpose.
_FULL_BATCH = """\
from torch.utils.data import DataLoader, TensorDataset

train_ds = TensorDataset(X_train, y_train)
train_loader = DataLoader(train_ds, batch_size={size})
for epoch in range(10):
    for xb, yb in train_loader:
        loss = model(xb, yb)
"""


@pytest.mark.parametrize("size", ["len(train_ds)", "len(X_train)"])
def test_full_batch_loader_is_silent(size):
    assert lines(_FULL_BATCH.format(size=size), RULE) == []


@pytest.mark.parametrize("size", ["64", "len(X_val)", "len(train_ds) // 10"])
def test_loader_of_several_batches_still_flagged(size):
    assert lines(_FULL_BATCH.format(size=size), RULE) == [4]


@pytest.mark.parametrize("path,expected", [
    ("tests/test_training.py", []), ("pkg/training_test.py", []), ("tests/conftest.py", []),
    ("train.py", [4]), ("tests/helpers.py", [4]), ("latest_run.py", [4]),
])
def test_pytest_modules_are_left_alone(path, expected):
    assert lines(_FULL_BATCH.format(size="64"), RULE, path=path) == expected


def test_lightning_hooks_name_the_loaders_role():
    # wandb/examples' Lightning MNIST: three hooks return unshuffled loaders over the same
    # dataset; only the training one matters.
    src = """\
import os
import pytorch_lightning as pl
from torch.utils.data import DataLoader
from torchvision.datasets import MNIST

class Model(pl.LightningModule):
    def train_dataloader(self):
        return DataLoader(MNIST(os.getcwd(), train=True), batch_size=32)

    def val_dataloader(self):
        return DataLoader(MNIST(os.getcwd(), train=True), batch_size=32)

    def test_dataloader(self):
        return (DataLoader(MNIST(os.getcwd(), train=True), batch_size=32))
"""
    (f,) = findings(src, RULE)
    assert f.location.line + 1 == 8
    assert f.message.startswith("The DataLoader that `train_dataloader()` returns never shuffles")


_HELPER_LOADER = """\
import torch
import torchvision


def load_mnist(train=True):
    return torch.utils.data.DataLoader(torchvision.datasets.MNIST(
        "data", train=train, transform=torchvision.transforms.ToTensor()),
        batch_size=64, drop_last=train)


train_loader = load_mnist(train=True)
{use}"""


def test_a_helpers_loader_only_peeked_at():
    """A homework's inpainting script (sweep 21c): the loader a helper returns is only used for
    its first batch; nothing trains over it."""
    use = "for targets, _ in train_loader:\n    inputs = targets.clone()\n    break\n"
    assert lines(_HELPER_LOADER.format(use=use), RULE) == []


def test_a_helpers_loader_trained_over():
    use = ("model = torch.nn.Linear(784, 10)\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
           "for x, y in train_loader:\n    opt.zero_grad()\n"
           "    torch.nn.functional.cross_entropy(model(x.flatten(1)), y).backward()\n    opt.step()\n")
    assert lines(_HELPER_LOADER.format(use=use), RULE) == [6]


def test_a_helpers_loader_over_a_local_dataset_trained_over():
    """Found while reducing a sweep-21c case: the helper keeps the dataset in a local `ds`, so
    no name says train; the caller's loop trains over the loader it returns."""
    src = """\
import torch
import torchvision


def load_mnist(train=True):
    ds = torchvision.datasets.MNIST("data", train=train, transform=torchvision.transforms.ToTensor())
    return torch.utils.data.DataLoader(ds, batch_size=64)


loader = load_mnist(train=True)
model = torch.nn.Linear(784, 10)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x.view(len(x), -1)), y).backward()
    opt.step()
"""
    assert lines(src, RULE) == [7]
    only_scored = src.split("model = torch.nn.Linear")[0] + "for x, y in loader:\n    print(x.shape)\n"
    assert lines(only_scored, RULE) == []


_OVER_THE_TRAINING_SET = """\
import torch
from torch.utils import data

class SaltDataset(data.Dataset):
    def __getitem__(self, idx):
        return self.images[idx]
    def __len__(self):
        return len(self.images)

train_dataset = SaltDataset()
{before}
for image in tqdm(data.DataLoader(train_dataset, batch_size=100)):
{body}
"""


@pytest.mark.parametrize("before,body,expected", [
    # liaopeiyuan/kaggle-solutions' TGS inference scripts (sweep 22a): predictions, in order
    ("model.eval()", "    preds.append(torch.sigmoid(model(image)).numpy())", []),
    ("", "    with torch.no_grad():\n        preds.append(model(image))", []),
    ("", "    for name in image:\n        file_list.append(name)", []),
    # training, or a loop whose purpose is not told: still reported
    ("model.eval()", "    loss = model(image).mean()\n    loss.backward()\n    opt.step()", [12]),
    ("model.eval()\nmodel.train()", "    out = model(image)", [13]),
    ("", "    out = model(image)", [12]),
    ("model.eval()", "    train_step(model, image)", [12]),
])
def test_a_loader_over_the_training_set_that_only_predicts(before, body, expected):
    assert lines(_OVER_THE_TRAINING_SET.format(before=before, body=body), RULE) == expected


def test_a_named_loader_used_once_for_training_is_still_reported():
    src = _OVER_THE_TRAINING_SET.format(before="", body="    pass").replace(
        "for image in tqdm(data.DataLoader(train_dataset, batch_size=100)):\n    pass",
        "loader = data.DataLoader(train_dataset, batch_size=100)\nmodel.eval()\n"
        "for image in loader:\n    preds.append(model(image))\nmodel.train()\n"
        "for image in loader:\n    model(image).mean().backward()\n    opt.step()")
    assert lines(src, RULE) == [12]


@pytest.mark.parametrize("use,expected", [
    # liamcarew's CNN feature extractor (sweep 22a): features in the order of y_train
    ("features = backbone.predict(x=training_data, verbose=1)", []),
    ("features = backbone.predict(training_data)\nscore = model.evaluate(training_data)", []),
    ("training_data = backbone.predict(x=training_data)\nmodel.fit(np.array(training_data), y_train)", []),
    ("model.fit(training_data, epochs=5)", [4]),
    ("features = backbone.predict(training_data)\nmodel.fit(training_data, epochs=5)", [4]),
])
def test_a_tf_pipeline_over_the_training_arrays_only_predicted_on(use, expected):
    src = f"""\
import tensorflow as tf
from tensorflow.data import Dataset
x_train, y_train = load()
training_data = Dataset.from_tensor_slices((x_train, y_train)).cache().batch(batch_size=32)
{use}
"""
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("prep,data,expected", [
    # Aydinhamedi/Pneumonia-Detection-Ai learning-rate range tests (sweep 22d): rows in random order
    ("idx = np.random.choice(len(x_train), 4096, replace=False)", "(x_train[idx], y_train[idx])", []),
    ("pass", "(x_train[np.random.permutation(len(x_train))], y_train)", []),
    ("x_train, y_train = shuffle_data(x_train, y_train)", "(x_train, y_train)", []),
    ("np.random.shuffle(x_train)", "(x_train, y_train)", []),
    ("idx = np.random.permutation(len(x_train))\nx_train, y_train = x_train[idx], y_train[idx]",
     "(x_train, y_train)", []),
    # stored order, or a sorted one: still reported
    ("pass", "(x_train, y_train)", [6]),
    ("idx = np.argsort(y_train)", "(x_train[idx], y_train[idx])", [6]),
    ("x_train, y_train = load_data(x_train, y_train)", "(x_train, y_train)", [6]),
])
def test_a_tf_pipeline_over_rows_already_in_random_order(prep, data, expected):
    src = f"""\
import numpy as np
import tensorflow as tf
x_train, y_train = load()
{prep}
model = make_model()
train_ds = tf.data.Dataset.from_tensor_slices({data}).batch(16)
model.fit(train_ds, epochs=10)
"""
    n = prep.count("\n")
    assert lines(src, RULE) == [e + n for e in expected]


_RANDOM_ROWS = """\
import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset, random_split
from torchvision.datasets import ImageFolder

{prep}
train_loader = DataLoader({dataset}, batch_size=32)
for x, y in train_loader:
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
"""


@pytest.mark.parametrize("prep,dataset,expected", [
    # sweep D: a random_split part lists its rows in a random permutation, as for tf.data
    ("train_set, val_set = random_split(full, [900, 100])", "train_set", []),
    ("train_set, val_set = random_split(ImageFolder('data/train'), [0.9, 0.1])", "train_set", []),
    # a smoke test's random tensors have no stored order
    ("features = torch.randn(32, 2, 64)\nlabels = torch.randint(0, 5, (32,))",
     "TensorDataset(features, labels)", []),
    ("pass", "TensorDataset(torch.rand(64, 8), torch.randint(0, 2, (64,)).float())", []),
    ("pass", "TensorDataset(torch.from_numpy(np.random.randn(64, 8)), torch.randint(0, 2, (64,)))", []),
    # stored order: still reported
    ("train_set = ImageFolder('data/train')", "train_set", [7]),
    ("labels = torch.cat([torch.zeros(32), torch.ones(32)]).long()",
     "TensorDataset(torch.randn(64, 8), labels)", [7]),
    ("features = torch.cat([torch.randn(32, 8) + 2, torch.randn(32, 8) - 2])",
     "TensorDataset(features, torch.randint(0, 2, (64,)))", [7]),
])
def test_a_loader_over_rows_in_random_order(prep, dataset, expected):
    src = _RANDOM_ROWS.format(prep=prep, dataset=dataset)
    n = prep.count("\n")
    assert lines(src, RULE) == [e + n for e in expected]


_FEATURES = """\
import numpy as np
import tensorflow as tf


def extract(train_paths, extractor):
    encode_train = sorted(set(train_paths))
    ds = tf.data.Dataset.from_tensor_slices(encode_train).map(load_image).batch(16)
    for img, path in ds:
{body}
"""


@pytest.mark.parametrize("body,expected", [
    # sweep B (image-captioning tutorials): a frozen model's features saved, in order
    ("        feats = extractor(img)\n        for f, p in zip(feats, path):\n"
     "            np.save(p.numpy().decode('utf-8'), f.numpy())", []),
    # training: still reported
    ("        with tf.GradientTape() as tape:\n            loss = loss_fn(extractor(img))\n"
     "        opt.apply_gradients(zip(tape.gradient(loss, extractor.trainable_variables),"
     " extractor.trainable_variables))", [7]),
    ("        extractor.train_on_batch(img, labels)", [7]),
    ("        do_batch(extractor, img)", [7]),   # a function of the file that trains
])
def test_a_tf_pipeline_looped_over_without_training(body, expected):
    src = _FEATURES.format(body=body) + """\

def do_batch(model, x):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(x))
    opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
"""
    assert lines(src, RULE) == expected


# Sweep B (yMayanand's char-rnn): the frame's rows were put in random order before the dataset
# over it was built, so the loader's fixed order is not class by class.
_FRAME = """\
import pandas as pd
import torch
from sklearn.utils import shuffle


class NamesDataset(torch.utils.data.Dataset):
    def __init__(self, df):
        self.df = df

    def __len__(self):
        return len(self.df)

    def __getitem__(self, idx):
        return self.df["x"][idx], self.df["label"][idx]


df = pd.read_csv("names.csv")
{prep}
train_df = df.iloc[: int(len(df) * 0.9)].reset_index(drop=True)
{loader}
for x, y in train_dl:
    optimizer.zero_grad()
    loss_fn(model(x), y).backward()
    optimizer.step()
"""
_NAMES_DL = "train_dl = torch.utils.data.DataLoader(NamesDataset(train_df), batch_size=32)"
_TENSOR_DL = ("train_dl = torch.utils.data.DataLoader(torch.utils.data.TensorDataset("
              "torch.tensor(train_df.x.values), torch.tensor(train_df.label.values)), batch_size=32)")


@pytest.mark.parametrize("prep,loader,expected", [
    ("df = df.sample(frac=1).reset_index(drop=True)", _NAMES_DL, []),
    ("df = df.sample(frac=1.0, random_state=0)", _NAMES_DL, []),
    ("df = shuffle(df)", _NAMES_DL, []),
    ("df = df.iloc[np.random.permutation(len(df))]", _NAMES_DL, []),
    ("df = df.sample(frac=1)", _TENSOR_DL, []),
    # stored order kept, or sorted again after the shuffle: reported
    ("df = df.dropna()", _NAMES_DL, [20]),
    ("df = df.sample(frac=1).sort_values('label')", _NAMES_DL, [20]),
])
def test_a_loader_over_a_frame_in_random_order(prep, loader, expected):
    assert lines(_FRAME.format(prep=prep, loader=loader), RULE) == expected


# Sweep B (quickgrid's siamese / triplet datasets): the pairs are drawn at random in __init__,
# so the stored order is random already and cannot give single-class batches.
_PAIRS = """\
import random
import numpy as np
import torch
from torch.utils.data import Dataset, DataLoader


class PairDataset(Dataset):
    def __init__(self, by_class, n_pairs):
        self.by_class = by_class
        self.pairs = []
{build}

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, idx):
        a, i, b, j = self.pairs[idx]
        return self.by_class[a][i], self.by_class[b][j], float(a == b)


train_loader = DataLoader(PairDataset(by_class, 1000), batch_size=32)
for x1, x2, same in train_loader:
    optimizer.zero_grad()
    loss_fn(model(x1), model(x2), same).backward()
    optimizer.step()
"""


@pytest.mark.parametrize("build,expected", [
    ("        for _ in range(n_pairs):\n"
     "            a, b = np.random.randint(0, len(by_class)), np.random.randint(0, len(by_class))\n"
     "            self.pairs.append((a, np.random.randint(0, 50), b, np.random.randint(0, 50)))", []),
    # the class drawn first, names computed from it, a positive and a negative per draw
    ("        for i in range(n_pairs):\n"
     "            anchor = random.randrange(len(by_class))\n"
     "            folder = names[anchor]\n"
     "            other = random.choice([c for c in range(len(by_class)) if c != anchor])\n"
     "            self.pairs.append((folder, 0, folder, 1))\n"
     "            self.pairs.append((folder, 0, other, 0))", []),
    ("        rng = np.random.default_rng(0)\n"
     "        while len(self.pairs) < n_pairs:\n"
     "            a = rng.integers(len(by_class))\n"
     "            self.pairs.append((a, 0, a, 1))", []),
    # built class by class (a loop variable read), random draws or not: stored order kept
    ("        for a in range(len(by_class)):\n"
     "            for i in range(len(by_class[a]) - 1):\n"
     "                self.pairs.append((a, i, a, i + 1))", [21]),
    ("        for a in range(len(by_class)):\n"
     "            for _ in range(n_pairs):\n"
     "                self.pairs.append((a, np.random.randint(50), a, np.random.randint(50)))", [21]),
    ("        for _ in range(n_pairs):\n"
     "            np.random.seed(0)\n"
     "            self.pairs.append(next_pair())", [21]),
    ("        for _ in range(n_pairs):\n"
     "            self.pairs.append((np.random.randint(5), 0, 0, 1))\n"
     "        self.pairs = sorted(self.pairs)", [21]),
])
def test_a_loader_over_pairs_drawn_at_random(build, expected):
    src = _PAIRS.format(build=build)
    n = build.count("\n")
    assert lines(src, RULE) == [e + n for e in expected]


_THREE_LOADERS = """\
import torch
from torch.utils.data import DataLoader, TensorDataset


def load_data(batch_size=32):
    train_dl = DataLoader(TensorDataset(x_train, y_train), batch_size=batch_size)
    cal_dl = DataLoader(TensorDataset(x_cal, y_cal), batch_size=batch_size)
    val_dl = DataLoader(TensorDataset(x_val, y_val), batch_size=batch_size)
    return train_dl, cal_dl, val_dl


{use}
"""


@pytest.mark.parametrize("use,expected", [
    # LaugeHermansen's conformal prediction (sweep 26b): a trained model is calibrated; the
    # training loader the helper returns is unpacked into `_`
    ("_, calibration_dl, validation_dl = load_data()\nscores = [model(x) for x, _ in calibration_dl]", []),
    ("load_data()", []),
    ("_, cal_dl, _ = load_data(64)\n_, _, val_dl = load_data()", []),
    # one caller keeps it, trains over it, or the helper is not called here (a library's)
    ("_, cal_dl, val_dl = load_data()\ntrain_dl, cal_dl, val_dl = load_data()\n"
     "for x, y in train_dl:\n    loss_fn(model(x), y).backward()\n    opt.step()", [6]),
    ("loaders = load_data()\nfit(model, loaders[0])", [6]),
    ("", [6]),
    ("data_fn = load_data", [6]),
])
def test_a_helpers_training_loader_its_callers_drop(use, expected):
    assert lines(_THREE_LOADERS.format(use=use), RULE) == expected


def test_a_helper_returning_its_loader_directly_to_callers_that_drop_it():
    src = """\
from torch.utils.data import DataLoader, TensorDataset

def loaders():
    return DataLoader(TensorDataset(x_train, y_train), batch_size=32), DataLoader(TensorDataset(x_val, y_val))

_, val_loader = loaders()
"""
    assert lines(src, RULE) == []
    assert lines(src.replace("_, val_loader", "train_loader, val_loader") + "fit(model, train_loader)\n", RULE) == [4]


_DICT_OF_LOADERS = """\
from torch.utils.data import DataLoader
from torchvision.datasets import CIFAR10

loaders = {{
    "train": DataLoader(CIFAR10(".", train=True, transform=tf), batch_size=256{shuffle}),
    "{key}": DataLoader(CIFAR10(".", train=False, transform=tf), batch_size=256),
}}
for x, y in loaders["train"]:
    crit(model(x), y).backward()
    opt.step()
"""


@pytest.mark.parametrize("key,shuffle,expected", [
    # catalyst-team's dl-course (sweep 26d): the evaluation loader under a "valid" key
    ("valid", ", shuffle=True", []),
    ("test", ", shuffle=True", []),
    ("valid", "", [5]),            # the "train" entry itself is not shuffled
])
def test_loaders_stored_under_a_dict_key(key, shuffle, expected):
    assert lines(_DICT_OF_LOADERS.format(key=key, shuffle=shuffle), RULE) == expected


def test_a_dict_key_that_says_train():
    src = """\
from torch.utils.data import DataLoader, TensorDataset

loaders = {"train": DataLoader(TensorDataset(xs, ys), batch_size=64),
           "valid": DataLoader(TensorDataset(xv, yv), batch_size=64)}
runner.train(model=model, loaders=loaders)
"""
    assert lines(src, RULE) == [3]


def test_a_loader_assigned_to_a_validation_key():
    src = """\
from torch.utils.data import DataLoader
from torchvision.datasets import CIFAR10

loaders = {}
loaders["train"] = DataLoader(CIFAR10(".", train=True), batch_size=256, shuffle=True)
loaders["valid"] = DataLoader(CIFAR10(".", train=False), batch_size=256)
runner.train(model=model, loaders=loaders)
"""
    assert lines(src, RULE) == []
    assert lines(src.replace(", shuffle=True", ""), RULE) == [5]
