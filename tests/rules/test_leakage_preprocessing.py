"""leakage-preprocessing: statistics learned on all rows before a split or cross-validation."""
import pytest
from conftest import findings, lines, notebook

RULE = "leakage-preprocessing"

BUGGY_OLD_IMPUTER = [
    # sklearn.preprocessing.Imputer, SimpleImputer's name before scikit-learn 0.22 (esokolov's course)
    ("old_imputer_before_split", """\
from sklearn.preprocessing import Imputer
from sklearn.model_selection import train_test_split

imp = Imputer(strategy="mean")
X = imp.fit_transform(X)
X_train, X_test, y_train, y_test = train_test_split(X, y)
""", [5]),
]

BUGGY = [
    ("scaler_fit_transform_then_split", """\
import pandas as pd
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

df = pd.read_csv("data.csv")
X = df.drop(columns=["target"])
y = df["target"]
X = StandardScaler().fit_transform(X)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
""", [8]),
    ("named_scaler_separate_result", """\
from sklearn.preprocessing import MinMaxScaler
from sklearn.model_selection import train_test_split

scaler = MinMaxScaler()
X_scaled = scaler.fit_transform(X)
X_tr, X_te, y_tr, y_te = train_test_split(X_scaled, y, random_state=0)
""", [5]),
    ("fit_then_transform_then_split", """\
from sklearn.preprocessing import RobustScaler
from sklearn.model_selection import train_test_split

scaler = RobustScaler()
scaler.fit(X)
X_s = scaler.transform(X)
X_train, X_test, y_train, y_test = train_test_split(X_s, y)
""", [5]),
    ("fit_on_all_then_transform_the_pieces", """\
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

scaler = StandardScaler().fit(X)
X_train, X_test, y_train, y_test = train_test_split(X, y)
X_train = scaler.transform(X_train)
X_test = scaler.transform(X_test)
""", [4]),
    ("imputer_then_cross_val_score", """\
from sklearn.impute import SimpleImputer
from sklearn.model_selection import cross_val_score
from sklearn.linear_model import LogisticRegression

X_imp = SimpleImputer(strategy="median").fit_transform(X)
model = LogisticRegression(max_iter=1000)
scores = cross_val_score(model, X_imp, y, cv=5)
print(scores.mean())
""", [5]),
    ("pandas_column_assignment_then_split", """\
import pandas as pd
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

df = pd.read_csv("train.csv")
num_cols = ["age", "fare", "income"]
scaler = StandardScaler()
df[num_cols] = scaler.fit_transform(df[num_cols])
X = df.drop("label", axis=1)
y = df["label"]
X_train, X_val, y_train, y_val = train_test_split(X, y, stratify=y)
""", [8]),
    ("fillna_mean_inplace_titanic", """\
import pandas as pd
from sklearn.model_selection import train_test_split

train = pd.read_csv("../input/titanic/train.csv")
train["Age"].fillna(train["Age"].median(), inplace=True)
X = train[["Pclass", "Age", "Fare"]]
y = train["Survived"]
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.2)
""", [5]),
    ("fillna_mean_reassigned", """\
import pandas as pd
from sklearn.model_selection import train_test_split

df = pd.read_csv("houses.csv")
df = df.fillna(df.mean(numeric_only=True))
train_df, test_df = train_test_split(df, test_size=0.25)
""", [5]),
    ("pca_then_gridsearch", """\
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC

X_pca = PCA(n_components=20).fit_transform(X)
grid = GridSearchCV(SVC(), {"C": [0.1, 1, 10]}, cv=5)
grid.fit(X_pca, y)
""", [5]),
    ("select_k_best_then_cross_validate", """\
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.model_selection import cross_validate
from sklearn.ensemble import RandomForestClassifier

selector = SelectKBest(f_classif, k=10)
X_sel = selector.fit_transform(X, y)
res = cross_validate(RandomForestClassifier(), X_sel, y, cv=5)
""", [6]),
    ("tfidf_then_split", """\
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import train_test_split

vec = TfidfVectorizer(min_df=2)
X = vec.fit_transform(df["text"])
X_train, X_test, y_train, y_test = train_test_split(X, df["label"], test_size=0.2)
""", [5]),
    ("column_transformer_then_split", """\
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.model_selection import train_test_split

pre = ColumnTransformer([
    ("num", StandardScaler(), num_cols),
    ("cat", OneHotEncoder(handle_unknown="ignore"), cat_cols),
])
X_all = pre.fit_transform(X)
X_train, X_test, y_train, y_test = train_test_split(X_all, y)
""", [9]),
    ("scaler_on_train_then_cv_on_train", """\
from sklearn.model_selection import train_test_split, cross_val_score
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

X_train, X_test, y_train, y_test = train_test_split(X, y)
scaler = StandardScaler()
X_train = scaler.fit_transform(X_train)
print(cross_val_score(SVC(), X_train, y_train, cv=5).mean())
""", [7]),
    ("kfold_loop_after_scaling", """\
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import QuantileTransformer

X = QuantileTransformer(output_distribution="normal").fit_transform(X)
skf = StratifiedKFold(n_splits=5, shuffle=True)
for fold, (tr_idx, va_idx) in enumerate(skf.split(X, y)):
    model.fit(X[tr_idx], y[tr_idx])
""", [4]),
    ("positional_slice_split_time_series", """\
from sklearn.preprocessing import MinMaxScaler

scaler = MinMaxScaler()
scaled = scaler.fit_transform(prices.reshape(-1, 1))
split = int(len(scaled) * 0.8)
train, test = scaled[:split], scaled[split:]
""", [4]),
    ("scale_function", """\
from sklearn.preprocessing import scale
from sklearn.model_selection import train_test_split

X_std = scale(X)
X_train, X_test, y_train, y_test = train_test_split(X_std, y)
""", [4]),
    ("target_encoder_then_split", """\
import category_encoders as ce
from sklearn.model_selection import train_test_split

enc = ce.TargetEncoder(cols=["city"])
X = enc.fit_transform(X, y)
X_train, X_test, y_train, y_test = train_test_split(X, y)
""", [5]),
    ("fillna_in_column_loop", """\
from sklearn.model_selection import train_test_split

for c in ["Age", "Fare"]:
    df[c] = df[c].fillna(df[c].mean())
X_train, X_test, y_train, y_test = train_test_split(df.drop("y", axis=1), df["y"])
""", [4]),
    ("tf_tutorial_sample_drop_split", """\
from sklearn.preprocessing import StandardScaler

df[num_cols] = StandardScaler().fit_transform(df[num_cols])
train_dataset = df.sample(frac=0.8, random_state=0)
test_dataset = df.drop(train_dataset.index)
""", [3]),
    ("function_scope", """\
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

def prepare(X, y):
    X = StandardScaler().fit_transform(X)
    return train_test_split(X, y, test_size=0.2)
""", [5]),
    # GeostatsGuy: `.loc[:, cols]` keeps every row
    ("loc_all_rows_column_subset", """\
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

my_data = pd.read_csv('unconv_MV.csv')
transform = StandardScaler()
Xs = transform.fit_transform(my_data.loc[:, ['Por', 'Brittle']])
X_train, X_test, y_train, y_test = train_test_split(Xs, my_data['Prod'], test_size=0.25)
""", [7]),
    ("iloc_all_rows_column_subset", """\
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

df = pd.read_csv('d.csv')
Xs = StandardScaler().fit_transform(df.iloc[:, [0, 1]])
X_train, X_test, y_train, y_test = train_test_split(Xs, df['y'])
""", [6]),
    # the held-out part kept under a name: a real split of the scaled rows
    ("second_split_keeps_its_held_out_part", """\
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

X_scaled = StandardScaler().fit_transform(X)
X_a, X_b, y_a, y_b = train_test_split(X_scaled, y, train_size=20000)
""", [4]),
]
BUGGY += [
]
BUGGY += [
    # Titanic notebooks: ages filled with per-class medians of every passenger, then split.
    ("per_group_median_fill", """\
import pandas as pd
from sklearn.model_selection import train_test_split

df = pd.read_csv("titanic.csv")
df["Age"] = df["Age"].fillna(df.groupby("Pclass")["Age"].transform("median"))
X_train, X_test, y_train, y_test = train_test_split(df[["Age", "Pclass"]], df["Survived"])
""", [5]),
    ("per_group_fill_in_a_lambda", """\
import pandas as pd
from sklearn.model_selection import train_test_split

df = pd.read_csv("titanic.csv")
df["Age"] = df.groupby(["Sex", "Pclass"])["Age"].transform(lambda s: s.fillna(s.median()))
X_train, X_test, y_train, y_test = train_test_split(df[["Age", "Pclass"]], df["Survived"])
""", [5]),
    ("column_by_column_fill", """\
import pandas as pd
from sklearn.model_selection import train_test_split

num = pd.read_csv("data.csv").select_dtypes("number")
num = num.apply(lambda col: col.fillna(col.median()))
X_train, X_test = train_test_split(num, test_size=0.2)
""", [5]),
]
BUGGY += BUGGY_OLD_IMPUTER

