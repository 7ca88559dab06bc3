"""model-reused-across-folds: one model (Keras or PyTorch) trained again in every cross-validation fold."""
import pytest
from conftest import findings, lines, notebook

RULE = "model-reused-across-folds"

HEAD = """\
import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold
from tensorflow import keras


def create_model():
    model = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


"""  # 11 lines

BUGGY = [
    # kmkarakaya's text-classification notebook (sweep 19b)
    ("factory_model_built_once", HEAD + """\
my_model = create_model()
for train_index, test_index in KFold(n_splits=5, shuffle=True).split(X, y):
    my_model.fit(X[train_index], y[train_index], epochs=1)
    print(my_model.evaluate(X[test_index], y[test_index]))
""", [14]),
    ("enumerate_over_a_named_split", HEAD + """\
model = keras.Sequential([keras.layers.Dense(1)])
folds = StratifiedKFold(5).split(X, y)
for fold, (tr, va) in enumerate(folds):
    model.fit(X[tr], y[tr], validation_data=(X[va], y[va]))
""", [15]),
    ("compiled_object_of_unknown_class", HEAD + """\
net = build_network()
net.compile(optimizer="adam", loss="mse")
kf = KFold(n_splits=3)
for tr, va in kf.split(X):
    net.fit(X[tr], y[tr])
    net.compile(optimizer="adam", loss="mse")   # recompiling keeps the weights
""", [16]),
]

CORRECT = [
    ("fresh_model_per_fold", HEAD + """\
for train_index, test_index in KFold(n_splits=5).split(X, y):
    fold_model = create_model()
    fold_model.fit(X[train_index], y[train_index], epochs=1)
""",),
    ("name_rebuilt_in_the_loop", HEAD + """\
model = create_model()
for tr, va in KFold(5).split(X):
    model = create_model()
    model.fit(X[tr], y[tr])
""",),
    ("weights_reset_each_fold", HEAD + """\
model = create_model()
initial = model.get_weights()
for tr, va in KFold(5).split(X):
    model.set_weights(initial)
    model.fit(X[tr], y[tr])
""",),
    # scikit-learn's fit starts from scratch
    ("sklearn_estimator", """\
from sklearn.model_selection import KFold
from sklearn.linear_model import LogisticRegression
clf = LogisticRegression()
for tr, va in KFold(5).split(X):
    clf.fit(X[tr], y[tr])
    print(clf.score(X[va], y[va]))
""",),
    ("not_a_fold_loop", HEAD + """\
model = create_model()
for epoch in range(5):
    model.fit(X, y, epochs=1)
""",),
    ("str_split_is_not_a_splitter", HEAD + """\
model = create_model()
for part in line.split(","):
    model.fit(X, y)
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_message_and_related_places():
    (f,) = findings(BUGGY[0][1], RULE)
    assert "built once" in f.message and "inside the loop" in f.message
    assert [r.message for r in f.related] == ["the folds", "the one model, built here"]


def test_across_notebook_cells():
    found = notebook([HEAD, "my_model = create_model()\n",
                      "for tr, va in KFold(5).split(X):\n    my_model.fit(X[tr], y[tr])\n"], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(2, 1)]


# Third review of sweep 19.
def test_walk_forward_folds_train_only_on_earlier_rows():
    src = HEAD.replace("KFold, StratifiedKFold", "TimeSeriesSplit") + """\
model = create_model()
for tr, va in TimeSeriesSplit(n_splits=5).split(X):
    model.fit(X[tr], y[tr])
"""
    assert lines(src, RULE) == []


@pytest.mark.parametrize("after_fit", [
    "    model.load_weights(f'best_{fold}.h5')\n",   # the fold's best checkpoint, after its fit
    "    model.reset_states()\n",                    # clears an RNN's state, not its weights
])
def test_what_happens_after_the_fit_resets_nothing(after_fit):
    src = HEAD + "model = create_model()\nfor fold, (tr, va) in enumerate(KFold(5).split(X)):\n" \
        "    model.fit(X[tr], y[tr])\n" + after_fit
    assert lines(src, RULE) == [14]


def test_a_scikit_learn_model_under_a_name_compiled_elsewhere():
    src = HEAD + """\
from sklearn.ensemble import RandomForestClassifier
model = RandomForestClassifier()
for tr, va in KFold(5).split(X):
    model.fit(X[tr], y[tr])
model = create_model()
model.compile(optimizer="adam", loss="mse")
"""
    assert lines(src, RULE) == []


# Fourth review of sweep 19.
@pytest.mark.parametrize("end_of_fold", [
    "    model.set_weights(initial)\n",
    "    model.load_weights('init_weights.h5')\n",
])
def test_initial_weights_restored_at_the_end_of_each_fold(end_of_fold):
    src = HEAD + "model = create_model()\ninitial = model.get_weights()\nfor tr, va in KFold(5).split(X):\n" \
        "    model.fit(X[tr], y[tr])\n" + end_of_fold
    assert lines(src, RULE) == []


@pytest.mark.parametrize("built", [
    "model = keras.applications.ResNet50(weights=None, classes=10)\n",
    "model = keras.models.load_model('base.h5')\n",
    "class MyModel(keras.Model):\n    def call(self, x):\n        return x\n\n\nmodel = MyModel()\n",
])
def test_other_keras_models(built):
    src = HEAD + built + "for tr, va in KFold(5).split(X):\n    model.fit(X[tr], y[tr])\n"
    assert len(lines(src, RULE)) == 1


# PyTorch: the weights of a model built before the fold loop carry over from fold to fold just
# the same, whatever trains it in the fold (a step of an optimizer over its parameters, a
# training helper of the file, Lightning's trainer.fit).
TORCH_HEAD = """\
import copy
import torch
import torch.nn as nn
import pytorch_lightning as pl
from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)


def train_one_epoch(model, loader, optimizer):
    model.train()
    for xb, yb in loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(xb), yb).backward()
        optimizer.step()


