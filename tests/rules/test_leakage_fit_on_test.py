"""leakage-fit-on-test: a transformer or model fitted on the test data."""
import pytest
from conftest import apply_fix, findings, lines, notebook, parses

RULE = "leakage-fit-on-test"

BUGGY = [
    ("refit_scaler_on_test", """\
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
scaler = StandardScaler()
X_tr = scaler.fit_transform(X_tr)
X_te = scaler.fit_transform(X_te)
model.fit(X_tr, y_tr)
print(model.score(X_te, y_te))
""", [7]),
    ("fresh_scaler_on_test", """\
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

X_train, X_test, y_train, y_test = train_test_split(X, y)
X_train = MinMaxScaler().fit_transform(X_train)
X_test = MinMaxScaler().fit_transform(X_test)
""", [6]),
    ("separate_fit_call_on_test", """\
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

X_train, X_test, y_train, y_test = train_test_split(X, y)
sc = StandardScaler()
sc.fit(X_test)
X_test = sc.transform(X_test)
""", [6]),
    ("model_trained_on_test", """\
from sklearn.model_selection import train_test_split
from sklearn.ensemble import RandomForestClassifier

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3)
clf = RandomForestClassifier(n_estimators=200)
clf.fit(X_test, y_test)
print(clf.score(X_test, y_test))
""", [6]),
    ("model_on_transformed_test", """\
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

X_train, X_test, y_train, y_test = train_test_split(X, y)
scaler = StandardScaler().fit(X_train)
X_test_s = scaler.transform(X_test)
svc = SVC().fit(X_test_s, y_test)
""", [8]),
    ("keras_model_fit_on_test", """\
from sklearn.model_selection import train_test_split
from tensorflow import keras

x_train, x_test, y_train, y_test = train_test_split(x, y)
model = keras.Sequential([keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.fit(x_test, y_test, epochs=5)
""", [7]),
    ("tfidf_refit_on_test_docs", """\
from sklearn.model_selection import train_test_split
from sklearn.feature_extraction.text import TfidfVectorizer

docs_train, docs_test, y_train, y_test = train_test_split(docs, labels)
vec = TfidfVectorizer()
Xtr = vec.fit_transform(docs_train)
Xte = vec.fit_transform(docs_test)
""", [7]),
    ("label_encoder_refit_on_test_labels", """\
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder

X_train, X_test, y_train, y_test = train_test_split(X, y)
le = LabelEncoder()
y_train = le.fit_transform(y_train)
y_test = le.fit_transform(y_test)
""", [7]),
    ("kaggle_test_csv_by_name", """\
import pandas as pd
from sklearn.preprocessing import StandardScaler

train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
scaler = StandardScaler()
X = scaler.fit_transform(train[features])
X_test = scaler.fit_transform(test[features])
""", [8]),
]

