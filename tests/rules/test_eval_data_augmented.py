"""eval-data-augmented: random training augmentation applied to validation or test data."""
import pytest
from conftest import apply_fix, findings, lines, notebook

RULE = "eval-data-augmented"

HEADER = """\
import torch
import torchvision
import torchvision.transforms as transforms
from torchvision import datasets
from torch.utils.data import DataLoader, random_split

transform_train = transforms.Compose([
    transforms.RandomCrop(32, padding=4),
    transforms.RandomHorizontalFlip(),
    transforms.ToTensor(),
])
transform_test = transforms.Compose([transforms.ToTensor()])
"""

BUGGY = [
    ("train_false_with_the_train_transform", HEADER + """\
testset = torchvision.datasets.CIFAR10(root="./data", train=False, transform=transform_train)
""", [13]),
    ("local_dataset_class_named_testset", HEADER + """\
testset = Loader2(test_x, test_y, is_train=False, transform=transform_train)
""", [13]),
    ("named_by_its_target_only", HEADER + """\
test_oc = OOD_CIFAR10(root="./data", classes=range(9), transform=transform_train)
testloader = DataLoader(test_oc, batch_size=512)
""", [13]),
    ("split_keyword", """\
import torchvision.transforms.v2 as T
from torchvision.datasets import SVHN

aug = T.Compose([T.RandAugment(), T.ToImage(), T.ToDtype(torch.float32, scale=True)])
svhn_test = SVHN("data", split="test", transform=aug)
""", [5]),
    ("image_folder_path_says_val", """\
import os
from torchvision import datasets, transforms

train_tf = transforms.Compose([transforms.RandomResizedCrop(224), transforms.ToTensor()])
val_data = datasets.ImageFolder(os.path.join(root, "val"), train_tf)
""", [5]),
    ("dictionary_entry", """\
from torchvision import datasets, transforms

data_transforms = {
    "train": transforms.Compose([transforms.RandomResizedCrop(224), transforms.ToTensor()]),
    "val": transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor()]),
}
valid_ds = datasets.ImageFolder("data/valid", transform=data_transforms["train"])
""", [7]),
    ("nested_compose_and_random_apply", """\
from torchvision import transforms as T

color = T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4)], p=0.8)
train_tf = T.Compose([T.Compose([T.Resize(64), color]), T.ToTensor()])
eval_set = MyImages(files_eval, transform=train_tf)
""", [5]),
    ("albumentations", """\
import albumentations as A
from albumentations.pytorch import ToTensorV2

train_aug = A.Compose([A.HorizontalFlip(p=0.5), A.Normalize(), ToTensorV2()])
val_dataset = SegDataset(val_images, val_masks, transforms=train_aug)
""", [5]),
    ("random_split_parts_share_the_transform", HEADER + """\
full = datasets.ImageFolder("data/train", transform=transform_train)
train_ds, val_ds = random_split(full, [0.8, 0.2])
""", [14]),
    # review 17: a loop that predicts and scores, and shows a few images, is an evaluation
    ("evaluation_loop_that_also_shows_images", """\
import matplotlib.pyplot as plt
import numpy as np
from tensorflow.keras.preprocessing.image import ImageDataGenerator
from tensorflow.keras.models import load_model

model = load_model("model.h5")
datagen = ImageDataGenerator(rescale=1 / 255, rotation_range=30, horizontal_flip=True, zoom_range=0.2)
test_gen = datagen.flow_from_directory("data/test", target_size=(224, 224), shuffle=False)

correct = total = 0
for i, (x, y) in enumerate(test_gen):
    preds = model.predict(x)
    correct += np.sum(preds.argmax(1) == y.argmax(1))
    total += len(y)
    if i < 3:
        plt.imshow(x[0])
        plt.show()
    if total >= test_gen.samples:
        break
print("test accuracy", correct / total)
""", [8]),
]