"""  # 24 lines

TORCH_BUGGY = [
    ("helper_trains_the_model_of_every_fold", TORCH_HEAD + """\
model = Net()
for fold, (tr, va) in enumerate(KFold(5).split(X)):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(10):
        train_one_epoch(model, loaders[fold], optimizer)
""", [29]),
    ("optimizer_steps_in_the_fold", TORCH_HEAD + """\
net = Net().to("cpu")
opt = torch.optim.SGD(net.parameters(), lr=0.1)
for tr, va in StratifiedKFold(5).split(X, y):
    for xb, yb in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(net(xb), yb).backward()
        opt.step()
""", [31]),
    ("lightning_trainer_fit", TORCH_HEAD + """\
model = Net()
for tr, va in KFold(5).split(X):
    trainer = pl.Trainer(max_epochs=3)
    trainer.fit(model, train_loaders[tr])
""", [28]),
    ("best_checkpoint_loaded_after_training_resets_nothing", TORCH_HEAD + """\
model = Net()
for fold, (tr, va) in enumerate(KFold(5).split(X)):
    optimizer = torch.optim.Adam(model.parameters())
    train_one_epoch(model, loaders[fold], optimizer)
    model.load_state_dict(torch.load(f"best_{fold}.pt"))
""", [28]),
]

TORCH_CORRECT = [
    ("fresh_model_per_fold", TORCH_HEAD + """\
for fold, (tr, va) in enumerate(KFold(5).split(X)):
    model = Net()
    optimizer = torch.optim.Adam(model.parameters())
    train_one_epoch(model, loaders[fold], optimizer)
""",),
    ("initial_state_reloaded_first", TORCH_HEAD + """\
model = Net()
initial = copy.deepcopy(model.state_dict())
for fold, (tr, va) in enumerate(KFold(5).split(X)):
    model.load_state_dict(initial)
    optimizer = torch.optim.Adam(model.parameters())
    train_one_epoch(model, loaders[fold], optimizer)
""",),
    ("weights_reinitialised_with_apply", TORCH_HEAD + """\
def reset_weights(m):
    if hasattr(m, "reset_parameters"):
        m.reset_parameters()


model = Net()
for fold, (tr, va) in enumerate(KFold(5).split(X)):
    model.apply(reset_weights)
    optimizer = torch.optim.Adam(model.parameters())
    train_one_epoch(model, loaders[fold], optimizer)
""",),
    ("layers_reset_one_by_one", TORCH_HEAD + """\
model = Net()
for fold, (tr, va) in enumerate(KFold(5).split(X)):
    for layer in model.children():
        layer.reset_parameters()
    train_one_epoch(model, loaders[fold], torch.optim.Adam(model.parameters()))
""",),
    ("a_copy_trained_per_fold", TORCH_HEAD + """\
base = Net()
for fold, (tr, va) in enumerate(KFold(5).split(X)):
    model = copy.deepcopy(base)
    train_one_epoch(model, loaders[fold], torch.optim.Adam(model.parameters()))
""",),
    ("only_evaluated_in_the_folds", TORCH_HEAD + """\
model = Net()
model.load_state_dict(torch.load("trained.pt"))
model.eval()
for tr, va in KFold(5).split(X):
    with torch.no_grad():
        print(model(X[va]).argmax(1))
""",),
    ("walk_forward_folds", TORCH_HEAD + """\
model = Net()
for tr, va in TimeSeriesSplit(5).split(X):
    train_one_epoch(model, loaders[tr], torch.optim.Adam(model.parameters()))
""",),
    ("a_loader_not_a_model_passed_to_the_helper", TORCH_HEAD + """\
loader = make_loader()
for fold, (tr, va) in enumerate(KFold(5).split(X)):
    model = Net()
    train_one_epoch(model, loader, torch.optim.Adam(model.parameters()))
""",),
]


@pytest.mark.parametrize("name,src,expected", TORCH_BUGGY, ids=[b[0] for b in TORCH_BUGGY])
def test_flags_torch(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", TORCH_CORRECT, ids=[c[0] for c in TORCH_CORRECT])
def test_silent_torch(name, src):
    assert lines(src, RULE) == []


def test_torch_message_says_how_to_start_each_fold_fresh():
    (f,) = findings(TORCH_BUGGY[0][1], RULE)
    assert "trained again in every fold" in f.message and "model.load_state_dict(initial_state)" in f.message
    assert [r.message for r in f.related] == ["the folds", "the one model, built here"]