SILENT = [
    # bnsreenu's BraTS preparation: a per-volume MinMaxScaler tried on a volume named test_image
    ("per_item_normalisation_tried_on_a_sample_named_test", """\
import glob
import numpy as np
import nibabel as nib
from sklearn.preprocessing import MinMaxScaler

scaler = MinMaxScaler()
test_image_flair = nib.load('BraTS20_Training_355_flair.nii').get_fdata()
test_image_flair = scaler.fit_transform(test_image_flair.reshape(-1, test_image_flair.shape[-1]))

for path in sorted(glob.glob('BraTS2020_TrainingData/*/*flair.nii')):
    temp_image = nib.load(path).get_fdata()
    temp_image = scaler.fit_transform(temp_image.reshape(-1, temp_image.shape[-1]))
""", []),
    ("transform_test", """\
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

X_train, X_test, y_train, y_test = train_test_split(X, y)
scaler = StandardScaler()
X_train = scaler.fit_transform(X_train)
X_test = scaler.transform(X_test)
""", []),
    ("fit_train_evaluate_test", """\
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y)
model.fit(X_train, y_train)
print(model.score(X_test, y_test))
loss, acc = model.evaluate(X_test, y_test)
preds = model.predict(X_test)
""", []),
    ("validation_split_is_not_test", """\
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression

X_tr, X_val, y_tr, y_val = train_test_split(X, y)
blender = LogisticRegression().fit(base.predict_proba(X_val), y_val)
""", []),
    ("calibrating_on_a_held_out_split", """\
from sklearn.model_selection import train_test_split
from sklearn.calibration import CalibratedClassifierCV

X_train, X_cal, y_train, y_cal = train_test_split(X, y)
clf.fit(X_train, y_train)
cal = CalibratedClassifierCV(clf, cv="prefit").fit(X_cal, y_cal)
""", []),
    ("pytest_unit_test_fixture_names", """\
def test_vectorizer_vocabulary():
    test_data = ["a b", "b c"]
    vect = CountVectorizer()
    vect.fit(test_data)
    assert len(vect.vocabulary_) == 3
""", []),
    ("val_named_without_split", """\
model.fit(X_val, y_val)
""", []),
    ("validation_data_test_is_not_fit_data", """\
model.fit(X_train, y_train, validation_data=(X_test, y_test), epochs=10)
""", []),
    ("scipy_distribution_fit", """\
from scipy import stats

params = stats.norm.fit(x_test)
""", []),
    ("refit_on_train_plus_test", """\
import numpy as np

model.fit(np.vstack([X_train, X_test]), np.concatenate([y_train, y_test]))
""", []),
    # jakevdp/PythonDataScienceHandbook 05.03: two-fold cross-validation by hand, each half fits
    # the model that predicts the other half.
    ("swapped_halves_two_fold", """\
from sklearn.model_selection import train_test_split

X1, X2, y1, y2 = train_test_split(X, y, random_state=0, train_size=0.5)
y2_model = model.fit(X1, y1).predict(X2)
y1_model = model.fit(X2, y2).predict(X1)
""", []),
    ("swapped_halves_separate_statements", """\
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5)
model.fit(X_train, y_train)
s1 = model.score(X_test, y_test)
model.fit(X_test, y_test)
s2 = model.score(X_train, y_train)
""", []),
    ("test_in_other_word", """\
latest = load_latest()
model.fit(latest, labels)
contest_features = scaler.fit_transform(contest_raw)
""", []),
]


@pytest.mark.parametrize("name,src,expected", BUGGY + SILENT, ids=[c[0] for c in BUGGY + SILENT])
def test_lines(name, src, expected):
    assert lines(src, RULE) == expected


def test_fix_replaces_fit_transform_with_transform():
    src = BUGGY[0][1]
    (f,) = findings(src, RULE)
    assert f.confidence == 1.0 and f.severity.label == "error"
    fixed = apply_fix(src, f)
    assert "X_te = scaler.transform(X_te)" in fixed
    assert parses(fixed)
    assert findings(fixed, RULE) == []
    assert [r.location.line + 1 for r in f.related] == [6]


def test_fix_when_the_scaler_was_built_fitted():
    src = """\
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import RobustScaler

X_train, X_test, y_train, y_test = train_test_split(X, y)
scaler = RobustScaler().fit(X_train)
X_test = scaler.fit_transform(X_test)
"""
    (f,) = findings(src, RULE)
    assert "X_test = scaler.transform(X_test)" in apply_fix(src, f)
    assert [r.location.line + 1 for r in f.related] == [5]


def test_no_fix_without_a_train_fit():
    (f,) = findings(BUGGY[1][1], RULE)
    assert f.fix is None


def test_name_only_has_lower_confidence():
    (f,) = findings(BUGGY[-1][1], RULE)
    assert f.confidence == 0.6
    assert f.fix is not None   # the same scaler was fitted on the training rows first


def test_across_notebook_cells():
    cells = [
        ("from sklearn.model_selection import train_test_split\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, y)\n"),
        ("# scale\nfrom sklearn.preprocessing import StandardScaler\nsc = StandardScaler()\n"
        "X_train = sc.fit_transform(X_train)\n"),
        "X_test = sc.fit_transform(X_test)\n",
    ]
    (f,) = notebook(cells, RULE)
    assert (f.location.cell, f.location.cell_line + 1) == (2, 1)
    assert f.fix is not None