SILENT = [
    # A house-prices kernel (sweep 20): Kaggle's train and test stacked for preprocessing, passed
    # through a transformer (or a helper of the file), then cut apart by position: the cut
    # separates the two sets, it is not a split (the competition rows carry no labels).
    ("stacked_sets_transformed_then_separated", """\
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
full = pd.concat([train, test], ignore_index=True).drop(columns=["SalePrice"])
full["LotFrontage"] = full.groupby("Neighborhood")["LotFrontage"].transform(lambda x: x.fillna(x.median()))
full = make_pipeline(FunctionTransformer(pd.get_dummies)).fit_transform(full)
X = full[:train.shape[0]]
test_X = full[train.shape[0]:]
model = Ridge().fit(X, train.SalePrice)
""", []),
    ("stacked_sets_through_a_helper_then_separated", """\
import numpy as np
from sklearn.preprocessing import StandardScaler

def encode(frame):
    return frame.fillna(frame.median())

all_rows = np.concatenate([train_rows, test_rows])
all_rows = encode(all_rows)
X_train, X_test = all_rows[:n_train], all_rows[n_train:]
""", []),
    ("per_row_fill_uses_no_other_row", """\
import pandas as pd
from sklearn.model_selection import train_test_split

df = pd.read_csv("data.csv")
rows = df.apply(lambda r: r.fillna(r.mean()), axis=1)
a, b = train_test_split(rows)
""", []),
    ("per_group_fill_of_the_training_part_only", """\
import pandas as pd
from sklearn.model_selection import train_test_split

df = pd.read_csv("titanic.csv")
train, test = train_test_split(df, test_size=0.2)
train["Age"] = train.groupby("Pclass")["Age"].transform(lambda s: s.fillna(s.median()))
""", []),
    # A synthetic-data notebook (sweep 20): the scaler is fitted on the training part only; the
    # later cut takes a t-SNE of [real rows; synthetic rows] apart again.
    ("embedding_of_a_stack_cut_apart", """\
import numpy as np
from sklearn.manifold import TSNE
from sklearn.preprocessing import MinMaxScaler

data = np.random.rand(1000, 6)
train_data, holdout_data = data[:800], data[800:]
scaler = MinMaxScaler()
train_scaled = scaler.fit_transform(train_data)
holdout_scaled = scaler.transform(holdout_data)
synthetic = np.random.rand(800, 6)
combined = np.vstack([train_scaled, synthetic])
emb = TSNE(n_components=2).fit_transform(combined)
real_emb = emb[:800]
synth_emb = emb[800:]
""", []),
    # bnsreenu 148b: a second split only draws a subsample of the training rows (the rest is `_`)
    ("subsample_split_with_the_held_out_part_discarded", """\
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y)
scaler = StandardScaler()
X_train_scaled = scaler.fit_transform(X_train)
X_test_scaled = scaler.transform(X_test)
X_sample, _, y_sample, _ = train_test_split(X_train_scaled, y_train, train_size=20000)
""", []),
    ("fit_on_train_transform_test", """\
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
scaler = StandardScaler()
X_train = scaler.fit_transform(X_train)
X_test = scaler.transform(X_test)
model.fit(X_train, y_train)
""", []),
    ("fit_on_train_slice_apply_to_all", """\
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y)
scaler = StandardScaler()
scaler.fit(X_train)
X_all = scaler.transform(X)
preds = model.predict(X_all)
""", []),
    ("result_discarded_object_unused", """\
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

StandardScaler().fit_transform(X)
scaler = StandardScaler()
scaler.fit(X)
X_train, X_test, y_train, y_test = train_test_split(X, y)
""", []),
    ("pca_for_plotting_only", """\
import matplotlib.pyplot as plt
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

pca = PCA(n_components=2).fit(X)
emb = pca.transform(X)
plt.scatter(emb[:, 0], emb[:, 1], c=y)
X_train, X_test, y_train, y_test = train_test_split(X, y)
""", []),
    ("pipeline_in_cross_val_score", """\
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

pipe = make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression())
scores = cross_val_score(pipe, X, y, cv=5)
""", []),
    ("pipeline_in_grid_search", """\
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.model_selection import GridSearchCV

pipe = Pipeline([("scale", StandardScaler()), ("svc", SVC())])
grid = GridSearchCV(pipe, {"svc__C": [0.1, 1, 10]}, cv=5)
grid.fit(X, y)
""", []),
    ("vocabulary_only_encoders", """\
from sklearn.preprocessing import LabelEncoder, OneHotEncoder, OrdinalEncoder
from sklearn.model_selection import train_test_split

df["city"] = LabelEncoder().fit_transform(df["city"])
X_cat = OneHotEncoder().fit_transform(df[["color"]])
df[["size"]] = OrdinalEncoder().fit_transform(df[["size"]])
X_train, X_test, y_train, y_test = train_test_split(df, y)
""", []),
    ("stateless_transforms", """\
import numpy as np
from sklearn.preprocessing import FunctionTransformer, Normalizer
from sklearn.model_selection import train_test_split

X = FunctionTransformer(np.log1p).fit_transform(X)
X = Normalizer().fit_transform(X)
X_train, X_test, y_train, y_test = train_test_split(X, y)
""", []),
    ("split_then_fit_on_train", """\
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y)
imp = SimpleImputer(strategy="mean").fit(X_train)
X_train = imp.transform(X_train)
X_test = imp.transform(X_test)
""", []),
    ("fillna_with_training_statistic", """\
import pandas as pd
from sklearn.model_selection import train_test_split

train_df, test_df = train_test_split(df, test_size=0.2)
med = train_df["Age"].median()
train_df["Age"] = train_df["Age"].fillna(med)
test_df["Age"] = test_df["Age"].fillna(train_df["Age"].median())
""", []),
    ("fillna_constant", """\
from sklearn.model_selection import train_test_split

df = df.fillna(0)
X_train, X_test, y_train, y_test = train_test_split(df.drop("y", axis=1), df["y"])
""", []),
    ("fit_on_subset_rows", """\
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

n = 800
scaler = StandardScaler().fit(X[:n])
X_s = scaler.transform(X)
X_train, X_test, y_train, y_test = train_test_split(X_s, y, shuffle=False, train_size=n)
""", []),
    ("refit_on_all_data_after_evaluation", """\
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y)
final_scaler = StandardScaler()
X_full = final_scaler.fit_transform(X)
final_model.fit(X_full, y)
""", []),
    ("kaggle_train_test_concat_and_separate", """\
import pandas as pd

train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
ntrain = len(train)
full = pd.concat([train, test], sort=False)
full["Age"] = full["Age"].fillna(full["Age"].median())
train = full[:ntrain]
test = full[ntrain:]
model.fit(train.drop("Survived", axis=1), train["Survived"])
""", []),
    ("keras_normalization_adapted_on_train", """\
import numpy as np
from tensorflow import keras

norm = keras.layers.Normalization()
norm.adapt(np.array(train_features))
model = keras.Sequential([norm, keras.layers.Dense(1)])
model.fit(train_features, train_labels, validation_split=0.2)
""", []),
    ("different_data_scaled", """\
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

images_s = StandardScaler().fit_transform(images)
X_train, X_test, y_train, y_test = train_test_split(tabular, y)
""", []),
]


@pytest.mark.parametrize("name,src,expected", BUGGY + SILENT, ids=[c[0] for c in BUGGY + SILENT])
def test_lines(name, src, expected):
    assert lines(src, RULE) == expected


def test_related_locations_point_at_fit_and_split():
    src = BUGGY[0][1]
    (f,) = findings(src, RULE)
    rel_lines = sorted(r.location.line + 1 for r in f.related)
    assert rel_lines == [8, 9]
    assert f.severity.label == "warning"
    assert f.concept == "data-leakage"


def test_across_notebook_cells():
    cells = [
        ("import pandas as pd\nfrom sklearn.preprocessing import StandardScaler\n"
        "from sklearn.model_selection import train_test_split\ndf = pd.read_csv('d.csv')\n"),
        "X = df.drop('y', axis=1)\ny = df['y']\n",
        "scaler = StandardScaler()\nX = scaler.fit_transform(X)\n",
        "%matplotlib inline\nX_train, X_test, y_train, y_test = train_test_split(X, y)\n",
    ]
    (f,) = notebook(cells, RULE)
    assert (f.location.cell, f.location.cell_line + 1) == (2, 2)
    assert [(r.location.cell, r.location.cell_line + 1) for r in f.related] == [(2, 2), (3, 2)]


def test_keras_normalization_adapt_before_split():
    src = """\
from tensorflow import keras
from sklearn.model_selection import train_test_split

norm = keras.layers.Normalization()
norm.adapt(X)
model = keras.Sequential([norm, keras.layers.Dense(1)])
X_train, X_test, y_train, y_test = train_test_split(X, y)
model.fit(X_train, y_train)
print(model.evaluate(X_test, y_test))
"""
    assert lines(src, RULE) == [5]


def test_nested_composite_named_once_per_level():
    # ageron/handson-ml2 ch. 2: the message read "ColumnTransformer with ColumnTransformer with
    # Pipeline with Pipeline with SimpleImputer".
    src = """\
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler, OneHotEncoder
from sklearn.model_selection import cross_val_score

num_pipeline = Pipeline([("imputer", SimpleImputer(strategy="median")), ("std", StandardScaler())])
full_pipeline = ColumnTransformer([("num", num_pipeline, num_cols), ("cat", OneHotEncoder(), cat_cols)])
prepared = full_pipeline.fit_transform(housing)
scores = cross_val_score(model, prepared, labels, cv=10)
"""
    (f,) = findings(src, RULE)
    assert "(ColumnTransformer with Pipeline with SimpleImputer)" in f.message


KAGGLE_DUMMIES = """\
import pandas as pd
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
n = len(train)
both = BOTH
both = pd.get_dummies(both, columns=["HomePlanet"])
both[["Age"]] = StandardScaler().fit_transform(both[["Age"]])
train = both[:n]
test = both[n:]
"""


