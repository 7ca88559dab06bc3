"""dataset-op-discarded: a tf.data transformation as a statement of its own."""
import pytest
from conftest import findings, fixed_once, lines, notebook

RULE = "dataset-op-discarded"

TF = "import tensorflow as tf\n"

BUGGY = [
    ("map_batch_shuffle_thrown_away", TF + """\
ds = tf.data.Dataset.from_tensor_slices((images, labels))
ds.map(lambda x, y: (x / 255.0, y))
ds.shuffle(10000)
ds.batch(32)
model.fit(ds, epochs=5)
""", [3, 4, 5]),
    # Found in a segmentation project: the partition helper's shuffle does nothing.
    ("helper_parameter_passed_a_dataset", TF + """\
def partition(data, train_size, seed):
    data.shuffle(2596, seed)
    return data.take(train_size), data.skip(train_size)

data = tf.data.Dataset.from_tensor_slices((images, masks))
train, test = partition(data, 2000, 42)
""", [3]),
    ("through_a_chain_of_names", TF + """\
raw = tf.data.TFRecordDataset(files)
parsed = raw.map(parse_example)
parsed.filter(lambda ex: ex["label"] >= 0)
""", [4]),
    ("keras_loader", """\
from tensorflow import keras
train = keras.utils.image_dataset_from_directory("train", batch_size=None)
train.batch(64)
""", [3]),
    ("tensorflow_datasets", """\
import tensorflow_datasets as tfds
ds = tfds.load("mnist", split="train", as_supervised=True)
ds.repeat()
""", [3]),
    ("chained_statement_thrown_away", TF + """\
ds = tf.data.Dataset.range(10)
ds.map(f).batch(2)
""", [3]),
    # Hugging Face datasets return new datasets too (found twice in GRPO training scripts).
    ("hugging_face_shuffle_thrown_away", """\
from datasets import Dataset
train_dataset = Dataset.from_dict({"prompt": prompts})
train_dataset.shuffle(seed=0)
""", [3]),
    ("hugging_face_map_on_a_split", """\
from datasets import load_dataset
raw = load_dataset("imdb")
raw["train"].map(tokenize, batched=True)
raw.remove_columns(["text"])
""", [3, 4]),
    ("hugging_face_to_tf_dataset", """\
from datasets import load_dataset
tf_ds = load_dataset("imdb", split="train").to_tf_dataset(columns=["x"], label_cols=["y"])
tf_ds.prefetch(2)
""", [3]),
    # Review of sweep 20: more spellings of the same dataset.
    ("tfds_load_with_info_unpacked", """\
import tensorflow_datasets as tfds
(train, test), info = tfds.load("mnist", split=["train", "test"], with_info=True, as_supervised=True)
ds, info2 = tfds.load("cifar10", split="train", with_info=True)
ds.shuffle(1000)
""", [4]),
    ("tfds_builder_held_in_a_name", """\
import tensorflow_datasets as tfds
builder = tfds.builder("mnist")
ds = builder.as_dataset(split="train")
ds.batch(32)
""", [4]),
    ("a_long_pipeline", TF + """\
ds = tf.data.Dataset.from_tensor_slices((x, y))
ds = ds.map(a)
ds = ds.map(b)
ds = ds.filter(c)
ds = ds.map(d)
ds = ds.cache()
ds = ds.shuffle(100)
ds = ds.batch(32)
ds = ds.map(e)
ds = ds.repeat()
ds.prefetch(2)
""", [12]),
    ("hugging_face_batch_and_load_from_disk", """\
from datasets import Dataset
ds = Dataset.load_from_disk("data/train")
ds.batch(8)
""", [3]),
    ("tf_keras_loader", """\
import tf_keras
ds = tf_keras.utils.image_dataset_from_directory("train")
ds.map(f)
""", [3]),
    ("notebook_style_last_line_is_still_a_lost_map", """\
from datasets import load_dataset
raw = load_dataset("imdb")
raw.map(tokenize, batched=True)
""", [3]),
    ("statement_ended_by_a_semicolon", TF + """\
ds = tf.data.Dataset.range(10)
ds.shuffle(10);
""", [3]),
]