# Look-alikes of the silent cases above that must still be reported.
STILL_FLAGGED = [
    ("fit_on_test_then_predict_test", """\
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y)
model.fit(X_test, y_test)
preds = model.predict(X_test)
""", [4]),
    # refitted in a loop over the folds of a split: not a per-item normalisation
    ("scaler_refitted_per_fold_then_fitted_on_test", """\
from sklearn.model_selection import KFold
from sklearn.preprocessing import StandardScaler

scaler = StandardScaler()
for tr, va in KFold(5).split(X):
    scaler.fit(X[tr])
X_test_scaled = scaler.fit_transform(X_test)
""", [7]),
    ("fit_on_test_chained_predict_test", """\
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y)
preds = model.fit(X_test, y_test).predict(X_test)
""", [4]),
]


@pytest.mark.parametrize("name,src,expected", STILL_FLAGGED, ids=[b[0] for b in STILL_FLAGGED])
def test_still_flags(name, src, expected):
    assert lines(src, RULE) == expected


_PERMUTATION = """\
from eli5.sklearn import PermutationImportance
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y)
rf = RandomForestClassifier().fit(X_train, y_train)
perm = PermutationImportance(rf{args})
perm.fit(X_test, y_test)
"""


@pytest.mark.parametrize("args,flagged", [
    (", n_iter=15, random_state=0", False),   # cv="prefit": scores the trained model (susanli2016)
    (", cv='prefit'", False),
    (", cv=5", True),                         # refits copies of the model on the test rows
])
def test_eli5_permutation_importance_on_held_out_data(args, flagged):
    assert lines(_PERMUTATION.format(args=args), RULE) == ([8] if flagged else [])


@pytest.mark.parametrize("estimator,expected", [
    ("DBSCAN(eps=2)", []),                     # no predict: clustering the rows is fitting on them
    ("AgglomerativeClustering(3)", []),
    ("TSNE(2)", []),                           # an embedding of the test rows no model reads
    ("KMeans(3)", [7]),                        # has predict: fit on train, predict the test rows
    ("PCA(2)", []),                            # (a look at the test rows: see below)
])
def test_estimators_that_cannot_be_applied_to_new_rows(estimator, expected):
    src = f"""\
from sklearn.cluster import DBSCAN, AgglomerativeClustering, KMeans
from sklearn.manifold import TSNE
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
X_train, X_test, y_train, y_test = train_test_split(X, y)
est = {estimator}
est.fit(X_test)
"""
    assert lines(src, RULE) == expected


def test_a_long_receiver_is_named_shortly_in_the_message():
    src = """\
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression
X_train, X_test, y_train, y_test = train_test_split(X, y)
models["a_rather_long_key_for_this_model"] = LogisticRegression()
models["a_rather_long_key_for_this_model"].fit(X_test, y_test)
"""
    (f,) = findings(src, RULE)
    assert f.message.startswith("`estimator.fit` trains on the test split")   # was "`the estimator.fit`"


# Sweep 12 (BloodAxe's stacking): a row filter names the part, whatever the frame is called.
@pytest.mark.parametrize("rows,expected", [
    ("holdout[holdout.FOLD == 'val']", []),          # the validation fold of the OOF frame
    ("holdout[holdout['split'] == \"train\"]", []),
    ("data[data.split == 'test']", [5]),            # the test rows, in a frame named neutrally
    ("data[data.split != 'val']", []),              # no side known: the frame's name decides
    ("holdout", [5]),
])
def test_a_row_filter_names_the_part(rows, expected):
    src = ("from sklearn.linear_model import LogisticRegression\n\n\ndef main(holdout, data, labels):\n"
           f"    LogisticRegression().fit({rows}.values[:, 1:], labels)\n")
    assert lines(src, RULE) == expected


# Sweep 12 (tirthajyoti's notebooks): a scaler refitted on the validation split is the same
# mistake as on the test split; a model fitted on validation data (stacking, calibration) is not.
_VAL = """\
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder, StandardScaler
from sklearn.linear_model import LogisticRegression

X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3)
scaler = StandardScaler().fit(X_train)
LINE
"""