@pytest.mark.parametrize("both,expected", [
    # the competition's train and test rows stacked for encoding, then taken apart: no split
    ("pd.concat([train, test]).reset_index(drop=True)", []),
    ("pd.concat(objs=[train, test], axis=0)", []),
    # one dataset's rows cut in two after the scaler saw them all: a split
    ("train.copy()", [10]),
])
def test_stacked_kaggle_sets_through_get_dummies(both, expected):
    assert lines(KAGGLE_DUMMIES.replace("BOTH", both), RULE) == expected


REFIT_AFTER_EVAL = """\
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

X, y = load()

def evaluate():
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
    return Ridge().fit(X_train, y_train).score(X_test, y_test)

BEFORE
X = MinMaxScaler().fit_transform(X)
final = Ridge().fit(X, y)
AFTER
"""


@pytest.mark.parametrize("before,after,expected", [
    ("print(evaluate())", "", []),                           # evaluated on the raw X, then refit
    ("study.optimize(evaluate)", "", []),                    # handed over (optuna) before the refit
    ("", "print(evaluate())", [13]),                         # the split sees the scaled X
    ("print(evaluate())", "print(evaluate())", [13]),        # ... on its second call
    ("", "", [13]),                                          # never called here: may run at any time
])
def test_a_function_splitting_a_global_sees_it_where_it_is_used(before, after, expected):
    src = REFIT_AFTER_EVAL.replace("BEFORE", before).replace("AFTER", after)
    assert lines(src, RULE) == expected


def test_column_names_of_a_split_part_are_not_its_rows():
    src = """\
import pandas as pd
from sklearn.preprocessing import MinMaxScaler
from sklearn.model_selection import train_test_split

X, y, kaggle_test = load()
X_train, X_test, y_train, y_test = train_test_split(X, y)
kaggle_test = kaggle_test[X_test.columns]
scaler = MinMaxScaler()
X_full = scaler.fit_transform(X)
pred = model.predict(scaler.transform(kaggle_test))
"""
    assert lines(src, RULE) == []
    # rows picked by the test part's index are test rows: the all-rows scaler applied to them
    assert lines(src.replace("kaggle_test[X_test.columns]", "X.loc[X_test.index]"), RULE) == [9]


def test_a_redefined_function_and_a_keyword_of_the_same_name_are_other_names():
    """A notebook's second `def evaluate` with its own call, and `objective=` keywords, do not
    count as uses of the first definition (Sharzzz001's dma-project: two optuna objectives)."""
    src = REFIT_AFTER_EVAL.replace("BEFORE", "print(evaluate())\nmodel = XGBRegressor(evaluate='rmse')").replace(
        "AFTER", "def evaluate():\n    return 0\nprint(evaluate())")
    assert lines(src, RULE) == []
    # still one definition: its use after the refit still splits the scaled X
    src = REFIT_AFTER_EVAL.replace("BEFORE", "").replace("AFTER", "model = XGBRegressor(evaluate='rmse')\nprint(evaluate())")
    assert lines(src, RULE) == [13]


@pytest.mark.parametrize("before,after", [
    ("jobs = [functools.partial(evaluate)]", "print([job() for job in jobs])"),   # run later
    ("EXPERIMENTS = {'ridge': evaluate}", "print(EXPERIMENTS['ridge']())"),
    ("run_later = evaluate", "print(run_later())"),
])
def test_a_function_kept_for_later_or_called_in_a_loop_may_see_the_scaled_data(before, after):
    src = REFIT_AFTER_EVAL.replace("BEFORE", before).replace("AFTER", after)
    line = src.splitlines().index("X = MinMaxScaler().fit_transform(X)") + 1
    assert lines(src, RULE) == [line]


def test_a_function_called_in_a_loop_that_scales_sees_the_scaled_data_the_second_time():
    src = REFIT_AFTER_EVAL.replace("BEFORE\nX = MinMaxScaler().fit_transform(X)\n",
                                   "for r in range(2):\n    print(evaluate())\n    X = MinMaxScaler().fit_transform(X)\n"
                                   ).replace("AFTER", "")
    assert lines(src, RULE) == [14]


@pytest.mark.parametrize("both,expected", [
    ("pd.concat([train[['Age']], train['HomePlanet']], axis=1)", [10]),   # side by side: one dataset
    ("pd.concat([train, extra], axis='columns')", [10]),
    ("pd.merge(train, customers, on='id')", [10]),                        # a join keeps train's rows
])
def test_column_wise_joins_are_one_dataset_split_afterwards(both, expected):
    assert lines(KAGGLE_DUMMIES.replace("BOTH", both), RULE) == expected


def test_a_long_chain_of_joins_back_to_a_kaggle_stack_is_no_split():
    merges = "".join(f"big = big.merge(extra{i}, on='id', how='left')\n" for i in range(12))
    src = ("import numpy as np\nimport pandas as pd\nfrom sklearn.decomposition import PCA\n"
           "big = pd.concat((train, test))\n" + merges +
           "pca = PCA().fit(big[['lat', 'lon']])\nbig['p0'] = pca.transform(big[['lat', 'lon']])[:, 0]\n"
           "train = big.iloc[:n]\ntest = big.iloc[n:]\n")
    assert lines(src, RULE) == []


# Sweep 18 (susanli's LSTM power-consumption notebook): positional cuts spelt out in full.
@pytest.mark.parametrize("cut,expected", [
    ("train, test = data[0:n, :], data[n:len(data), :]\n", [6]),
    ("train, test = data[:n], data[n:len(data)]\n", [6]),
    ("train, test = data[0:n], data[n:]\n", [6]),
    ("train, test = data[:n, 0], data[n:, 0]\n", [6]),
    ("train, test = data[0:n, :], data[n:data.shape[0], :]\n", [6]),
    # lagged inputs and targets of one part, not a split
    ("x, y = data[:-1], data[1:, 0]\n", []),
    ("head, tail = data[0:n], data[m:len(data)]\n", []),
])
def test_positional_cuts_spelt_out(cut, expected):
    src = ("import numpy as np\nfrom sklearn.preprocessing import MinMaxScaler\n\n"
           "scaler = MinMaxScaler()\nn = int(len(raw) * 0.8)\ndata = scaler.fit_transform(raw)\n" + cut)
    assert lines(src, RULE) == expected


# Sweep 18 (4 false claims in susanli's, WillKoehrsen's and dipanjanS's notebooks): a per-feature
# affine scaler fitted before the split cannot change what trees, boosted trees or least squares
# predict. Reported as info, saying so; any scale-sensitive or unseen model keeps the warning.
_SCALED_THEN_SPLIT = """\
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split, GridSearchCV, cross_val_score
from sklearn.ensemble import RandomForestRegressor, GradientBoostingRegressor
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.neighbors import KNeighborsRegressor
from xgboost import XGBRegressor

X = StandardScaler().fit_transform(X)
X_train, X_test, y_train, y_test = train_test_split(X, y)
print(y_test.describe())
"""
# (y_test is read: held-out parts that nothing reads make the split a subsample, not flagged)


@pytest.mark.parametrize("models,severity", [
    ("RandomForestRegressor().fit(X_train, y_train).score(X_test, y_test)\n", "info"),
    ("for m in [LinearRegression(), RandomForestRegressor(), GradientBoostingRegressor()]:\n"
     "    m.fit(X_train, y_train)\n", "info"),
    ("gs = GridSearchCV(XGBRegressor(), {'max_depth': [3, 5]})\ngs.fit(X_train, y_train)\n", "info"),
    ("for m in [LinearRegression(), KNeighborsRegressor()]:\n    m.fit(X_train, y_train)\n", "warning"),
    ("RandomForestRegressor().fit(X_train, y_train)\nRidge().fit(X_train, y_train)\n", "warning"),
    ("XGBRegressor(booster='gblinear').fit(X_train, y_train)\n", "warning"),
    ("LinearRegression(fit_intercept=False).fit(X_train, y_train)\n", "warning"),
    ("model.fit(X_train, y_train, epochs=5)\n", "warning"),      # a model whose class is not seen
    ("print(X_train.shape)\n", "warning"),                        # no model seen at all
])
def test_scale_free_models_after_a_scaler_fitted_before_the_split(models, severity):
    found = [f for f in findings(_SCALED_THEN_SPLIT + models) if f.rule == RULE]
    assert len(found) == 1
    assert found[0].severity.name.lower() == severity
    assert ("predict the same" in found[0].message) == (severity == "info")


def test_a_supervised_step_before_the_split_keeps_its_warning_with_trees():
    src = _SCALED_THEN_SPLIT.replace("X = StandardScaler().fit_transform(X)",
                                     "from sklearn.feature_selection import SelectKBest\n"
                                     "X = SelectKBest(k=5).fit_transform(X, y)")
    found = [f for f in findings(src + "RandomForestRegressor().fit(X_train, y_train)\n") if f.rule == RULE]
    assert len(found) == 1 and found[0].severity.name == "WARNING"


