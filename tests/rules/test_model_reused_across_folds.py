"""model-reused-across-folds: one Keras model fitted again in every cross-validation fold."""
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