@pytest.mark.parametrize("line,expected", [
    ("X_val_scaled = StandardScaler().fit_transform(X_val)", [7]),
    ("scaler2 = StandardScaler().fit(X_valid)", [7]),
    ("X_val_scaled = scaler.transform(X_val)", []),
    ("meta = LogisticRegression().fit(X_val, y_val)", []),          # a model: stacking
    ("Z = StandardScaler().fit_transform(X_blend)", []),            # the blender's own pipeline
    ("Z = StandardScaler().fit_transform(oof_val)", []),
    ("y_val_coded = LabelEncoder().fit_transform(y_val)", []),     # the classes, no statistic
])
def test_a_transformer_fitted_on_validation_data(line, expected):
    assert lines(_VAL.replace("LINE", line), RULE) == expected
    if expected:
        (f,) = findings(_VAL.replace("LINE", line), RULE)
        assert "validation" in f.message


def test_rows_of_a_fold_loop_are_not_named_validation():
    """ageron's chapter 2: a one-split StratifiedShuffleSplit loop gives the training rows,
    which the fold logic reads as "val"; fitting the pipeline on them is right."""
    src = """\
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.impute import SimpleImputer

split = StratifiedShuffleSplit(n_splits=1, test_size=0.2, random_state=42)
for train_index, test_index in split.split(housing, housing["income_cat"]):
    strat_train_set = housing.loc[train_index]
    strat_test_set = housing.loc[test_index]
housing_num = strat_train_set.drop("ocean_proximity", axis=1)
imputer = SimpleImputer(strategy="median")
imputer.fit(housing_num)
"""
    assert lines(src, RULE) == []


# Sweep 18d (tirthajyoti's learning-curve notebook): the held-out part cut again into test and
# validation keeps its name's side, though it sits in the first ("train") slot.
@pytest.mark.parametrize("resplit,fitted,expected", [
    ("X_test, X_val, y_test, y_val = train_test_split(X_test, y_test, test_size=0.5)", "X_test", [8]),
    ("X_test, X_val, y_test, y_val = train_test_split(X_test, y_test, test_size=0.5)", "X_val", [8]),
    # the training part cut again: its first piece is still training data
    ("X_tr, X_val, y_tr, y_val = train_test_split(X_train, y_train, test_size=0.2)", "X_tr", []),
])
def test_a_held_out_part_split_again(resplit, fitted, expected):
    src = ("from sklearn.model_selection import train_test_split\nfrom sklearn.preprocessing import StandardScaler\n\n"
           "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3)\n" + resplit + "\n\n"
           "X_train_s = StandardScaler().fit_transform(X_train)\n"
           f"Z = StandardScaler().fit_transform({fitted})\n")
    assert lines(src, RULE) == expected


def test_a_part_of_the_test_set_kept_for_adaptation_is_not_the_test_set():
    # the third review: `X_test_adapt` is the fitting half of a held-out re-split
    src = ("from sklearn.model_selection import train_test_split\nfrom sklearn.linear_model import LogisticRegression\n\n"
           "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3)\n"
           "X_test_adapt, X_test_eval, y_test_adapt, y_test_eval = train_test_split(X_test, y_test, test_size=0.5)\n"
           "clf = LogisticRegression().fit(X_test_adapt, y_test_adapt)\nprint(clf.score(X_test_eval, y_test_eval))\n")
    assert lines(src, RULE) == []


# Sweep 19 (fixes applied to real code): one LabelEncoder refitted column after column, so
# `.transform` on a test column would use the last training column's classes.
def test_no_fix_when_one_encoder_was_refitted_per_column():
    loop = """\
from sklearn.preprocessing import LabelEncoder

le = LabelEncoder()
for fea in cols:
    train[fea] = le.fit_transform(train[fea])
for fea in cols:
    test[fea] = le.fit_transform(test[fea])
"""
    (f,) = findings(loop, RULE)
    assert f.fix is None
    columns = """\
from sklearn.preprocessing import LabelEncoder

labelencoder = LabelEncoder()
train[:, 0] = labelencoder.fit_transform(train[:, 0])
train[:, 1] = labelencoder.fit_transform(train[:, 1])
test[:, 0] = labelencoder.fit_transform(test[:, 0])
"""
    (f,) = findings(columns, RULE)
    assert f.fix is None