# Sweep 18 (jeffheaton's t81_558 notebooks): the statistic held in a name first.
@pytest.mark.parametrize("code,expected", [
    ("med = df['income'].median()\ndf['income'] = df['income'].fillna(med)\n"
     "X_train, X_test = train_test_split(df)\n", [5]),
    ("df['income'] = df['income'].fillna(df['income'].median())\nX_train, X_test = train_test_split(df)\n", [4]),
    # the training part's median, applied to both parts: no leak
    ("X_train, X_test = train_test_split(df)\nmed = X_train['income'].median()\n"
     "X_train['income'] = X_train['income'].fillna(med)\nX_test['income'] = X_test['income'].fillna(med)\n", []),
    # a constant held in a name
    ("fill = 0\ndf['income'] = df['income'].fillna(fill)\nX_train, X_test = train_test_split(df)\n", []),
])
def test_a_fillna_statistic_held_in_a_name(code, expected):
    src = "import pandas as pd\nfrom sklearn.model_selection import train_test_split\n\n" + code
    assert lines(src, RULE) == expected


# The adversarial review of the scale-free judgement: every use of the scaled pieces must be
# seen, every model scale-free, the scaled data given to it directly.
@pytest.mark.parametrize("models", [
    # the same pieces also train a torch MLP
    "RandomForestRegressor().fit(X_train, y_train)\nimport torch\nxt = torch.tensor(X_train)\n",
    # handed to a helper that fits an unseen model
    "RandomForestRegressor().fit(X_train, y_train)\nevaluate(KNeighborsRegressor(), X_train, y_train)\n",
    # a PCA between the leaked scaler and the forest
    "from sklearn.decomposition import PCA\nZ = PCA(5).fit_transform(X_train)\n"
    "RandomForestRegressor().fit(Z, y_train)\n",
    # LightGBM bins zero apart: a shift changes its trees
    "from lightgbm import LGBMRegressor\nLGBMRegressor().fit(X_train, y_train)\n",
    # the booster comes from a dict: maybe gblinear
    "params = {'booster': 'gblinear'}\nXGBRegressor(**params).fit(X_train, y_train)\n",
    "XGBRegressor(booster=choice).fit(X_train, y_train)\n",
    # a search whose grid switches the booster
    "GridSearchCV(XGBRegressor(), {'booster': ['gbtree', 'gblinear']}).fit(X_train, y_train)\n",
])
def test_scale_free_judgement_needs_every_use_seen(models):
    found = [f for f in findings(_SCALED_THEN_SPLIT + models) if f.rule == RULE]
    assert found and not any("predict the same" in f.message for f in found)


def test_scale_free_through_a_fitted_chain_and_shape_looks():
    src = _SCALED_THEN_SPLIT + ("print(X_train.shape, len(X_test))\n"
                                "rf = RandomForestRegressor().fit(X_train, y_train)\n"
                                "print(rf.score(X_test, y_test))\n")
    found = [f for f in findings(src) if f.rule == RULE]
    assert len(found) == 1 and "predict the same" in found[0].message


# The second review, and sweep 18d (bagged trees).
@pytest.mark.parametrize("models", [
    # the model is chosen in a branch: which one trains is not known here
    "if kind == 'svm':\n    model = KNeighborsRegressor()\nelse:\n    model = RandomForestRegressor()\n"
    "model.fit(X_train, y_train)\n",
    # an RBF kernel built from the pieces feeds a scale-sensitive model
    "from sklearn.metrics.pairwise import rbf_kernel\nK = rbf_kernel(X_train, X_train)\n"
    "RandomForestRegressor().fit(X_train, y_train)\n",
    # reconfigured after construction
    "model = XGBRegressor()\nmodel.set_params(**best)\nmodel.fit(X_train, y_train)\n",
    # a grid changed after its literal
    "grid = {'max_depth': [3]}\ngrid['booster'] = ['gbtree', 'gblinear']\n"
    "GridSearchCV(XGBRegressor(), grid).fit(X_train, y_train)\n",
    # bagging a scale-sensitive model
    "from sklearn.ensemble import BaggingRegressor\nBaggingRegressor(KNeighborsRegressor()).fit(X_train, y_train)\n",
])
def test_scale_free_judgement_second_review(models):
    found = [f for f in findings(_SCALED_THEN_SPLIT + models) if f.rule == RULE]
    assert found and not any("predict the same" in f.message for f in found)


@pytest.mark.parametrize("models", [
    "from sklearn.ensemble import BaggingRegressor\n"
    "BaggingRegressor(DecisionTreeRegressor()).fit(X_train, y_train)\n",
    "from sklearn.ensemble import AdaBoostRegressor\nAdaBoostRegressor().fit(X_train, y_train)\n",
])
def test_bagged_or_boosted_trees_are_scale_free(models):
    src = _SCALED_THEN_SPLIT.replace("from xgboost import XGBRegressor",
                                     "from xgboost import XGBRegressor\nfrom sklearn.tree import DecisionTreeRegressor")
    found = [f for f in findings(src + models) if f.rule == RULE]
    assert len(found) == 1 and "predict the same" in found[0].message


# The third review: the scaled rows read anywhere else, by name, leave the question open.
@pytest.mark.parametrize("models", [
    # the pieces rebound to a tensor for an MLP after the forest
    "RandomForestRegressor().fit(X_train, y_train)\nimport torch\nX_train = torch.tensor(X_train)\n",
    # a closure in the same scope reads them
    "def knn():\n    return KNeighborsRegressor().fit(X_train, y_train)\n"
    "RandomForestRegressor().fit(X_train, y_train)\n",
    # the scaled matrix itself cut again for a k-NN
    "RandomForestRegressor().fit(X_train, y_train)\nKNeighborsRegressor().fit(X[:100], y[:100])\n",
    # reconfigured by attribute, a grid swapping the estimator, a boosting init model
    "from sklearn.ensemble import BaggingRegressor\nbag = BaggingRegressor()\nbag.estimator = KNeighborsRegressor()\n"
    "bag.fit(X_train, y_train)\n",
    "from sklearn.ensemble import BaggingRegressor\n"
    "GridSearchCV(BaggingRegressor(), {'estimator': [KNeighborsRegressor()]}).fit(X_train, y_train)\n",
    "GradientBoostingRegressor(init=Ridge()).fit(X_train, y_train)\n",
])
def test_scale_free_judgement_third_review(models):
    found = [f for f in findings(_SCALED_THEN_SPLIT + models) if f.rule == RULE]
    assert found and not any("predict the same" in f.message for f in found)


def test_a_grid_over_n_estimators_is_not_a_model_swap():
    src = _SCALED_THEN_SPLIT + "GridSearchCV(RandomForestRegressor(), {'n_estimators': [10, 100]}).fit(X_train, y_train)\n"
    found = [f for f in findings(src) if f.rule == RULE]
    assert len(found) == 1 and "predict the same" in found[0].message


# Sweep 19 (Albon's cookbook, ch15): the scaler fitted on all rows is also the first step of the
# Pipeline that the search refits on each training fold, which undoes the earlier scaling
# (checked with scikit-learn: identical cross-validated scores for every pair of Standard /
# MinMax / Robust / MaxAbs before and Standard / MinMax / Robust in the pipeline).
_PIPE_AFTER = """\
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler, MinMaxScaler
standardizer = StandardScaler()
features_standardized = standardizer.fit_transform(features)
{use}
"""


@pytest.mark.parametrize("use,redundant", [
    ('pipe = Pipeline([("standardizer", standardizer), ("knn", KNeighborsClassifier())])\n'
     'GridSearchCV(pipe, [{"knn__n_neighbors": [1, 3, 5]}], cv=5).fit(features_standardized, target)', True),
    ("cross_val_score(make_pipeline(MinMaxScaler(), KNeighborsClassifier()), features_standardized, target)", True),
    # the search may change the scaler step itself; a scaler that keeps the earlier scale; no scaler
    ('pipe = Pipeline([("standardizer", standardizer), ("knn", KNeighborsClassifier())])\n'
     'GridSearchCV(pipe, {"standardizer__with_std": [True, False]}, cv=5).fit(features_standardized, target)', False),
    ("cross_val_score(make_pipeline(StandardScaler(with_std=False), KNeighborsClassifier()), features_standardized, target)", False),
    ("cross_val_score(KNeighborsClassifier(), features_standardized, target)", False),
    # review of sweep 19: a grid that swaps the scaler step out, written with dict(...)
    ('pipe = Pipeline([("standardizer", standardizer), ("knn", KNeighborsClassifier())])\n'
     'GridSearchCV(pipe, dict(standardizer=[StandardScaler(), "passthrough"]), cv=5).fit(features_standardized, target)', False),
])
def test_a_pipeline_that_restandardises_each_fold_makes_the_earlier_fit_redundant(use, redundant):
    (f,) = findings(_PIPE_AFTER.format(use=use), RULE)
    assert ("earlier fit is redundant" in f.message) == redundant
    assert ("optimistic" in f.message) != redundant


def test_the_redundant_scaler_message_fits_a_plain_split():
    src = _PIPE_AFTER.format(use=(
        "from sklearn.model_selection import train_test_split\n"
        "X_tr, X_te, y_tr, y_te = train_test_split(features_standardized, target)\n"
        "pipe = make_pipeline(StandardScaler(), KNeighborsClassifier()).fit(X_tr, y_tr)\n"
        "print(pipe.score(X_te, y_te))"))
    (f,) = findings(src, RULE)
    assert "earlier fit is redundant" in f.message and "fold" not in f.message


