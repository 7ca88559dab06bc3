"""leakage-overlap: oversampling before the split, validating on the training data."""
import pytest
from conftest import findings, lines, notebook

RULE = "leakage-overlap"

BUGGY = [
    ("smote_before_split", """\
from imblearn.over_sampling import SMOTE
from sklearn.model_selection import train_test_split

X_res, y_res = SMOTE(random_state=42).fit_resample(X, y)
X_train, X_test, y_train, y_test = train_test_split(X_res, y_res, test_size=0.2)
""", [4]),
    ("random_oversampler_reassigning", """\
from imblearn.over_sampling import RandomOverSampler
from sklearn.model_selection import train_test_split

ros = RandomOverSampler()
X, y = ros.fit_resample(X, y)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y)
""", [5]),
    ("adasyn_before_cross_val_score", """\
from imblearn.over_sampling import ADASYN
from sklearn.model_selection import cross_val_score

X_bal, y_bal = ADASYN().fit_resample(X, y)
print(cross_val_score(model, X_bal, y_bal, cv=5))
""", [4]),
    ("sklearn_resample_upsampling", """\
import pandas as pd
from sklearn.utils import resample
from sklearn.model_selection import train_test_split

majority = df[df.label == 0]
minority = df[df.label == 1]
minority_up = resample(minority, replace=True, n_samples=len(majority), random_state=1)
balanced = pd.concat([majority, minority_up])
X = balanced.drop("label", axis=1)
y = balanced["label"]
X_train, X_test, y_train, y_test = train_test_split(X, y)
""", [7]),
    ("smote_on_train_then_cv_on_resampled", """\
from imblearn.over_sampling import SMOTE
from sklearn.model_selection import train_test_split, cross_val_score

X_train, X_test, y_train, y_test = train_test_split(X, y)
X_sm, y_sm = SMOTE().fit_resample(X_train, y_train)
scores = cross_val_score(model, X_sm, y_sm, cv=5)
""", [5]),
    ("keras_validation_data_is_training_data", """\
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y)
history = model.fit(X_train, y_train, epochs=30,
                    validation_data=(X_train, y_train))
""", [5]),
    ("xgboost_eval_set_training_only", """\
from xgboost import XGBClassifier

clf = XGBClassifier(n_estimators=500)
clf.fit(X_tr, y_tr, eval_set=[(X_tr, y_tr)], verbose=False)
""", [4]),
]

SILENT = [
    ("smote_after_split_on_train", """\
from imblearn.over_sampling import SMOTE
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y)
X_train, y_train = SMOTE().fit_resample(X_train, y_train)
model.fit(X_train, y_train)
print(model.score(X_test, y_test))
""", []),
    ("imblearn_pipeline_in_cv", """\
from imblearn.pipeline import make_pipeline
from imblearn.over_sampling import SMOTE
from sklearn.model_selection import cross_val_score

pipe = make_pipeline(SMOTE(), model)
print(cross_val_score(pipe, X, y, cv=5))
""", []),
    ("undersampling_before_split", """\
from imblearn.under_sampling import RandomUnderSampler
from sklearn.model_selection import train_test_split

X_u, y_u = RandomUnderSampler().fit_resample(X, y)
X_train, X_test, y_train, y_test = train_test_split(X_u, y_u)
""", []),
    ("resample_downsampling_without_replacement", """\
import pandas as pd
from sklearn.utils import resample
from sklearn.model_selection import train_test_split

majority_down = resample(majority, replace=False, n_samples=len(minority))
balanced = pd.concat([majority_down, minority])
train_df, test_df = train_test_split(balanced)
""", []),
    ("bootstrap_of_test_scores", """\
from sklearn.utils import resample

for i in range(1000):
    Xb, yb = resample(X_test, y_test)
    scores.append(model.score(Xb, yb))
""", []),
    ("validation_data_is_validation", """\
history = model.fit(X_train, y_train, epochs=30, validation_data=(X_val, y_val))
""", []),
    ("eval_set_train_and_valid_for_curves", """\
clf.fit(X_train, y_train, eval_set=[(X_train, y_train), (X_valid, y_valid)])
""", []),
    ("same_name_rebound", """\
X_train, y_train = load("train")
model.fit(X_train, y_train, epochs=2)
X_train, y_train = load("valid")
model.fit(X_big, y_big, validation_data=(X_train, y_train))
""", []),
]


@pytest.mark.parametrize("name,src,expected", BUGGY + SILENT, ids=[c[0] for c in BUGGY + SILENT])
def test_lines(name, src, expected):
    assert lines(src, RULE) == expected


def test_related_points_at_split():
    (f,) = findings(BUGGY[0][1], RULE)
    assert [r.location.line + 1 for r in f.related] == [5]
    assert f.concept == "data-augmentation"


def test_across_notebook_cells():
    cells = [
        "from imblearn.over_sampling import SMOTE\nsm = SMOTE()\n",
        "X_res, y_res = sm.fit_resample(X, y)\nprint(y_res.value_counts())\n",
        ("from sklearn.model_selection import train_test_split\n\n"
        "X_train, X_test, y_train, y_test = train_test_split(X_res, y_res)\n"),
    ]
    (f,) = notebook(cells, RULE)
    assert (f.location.cell, f.location.cell_line + 1) == (1, 1)
    assert [(r.location.cell, r.location.cell_line + 1) for r in f.related] == [(2, 3)]