def test_fix_when_the_training_fit_is_in_the_same_iteration():
    src = """\
from sklearn.preprocessing import LabelEncoder

le = LabelEncoder()
for col in cols:
    le.fit(train[col])
    train[col] = le.transform(train[col])
    test[col] = le.fit_transform(test[col])
"""
    (f,) = findings(src, RULE)
    fixed = apply_fix(src, f)
    assert "test[col] = le.transform(test[col])" in fixed and parses(fixed)


# Sweep 19 (Interpretable-ML-with-Python): an embedding of the test rows drawn in a plot is no
# leak; one whose output a model reads is.
_EMBEDDED = """\
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
import matplotlib.pyplot as plt
X_train, X_test, y_train, y_test = train_test_split(X, y)
pca = PCA(n_components=2).fit(X_train)
clf = LogisticRegression().fit(pca.transform(X_train), y_train)
"""


@pytest.mark.parametrize("use,expected", [
    ("low = PCA(2).fit_transform(X_test)\nplt.scatter(low[:, 0], low[:, 1], c=y_test)\n", []),
    ("methods = {'pca': PCA(3)}\nfor k in methods:\n    low = methods[k].fit_transform(X_test)\n    plt.scatter(low[:, 0], low[:, 1])\n", []),
    ("low = PCA(2).fit_transform(X_test)\nprint(clf.score(low, y_test))\n", [8]),
    ("print(clf.score(PCA(2).fit_transform(X_test), y_test))\n", [8]),
    ("pca2 = PCA(2)\npca2.fit(X_test)\nprint(clf.predict(pca2.transform(X_test)))\n", [9]),
])
def test_an_embedding_of_the_test_rows_is_a_leak_only_when_a_model_reads_it(use, expected):
    assert lines(_EMBEDDED + use, RULE) == expected


@pytest.mark.parametrize("cls,expected", [
    ("PolynomialFeatures(degree=3)", []), ("Normalizer()", []), ("FunctionTransformer(np.log1p)", []),
    ("StandardScaler()", [7]), ("OneHotEncoder()", [7]),
])
def test_stateless_transformers_learn_nothing_from_the_test_rows(cls, expected):
    src = f"""\
import numpy as np
from sklearn.preprocessing import FunctionTransformer, Normalizer, OneHotEncoder, PolynomialFeatures, StandardScaler
from sklearn.model_selection import train_test_split
X_train, X_test, y_train, y_test = train_test_split(X, y)
t = {cls}
model = LinearRegression().fit(t.fit_transform(X_train), y_train)
print(model.score(t.fit_transform(X_test), y_test))
"""
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("cls,expected", [
    ("TimeSeriesScalerMeanVariance(mu=0., std=1.)", []), ("TimeSeriesScalerMinMax()", []),
    ("StandardScaler()", [9]),
])
def test_tslearn_scalers_normalise_each_series_on_its_own(cls, expected):
    # (RuoAndo/LSTM-time-series: a fresh TimeSeriesScalerMeanVariance per split before k-means)
    src = f"""\
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from tslearn.preprocessing import TimeSeriesScalerMeanVariance, TimeSeriesScalerMinMax
from tslearn.clustering import TimeSeriesKMeans
X = np.random.rand(200, 50, 1)
X_train, X_test = train_test_split(X, test_size=0.2)
X_train = {cls}.fit_transform(X_train)
X_test = {cls}.fit_transform(X_test)
km = TimeSeriesKMeans(n_clusters=3).fit(X_train)
print(km.predict(X_test))
"""
    assert lines(src, RULE) == expected


def test_an_explainer_fitted_on_the_rows_it_explains():
    src = """\
from alibi.explainers import CounterFactualProto
from sklearn.model_selection import train_test_split
X_train, X_test, y_train, y_test = train_test_split(X, y)
cf = CounterFactualProto(predict_fn, shape, use_kdtree=True)
cf.fit(X_test.values)
nn.fit(X_test.values, y_test.values)
"""
    assert lines(src, RULE) == [6]