@pytest.mark.parametrize("cuts,expected", [
    # sweep 19b (Interpretable-ML's Traffic notebook): train / valid / test cut by position
    ("train = df[:-4368]\nvalid = df[-4368:-2184]\ntest = df[-2184:]\n", [5]),
    ("train = df.iloc[:n_tr]\nvalid = df.iloc[n_tr:n_va]\ntest = df.iloc[n_va:]\n", [5]),
    # a middle window alone is no split
    ("train = df[100:200]\ntest = df[300:400]\n", []),
])
def test_three_way_positional_cuts_are_a_split(cuts, expected):
    src = ("import pandas as pd\nfrom sklearn.linear_model import Ridge\nfrom sklearn.preprocessing import MinMaxScaler\n"
           "sc = MinMaxScaler()\nsc.fit(df)\n" + cuts
           + "model = Ridge().fit(sc.transform(train), y_tr)\nprint(model.score(sc.transform(test), y_te))\n")
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("models,info", [
    # sweep 19e (bnsreenu's xgboost intro): an unused forest, then XGBoost, under one name
    ("model = RandomForestClassifier(n_estimators=10)\nmodel = xgb.XGBClassifier()\n", True),
    # one of the models bound to the name is scale-sensitive: not known which one is scored
    ("model = xgb.XGBClassifier()\nif small:\n    model = SVC()\n", False),
])
def test_a_name_rebound_among_tree_models_keeps_the_info(models, info):
    src = ("import xgboost as xgb\nfrom sklearn.ensemble import RandomForestClassifier\nfrom sklearn.svm import SVC\n"
           "from sklearn.preprocessing import MinMaxScaler\nfrom sklearn.model_selection import train_test_split\n"
           "scaler = MinMaxScaler()\nscaler.fit(X)\nX = scaler.transform(X)\n"
           "X_train, X_test, y_train, y_test = train_test_split(X, Y)\n" + models +
           "model.fit(X_train, y_train)\nprint(accuracy_score(y_test, model.predict(X_test)))\n")
    (f,) = findings(src, RULE)
    assert ("predict the same" in f.message) == info


@pytest.mark.parametrize("fitted,expected", [
    # sweep 19f (campusx's power-transformer day): a constant added before a Box-Cox keeps the rows
    ("X + 0.0000001", 1), ("1 + X", 1), ("X * 2", 1),
    ("X[:100] + 1", 0),   # narrowed rows: not all of them
])
def test_a_constant_added_keeps_all_rows(fitted, expected):
    src = ("from sklearn.model_selection import cross_val_score\nfrom sklearn.linear_model import LinearRegression\n"
           "from sklearn.preprocessing import PowerTransformer\npt = PowerTransformer(method='box-cox')\n"
           f"X_t = pt.fit_transform({fitted})\nprint(cross_val_score(LinearRegression(), X_t, y))\n")
    assert len(lines(src, RULE)) == expected


# Review of sweep 20: per-group statistics that stay inside one side of a group split, and
# row-wise fills written with a positional axis or on the transpose.
_NO_ROW_CROSSES_OVER = [
    ("b1_group_split", """import pandas as pd
from sklearn.model_selection import GroupShuffleSplit

df = pd.read_csv("vitals.csv")
df["hr"] = df.groupby("patient_id")["hr"].transform(lambda s: s.fillna(s.mean()))
gss = GroupShuffleSplit(n_splits=1, test_size=0.2)
train_idx, test_idx = next(gss.split(df, groups=df["patient_id"]))
train, test = df.iloc[train_idx], df.iloc[test_idx]
"""),
    ("b2_group_transform_split", """import pandas as pd
from sklearn.model_selection import GroupKFold, cross_val_score

df = pd.read_csv("vitals.csv")
df["hr"] = df["hr"].fillna(df.groupby("patient_id")["hr"].transform("mean"))
scores = cross_val_score(model, df[["hr"]], df["y"], groups=df["patient_id"], cv=GroupKFold(5))
"""),
    ("d1_axis_positional", """import pandas as pd
from sklearn.model_selection import train_test_split

df = pd.read_csv("data.csv")
rows = df.apply(lambda r: r.fillna(r.mean()), 1)
a, b = train_test_split(rows)
"""),
    ("d3_transpose", """import pandas as pd
from sklearn.model_selection import train_test_split

df = pd.read_csv("data.csv")
rows = df.T.apply(lambda r: r.fillna(r.mean())).T
a, b = train_test_split(rows)
"""),
]


@pytest.mark.parametrize("name,src", _NO_ROW_CROSSES_OVER, ids=[c[0] for c in _NO_ROW_CROSSES_OVER])
def test_statistics_that_cross_no_split(name, src):
    assert lines(src, RULE) == []


def test_a_per_group_median_held_in_a_name_still_leaks():
    assert len(lines("""import pandas as pd
from sklearn.model_selection import train_test_split

df = pd.read_csv("titanic.csv")
med = df.groupby("Pclass")["Age"].transform("median")
df["Age"] = df["Age"].fillna(med)
X_train, X_test = train_test_split(df, test_size=0.2)
""", RULE)) == 1


# Second review of sweep 20: stacks that are split, not taken apart (the cut is not at a part's
# size, or a positional cut came first), and stacks of columns.
_STACKED_THEN_SPLIT = [
    ("r1_pos_neg_concat", """import numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression

X_pos = np.load("pos.npy")
X_neg = np.load("neg.npy")
X = np.concatenate([X_pos, X_neg])
y = np.concatenate([np.ones(len(X_pos)), np.zeros(len(X_neg))])
perm = np.random.permutation(len(X))
X, y = X[perm], y[perm]
X = StandardScaler().fit_transform(X)
X_train, X_test = X[:800], X[800:]
y_train, y_test = y[:800], y[800:]
clf = LogisticRegression().fit(X_train, y_train)
print(clf.score(X_test, y_test))
"""),
    ("r2_chunks", """import glob
import pandas as pd
from sklearn.preprocessing import MinMaxScaler

df = pd.concat([pd.read_csv(f) for f in sorted(glob.glob("data/part-*.csv"))])
values = MinMaxScaler().fit_transform(df[["price", "volume"]])
n = int(len(values) * 0.8)
train, test = values[:n], values[n:]
"""),
    ("r3_helper", """import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler


def add_lags(frame):
    frame = frame.copy()
    frame["lag1"] = frame["y"].shift(1)
    return frame


df = pd.concat([pd.read_csv("2019.csv"), pd.read_csv("2020.csv")])
df = add_lags(df)
scaled = StandardScaler().fit_transform(df)
train, test = scaled[:-365], scaled[-365:]
"""),
    ("r4_labelled_part_then_holdout", """import pandas as pd
from sklearn.preprocessing import StandardScaler

train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
ntrain = train.shape[0]
all_data = pd.concat([train, test]).reset_index(drop=True)
all_data = pd.get_dummies(all_data)
X = all_data[:ntrain]
X_sub = all_data[ntrain:]
X = StandardScaler().fit_transform(X)
n_val = int(0.8 * len(X))
X_tr, X_val = X[:n_val], X[n_val:]
"""),
    ("a1_concat_axis1", """import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler

full = pd.concat([train_df, test_df])
num = full[["age", "fare"]]
num_scaled = StandardScaler().fit_transform(num)
cats = pd.get_dummies(full[["sex"]]).values
X = np.concatenate([num_scaled, cats], axis=1)
X_train, X_test = X[:n_train], X[n_train:]
"""),
    ("a2_hstack_torch", """import torch
from sklearn.preprocessing import StandardScaler

scaler = StandardScaler()
X_scaled = scaler.fit_transform(X_all)
X_t = torch.cat([torch.tensor(X_scaled), torch.tensor(extra)], dim=1)
X_train, X_test = X_t[:800], X_t[800:]
"""),
    ("a3_pdconcat_cols", """import pandas as pd
from sklearn.preprocessing import MinMaxScaler

df = pd.read_csv("data.csv")
scaled = pd.DataFrame(MinMaxScaler().fit_transform(df[num_cols]), columns=num_cols)
df = pd.concat([scaled, df[cat_cols]], axis=1)
train = df[:800]
test = df[800:]
"""),
]


@pytest.mark.parametrize("name,src", _STACKED_THEN_SPLIT, ids=[c[0] for c in _STACKED_THEN_SPLIT])
def test_a_stack_that_is_split_still_leaks(name, src):
    assert len(lines(src, RULE)) == 1


