"""dataset-split-reshuffled: a tf.data dataset that reshuffles on every iteration, split with
take(n) / skip(n)."""
import pytest
from conftest import findings, fixed_once, lines, notebook

RULE = "dataset-split-reshuffled"

TF = "import tensorflow as tf\n"

BUGGY = [
    # deep-learning-with-python-notebooks, chapter 16 (fine-tuning data, sweep 18b)
    ("chained_shuffle_then_batch", TF + """\
ds = tf.data.Dataset.from_tensor_slices(data).shuffle(2000).batch(2)
val_ds = ds.take(100)
train_ds = ds.skip(100)
""", [3]),
    ("shuffle_through_rebound_names", TF + """\
dataset = tf.data.Dataset.from_tensor_slices((X, y))
dataset = dataset.shuffle(buffer_size=len(X), seed=42)
dataset = dataset.map(preprocess).batch(32).prefetch(tf.data.AUTOTUNE)
train_size = int(0.8 * len(X))
train_ds = dataset.take(train_size)
test_ds = dataset.skip(train_size)
model.fit(train_ds, validation_data=test_ds, epochs=10)
""", [6]),
    # The TensorFlow transfer-learning tutorial's validation/test split.
    ("keras_directory_loader_shuffles_by_default", TF + """\
validation_dataset = tf.keras.utils.image_dataset_from_directory(
    validation_dir, batch_size=32, image_size=(160, 160), seed=123)
val_batches = tf.data.experimental.cardinality(validation_dataset)
test_dataset = validation_dataset.take(val_batches // 5)
validation_dataset = validation_dataset.skip(val_batches // 5)
""", [5]),
    ("three_way_split_of_the_rest", TF + """\
ds = tf.data.TFRecordDataset(files).shuffle(10000)
train = ds.take(n_train)
rest = ds.skip(n_train)
val = rest.take(n_val)
test = rest.skip(n_val)
""", [3, 5]),
    ("explicit_true_flag_and_skip_first", TF + """\
ds = tf.data.Dataset.range(100).shuffle(100, reshuffle_each_iteration=True)
test = ds.skip(80)
train = ds.take(80)
""", [3]),
    ("keras_loader_imported_by_name", """\
from keras.utils import text_dataset_from_directory
raw = text_dataset_from_directory("aclImdb/train", batch_size=32)
valid = raw.take(100)
train = raw.skip(100)
""", [3]),
    # A widely copied image-classification tutorial: the loader's default shuffle, then map.
    ("directory_loader_then_map", TF + """\
data = tf.keras.utils.image_dataset_from_directory("data")
scaled = data.map(lambda x, y: (x / 255, y))
train_size = int(len(scaled) * .7)
val_size = int(len(scaled) * .2)
train = scaled.take(train_size)
val = scaled.skip(train_size).take(val_size)
""", [6]),
    # A widely copied plant-disease tutorial: the shuffle sits in the split helper.
    ("shuffle_inside_a_split_helper", TF + """\
def get_dataset_partitions_tf(ds, train_split=0.8, val_split=0.1, shuffle=True, shuffle_size=10000):
    ds_size = len(ds)
    if shuffle:
        ds = ds.shuffle(shuffle_size, seed=12)
    train_size = int(train_split * ds_size)
    val_size = int(val_split * ds_size)
    train_ds = ds.take(train_size)
    val_ds = ds.skip(train_size).take(val_size)
    test_ds = ds.skip(train_size).skip(val_size)
    return train_ds, val_ds, test_ds
""", [8]),
    ("split_helper_given_a_shuffled_loader", TF + """\
def split_dataset(dataset, train_split=0.8):
    train_size = int(train_split * len(dataset))
    return dataset.take(train_size), dataset.skip(train_size)

dataset = tf.keras.utils.image_dataset_from_directory("PlantVillage", seed=123)
train_ds, val_ds = split_dataset(dataset)
""", [4]),
    # A steganography project's split helper (sweep 20): the buffer size given by keyword.
    ("helper_shuffling_with_a_buffer_size_keyword", TF + """\
def split_dataset(dataset, total_samples, train_frac=0.8):
    dataset = dataset.shuffle(buffer_size=total_samples, seed=42)
    n_train = int(train_frac * total_samples)
    return dataset.take(n_train), dataset.skip(n_train)
""", [5]),
    # Review of sweep 20 ----------------------------------------------------------------
    # list_files shuffles by default and reshuffles every pass (TF's image-loading tutorial
    # turns both off for this reason).
    ("list_files_shuffles_by_default", TF + """\
files = tf.data.Dataset.list_files("images/*/*.jpg")
val_files = files.take(200)
train_files = files.skip(200)
""", [3]),
    ("make_csv_dataset_shuffles_by_default", TF + """\
ds = tf.data.experimental.make_csv_dataset("train.csv", batch_size=32, num_epochs=1)
val = ds.take(10)
train = ds.skip(10)
""", [3]),
    # A fixed-order shuffle of a reshuffling input still changes order every pass.
    ("fixed_shuffle_over_a_reshuffling_one", TF + """\
ds = tf.data.Dataset.from_tensor_slices(x).shuffle(1000)
ds = ds.map(f).shuffle(500, reshuffle_each_iteration=False)
val = ds.take(10)
train = ds.skip(10)
""", [4]),
    ("reshuffle_flag_none_means_the_default", TF + """\
ds = tf.data.Dataset.range(100).shuffle(100, reshuffle_each_iteration=None)
val = ds.take(10)
train = ds.skip(10)
""", [3]),
    ("helper_returns_the_shuffled_dataset", TF + """\
def make_dataset(x, y):
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    return ds.shuffle(len(x)).batch(32)

ds = make_dataset(X, Y)
val = ds.take(5)
train = ds.skip(5)
""", [7]),
    ("counts_spaced_differently", TF + """\
ds = tf.data.Dataset.range(100).shuffle(100)
val = ds.take(int(0.2*len(ds)))
train = ds.skip(int(0.2 * len(ds)))
""", [3]),
    # A dataset of unknown origin in a TensorFlow file, shuffled with a buffer size.
    ("unknown_source_in_a_tensorflow_file", TF + """\
ds = load_my_dataset(path).shuffle(512)
val = ds.take(10)
train = ds.skip(10)
""", [3]),
]