@pytest.mark.parametrize("fit,expected", [
    # a line through the actual-vs-predicted scatter (bnsreenu's steel-strength notebooks)
    ("lin.fit(y_test.values.reshape(-1, 1), y_pred)", []),
    ("lin.fit(y_true, model.predict(X_test))", []),
    # a model trained on the test rows, also against predictions (distillation on test data)
    ("lin.fit(X_test, y_pred)", [8]),
    ("lin.fit(y_test.values.reshape(-1, 1), y_test)", [8]),
])
def test_true_targets_regressed_on_predictions_are_a_diagnostic(fit, expected):
    src = f"""\
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import train_test_split
X_train, X_test, y_train, y_test = train_test_split(X, y)
model.fit(X_train, y_train)
y_pred = model.predict(X_test)
y_true = y_test
lin = LinearRegression()
{fit}
"""
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("use,expected", [
    # review of sweep 19: other routes by which an embedding of the test rows reaches a model
    ('test[["pc0", "pc1"]] = PCA(2).fit_transform(X_test)\nclf.predict(test[["pc0", "pc1"]])\n', [8]),
    ("X_test_pca = torch.tensor(PCA(2).fit_transform(X_test))\nprint(net(X_test_pca))\n", [8]),
    ("low = PCA(2).fit_transform(X_test)\nmodel.fit(X_tr, y_tr, validation_data=(low, y_test))\n", [8]),
    # looked at only: drawn, printed, its shape, kept in a dict of results
    ("low = PCA(2).fit_transform(X_test)\nprint(low.shape)\nax.scatter(low[:, 0], low[:, 1])\n", []),
    ("results = {}\nresults['pca'] = PCA(2).fit_transform(X_test)\n", []),
    ("emb = PCA(2).fit_transform(X_test)\nsns.scatterplot(x=emb[:, 0], y=emb[:, 1], hue=y_test)\n", []),
    ("low = PCA(2).fit_transform(X_test)\nplt.scatter(*low.T, c=y_test)\n", []),
    # the columns unpacked into names that are only drawn (FighterLYL's GCN_Cora t-SNE)
    ("from sklearn.manifold import TSNE\nlow = TSNE().fit_transform(X_test)\nfor c in range(7):\n    x, y = low[y_test == c].T\n"
     "    plt.scatter(x, y, label=str(c))\n", []),
    ("from sklearn.manifold import TSNE\nlow = TSNE().fit_transform(X_test)\nx, y = low.T\n"
     "clf.fit(np.c_[x, y], y_test)\n", [9]),
])
def test_an_embedding_is_only_exempt_when_only_looked_at(use, expected):
    assert lines(_EMBEDDED + use, RULE) == expected


# Sweep 23: a t-SNE of the test rows handed to a plotting helper of the file is drawn only;
# a helper that trains on (or returns) what it is given may feed a model.
@pytest.mark.parametrize("helper,use,flagged", [
    ("def scatter_plot(x, colors):\n    f = plt.figure()\n    ax = plt.subplot(aspect='equal')\n"
     "    sc = ax.scatter(x[:, 0], x[:, 1], c=colors)\n    return f, ax, sc\n",
     "proj = TSNE(2).fit_transform(X_test)\nf, ax, sc = scatter_plot(proj, y_test)\n", False),
    ("def show(title, points=None):\n    plt.scatter(*points.T)\n    plt.title(title)\n",
     "show('test rows', points=TSNE(2).fit_transform(X_test))\n", False),
    ("def fit_on(emb, labels):\n    return LogisticRegression().fit(emb, labels)\n",
     "proj = TSNE(2).fit_transform(X_test)\nclf2 = fit_on(proj, y_test)\n", True),
    ("def show(points):\n    plt.scatter(points[:, 0], points[:, 1])\n    return points\n",
     "low = show(TSNE(2).fit_transform(X_test))\n", True),
])
def test_an_embedding_given_to_a_plotting_helper_of_the_file(helper, use, flagged):
    src = _EMBEDDED + "from sklearn.manifold import TSNE\n" + helper + use
    line = next(i for i, text in enumerate(src.splitlines(), 1) if "fit_transform(X_test)" in text)
    assert lines(src, RULE) == ([line] if flagged else [])