# Second review: per-group fills and group splits spelt several ways.
_GROUPS_KEPT_TOGETHER = [
    ("g1v_groups_var", """import pandas as pd
from sklearn.model_selection import GroupKFold

df = pd.read_csv("visits.csv")
df["hr"] = df["hr"].fillna(df.groupby("patient_id")["hr"].transform("median"))
X, y = df[["hr", "age"]], df["label"]
groups = df["patient_id"]
for tr, va in GroupKFold(n_splits=5).split(X, y, groups=groups):
    model.fit(X.iloc[tr], y.iloc[tr])
"""),
    ("g1_groups_positional", """import pandas as pd
from sklearn.model_selection import GroupKFold

df = pd.read_csv("visits.csv")
df["hr"] = df["hr"].fillna(df.groupby("patient_id")["hr"].transform("median"))
X, y = df[["hr", "age"]], df["label"]
groups = df["patient_id"]
for tr, va in GroupKFold(n_splits=5).split(X, y, groups):
    model.fit(X.iloc[tr], y.iloc[tr])
"""),
    ("g1k_groups_kw", """import pandas as pd
from sklearn.model_selection import GroupKFold

df = pd.read_csv("visits.csv")
df["hr"] = df["hr"].fillna(df.groupby("patient_id")["hr"].transform("median"))
X, y = df[["hr", "age"]], df["label"]
for tr, va in GroupKFold(n_splits=5).split(X, y, groups=df["patient_id"]):
    model.fit(X.iloc[tr], y.iloc[tr])
"""),
    ("g5_cross_val", """import pandas as pd
from sklearn.model_selection import GroupKFold, cross_val_score

df = pd.read_csv("visits.csv")
df["hr"] = df["hr"].fillna(df.groupby("patient_id")["hr"].transform("median"))
X, y = df[["hr", "age"]], df["label"]
scores = cross_val_score(model, X, y, groups=df["patient_id"], cv=GroupKFold(5))
"""),
]
_GROUPS_NOT_KEPT_TOGETHER = [
    ("g3_substring_key", """import pandas as pd
from sklearn.model_selection import GroupShuffleSplit

df = pd.read_csv("sales.csv")
df["price"] = df["price"].fillna(df.groupby("store")["price"].transform("mean"))
X, y = df[["price", "promo"]], df["units"]
gss = GroupShuffleSplit(n_splits=1, test_size=0.2)
train_idx, test_idx = next(gss.split(X, y, groups=df["store_item"]))
"""),
    ("g2_kfold_ignores_groups", """import pandas as pd
from sklearn.model_selection import StratifiedKFold

df = pd.read_csv("visits.csv")
df["hr"] = df["hr"].fillna(df.groupby("ward")["hr"].transform("median"))
X, y = df[["hr", "age"]], df["label"]
for tr, va in StratifiedKFold(n_splits=5).split(X, y, groups=df["ward"]):
    model.fit(X.iloc[tr], y.iloc[tr])
"""),
    ("g6_cv5_groups_ignored", """import pandas as pd
from sklearn.model_selection import cross_val_score

df = pd.read_csv("visits.csv")
df["hr"] = df["hr"].fillna(df.groupby("patient_id")["hr"].transform("median"))
X, y = df[["hr", "age"]], df["label"]
scores = cross_val_score(model, X, y, groups=df["patient_id"], cv=5)
"""),
]


@pytest.mark.parametrize("name,src", _GROUPS_KEPT_TOGETHER, ids=[c[0] for c in _GROUPS_KEPT_TOGETHER])
def test_group_statistics_inside_group_folds(name, src):
    assert lines(src, RULE) == []


@pytest.mark.parametrize("name,src", _GROUPS_NOT_KEPT_TOGETHER, ids=[c[0] for c in _GROUPS_NOT_KEPT_TOGETHER])
def test_group_statistics_across_folds(name, src):
    """Another key (`store` vs `store_item`), or a splitter that ignores `groups`."""
    assert len(lines(src, RULE)) == 1


# Third review of sweep 20: Kaggle sets taken apart at a written-out row count or a label array's
# size, column slices on the way; windows and dim=2 stacks are no unstacking.
_TAKEN_APART = [
    ("s1_literal_891", """import pandas as pd
from sklearn.preprocessing import StandardScaler

train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
all_data = pd.concat([train, test], ignore_index=True)
all_data[["Age", "Fare"]] = StandardScaler().fit_transform(all_data[["Age", "Fare"]])
train = all_data[:891]
test = all_data[891:]
"""),
    ("s2_len_y", """import pandas as pd
from sklearn.preprocessing import StandardScaler

train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
y = train["SalePrice"]
all_data = pd.concat([train.drop("SalePrice", axis=1), test])
all_data = pd.get_dummies(all_data)
all_data[num_cols] = StandardScaler().fit_transform(all_data[num_cols])
X = all_data[:len(y)]
X_sub = all_data[len(y):]
"""),
    ("s3_iloc_cols", """import pandas as pd
from sklearn.preprocessing import StandardScaler

train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
ntrain = train.shape[0]
all_data = pd.concat([train, test])
X_all = all_data.iloc[:, 1:]
X_all = StandardScaler().fit_transform(X_all)
X = X_all[:ntrain]
X_sub = X_all[ntrain:]
"""),
    ("s5_ytrain_shape", """import numpy as np
import pandas as pd
from sklearn.preprocessing import RobustScaler

train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
y_train = train.SalePrice.values
all_data = pd.concat((train, test)).reset_index(drop=True)
all_data.drop(["SalePrice"], axis=1, inplace=True)
all_data = RobustScaler().fit_transform(all_data)
train = all_data[:y_train.shape[0]]
test = all_data[y_train.shape[0]:]
"""),
    ("s6_values_cols", """import pandas as pd
from sklearn.preprocessing import MinMaxScaler

train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
n = len(train)
df = pd.concat([train, test])
arr = df.values[:, 1:]
arr = MinMaxScaler().fit_transform(arr)
tr, te = arr[:n], arr[n:]
"""),
]
_STILL_SPLIT = [
    ("b5_np_in_bound", """import numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression

X_pos = np.load("pos.npy")
X_neg = np.load("neg.npy")
X = np.concatenate([X_pos, X_neg])
y = np.concatenate([np.ones(len(X_pos)), np.zeros(len(X_neg))])
perm = np.random.permutation(len(X))
X, y = X[perm], y[perm]
X = StandardScaler().fit_transform(X)
n = int(np.floor(0.8 * len(X)))
X_train, X_test = X[:n], X[n:]
y_train, y_test = y[:n], y[n:]
clf = LogisticRegression().fit(X_train, y_train)
"""),
    ("u7_torchcat_windows", """import torch
from sklearn.preprocessing import MinMaxScaler

scaled = torch.tensor(MinMaxScaler().fit_transform(df[["load", "temp"]].values), dtype=torch.float32)
T = 24
X = torch.cat([scaled[i:i + T].unsqueeze(0) for i in range(len(scaled) - T)])
split = int(0.8 * len(X))
X_train, X_test = X[:split], X[split:]
"""),
    ("u2_dim2", """import torch
from sklearn.preprocessing import StandardScaler

num = StandardScaler().fit_transform(num_raw.reshape(-1, 3)).reshape(-1, 30, 3)
X = torch.cat([torch.tensor(num), torch.tensor(cat_emb)], dim=2)
n = int(0.8 * len(X))
X_train, X_test = X[:n], X[n:]
"""),
]


@pytest.mark.parametrize("name,src", _TAKEN_APART, ids=[c[0] for c in _TAKEN_APART])
def test_kaggle_sets_taken_apart(name, src):
    assert lines(src, RULE) == []


@pytest.mark.parametrize("name,src", _STILL_SPLIT, ids=[c[0] for c in _STILL_SPLIT])
def test_still_a_split_after_the_fit(name, src):
    assert len(lines(src, RULE)) >= 1


_GROUP_SPELLINGS = [
    ("q1_single_quotes", """import pandas as pd
from sklearn.model_selection import GroupKFold, GroupShuffleSplit, cross_val_score

df = pd.read_csv("visits.csv")
df["hr"] = df["hr"].fillna(df.groupby("patient_id")["hr"].transform("median"))
X, y = df[["hr", "age"]], df["label"]
for tr, va in GroupKFold(n_splits=5).split(X, y, groups=df['patient_id']):
    model.fit(X.iloc[tr], y.iloc[tr])
"""),
    ("q2_values", """import pandas as pd
from sklearn.model_selection import GroupKFold, GroupShuffleSplit, cross_val_score

df = pd.read_csv("visits.csv")
df["hr"] = df["hr"].fillna(df.groupby("patient_id")["hr"].transform("median"))
X, y = df[["hr", "age"]], df["label"]
groups = df["patient_id"].values
gkf = GroupKFold(n_splits=5)
for tr, va in gkf.split(X, y, groups):
    model.fit(X.iloc[tr], y.iloc[tr])
"""),
    ("q8_groupby_list", """import pandas as pd
from sklearn.model_selection import GroupKFold

df = pd.read_csv("visits.csv")
df["hr"] = df.groupby(["patient_id"])["hr"].transform(lambda s: s.fillna(s.median()))
X, y = df[["hr", "age"]], df["label"]
for tr, va in GroupKFold(n_splits=5).split(X, y, groups=df["patient_id"]):
    model.fit(X.iloc[tr], y.iloc[tr])
"""),
    ("q10_groupby_series", """import pandas as pd
from sklearn.model_selection import GroupKFold

df = pd.read_csv("visits.csv")
df["hr"] = df["hr"].fillna(df.groupby(df["patient_id"])["hr"].transform("median"))
X, y = df[["hr", "age"]], df["label"]
for tr, va in GroupKFold(n_splits=5).split(X, y, groups=df["patient_id"]):
    model.fit(X.iloc[tr], y.iloc[tr])
"""),
    ("q11_gridsearch", """import pandas as pd
from sklearn.model_selection import GroupKFold, GridSearchCV

df = pd.read_csv("visits.csv")
df["hr"] = df["hr"].fillna(df.groupby("patient_id")["hr"].transform("median"))
X, y = df[["hr", "age"]], df["label"]
search = GridSearchCV(model, grid, cv=GroupKFold(n_splits=5))
search.fit(X, y, groups=df["patient_id"])
"""),
]


@pytest.mark.parametrize("name,src", _GROUP_SPELLINGS, ids=[c[0] for c in _GROUP_SPELLINGS])
def test_group_keys_in_their_usual_spellings(name, src):
    """Third review of sweep 20: quotes, `.values`, a list or a Series as the groupby key, a
    search's fit(groups=...) with cv=GroupKFold."""
    assert lines(src, RULE) == []