# Sweep 16: a Keras generator or tf.data dataset given as the validation data of its own fit.
_KERAS = """\
import tensorflow as tf
from tensorflow import keras

gen = tf.keras.preprocessing.image.ImageDataGenerator(rescale=1 / 255, validation_split=0.2)
train_gen = gen.flow_from_directory("data/", subset="training")
val_gen = gen.flow_from_directory("data/", subset="validation")
model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
model.compile(optimizer="adam", loss="categorical_crossentropy")
"""


@pytest.mark.parametrize("fit,expected", [
    ("model.fit(train_gen, epochs=3, validation_data=train_gen)\n", [9]),
    ("model.fit(x=train_gen, validation_data=train_gen)\n", [9]),
    ("train_gen = train_gen.cache()\nmodel.fit(train_gen, validation_data=train_gen)\n", [10]),
    ("model.fit(train_gen, epochs=3, validation_data=val_gen)\n", []),
    # `train_gen` names another dataset by the time it validates? No: one call, one object.
    ("model.fit(train_gen, validation_data=val_gen)\ntrain_gen = val_gen\n", []),
    # x and y given: a single name as validation_data is a pair held in a variable
    ("val = (X_val, y_val)\nmodel.fit(X_train, y_train, validation_data=val)\n", []),
])
def test_a_dataset_validating_its_own_fit(fit, expected):
    assert lines(_KERAS + fit, RULE) == expected


def test_per_class_resampling_then_one_split_is_one_finding():
    """Sweep 19e (bnsreenu's autokeras scripts): each class upsampled with its own resample(),
    concatenated, then split: one leak, reported once with the other calls related."""
    src = """\
import pandas as pd
from sklearn.utils import resample
from sklearn.model_selection import train_test_split
df_0 = resample(df[df.label == 0], replace=True, n_samples=500)
df_1 = resample(df[df.label == 1], replace=True, n_samples=500)
df_2 = resample(df[df.label == 2], replace=True, n_samples=500)
balanced = pd.concat([df_0, df_1, df_2])
X_train, X_test, y_train, y_test = train_test_split(balanced.drop(columns="label"), balanced.label)
"""
    (f,) = findings(src, RULE)
    assert f.location.line + 1 == 4
    assert [r.message for r in f.related][-2:] == ["more resampled rows of the same split"] * 2


def test_a_certain_oversampler_is_the_reported_one_of_a_group():
    src = """\
from imblearn.over_sampling import SMOTE
from sklearn.model_selection import train_test_split
X_aug = augment_rows(X)
X_res, y_res = SMOTE().fit_resample(X_aug, y)
X_train, X_test, y_train, y_test = train_test_split(X_res, y_res)
"""
    found = findings(src, RULE)
    assert len(found) == 1 and "SMOTE" in found[0].message


@pytest.mark.parametrize("grow,expected", [
    # nizamphoenix/kaggle DSBowl wrappers (sweep 22a): the training rows for a curve, then the fold
    ("eval_set.append((X_valid, y_valid))", []),
    ("eval_set.extend([(X_valid, y_valid)])", []),
    ("eval_set += [(X_valid, y_valid)]", []),
    ("eval_names.append('valid')", [9]),
    ("pass", [9]),
])
def test_an_eval_set_list_that_grows_before_the_fit(grow, expected):
    src = f"""\
import lightgbm as lgb
for trn_idx, val_idx in folds.split(X):
    X_train, y_train = X.iloc[trn_idx], y.iloc[trn_idx]
    X_valid, y_valid = X.iloc[val_idx], y.iloc[val_idx]
    eval_set = [(X_train, y_train)]
    eval_names = ["train"]
    {grow}
    model = lgb.LGBMRegressor(n_estimators=1000)
    model.fit(X_train, y_train, eval_set=eval_set, callbacks=[lgb.early_stopping(100)])
"""
    assert lines(src, RULE) == expected


# Sweep D (NVIDIA DeepRec-style autoencoder recommenders): the model reads each user's training
# ratings and is scored on held-out ones; only the validation *inputs* are the training matrix.
_AUTOENCODER = """\
import numpy as np
from tensorflow import keras

train_matrix = np.load("train.npy")
heldout_matrix = np.load("heldout.npy")
model = keras.Sequential([keras.layers.Dense(64, activation="selu"), keras.layers.Dense(500)])
model.compile(optimizer="adam", loss="mse")
"""


@pytest.mark.parametrize("fit,expected", [
    ("model.fit(x=train_matrix, y=train_matrix, validation_data=[train_matrix, heldout_matrix])\n", []),
    ("model.fit(train_matrix, train_matrix, validation_data=(train_matrix, heldout_matrix))\n", []),
    ("model.fit(train_matrix, train_matrix, validation_data=(train_matrix, train_matrix))\n", [8]),
    (("target = train_matrix * 1.0\n"
      "model.fit(train_matrix, train_matrix, validation_data=(train_matrix, target))\n"), [9]),
    # a classifier validated on its training inputs with other labels: a mix-up, still reported
    ("model.fit(train_matrix, labels, validation_data=(train_matrix, heldout_labels))\n", [8]),
])
def test_an_autoencoder_scored_on_held_out_targets(fit, expected):
    assert lines(_AUTOENCODER + fit, RULE) == expected