def test_a_table_of_encoders_is_not_a_table_of_embeddings():
    src = """\
from sklearn.preprocessing import LabelEncoder
from sklearn.model_selection import train_test_split
X_train, X_test, y_train, y_test = train_test_split(X, y)
encoders = {"sex": LabelEncoder(), "port": LabelEncoder()}
for col in encoders:
    X_test[col] = encoders[col].fit_transform(X_test[col])
"""
    assert lines(src, RULE) == [6]
    embeddings = src.replace('{"sex": LabelEncoder(), "port": LabelEncoder()}', '{"pca": PCA(2), "tsne": TSNE(2)}')
    embeddings = embeddings.replace("    X_test[col] = encoders[col].fit_transform(X_test[col])\n",
                                    "    low = encoders[col].fit_transform(X_test)\n    plt.scatter(low[:, 0], low[:, 1])\n")
    assert lines("from sklearn.decomposition import PCA\nfrom sklearn.manifold import TSNE\n" + embeddings, RULE) == []


def test_interpretml_glass_box_models_are_models():
    src = """\
from interpret.glassbox import ExplainableBoostingClassifier
from sklearn.model_selection import train_test_split
X_train, X_test, y_train, y_test = train_test_split(X, y)
ebm = ExplainableBoostingClassifier()
ebm.fit(X_test, y_test)
"""
    assert lines(src, RULE) == [5]


def test_an_encoder_refitted_on_test_data_is_told_about_its_codes():
    src = """\
from sklearn.preprocessing import LabelEncoder
from sklearn.model_selection import train_test_split
X_train, X_test, y_train, y_test = train_test_split(X, y)
le = LabelEncoder()
y_train = le.fit_transform(y_train)
y_test = le.fit_transform(y_test)
"""
    (f,) = findings(src, RULE)
    assert "learns the categories" in f.message and "another code" in f.message
    assert "means" not in f.message


def test_no_transform_fix_for_a_class_without_a_known_transform():
    """Sweep 19 (fixes on Interpretable-ML): aif360's DisparateImpactRemover only has
    fit_transform; a class of the file may have no transform at all."""
    src = """\
from aif360.algorithms.preprocessing import DisparateImpactRemover
from sklearn.model_selection import train_test_split
X_train, X_test, y_train, y_test = train_test_split(X, y)
di = DisparateImpactRemover(repair_level=1.0)
train_rep = di.fit_transform(X_train)
test_rep = di.fit_transform(X_test)
"""
    (f,) = findings(src, RULE)
    assert f.fix is None


@pytest.mark.parametrize("encoder,expected", [
    # sweep 19f (campusx's day 28): the categories are written out, nothing is learned
    ('OrdinalEncoder(categories=[["Poor", "Average", "Good"]])', []),
    ("OrdinalEncoder()", [5]),
    ('OrdinalEncoder(categories="auto")', [5]),
    # infrequent categories are still counted on the rows
    ('OrdinalEncoder(categories=[["a", "b", "c"]], min_frequency=20)', [5]),
    ('OrdinalEncoder(categories=[["a", "b", "c"]], min_frequency=None)', []),
])
def test_an_encoder_with_its_categories_written_out_learns_nothing(encoder, expected):
    src = f"""\
from sklearn.preprocessing import OrdinalEncoder
from sklearn.model_selection import train_test_split
X_train, X_test, y_train, y_test = train_test_split(X, y)
oe = {encoder}
X_test_enc = oe.fit_transform(X_test)
"""
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("fit_body,expected", [
    # sweep 19g (Hands-On ML with scikit-learn): a convolution transformer whose fit learns nothing
    ("        return self\n", []),
    ('        """Nothing to learn."""\n        return self\n', []),
    # a fit that stores a statistic of the rows
    ("        self.mean_ = x.mean(0)\n        return self\n", [16]),
])
def test_a_transformer_class_of_the_file_whose_fit_learns_nothing(fit_body, expected):
    src = f"""\
import numpy as np
from sklearn.model_selection import train_test_split


class ConvolutionTransformer:
    def fit(self, x, y=None):
{fit_body}
    def transform(self, x):
        return x * 2

    def fit_transform(self, x, y=None):
        return self.fit(x).transform(x)


x_train, x_test, y_train, y_test = train_test_split(X, y)
conv = ConvolutionTransformer()
x_test_conv = conv.fit_transform(x_test)
"""
    assert lines(src, RULE) == ([len(src.splitlines())] if expected else [])