_EXTENDED = """\
import numpy as np
from sklearn.preprocessing import MinMaxScaler
from sklearn.decomposition import PCA

train_feats = np.load("train_emb.npy")
test_feats = np.load("test_emb.npy")

feats = list(train_feats)
train_idx = {size}
feats.extend(test_feats)
avec = np.array(feats)

avec = MinMaxScaler().fit_transform(avec)
emb = PCA(n_components=3).fit_transform(avec)
te_emb = emb[train_idx:]
emb = emb[:train_idx]
"""


def test_a_list_of_train_rows_extended_by_test_rows_and_cut_apart():
    """A Kaggle leak-detection notebook (sweep 21a): train and test embeddings joined with
    `list.extend`, scaled and projected together to find duplicates, then cut apart at the
    training size: the stack is taken apart, nothing is split."""
    assert lines(_EXTENDED.format(size="len(feats)"), RULE) == []


def test_a_list_extended_then_cut_at_a_fraction_is_a_split():
    assert lines(_EXTENDED.format(size="int(0.8 * 1000)"), RULE) == [13, 14]


def test_a_list_extended_then_cut_at_a_fraction_of_the_whole():
    """Review: after `features.extend(...)` the receiver is the whole list; a cut at 80% of it
    splits the stacked rows."""
    src = """\
import numpy as np
from sklearn.preprocessing import StandardScaler

features = list(np.load("site_a_features.npy"))
features.extend(np.load("site_b_features.npy"))
X = StandardScaler().fit_transform(features)
n_train = int(0.8 * len(features))
X_train, X_test = X[:n_train], X[n_train:]
"""
    assert lines(src, RULE) == [6]
    assert lines(src.replace("n_train = int(0.8 * len(features))\n", "").replace(
        "features.extend", "n_train = len(features)\nfeatures.extend"), RULE) == []


# Sweep 24 (a loan-prediction notebook): Kaggle's train and test joined, scaled with the function
# form, or through a frame of engineered features built column by column from the join, then
# cut apart at the training size: nothing is split.
_JOINED_THEN_SCALED = """\
import pandas as pd
from sklearn.preprocessing import StandardScaler, scale

train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
data = {data}
{prep}
train_s = scaled[:{bound}]
test_s = scaled[{bound}:]
"""


@pytest.mark.parametrize("data,prep,bound,expected", [
    ("pd.concat([train, test])", "scaled = scale(data)", "len(train)", []),
    ("pd.concat([train, test])", "custom = pd.DataFrame()\ncustom['ratio'] = data.income / data.amount\n"
     "custom['total'] = data.income + data.co_income\nscaled = StandardScaler().fit_transform(custom)",
     "train.shape[0]", []),
    # a cut at a fraction of the joined rows, or one dataset's engineered frame: split
    ("pd.concat([train, test])", "scaled = scale(data)", "int(0.8 * len(data))", [7]),
    ("train.drop(columns='y')", "custom = pd.DataFrame()\ncustom['ratio'] = data.income / data.amount\n"
     "scaled = StandardScaler().fit_transform(custom)", "600", [9]),
])
def test_joined_train_and_test_scaled_then_taken_apart(data, prep, bound, expected):
    assert lines(_JOINED_THEN_SCALED.format(data=data, prep=prep, bound=bound), RULE) == expected


def test_the_function_form_on_one_dataset_before_a_split_is_flagged():
    src = """\
import pandas as pd
from sklearn.preprocessing import scale
from sklearn.model_selection import train_test_split

df = pd.read_csv("train.csv")
X = scale(df.drop(columns="y"))
X_tr, X_te, y_tr, y_te = train_test_split(X, df.y)
"""
    assert lines(src, RULE) == [6]


# Sweep 25 (stock-price LSTM tutorials): the scaled series is cut into windows by a loop that
# fills lists (`X.append(data[i - 60:i, 0])`), and the windows are split: the rows of the
# windows are the scaled rows, so the split splits them.
_WINDOWS_SPLIT = [
    ("script_windows_sliced", """\
import numpy as np
import pandas as pd
from sklearn.preprocessing import MinMaxScaler

df = pd.read_csv("prices.csv")
scaler = MinMaxScaler(feature_range=(0, 1))
data = scaler.fit_transform(df[["Close"]].values)
X, y = [], []
for i in range(60, len(data)):
    X.append(data[i - 60:i, 0])
    y.append(data[i, 0])
X, y = np.array(X), np.array(y)
split = int(len(X) * 0.8)
X_train, X_test = X[:split], X[split:]
y_train, y_test = y[:split], y[split:]
""", [7]),
    ("create_dataset_then_train_test_split_unshuffled", """\
import numpy as np
from sklearn.preprocessing import MinMaxScaler
from sklearn.model_selection import train_test_split

def create_dataset(dataset, look_back=1):
    dataX, dataY = [], []
    for i in range(len(dataset) - look_back - 1):
        a = dataset[i:(i + look_back), 0]
        dataX.append(a)
        dataY.append(dataset[i + look_back, 0])
    return np.array(dataX), np.array(dataY)

scaler = MinMaxScaler(feature_range=(0, 1))
dataset = scaler.fit_transform(df["Close"].values.reshape(-1, 1))
X, y = create_dataset(dataset, 60)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, shuffle=False)
""", [14]),
    ("split_sequence_with_list_calls", """\
import numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

def split_sequence(sequence, n_steps):
    X, y = list(), list()
    for i in range(len(sequence)):
        end_ix = i + n_steps
        if end_ix > len(sequence) - 1:
            break
        X.append(sequence[i:end_ix])
        y.append(sequence[end_ix])
    return np.array(X), np.array(y)

scaled = StandardScaler().fit_transform(prices)
X, y = split_sequence(scaled, 10)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, shuffle=False)
""", [15]),
    ("in_a_function_with_torch_tensors", """\
import numpy as np
import torch
from sklearn.preprocessing import StandardScaler

def prepare(prices, window=30):
    scaler = StandardScaler()
    scaled = scaler.fit_transform(prices.reshape(-1, 1))
    seqs, targets = [], []
    for i in range(len(scaled) - window):
        seqs.append(scaled[i:i + window])
        targets.append(scaled[i + window])
    X = torch.tensor(np.array(seqs), dtype=torch.float32)
    y = torch.tensor(np.array(targets), dtype=torch.float32)
    n = int(0.8 * len(X))
    X_train, X_test = X[:n], X[n:]
    y_train, y_test = y[:n], y[n:]
    return X_train, X_test, y_train, y_test
""", [7]),
    ("create_sequences_stacked_and_extended", """\
import numpy as np
from sklearn.preprocessing import MinMaxScaler

def create_sequences(values, steps=24):
    out = []
    for i in range(len(values) - steps):
        out.append(values[i:i + steps])
    return np.stack(out)

scaler = MinMaxScaler()
data = scaler.fit_transform(series.reshape(-1, 1))
X = create_sequences(data)
labels = []
for i in range(24, len(data)):
    labels.extend(data[i])
y = np.asarray(labels)
train_y = y[:1000]
test_y = y[1000:]
train_X = X[:1000]
test_X = X[1000:]
""", [11]),
    ("windows_added_with_plus_equals", """\
import numpy as np
from sklearn.preprocessing import MinMaxScaler

scaler = MinMaxScaler()
data = scaler.fit_transform(series.reshape(-1, 1))
X = []
for i in range(60, len(data)):
    X += [data[i - 60:i]]
X = np.array(X)
train_X, test_X = X[:1000], X[1000:]
""", [5]),
    ("a_loop_over_regions_making_its_windows_afresh", """\
import numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

for region in regions:
    X_all = frames[region].drop(columns=["yield"])
    X = StandardScaler().fit_transform(X_all)
    steps = []
    for week in weeks:
        steps.append(X[:, week_columns[week]])
    X_lstm = np.transpose(np.array(steps), (1, 0, 2))
    x_tr, x_val, y_tr, y_val = train_test_split(X_lstm, frames[region]["yield"], test_size=0.2)
""", [7]),
    ("lists_of_windows_cut_inside_np_array", """\
import numpy as np
from sklearn.preprocessing import StandardScaler

def get_data(data, window_size):
    X = []
    y = []
    i = 0
    while (i + window_size) <= len(data) - 1:
        X.append(data[i:i + window_size])
        y.append(data[i + window_size])
        i += 1
    return X, y

scaler = StandardScaler()
data = scaler.fit_transform(data.reshape(-1, 1))
X, y = get_data(data, window_size=7)
X_train = np.array(X[:1000])
y_train = np.array(y[:1000])
X_test = np.array(X[1000:])
y_test = np.array(y[1000:])
""", [15]),
    ("a_fitted_scaler_applied_to_every_row_then_windows", """\
import numpy as np
from sklearn.preprocessing import StandardScaler

scaler = StandardScaler().fit(values)
data = scaler.transform(values)
X = []
for i in range(30, len(data)):
    X.append(data[i - 30:i])
X = np.asarray(X)
n = int(0.9 * len(X))
X_train, X_test = X[:n], X[n:]
""", [4]),
]

