"""split-unpack-order: train_test_split results unpacked in the wrong order."""
import pytest
from conftest import findings, fixed_once, lines, notebook

RULE = "split-unpack-order"

IMPORT = "from sklearn.model_selection import train_test_split\n"

BUGGY = [
    ("all_train_first", IMPORT + "X_train, y_train, X_test, y_test = train_test_split(X, y, test_size=0.2)\n",
     [2], "X_train, X_test, y_train, y_test"),
    ("test_before_train", IMPORT + "X_test, X_train, y_test, y_train = train_test_split(X, y)\n",
     [2], "X_train, X_test, y_train, y_test"),
    ("labels_first", IMPORT + "y_train, y_test, X_train, X_test = train_test_split(X, y)\n",
     [2], "X_train, X_test, y_train, y_test"),
    ("short_names", IMPORT + "Xtr, ytr, Xte, yte = train_test_split(features, labels)\n",
     [2], "Xtr, Xte, ytr, yte"),
    ("camel_case", IMPORT + "trainX, trainY, testX, testY = train_test_split(data, target)\n",
     [2], "trainX, testX, trainY, testY"),
    ("validation_names", IMPORT + "x_train, y_train, x_val, y_val = train_test_split(x_train_full, y_train_full)\n",
     [2], "x_train, x_val, y_train, y_val"),
    ("one_array", IMPORT + "test_df, train_df = train_test_split(df, test_size=0.2)\n",
     [2], "train_df, test_df"),
    ("one_array_bare", IMPORT + "test, train = train_test_split(df)\n",
     [2], "train, test"),
    ("three_arrays", IMPORT + "X_train, y_train, w_train, X_test, y_test, w_test = "
     "train_test_split(X, y, w, stratify=y)\n",
     [2], "X_train, X_test, y_train, y_test, w_train, w_test"),
    ("tuple_pattern", ("from sklearn import model_selection\n"
     "(X_train, y_train, X_test, y_test) = model_selection.train_test_split(X, y)\n"),
     [2], "(X_train, X_test, y_train, y_test)"),
    ("multiline_call", IMPORT + "X_train, y_train, X_test, y_test = train_test_split(\n"
     "    X, y, test_size=0.25, random_state=42, stratify=y\n)\n",
     [2], "X_train, X_test, y_train, y_test"),
    ("descriptive_arg_names", IMPORT + "feat_train, lab_train, feat_test, lab_test = "
     "train_test_split(df.drop('y', axis=1), df['y'])\n",
     [2], "feat_train, feat_test, lab_train, lab_test"),
]

SILENT = [
    ("correct_order", IMPORT + "X_train, X_test, y_train, y_test = train_test_split(X, y)\n"),
    ("correct_with_val", IMPORT + "X_tr, X_val, y_tr, y_val = train_test_split(X, y)\n"),
    ("correct_one_array", IMPORT + "train_df, test_df = train_test_split(df)\n"),
    ("correct_three", IMPORT + "X_train, X_test, y_train, y_test, idx_train, idx_test = "
     "train_test_split(X, y, idx)\n"),
    ("kaggle_learn_names", IMPORT + "train_X, val_X, train_y, val_y = train_test_split(X, y, random_state=0)\n"),
    ("data_labels_names", IMPORT + "train_data, test_data, train_labels, test_labels = "
     "train_test_split(data, labels)\n"),
    ("images_names", IMPORT + "train_images, test_images, train_labels, test_labels = "
     "train_test_split(images, labels)\n"),
    ("calibration_split", IMPORT + "X_train, X_cal, y_train, y_cal = train_test_split(X, y)\n"),
    ("unclassifiable_names", IMPORT + "a, b, c, d = train_test_split(X, y)\n"),
    ("one_unclassifiable_name", IMPORT + "X_train, y_train, X_holdout_raw2, foo = train_test_split(X, y)\n"),
    ("count_mismatch", IMPORT + "X_train, X_test = train_test_split(X, y)\n"),
    ("splat_args", IMPORT + "X_train, y_train, X_test, y_test = train_test_split(*arrays)\n"),
    ("not_sklearn", ("from mylib import train_test_split\n"
     "X_train, y_train, X_test, y_test = train_test_split(X, y)\n")),
    ("single_result", IMPORT + "parts = train_test_split(X, y)\n"),
    ("same_side_twice", IMPORT + "train_a, train_b = train_test_split(df)\n"),
]


@pytest.mark.parametrize("name,src,expected,fixed", BUGGY, ids=[c[0] for c in BUGGY])
def test_buggy(name, src, expected, fixed):
    assert lines(src, RULE) == expected
    out = fixed_once(src, RULE, "error")
    assert out.splitlines()[1].startswith(fixed + " = ")


@pytest.mark.parametrize("name,src", SILENT, ids=[c[0] for c in SILENT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_fix_is_one_edit_of_the_left_hand_side():
    (f,) = findings(BUGGY[0][1], RULE)
    assert len(f.fix.edits) == 1
    e = f.fix.edits[0]
    assert BUGGY[0][1].encode()[e.start:e.end] == b"X_train, y_train, X_test, y_test"


def test_notebook_cell():
    cells = [IMPORT, "import pandas as pd\n\nX_train, y_train, X_test, y_test = train_test_split(X, y)\n"]
    (f,) = notebook(cells, RULE)
    assert (f.location.cell, f.location.cell_line + 1) == (1, 3)