CORRECT = [
    ("test_transform_for_test_data", HEADER + """\
trainset = torchvision.datasets.CIFAR10(root="./data", train=True, transform=transform_train)
testset = torchvision.datasets.CIFAR10(root="./data", train=False, transform=transform_test)
"""),
    ("train_transform_without_random_ops", """\
import torchvision.transforms as transforms
import torchvision

transform_train = transforms.Compose([transforms.ToTensor(), transforms.Normalize(m, s)])
testset = torchvision.datasets.CIFAR10(root="./data", train=False, transform=transform_train)
"""),
    ("test_time_augmentation_on_purpose", HEADER + """\
tta_set = torchvision.datasets.CIFAR10(root="./data", train=False, transform=transform_train)
test_aug = torchvision.datasets.CIFAR10(root="./data", train=False, transform=transform_train)
"""),
    ("train_named_training_data", HEADER + """\
train_set = torchvision.datasets.CIFAR10(root="./data", train=True, transform=transform_train)
trainval = MySet(root, transform=transform_train)
"""),
    ("transform_of_unknown_origin", """\
import torchvision

testset = torchvision.datasets.CIFAR10(root="./data", train=False, transform=get_transform(cfg))
"""),
    ("transform_none", """\
import torchvision

testset = torchvision.datasets.MNIST(root="./data", train=False, transform=None)
"""),
    ("split_per_loop_variable", """\
from torchvision import datasets, transforms

data_transforms = {
    "train": transforms.Compose([transforms.RandomResizedCrop(224), transforms.ToTensor()]),
    "val": transforms.Compose([transforms.CenterCrop(224), transforms.ToTensor()]),
}
image_datasets = {x: datasets.ImageFolder(os.path.join(data_dir, x), data_transforms[x])
                  for x in ["train", "val"]}
"""),
    ("random_split_before_the_transform", HEADER + """\
full = datasets.ImageFolder("data/train")
train_ds, val_ds = random_split(full, [0.8, 0.2])
"""),
    ("random_split_with_a_deterministic_transform", HEADER + """\
full = datasets.ImageFolder("data/train", transform=transform_test)
train_ds, val_ds = random_split(full, [0.8, 0.2])
"""),
    ("random_split_into_two_training_parts", HEADER + """\
full = datasets.ImageFolder("data/train", transform=transform_train)
train_a, train_b = random_split(full, [0.5, 0.5])
"""),
    ("device_is_not_dev", HEADER + """\
device_set = MySet(root, transform=transform_train)
"""),
    ("a_keras_generator_is_not_this_rule", """\
from tensorflow.keras.preprocessing.image import ImageDataGenerator

test_datagen = ImageDataGenerator(rescale=1 / 255)
"""),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_message_names_the_random_op_and_links_it():
    (f,) = findings(BUGGY[0][1], RULE)
    assert "`transform_train` augments at random (`transforms.RandomCrop`)" in f.message
    assert "`testset`" in f.message and f.concept == "data-augmentation"
    assert [r.message for r in f.related] == ["random augmentation"]
    assert f.related[0].location.line + 1 == 8


def test_fix_uses_the_test_pipeline():
    src = BUGGY[0][1]
    (f,) = findings(src, RULE)
    fixed = apply_fix(src, f)
    assert fixed.splitlines()[-1].endswith("train=False, transform=transform_test)")
    assert lines(fixed, RULE) == []


def test_fix_uses_the_val_entry_of_the_dictionary():
    src = BUGGY[5][1]
    (f,) = findings(src, RULE)
    assert apply_fix(src, f).splitlines()[-1].endswith('transform=data_transforms["val"])')


def test_no_fix_without_a_single_evaluation_pipeline():
    for name, src, _ in BUGGY:
        if name in ("split_keyword", "random_split_parts_share_the_transform"):
            (f,) = findings(src, RULE)
            assert f.fix is None, name


def test_no_fix_when_two_evaluation_pipelines_compete():
    src = HEADER + """\
transform_val = transforms.Compose([transforms.Resize(40), transforms.ToTensor()])
testset = torchvision.datasets.CIFAR10(root="./data", train=False, transform=transform_train)
"""
    (f,) = findings(src, RULE)
    assert f.fix is None


def test_random_split_is_silent_when_the_parent_transform_is_replaced():
    src = HEADER + """\
full = datasets.ImageFolder("data/train", transform=transform_train)
train_ds, val_ds = random_split(full, [0.8, 0.2])
val_ds.dataset.transform = transform_test
"""
    assert lines(src, RULE) == []


def test_notebook_cells():
    cells = [HEADER, 'testset = torchvision.datasets.CIFAR10("data", train=False, transform=transform_train)\n']
    (f,) = notebook(cells, RULE)
    assert f.location.cell == 1 and f.location.cell_line == 0


# -- Keras ImageDataGenerator -----------------------------------------------------------------
KERAS = """\
from tensorflow.keras.preprocessing.image import ImageDataGenerator

datagen = ImageDataGenerator(rescale=1. / 255, rotation_range=20, horizontal_flip=True,
                             validation_split=0.2)
"""

KERAS_BUGGY = [
    ("validation_subset_of_an_augmenting_generator", KERAS + """\
train_gen = datagen.flow_from_directory("data", target_size=(224, 224), subset="training", seed=1)
val_gen = datagen.flow_from_directory("data", target_size=(224, 224), subset="validation", seed=1)
""", [6]),
    ("test_generator_with_zoom_range", """\
from keras.preprocessing.image import ImageDataGenerator
test_datagen = ImageDataGenerator(rescale=1 / 255, zoom_range=[0.9, 1.1])
test_generator = test_datagen.flow_from_directory(test_dir, class_mode="categorical")
model.evaluate(test_generator)
""", [3]),
    ("validation_data_flow_over_x_val", KERAS + """\
model.fit(datagen.flow(X_train, y_train, batch_size=32),
          validation_data=datagen.flow(X_val, y_val, batch_size=32), epochs=10)
""", [6]),
    ("evaluate_on_a_flow", KERAS + """\
score = model.evaluate(datagen.flow(data, labels))
""", [5]),
    ("validation_data_keyword_with_neutral_names", KERAS + """\
history = model.fit(datagen.flow(a, b), validation_data=datagen.flow(c, d))
""", [5]),
    ("tf_keras_spelling_and_a_chained_generator", """\
import tensorflow as tf
valid_gen = tf.keras.preprocessing.image.ImageDataGenerator(
    width_shift_range=0.1, height_shift_range=0.1).flow_from_dataframe(df_valid, x_col="path")
model.fit(train_gen, validation_data=valid_gen, epochs=5)
""", [2]),
]

KERAS_BUGGY_LOOPS = [
    ("validation_flow_rebuilt_every_epoch", """\
from keras.preprocessing.image import ImageDataGenerator
gen = ImageDataGenerator(horizontal_flip=True)
for epoch in range(10):
    val_gen = gen.flow(x_val, y_val)
    model.fit(gen.flow(x_train, y_train), validation_data=val_gen, epochs=1)
""", [4]),
]


@pytest.mark.parametrize("name,src,expected", KERAS_BUGGY_LOOPS, ids=[b[0] for b in KERAS_BUGGY_LOOPS])
def test_a_loop_that_is_not_test_time_augmentation_is_still_reported(name, src, expected):
    assert lines(src, RULE) == expected


KERAS_CORRECT = [
    # lazyprogrammer/machine_learning_examples: a generator named for test data, only used to read
    # the class names and to show one image
    ("eval_named_flow_only_peeked_at", KERAS + """\
test_gen = datagen.flow_from_directory(valid_path, target_size=(224, 224))
print(test_gen.class_indices)
for x, y in test_gen:
    plt.imshow(x[0])
    plt.show()
    break
"""),
    ("training_subset", KERAS + """\
train_gen = datagen.flow_from_directory("data", subset="training")
"""),
    ("training_flow", KERAS + """\
model.fit(datagen.flow(X_train, y_train), validation_data=(X_val, y_val))
"""),
    ("pyimagesearch_style_aug_on_train_only", """\
from tensorflow.keras.preprocessing.image import ImageDataGenerator
aug = ImageDataGenerator(rotation_range=20, zoom_range=0.15, horizontal_flip=True)
H = model.fit(x=aug.flow(trainX, trainY, batch_size=32), validation_data=(testX, testY), epochs=5)
"""),
    ("validation_from_a_plain_generator", KERAS + """\
val_datagen = ImageDataGenerator(rescale=1. / 255, validation_split=0.2)
val_gen = val_datagen.flow_from_directory("data", subset="validation")
test_gen = ImageDataGenerator(rescale=1. / 255).flow_from_directory("data/test")
"""),
    ("random_arguments_turned_off", """\
from tensorflow.keras.preprocessing.image import ImageDataGenerator
gen = ImageDataGenerator(rescale=1 / 255, rotation_range=0, horizontal_flip=False, zoom_range=0.0)
val_gen = gen.flow_from_directory("data/val")
"""),
    ("test_time_augmentation", KERAS + """\
tta_gen = datagen.flow(x_test, shuffle=False)
"""),
    ("arguments_from_a_dict", """\
from tensorflow.keras.preprocessing.image import ImageDataGenerator
gen = ImageDataGenerator(**params)
val_gen = gen.flow_from_directory("data/val")
"""),
    ("generator_rebound_to_a_plain_one", KERAS + """\
datagen = ImageDataGenerator(rescale=1. / 255)
val_gen = datagen.flow_from_directory("data/val")
"""),
    # Sweep 12 (PraveenAdepu's Kaggle code): TTA by its shape, not its names.
    ("tta_loop_named_for_augmentation", """\
from keras.preprocessing.image import ImageDataGenerator
def predict_tta(model, n, test_aug=5):
    test_datagen = ImageDataGenerator(rotation_range=10.0, horizontal_flip=True)
    for aug in range(test_aug):
        test_generator = test_datagen.flow_from_directory("../test/", shuffle=False, class_mode=None)
        if aug == 0:
            predictions = model.predict_generator(test_generator, n)
        else:
            predictions += model.predict_generator(test_generator, n)
    return predictions / test_aug
"""),
    ("tta_loop_summing_predictions", """\
from keras.preprocessing.image import ImageDataGenerator
gen = ImageDataGenerator(horizontal_flip=True)
total = 0
for i in range(8):
    test_gen = gen.flow(x_test, shuffle=False)
    total += model.predict(test_gen)
preds = total / 8
"""),
    ("a_local_class_of_the_same_name", """\
class ImageDataGenerator:
    def __init__(self, **kw): ...
    def flow(self, x): return x
gen = ImageDataGenerator(horizontal_flip=True)
test_gen = gen.flow(x_test)
"""),
]


@pytest.mark.parametrize("name,src,expected", KERAS_BUGGY, ids=[b[0] for b in KERAS_BUGGY])
def test_flags_keras_generators(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", KERAS_CORRECT, ids=[c[0] for c in KERAS_CORRECT])
def test_silent_keras_generators(name, src):
    assert lines(src, RULE) == []


def test_keras_message_names_the_random_arguments_and_the_split_fix():
    (f,) = findings(KERAS_BUGGY[0][1], RULE)
    assert 'The `subset="validation"` flow comes from `datagen`' in f.message
    assert "(rotation_range=20, horizontal_flip=True)" in f.message and "same `seed`" in f.message
    assert [r.message for r in f.related] == ["random augmentation"] * 2
    assert f.fix is None  # no generator with the same validation_split to switch to


def test_keras_fix_switches_to_the_plain_generator_with_the_same_split():
    src = KERAS + """\
val_datagen = ImageDataGenerator(rescale=1. / 255, validation_split=0.2)
train_gen = datagen.flow_from_directory("data", subset="training")
val_gen = datagen.flow_from_directory("data", subset="validation")
"""
    (f,) = findings(src, RULE)
    fixed = apply_fix(src, f)
    assert fixed.splitlines()[-1] == 'val_gen = val_datagen.flow_from_directory("data", subset="validation")'
    assert fixed.splitlines()[-2].startswith("train_gen = datagen.")  # training keeps its augmentation
    assert lines(fixed, RULE) == []


def test_keras_no_fix_when_the_plain_generator_has_another_split():
    src = KERAS + """\
val_datagen = ImageDataGenerator(rescale=1. / 255)
val_gen = datagen.flow_from_directory("data", subset="validation")
"""
    (f,) = findings(src, RULE)
    assert f.fix is None


def test_keras_notebook_cells():
    cells = [KERAS, 'val_gen = datagen.flow_from_directory("data", subset="validation")\n']
    (f,) = notebook(cells, RULE)
    assert f.location.cell == 1 and f.location.cell_line == 0


# Sweep 18 (Udacity's CIFAR-10 notebook): validation indices sampled from the augmented training
# dataset with a SubsetRandomSampler.
_SAMPLED = """\
import numpy as np
import torch
from torch.utils.data.sampler import SubsetRandomSampler
from torchvision import datasets, transforms

aug = transforms.Compose([transforms.RandomHorizontalFlip(), transforms.ToTensor()])
plain = transforms.Compose([transforms.ToTensor()])
train_data = datasets.CIFAR10("data", train=True, transform={transform})
eval_data = datasets.CIFAR10("data", train=True, transform=plain)
idx = list(range(len(train_data)))
train_idx, valid_idx = idx[10000:], idx[:10000]
{loaders}
"""


@pytest.mark.parametrize("transform,loaders,expected", [
    ("aug", "valid_loader = torch.utils.data.DataLoader(train_data, sampler=SubsetRandomSampler(valid_idx))", [12]),
    ("aug", "valid_sampler = SubsetRandomSampler(valid_idx)\n"
            "loader_b = torch.utils.data.DataLoader(train_data, batch_size=20, sampler=valid_sampler)", [13]),
    ("aug", "train_loader = torch.utils.data.DataLoader(train_data, sampler=SubsetRandomSampler(train_idx))", []),
    ("plain", "valid_loader = torch.utils.data.DataLoader(train_data, sampler=SubsetRandomSampler(valid_idx))", []),
    ("aug", "valid_loader = torch.utils.data.DataLoader(eval_data, sampler=SubsetRandomSampler(valid_idx))", []),
])
def test_validation_indices_sampled_from_an_augmented_dataset(transform, loaders, expected):
    assert lines(_SAMPLED.format(transform=transform, loaders=loaders), RULE) == expected


def test_keras_no_fix_with_a_plain_generator_made_only_further_down():
    """Sweep 19 (aerial-cactus kernel): the plain generator is made later, for the test set;
    flowing from it at the validation flow would be a NameError."""
    src = KERAS + """\
val_gen = datagen.flow_from_directory("data", subset="validation")
model.fit(train_gen, validation_data=val_gen)
val_datagen = ImageDataGenerator(rescale=1. / 255, validation_split=0.2)
"""
    (f,) = findings(src, RULE)
    assert f.fix is None


def test_no_fix_with_an_evaluation_pipeline_made_only_further_down():
    src = BUGGY[0][1]
    (f,) = findings(src, RULE)
    assert f.fix is not None
    lines_ = src.splitlines(keepends=True)
    defining = [i for i, l in enumerate(lines_) if l.startswith("transform_test")]
    assert defining, "fixture changed"
    start = defining[0]
    end = start + 1
    while end < len(lines_) and lines_[end].startswith((" ", ")")):
        end += 1
    moved = "".join(lines_[:start] + lines_[end:] + lines_[start:end])
    (f,) = findings(moved, RULE)
    assert f.fix is None


def test_no_fix_with_an_evaluation_pipeline_bound_only_under_a_condition():
    """Review of sweep 19: `if args.save_samples: transform_test = ...` may never run."""
    src = """\
import torchvision
from torchvision import transforms

transform_train = transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.ToTensor()])
if args.save_samples:
    transform_test = transforms.Compose([transforms.ToTensor()])
testset = torchvision.datasets.CIFAR10(root="./data", train=False, transform=transform_train)
"""
    (f,) = findings(src, RULE)
    assert f.fix is None
    plain = src.replace("if args.save_samples:\n    transform_test", "transform_test")
    (f,) = findings(plain, RULE)
    assert f.fix is not None


_TTA_LOADERS = """\
import numpy as np
import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

test_transform = transforms.Compose([transforms.Resize((224, 224)),
                                     transforms.RandomHorizontalFlip(), transforms.ToTensor()])
test_dataset = datasets.ImageFolder("data/test", transform=test_transform)

test_preds = np.zeros((len(test_dataset), 1))
for {var} in range(4):
    test_loader = DataLoader(test_dataset, batch_size=32, shuffle=False)
    with torch.no_grad():
        for i, (x, _) in enumerate(test_loader):
            test_preds[i * 32:(i + 1) * 32] += model(x).numpy()
{after}"""


def test_a_test_set_built_once_and_read_only_in_tta_passes():
    """riron1206's cassava inference (sweep 21a): the augmented test set is built once, then
    loaded again in each pass of a `for tta in range(n)` loop that adds up the predictions."""
    assert lines(_TTA_LOADERS.format(var="tta", after=""), RULE) == []


@pytest.mark.parametrize("var,after", [
    ("tta", "print(accuracy(model, DataLoader(test_dataset)))\\n"),   # also scored once outside
    ("epoch", ""),                                                    # not a TTA loop
])
def test_a_test_set_also_read_outside_tta_passes(var, after):
    assert lines(_TTA_LOADERS.format(var=var, after=after.replace("\\\\n", "\\n")), RULE) == [8]


def test_a_kfold_ensemble_over_a_test_set_built_with_the_training_transform():
    """Review: a fold loop that adds up each fold's test predictions is no TTA loop; the test set
    was given the training transform by copy-paste."""
    src = _TTA_LOADERS.format(var="fold", after="").replace("for fold in range(4):", "for fold, (tr, va) in enumerate(skf.split(X, y)):")
    src = src.replace("test_preds[i * 32:(i + 1) * 32] += model(x).numpy()", "test_preds[i * 32:(i + 1) * 32] += predict(model, x) / 5")
    assert lines(src, RULE) == [8]