_WINDOWS_SILENT = [
    ("scaler_fitted_on_the_training_rows_only", """\
import numpy as np
from sklearn.preprocessing import MinMaxScaler

n = int(len(values) * 0.8)
scaler = MinMaxScaler()
scaler.fit(values[:n])
data = scaler.transform(values)
X, y = [], []
for i in range(60, len(data)):
    X.append(data[i - 60:i, 0])
    y.append(data[i, 0])
X, y = np.array(X), np.array(y)
X_train, X_test = X[:n], X[n:]
"""),
    ("series_split_then_scaled_then_windowed", """\
import numpy as np
from sklearn.preprocessing import MinMaxScaler

def create_dataset(dataset, look_back=1):
    dataX, dataY = [], []
    for i in range(len(dataset) - look_back - 1):
        dataX.append(dataset[i:(i + look_back), 0])
        dataY.append(dataset[i + look_back, 0])
    return np.array(dataX), np.array(dataY)

train_size = int(len(dataset) * 0.67)
train, test = dataset[0:train_size, :], dataset[train_size:len(dataset), :]
scaler = MinMaxScaler(feature_range=(0, 1))
train = scaler.fit_transform(train)
test = scaler.transform(test)
trainX, trainY = create_dataset(train, 60)
testX, testY = create_dataset(test, 60)
"""),
    ("windows_split_before_any_fit", """\
import numpy as np
from sklearn.preprocessing import StandardScaler

X, y = [], []
for i in range(60, len(raw)):
    X.append(raw[i - 60:i])
    y.append(raw[i])
X, y = np.array(X), np.array(y)
X_train, X_test = X[:n], X[n:]
y_train, y_test = y[:n], y[n:]
scaler = StandardScaler()
X_train = scaler.fit_transform(X_train.reshape(-1, 1)).reshape(X_train.shape)
X_test = scaler.transform(X_test.reshape(-1, 1)).reshape(X_test.shape)
"""),
    ("windows_of_other_rows_than_the_scaled_ones", """\
import numpy as np
from sklearn.preprocessing import MinMaxScaler

scaler = MinMaxScaler()
volume = scaler.fit_transform(df[["Volume"]])
X, y = [], []
for i in range(60, len(raw)):
    X.append(raw[i - 60:i, 0])
    y.append(raw[i, 0])
X, y = np.array(X), np.array(y)
X_train, X_test = X[:n], X[n:]
"""),
    ("each_window_scaled_on_its_own_rows", """\
import numpy as np
from sklearn.preprocessing import MinMaxScaler

X = []
for i in range(60, len(raw)):
    X.append(MinMaxScaler().fit_transform(raw[i - 60:i]))
X = np.array(X)
X_train, X_test = X[:n], X[n:]
"""),
    ("each_patch_scaled_on_its_own_pixels", """\
import numpy as np
from sklearn.preprocessing import MinMaxScaler
from sklearn.model_selection import train_test_split

scaler = MinMaxScaler()
image_dataset = []
for image in images:
    patches = patchify(image, (256, 256, 3), step=256)
    for i in range(patches.shape[0]):
        for j in range(patches.shape[1]):
            patch = patches[i, j, :, :]
            patch = scaler.fit_transform(patch.reshape(-1, patch.shape[-1])).reshape(patch.shape)
            image_dataset.append(patch[0])
image_dataset = np.array(image_dataset)
X_train, X_test, y_train, y_test = train_test_split(image_dataset, labels, test_size=0.2)
"""),
    ("each_stock_scaled_on_its_own_prices_then_windowed", """\
import numpy as np
from sklearn.preprocessing import MinMaxScaler

X, y = [], []
for ticker, prices in frames.items():
    scaled = MinMaxScaler().fit_transform(prices[["Close"]])
    for i in range(60, len(scaled)):
        X.append(scaled[i - 60:i, 0])
        y.append(scaled[i, 0])
X, y = np.array(X), np.array(y)
X_train, X_test = X[:n], X[n:]
"""),
    ("unscaled_windows_taken_in_a_loop_sized_by_the_scaled_series", """\
import numpy as np
from sklearn.preprocessing import MinMaxScaler

scaled = MinMaxScaler().fit_transform(prices)
X = []
for i in range(60, len(scaled)):
    X.append(raw[i - 60:i, 0])
X = np.array(X)
X_train, X_test = X[:n], X[n:]
"""),
    ("lists_of_raw_windows_cut_then_scaled_on_the_training_part", """\
import numpy as np
from sklearn.preprocessing import StandardScaler

X = []
for i in range(7, len(prices)):
    X.append(prices[i - 7:i])
X_train = np.array(X[:1000])
X_test = np.array(X[1000:])
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
"""),
    ("losses_collected_in_a_loop_are_not_the_scaled_rows", """\
import numpy as np
from sklearn.preprocessing import StandardScaler

scaler = StandardScaler()
data = scaler.fit_transform(raw)
losses = []
for epoch in range(10):
    losses.append(train_one_epoch(model))
first, rest = losses[:5], losses[5:]
"""),
    ("a_list_filled_before_the_scaled_rows_were_appended", """\
import numpy as np
from sklearn.preprocessing import StandardScaler

X = []
for i in range(60, len(raw)):
    X.append(raw[i - 60:i])
X_train, X_test = X[:n], X[n:]
scaled = StandardScaler().fit_transform(raw)
for i in range(60, len(scaled)):
    X.append(scaled[i - 60:i])
"""),
]


@pytest.mark.parametrize("name,src,expected", _WINDOWS_SPLIT, ids=[c[0] for c in _WINDOWS_SPLIT])
def test_windows_of_scaled_rows_split_afterwards(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", _WINDOWS_SILENT, ids=[c[0] for c in _WINDOWS_SILENT])
def test_windows_with_no_statistics_of_the_test_rows(name, src):
    assert lines(src, RULE) == []


def test_windows_of_scaled_rows_across_notebook_cells():
    cells = [
        "import numpy as np\nimport pandas as pd\nfrom sklearn.preprocessing import MinMaxScaler\n",
        "df = pd.read_csv('AAPL.csv')\nscaler = MinMaxScaler()\ndata = scaler.fit_transform(df.filter(['Close']).values)\n",
        ("x_all, y_all = [], []\nfor i in range(60, len(data)):\n    x_all.append(data[i-60:i, 0])\n"
         "    y_all.append(data[i, 0])\nx_all, y_all = np.array(x_all), np.array(y_all)\n"),
        "training_data_len = int(np.ceil(len(x_all) * .8))\nx_train = x_all[:training_data_len]\n"
        "x_test = x_all[training_data_len:]\n",
    ]
    (f,) = notebook(cells, RULE)
    assert (f.location.cell, f.location.cell_line + 1) == (1, 3)
    assert [(r.location.cell, r.location.cell_line + 1) for r in f.related] == [(1, 3), (3, 3)]
    assert "split into train and test afterwards" in f.message


# Sweep 27 (JustinLeee33's heart-disease xgb script): the scaled matrix reaches the split through a
# plain rename or a DataFrame that only adds column names; the same values, still only trees.
@pytest.mark.parametrize("between,model,info", [
    ("X_df = pd.DataFrame(X_scaled, columns=X.columns)\n", "RandomForestClassifier()", True),
    ("X_df = X_scaled\n", "XGBClassifier()", True),
    ("X_df = pd.DataFrame(X_scaled, columns=X.columns)\n", "LogisticRegression()", False),
    # the scaled matrix has another reader (a k-NN on its first rows)
    ("X_df = pd.DataFrame(X_scaled, columns=X.columns)\nKNeighborsClassifier().fit(X_scaled[:100], y[:100])\n",
     "RandomForestClassifier()", False),
])
def test_scale_free_through_a_rename_or_a_frame(between, model, info):
    src = ("import pandas as pd\nfrom sklearn.ensemble import RandomForestClassifier\n"
           "from sklearn.linear_model import LogisticRegression\nfrom sklearn.neighbors import KNeighborsClassifier\n"
           "from sklearn.model_selection import train_test_split\nfrom sklearn.preprocessing import MinMaxScaler\n"
           "from xgboost import XGBClassifier\n"
           "X_scaled = MinMaxScaler().fit_transform(X)\n" + between +
           "X_train, X_test, y_train, y_test = train_test_split(X_df, y, test_size=0.2)\n"
           f"model = {model}\nmodel.fit(X_train, y_train)\nprint(accuracy_score(y_test, model.predict(X_test)))\n")
    (f,) = findings(src, RULE)
    assert ("predict the same" in f.message) == info


# Sweep 27 (a fraud-detection training script, a SMOTE notebook): the held-out parts are bound but
# never read, or only for their shape: no score on them exists, the split draws training rows.
_NEVER_SCORED = """\
import torch
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

X_scaled = StandardScaler().fit_transform(X)
X_train, X_test, y_train, y_test = train_test_split(X_scaled, y, test_size=0.2)
print("test rows:", X_test.shape, len(y_test))
xt, yt = torch.tensor(X_train), torch.tensor(y_train)
"""


@pytest.mark.parametrize("later,expected", [
    ("", []),
    ("print(net(torch.tensor(X_test)).argmax(1).eq(torch.tensor(y_test)).float().mean())\n", [5]),
    ("np.save('X_test.npy', X_test)\n", [5]),
    ("test_loader = DataLoader(TensorDataset(torch.tensor(X_test), torch.tensor(y_test)))\n", [5]),
    ("evaluate(net, X_test, y_test)\n", [5]),
])
def test_held_out_parts_never_read_make_a_subsample(later, expected):
    assert lines(_NEVER_SCORED + later, RULE) == expected


def test_held_out_parts_returned_are_read():
    src = ("from sklearn.model_selection import train_test_split\nfrom sklearn.preprocessing import StandardScaler\n\n"
           "def prepare(X, y):\n    X = StandardScaler().fit_transform(X)\n"
           "    X_train, X_test, y_train, y_test = train_test_split(X, y)\n"
           "    print(X_train.mean())\n    return X_train, X_test, y_train, y_test\n")
    assert lines(src, RULE) == [5]