_TRANSDUCTIVE_SCALER = """\
import pandas as pd
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
y = train.pop("target").values
X, X_test = train.values, test.values
stda = StandardScaler()
X_test = stda.fit_transform(X_test)
{next}
clf = LogisticRegression().fit(X, y)
"""


@pytest.mark.parametrize("next_use,expected", [
    # PraveenAdepu/kaggle_competitions' StackNet preprocessing (sweep 22a): the competition's
    # unlabelled test file, and the training rows get the very same transformation
    ("X = stda.transform(X)", []),
    # refitted for the training rows, or only ever applied to the test rows: reported
    ("X = stda.fit_transform(X)", [9]),
    ("X_test2 = stda.transform(X_test)", [9]),
    ("pass", [9]),
])
def test_a_scaler_fitted_on_the_competition_test_file_then_applied_to_train(next_use, expected):
    assert lines(_TRANSDUCTIVE_SCALER.format(next=next_use), RULE) == expected


def test_a_scaler_fitted_on_a_test_split_then_applied_to_train_is_still_reported():
    src = """\
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
X_train, X_test, y_train, y_test = train_test_split(X, y)
sc = StandardScaler()
X_test = sc.fit_transform(X_test)
X_train = sc.transform(X_train)
"""
    assert lines(src, RULE) == [5]


_PARTS_LOOP = """\
import pandas as pd
from sklearn.preprocessing import LabelEncoder
train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
le = LabelEncoder()
{loop}
    df["dialect"] = le.fit_transform(df["dialect"])
"""


@pytest.mark.parametrize("loop,expected", [
    # kkristianr/dialect-identification (sweep 23a): one encoder refitted on each part in turn,
    # so the test classes get ids of their own
    ("for df in [train, test]:", [7]),
    ("parts = [train, test]\nfor df in parts:", [8]),
    ("for i, df in enumerate((train, test)):", [7]),
    # the training parts only: nothing held out is fitted
    ("for df in [train]:", []),
    ("for df in [train, train.sample(frac=0.5)]:", []),
])
def test_an_encoder_refitted_in_a_loop_over_the_parts(loop, expected):
    assert lines(_PARTS_LOOP.format(loop=loop), RULE) == expected


def test_a_scaler_refitted_on_each_split_part_in_a_loop():
    src = """\
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
X_train, X_test, y_train, y_test = train_test_split(X, y)
scaler = StandardScaler()
for part in (X_train, X_test):
    part[:] = scaler.fit_transform(part)
"""
    found = findings(src, RULE)
    assert [f.location.line + 1 for f in found] == [6] and found[0].confidence == 1.0


def test_an_encoder_fitted_on_both_parts_joined_in_a_loop_over_columns():
    src = """\
import pandas as pd
from sklearn.preprocessing import LabelEncoder
train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
for col in ["city", "brand"]:
    le = LabelEncoder()
    le.fit(pd.concat([train[col], test[col]]))
    for df in [train, test]:
        df[col] = le.transform(df[col])
"""
    assert lines(src, RULE) == []


def test_no_transform_fix_for_an_encoder_refitted_column_after_column_in_a_loop_over_the_parts():
    # simisimon/kaggle-notebooks' Titanic EDA (sweep 22a): the first pass over `df` is no fit on
    # training data that a `transform` could reuse (it holds the `Sex` classes, of the test part)
    src = _PARTS_LOOP.format(loop="for df in [train, test]:\n    df['Sex'] = le.fit_transform(df['Sex'])")
    found = findings(src, RULE)
    assert sorted(f.location.line + 1 for f in found) == [7, 8]
    assert all(f.fix is None and not f.related for f in found)