CORRECT = [
    ("assigned", TF + """\
ds = tf.data.Dataset.from_tensor_slices((images, labels))
ds = ds.map(lambda x, y: (x / 255.0, y)).shuffle(10000).batch(32)
model.fit(ds.prefetch(tf.data.AUTOTUNE), epochs=5)
""",),
    ("python_and_numpy_shuffle_in_place", TF + """\
import random
import numpy as np
random.shuffle(items)
np.random.shuffle(X)
rng = np.random.default_rng(0)
rng.shuffle(X)
""",),
    ("unknown_receiver", TF + """\
buffer = ReplayBuffer(10000)
buffer.shuffle()
loader.map(transform)
""",),
    ("hugging_face_in_place_methods", """\
from datasets import load_dataset
ds = load_dataset("imdb", split="train")
ds.set_format("torch")
ds.reset_format()
""",),
    ("a_local_datasets_module", """\
from datasets import CustomDataset
ds = CustomDataset(root)
ds.shuffle()
""",),
    ("torchvision_dataset", """\
import torchvision
ds = torchvision.datasets.MNIST("data")
ds.map(f)
""",),
    ("a_method_parameter_is_unknown", TF + """\
class Pipeline:
    def build(self, ds):
        ds.batch(32)
""",),
    ("helper_called_with_something_else_too", TF + """\
def prepare(data):
    data.shuffle(100)

prepare(tf.data.Dataset.range(10))
prepare(my_list)
""",),
    # Review of sweep 20 -----------------------------------------------------------------
    ("a_row_or_a_column_of_a_dataset_is_not_a_dataset", """\
from datasets import load_dataset
raw = load_dataset("imdb")
vocab = raw["train"][0]["tokens"]
vocab.sort()
labels = raw["train"]["label"]
labels.sort()
""",),
    # LoRA's run_glue (sweep 20): Dataset.unique returns a list, sorted in place.
    ("hugging_face_unique_is_a_list", """\
from datasets import load_dataset
raw = load_dataset("glue", "mrpc")
label_list = raw["train"].unique("label")
label_list.sort()
""",),
    ("a_column_of_one_hugging_face_dataset", """\
from datasets import load_dataset
ds = load_dataset("imdb", split="train")
labels = ds["label"]
labels.sort()
""",),
    ("nested_subscripts_of_a_tf_dataset", TF + """\
ds = tf.data.Dataset.range(10)
ds[0][1][2].shuffle(1)
""",),
    ("hugging_face_map_for_its_side_effects", """\
from datasets import load_dataset
ds = load_dataset("imdb", split="train")
counts = []
ds.map(lambda ex: counts.append(len(ex["text"])))

def export(example, idx):
    example["image"].save(f"out/{idx}.png")

ds.map(export, with_indices=True)
""",),
    ("a_package_relative_datasets_module", """\
from .datasets import load_dataset
ds = load_dataset("data.txt")
ds.shuffle(seed=0)
""",),
    ("used_as_an_argument_or_returned", TF + """\
ds = tf.data.Dataset.range(10)
model.fit(ds.batch(2))
print(ds.take(1))
def f():
    return ds.batch(3)
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_message_severity_and_related():
    found = findings(BUGGY[0][1], RULE)
    assert [f.severity.label for f in found] == ["error"] * 3
    f = found[0]
    assert "immutable" in f.message and "`ds = ds.map(" in f.message and "never applied" in f.message
    assert [(r.message, r.location.line + 1) for r in f.related] == [("the dataset, made here", 2)]


def test_prefetch_and_cache_are_warnings():
    src = TF + "ds = tf.data.Dataset.range(10)\nds.prefetch(2)\nds.cache()\n"
    assert [f.severity.label for f in findings(src, RULE)] == ["warning", "warning"]


def test_fix_assigns_the_result():
    src = TF + "ds = tf.data.Dataset.range(10)\nds.shuffle(10)\nmodel.fit(ds)\n"
    assert "ds = ds.shuffle(10)\n" in fixed_once(src, RULE)


def test_a_shuffle_before_a_take_skip_split_gets_no_fix():
    (f,) = findings(BUGGY[1][1], RULE)
    assert f.fix is None and "reshuffle_each_iteration=False" in f.message


def test_no_fix_in_a_loop_or_for_a_chain():
    src = TF + """\
ds = tf.data.Dataset.range(10)
for epoch in range(3):
    ds.shuffle(10)
ds.map(f).batch(2)
"""
    assert [f.fix for f in findings(src, RULE)] == [None, None]


def test_a_notebook_shows_the_last_line_of_a_cell():
    cells = [TF, "ds = tf.data.Dataset.range(10)\nds.take(3)\n", "ds.batch(2)\nmodel.fit(ds)\n",
             "ds.shuffle(4);\n"]
    found = notebook(cells, RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(2, 0), (3, 0)]


@pytest.mark.parametrize("src,why", [
    (TF + "ds = tf.data.Dataset.range(10)\ndef g():\n    ds.shuffle(10)\n", "a global read from a function"),
    (TF + "def add_augmentation(ds):\n    ds.map(random_flip)\nadd_augmentation(tf.data.Dataset.range(3))\n",
     "a parameter"),
    ("from datasets import load_dataset\nhf = load_dataset('x', split='train')\nhf.train_test_split(test_size=0.2)\n",
     "a different kind of result"),
    (TF + "ds = tf.data.Dataset.range(10)\nds.take(5)\nmodel.fit(ds)\n", "a part of the data"),
    (TF + "def split(d, n):\n    return d.take(n), d.skip(n)\nds = tf.data.Dataset.range(9)\nds.shuffle(9)\n"
          "a, b = split(ds, 3)\n", "a take/skip split elsewhere in the file"),
])
def test_no_fix_where_assigning_back_is_wrong(src, why):
    (f,) = findings(src, RULE)
    assert f.fix is None, why


def test_a_parameter_is_told_to_return_the_dataset():
    src = TF + "def add_augmentation(ds):\n    ds.map(random_flip)\nadd_augmentation(tf.data.Dataset.range(3))\n"
    (f,) = findings(src, RULE)
    assert "return ds" in f.message


def test_a_peek_with_take_is_not_a_split():
    src = TF + "train_ds = tf.data.Dataset.range(10)\ntrain_ds.shuffle(10)\nfor x in train_ds.take(1):\n    print(x)\n"
    (f,) = findings(src, RULE)
    assert "split" not in f.message


def test_a_chained_receiver_gets_no_invalid_assignment_advice():
    src = TF + "ds = tf.data.Dataset.range(10)\nds.map(f).batch(2)\n"
    (f,) = findings(src, RULE)
    assert "ds.map(f) =" not in f.message and "Keep the result in a name" in f.message


def test_no_fix_in_a_cell_that_does_not_build_the_dataset():
    found = notebook([TF + "ds = tf.data.Dataset.range(10)\n", "ds.batch(2)\nprint(1)\n"], RULE)
    assert [f.fix for f in found] == [None]



def test_a_hugging_face_map_on_a_cells_last_line_is_a_look_at_its_columns():
    """A fine-tuning book (sweep 20): `ds.map(format_fn, batched=True)` ending a cell shows the
    new columns; a tf.data shuffle ending a cell (a course lab's `dataset.shuffle(100)`) shows
    only a spec and is still reported."""
    hf = ["from datasets import Dataset\n", "ds = Dataset.from_dict({'m': rows})\nds.map(fmt, batched=True)\n"]
    assert notebook(hf, RULE) == []
    tf = ["import tensorflow_datasets as tfds\n", "dataset = tfds.load(name='mnist', split='train')\ndataset.shuffle(100)\n"]
    assert [(f.location.cell, f.location.cell_line) for f in notebook(tf, RULE)] == [(1, 1)]



def test_a_lost_map_on_a_last_line_is_reported_when_the_dataset_is_handed_on():
    """Second review of sweep 20: the tokenized dataset was meant for the Trainer (and its
    set_format names the tokenizer's columns): the displayed last line was no look."""
    cells = ["from datasets import load_dataset\nds = load_dataset('imdb')\n",
             "def tokenize(b):\n    return tok(b['text'], truncation=True)\nds.map(tokenize, batched=True)\n",
             "ds.set_format('torch', columns=['input_ids', 'attention_mask', 'label'])\n"
             "trainer = Trainer(model=model, train_dataset=ds['train'])\n"]
    assert [(f.location.cell, f.location.cell_line) for f in notebook(cells, RULE)] == [(1, 2)]
    looked = cells[:2] + ["formatted = ds.map(other_fn, batched=True)\nprint(ds['train'][0])\n"]
    assert notebook(looked, RULE) == []



def test_called_to_see_it_raise():
    """sentence-transformers' tests (sweep 20e): a map inside `pytest.raises` is called to fail."""
    assert lines("""import pytest
from datasets import Dataset

from mylib import resolve_ids


def test_formatted_dataset_raises():
    train = Dataset.from_dict({"query_id": ["q1"], "positive_id": ["d1"]})
    transform = resolve_ids({"query_id": ["q1"]})
    with pytest.raises(TypeError, match="with_format"):
        train.with_format("numpy").map(transform, batched=True)
""", RULE) == []


def test_a_split_of_a_mapped_dataset_dict():
    """`encoded = dataset.map(f); train = encoded["train"]; train.shuffle(seed=42)`: a DatasetDict's
    map gives a DatasetDict, and its "train" is a dataset."""
    assert len(lines("""from datasets import load_dataset
dataset = load_dataset("trec")
encoded = dataset.map(lambda e: {"n": 1})
train = encoded["train"]
train.shuffle(seed=42)
""", RULE)) == 1


def test_a_dataset_made_in_the_loop_gets_the_fix():
    """parler-tts (sweep 20e): the dataset is loaded afresh in every pass, so assigning the
    result back adds no step per pass; the fix is safe and the advice is no loop advice."""
    src = """from datasets import load_dataset, concatenate_datasets


def load_multiple(names, prompt_column_name):
    all_datasets = []
    for name in names:
        dataset = load_dataset(name, split="train")   # bound afresh on every iteration
        if prompt_column_name in dataset.column_names:
            dataset.remove_columns(prompt_column_name)
        all_datasets.append(dataset)
    return concatenate_datasets(all_datasets)
"""
    (f,) = findings(src, RULE)
    assert f.fix is not None and "rather than in the loop" not in f.message
    assert "dataset = dataset.remove_columns(prompt_column_name)" in fixed_once(src, RULE)



def test_a_key_of_a_dataset_loaded_from_disk_may_be_a_split():
    assert len(lines("""from datasets import load_from_disk

ds = load_from_disk("data/tokenized")
ds["train"].map(add_labels, batched=True)
trainer = Trainer(model=model, train_dataset=ds["train"])
""", RULE)) == 1