CORRECT = [
    ("reshuffle_turned_off", TF + """\
ds = tf.data.Dataset.from_tensor_slices(data).shuffle(2000, reshuffle_each_iteration=False)
val_ds = ds.take(100)
train_ds = ds.skip(100)
""",),
    ("flag_passed_positionally", TF + """\
ds = tf.data.Dataset.from_tensor_slices(data).shuffle(2000, 7, False)
val_ds = ds.take(100)
train_ds = ds.skip(100)
""",),
    ("split_first_then_shuffle_the_training_part", TF + """\
ds = tf.data.Dataset.from_tensor_slices(data)
val_ds = ds.take(100)
train_ds = ds.skip(100).shuffle(1000)
""",),
    ("no_shuffle_at_all", TF + """\
ds = tf.data.Dataset.from_tensor_slices((X, y)).batch(32)
val_ds = ds.take(10)
train_ds = ds.skip(10)
""",),
    ("directory_loader_without_shuffling", TF + """\
val = tf.keras.utils.image_dataset_from_directory(d, shuffle=False)
test = val.take(5)
val = val.skip(5)
""",),
    # cache() after the shuffle: the first full pass fixes the order.
    ("cached_after_the_shuffle", TF + """\
ds = tf.data.Dataset.from_tensor_slices(data).shuffle(2000).cache()
val_ds = ds.take(100)
train_ds = ds.skip(100)
""",),
    ("different_counts_are_not_one_split", TF + """\
ds = tf.data.Dataset.range(100).shuffle(100)
for x in ds.take(1):
    print(x)
rest = ds.skip(10)
""",),
    ("take_and_skip_of_different_datasets", TF + """\
a = tf.data.Dataset.range(100).shuffle(100)
b = tf.data.Dataset.range(100)
val = a.take(10)
train = b.skip(10)
""",),
    # The name is rebound between the two calls: they split different datasets.
    ("rebound_between_take_and_skip", TF + """\
ds = tf.data.Dataset.range(100).shuffle(100)
val = ds.take(10)
ds = tf.data.Dataset.range(100)
train = ds.skip(10)
""",),
    # Hugging Face streaming datasets keep one shuffled order for take/skip.
    ("hugging_face_streaming_dataset", """\
import tensorflow as tf
from datasets import load_dataset
ds = load_dataset("c4", "en", streaming=True, split="train").shuffle(seed=42, buffer_size=10000)
val = ds.take(1000)
train = ds.skip(1000)
""",),
    ("not_tensorflow_at_all", """\
import numpy as np
ds = make_stream().shuffle(100)
head = ds.take(5)
tail = ds.skip(5)
""",),
    ("split_helper_given_one_unshuffled_dataset", TF + """\
def split_dataset(dataset, train_split=0.8):
    train_size = int(train_split * len(dataset))
    return dataset.take(train_size), dataset.skip(train_size)

a, b = split_dataset(tf.keras.utils.image_dataset_from_directory("x"))
c, d = split_dataset(tf.data.Dataset.range(100))
""",),
    ("split_helper_never_called", TF + """\
def split_dataset(dataset, n):
    return dataset.take(n), dataset.skip(n)
""",),
    ("options_given_through_a_splat", TF + """\
opts = dict(seed=1, reshuffle_each_iteration=False)
ds = tf.data.Dataset.from_tensor_slices(d).shuffle(2000, **opts)
val_ds = ds.take(100)
train_ds = ds.skip(100)
""",),
    ("loader_options_through_a_splat", TF + """\
args = {"shuffle": False, "batch_size": 32}
val = tf.keras.utils.image_dataset_from_directory("data", **args)
test = val.take(5)
val = val.skip(5)
""",),
    ("list_files_without_shuffling", TF + """\
files = tf.data.Dataset.list_files("images/*/*.jpg", shuffle=False)
files = files.shuffle(1000, reshuffle_each_iteration=False)
val_files = files.take(200)
train_files = files.skip(200)
""",),
    ("a_text_line_dataset_skipping_its_header", TF + """\
lines = tf.data.TextLineDataset(path)
header = lines.take(1)
rows = lines.skip(1).shuffle(1000)
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
    assert "`ds.take(100)` and `ds.skip(100)`" in f.message
    assert "reshuffle_each_iteration=False" in f.message
    assert [r.message for r in f.related] == ["the other part of the split", "reshuffles on every iteration"]
    assert [r.location.line + 1 for r in f.related] == [4, 2]


def test_loader_message_says_how_to_load_it():
    (f,) = findings(BUGGY[2][1], RULE)
    assert "image_dataset_from_directory" in f.message and "validation_split" in f.message
    assert f.fix is None   # the loader takes no reshuffle flag


@pytest.mark.parametrize("shuffle,expected", [
    ("shuffle(2000)", "shuffle(2000, reshuffle_each_iteration=False)"),
    ("shuffle(2000,)", "shuffle(2000, reshuffle_each_iteration=False)"),
    ("shuffle(buffer_size=n, seed=1)", "shuffle(buffer_size=n, seed=1, reshuffle_each_iteration=False)"),
    ("shuffle(2000, reshuffle_each_iteration=True)", "shuffle(2000, reshuffle_each_iteration=False)"),
    ("shuffle(2000, 42, True)", "shuffle(2000, 42, False)"),
    ("shuffle(2000, 42, None)", "shuffle(2000, 42, False)"),
])
def test_fix_turns_reshuffling_off(shuffle, expected):
    src = TF + f"ds = tf.data.Dataset.range(10).{shuffle}\nval = ds.take(2)\ntrain = ds.skip(2)\n"
    out = fixed_once(src, RULE)
    assert expected in out


def test_across_notebook_cells():
    found = notebook([TF, "ds = tf.data.Dataset.range(100).shuffle(100)\n",
                      "val = ds.take(20)\n", "train = ds.skip(20)\n"], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(2, 0)]


def test_no_fix_when_the_shuffle_is_reached_through_a_call():
    """The shuffle sits in a helper or at one of several call sites: editing it would change
    every caller (or only the first), so the reader decides."""
    src = TF + """\
def split(ds, n):
    return ds.take(n), ds.skip(n)
a = split(tf.data.Dataset.range(100).shuffle(100), 10)
b = split(tf.data.Dataset.range(50).shuffle(50), 5)
"""
    (f,) = findings(src, RULE)
    assert f.fix is None
    (g,) = findings(BUGGY_BY_NAME["helper_returns_the_shuffled_dataset"], RULE)
    assert g.fix is None


def test_fixing_the_outer_shuffle_leaves_the_inner_one_reported():
    (f,) = findings(BUGGY_BY_NAME["fixed_shuffle_over_a_reshuffling_one"], RULE)
    assert f.related[1].location.line + 1 == 2   # the reshuffling shuffle upstream
    out = fixed_once(BUGGY_BY_NAME["fixed_shuffle_over_a_reshuffling_one"], RULE)
    assert "shuffle(1000, reshuffle_each_iteration=False)" in out


def test_the_loader_message_keeps_classes_mixed():
    (f,) = findings(BUGGY_BY_NAME["keras_directory_loader_shuffles_by_default"], RULE)
    assert "same seed" in f.message and "reshuffle_each_iteration=False" in f.message


def test_each_take_meets_the_skip_with_its_count():
    """Pairs are matched by (count, name): 300 splits of one dataset, each reported once."""
    body = "".join(f"v{i} = ds.take({i})\nt{i} = ds.skip({i})\nu{i} = ds.skip({i + 1000})\n"
                   for i in range(300))
    src = TF + "ds = tf.data.Dataset.range(10).shuffle(10)\n" + body
    assert lines(src, RULE) == [3 + 3 * i for i in range(300)]


BUGGY_BY_NAME = {name: src for name, src, _lines in BUGGY}



def test_list_files_advice_names_its_own_options():
    """LipNet (sweep 20e): list_files has no validation_split; the advice is shuffle=False and a
    fixed-order shuffle before the split."""
    (f,) = findings("""import tensorflow as tf


def load(path):
    return tf.io.read_file(path), tf.constant(0)


data = tf.data.Dataset.list_files('./data/s1/*.mpg')
data = data.shuffle(500, reshuffle_each_iteration=False)
data = data.map(load)
data = data.batch(2)
train = data.take(450)
test = data.skip(450)
""", RULE)
    assert "validation_split" not in f.message and "shuffle=False" in f.message
