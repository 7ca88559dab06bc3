"""leakage-window-split: overlapping windows of a series split at random."""
import pytest
from conftest import findings, fixed_once, lines, notebook

RULE = "leakage-window-split"

NP = "import numpy as np\nfrom sklearn.model_selection import train_test_split\n"
TORCH = "import torch\nfrom torch.utils.data import Dataset, TensorDataset, random_split\n"

BUGGY = [
    # The stock-price LSTM tutorial: windows of one series, then the default shuffled split.
    ("loop_then_default_split", NP + """\
seq_len = 60
X, y = [], []
for i in range(len(prices) - seq_len):
    X.append(prices[i:i + seq_len])
    y.append(prices[i + seq_len])
X, y = np.array(X), np.array(y)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
""", [9]),
    # A helper of the file that returns the windows (dwg920302/study_tensorflow).
    ("helper_function", NP + """\
def split_x(dataset, size):
    arr = []
    for i in range(len(dataset) - size + 1):
        subset = dataset[i : (i + size)]
        arr.append(subset)
    return np.array(arr)

dataset = split_x(series, 6)
x, y = dataset[:, :-1], dataset[:, -1]
x_train, x_test, y_train, y_test = train_test_split(x, y, train_size=0.85, shuffle=True)
""", [12]),
    # Machine Learning Mastery's split_sequences: the end of the window named in the loop,
    # called from another helper (a Kaggle notebook, sweep 22).
    ("window_end_named_in_the_loop", NP + """\
def split_sequences(sequences, n_steps):
    X, y = list(), list()
    for i in range(len(sequences)):
        end_ix = i + n_steps
        if end_ix > len(sequences):
            break
        seq_x, seq_y = sequences[i:end_ix, :-1], sequences[end_ix - 1, -1]
        X.append(seq_x)
        y.append(seq_y)
    return np.array(X), np.array(y)

def prep(frame):
    x, y = split_sequences(frame.values, 25)
    rms = np.sqrt((x ** 2).mean(axis=1))
    return rms, x, y

X_rms, X_win, y = prep(signals)
X_train, X_test, y_train, y_test = train_test_split(X_win, y, test_size=0.2, shuffle=True)
""", [20]),
    ("comprehension", NP + """\
window = 48
X = np.array([load[t:t + window] for t in range(len(load) - window)])
y = load[window:]
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25)
""", [6]),
    ("sliding_window_view_and_shuffled_kfold", """\
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, cross_val_score
windows = sliding_window_view(series[:-1], 24)
target = series[24:]
cv = KFold(n_splits=5, shuffle=True, random_state=0)
scores = cross_val_score(Ridge(), windows, target, cv=cv)
""", [8]),
    ("dataset_class_and_random_split", TORCH + """\
class WindowDataset(Dataset):
    def __init__(self, series, seq_len):
        self.series = torch.as_tensor(series)
        self.seq_len = seq_len

    def __len__(self):
        return len(self.series) - self.seq_len

    def __getitem__(self, idx):
        return self.series[idx:idx + self.seq_len], self.series[idx + self.seq_len]

full = WindowDataset(series, 30)
n_val = len(full) // 5
train_ds, val_ds = random_split(full, [len(full) - n_val, n_val])
""", [16]),
    # The Bitcoin LSTM of a Packt book: a while loop that moves by one step.
    ("while_loop_and_tensor_dataset", TORCH + """\
def get_data(data, window_size):
    X, y = [], []
    i = 0
    while (i + window_size) <= len(data) - 1:
        X.append(data[i:i + window_size])
        y.append(data[i + window_size])
        i += 1
    return X, y

X, y = get_data(prices, 7)
ds = TensorDataset(torch.tensor(X), torch.tensor(y))
train_ds, test_ds = random_split(ds, [0.8, 0.2])
""", [14]),
    ("shuffled_then_cut", """\
import numpy as np
from sklearn.utils import shuffle
X, y = [], []
for i in range(50, len(data)):
    X.append(data[i - 50:i, 0])
    y.append(data[i, 0])
X, y = shuffle(np.array(X), np.array(y), random_state=0)
n_train = int(0.8 * len(X))
X_train, X_test = X[:n_train], X[n_train:]
""", [9]),
    ("permuted_indices", """\
import numpy as np
X = np.zeros((len(sig) - 100, 100))
for i in range(len(sig) - 100):
    X[i] = sig[i:i + 100]
idx = np.random.permutation(len(X))
cut = int(0.9 * len(idx))
train_idx = idx[:cut]
test_idx = idx[cut:]
""", [8]),
    # The PyTorch forum recipe for a validation sampler, over a window Dataset.
    ("indices_shuffled_in_place", NP + TORCH + """\
from torch.utils.data import DataLoader, SubsetRandomSampler

class Windows(Dataset):
    def __init__(self, x, n):
        self.x, self.n = x, n

    def __len__(self):
        return len(self.x) - self.n

    def __getitem__(self, i):
        return self.x[i:i + self.n], self.x[i + self.n]

dataset = Windows(series, 20)
indices = list(range(len(dataset)))
np.random.shuffle(indices)
split = int(np.floor(0.2 * len(indices)))
train_idx, val_idx = indices[split:], indices[:split]
train_loader = DataLoader(dataset, sampler=SubsetRandomSampler(train_idx))
""", [21]),
    ("stride_below_the_window", NP + """\
segments = []
for start in range(0, len(acc) - 128, 64):
    segments.append(acc[start:start + 128])
train_x, test_x = train_test_split(np.stack(segments), test_size=0.3)
""", [6]),
    ("shuffled_kfold_loop_in_a_class", """\
import numpy as np
from sklearn.model_selection import KFold

class Forecaster:
    def make_windows(self, series, lookback):
        xs = []
        for t in range(lookback, len(series)):
            xs.append(series[t - lookback:t])
        return np.asarray(xs)

    def cross_validate(self, series):
        X = self.make_windows(series, 14)
        y = series[14:]
        kf = KFold(n_splits=5, shuffle=True)
        for tr, va in kf.split(X):
            self.fit(X[tr], y[tr])
""", [15]),
    # Overlapping windows of the training part, split again at random for validation.
    ("validation_split_of_training_windows", NP + """\
cut = int(len(series) * 0.8)
train_series, test_series = series[:cut], series[cut:]
X, y = [], []
for i in range(len(train_series) - 10):
    X.append(train_series[i:i + 10])
    y.append(train_series[i + 10])
X_tr, X_val, y_tr, y_val = train_test_split(np.array(X), np.array(y), test_size=0.1)
""", [9]),
    ("index_split", NP + """\
X = [ecg[i:i + 250] for i in range(0, len(ecg) - 250, 50)]
train_idx, test_idx = train_test_split(np.arange(len(X)), test_size=0.2, random_state=1)
""", [4]),
    ("tensor_unfold", TORCH + """\
windows = signal.unfold(0, 50, 1)
train_set, test_set = random_split(TensorDataset(windows[:, :-1], windows[:, -1]), [800, 200])
""", [4]),
]

CORRECT = [
    ("batching_loop", NP + """\
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
for epoch in range(10):
    for i in range(0, len(X_train), batch_size):
        xb, yb = X_train[i:i + batch_size], y_train[i:i + batch_size]
        model.train_on_batch(xb, yb)
"""),
    ("chunks_side_by_side", NP + """\
chunks = []
for i in range(0, len(series) - 24, 24):
    chunks.append(series[i:i + 24])
for k in range(len(series) // 24):
    chunks.append(series[k * 24:(k + 1) * 24])
train, test = train_test_split(np.array(chunks), test_size=0.2)
"""),
    ("stride_the_code_does_not_show", NP + """\
def windows(x, size, step):
    return np.array([x[i:i + size] for i in range(0, len(x) - size, step)])
X = windows(series, 32, STEP)
X_tr, X_te = train_test_split(X)
"""),
    ("time_ordered_splits", NP + """\
from sklearn.model_selection import TimeSeriesSplit, cross_val_score
X, y = [], []
for i in range(len(data) - 30):
    X.append(data[i:i + 30])
    y.append(data[i + 30])
X, y = np.array(X), np.array(y)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, shuffle=False)
n_train = int(0.8 * len(X))
X_tr, X_te = X[:n_train], X[n_train:]
scores = cross_val_score(model, X, y, cv=TimeSeriesSplit(n_splits=5))
scores = cross_val_score(model, X, y, cv=5)
model.fit(X, y, validation_split=0.2, shuffle=True)
"""),
    ("split_before_the_windows", NP + """\
train_df, test_df = train_test_split(df, test_size=0.2, shuffle=False)

def create_sequences(values, n):
    xs = []
    for i in range(len(values) - n):
        xs.append(values[i:i + n])
    return np.array(xs)

X_train = create_sequences(train_df.values, 20)
X_test = create_sequences(test_df.values, 20)
"""),
    # rogii wellbore (sweep 20): windows of each well, folds by well.
    ("grouped_by_series", """\
import numpy as np
from sklearn.model_selection import GroupKFold, GroupShuffleSplit
X, y, groups = [], [], []
for well_id, s in wells.items():
    for i in range(len(s) - 64):
        X.append(s[i:i + 64])
        y.append(s[i + 64])
        groups.append(well_id)
X, y = np.array(X), np.array(y)
for tr, va in GroupKFold(n_splits=5).split(X, y, groups):
    pass
for tr, va in GroupShuffleSplit(n_splits=1, test_size=0.2).split(X, y, groups):
    pass
"""),
    ("language_model_split_by_document", NP + """\
train_docs, val_docs = train_test_split(documents, test_size=0.1, random_state=0)

def blocks(docs, block_size):
    out = []
    for ids in docs:
        for i in range(len(ids) - block_size):
            out.append(ids[i:i + block_size + 1])
    return out

train_blocks = blocks(train_docs, 128)
val_blocks = blocks(val_docs, 128)
"""),
    ("augmentation_crops", NP + """\
crops = []
for i in range(n_crops):
    y0 = np.random.randint(0, h - 32)
    crops.append(image[y0:y0 + 32])
X_train, X_test, y_train, y_test = train_test_split(images, labels, test_size=0.2)
"""),
    ("thinned_by_a_condition", NP + """\
X = []
counter = 0
for k in range(len(sig) - 1000):
    if counter == delay:
        X.append(sig[k:k + 1000])
        counter = 0
    else:
        counter += 1
X_tr, X_te = train_test_split(np.array(X))
"""),
    # CAFA 6 (sweep 20): the k-mers of a protein joined into one text, one sample per protein.
    ("kmers_of_one_sample", NP + """\
def kmers(seq, k=3):
    return " ".join([seq[i:i + k] for i in range(len(seq) - k + 1)])

texts = [kmers(s) for s in sequences]
X = tfidf.fit_transform(texts).toarray()
X_tr, X_val, y_tr, y_val = train_test_split(X, Y, test_size=0.15)
"""),
    ("vocabulary_from_windows", NP + """\
from sklearn.feature_extraction.text import CountVectorizer
grams = []
for i in range(len(text) - 3):
    grams.append(text[i:i + 3])
vec = CountVectorizer().fit(grams)
X = vec.transform(sentences)
X_tr, X_te = train_test_split(X, test_size=0.2)
"""),
    ("stepped_view", """\
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.model_selection import train_test_split
X = sliding_window_view(series, 50)[::50]
X_tr, X_te = train_test_split(X)
"""),
    ("window_of_one", NP + """\
X = []
for i in range(len(rows)):
    X.append(rows[i:i + 1])
X_tr, X_te = train_test_split(np.concatenate(X))
"""),
    # gmferratti/LSTM-time-series-prediction: split in time, then a window Dataset per part.
    ("dataset_class_after_a_time_split", NP + TORCH + """\
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, shuffle=False)

class TimeSeriesDataset(Dataset):
    def __init__(self, X, y, sequence_length):
        self.X, self.y, self.sequence_length = X, y, sequence_length

    def __getitem__(self, idx):
        return self.X[idx: idx + self.sequence_length], self.y[idx + self.sequence_length]

train_dataset = TimeSeriesDataset(X_train, y_train, 10)
test_dataset = TimeSeriesDataset(X_test, y_test, 10)
"""),
    ("index_scaled_in_getitem", TORCH + """\
class Blocks(Dataset):
    def __init__(self, tokens, block, stride):
        self.tokens, self.block, self.stride = tokens, block, stride

    def __getitem__(self, idx):
        idx = idx * self.stride
        return self.tokens[idx:idx + self.block]

train_ds, val_ds = random_split(Blocks(tokens, 256, 256), [0.9, 0.1])
"""),
    ("image_patches_with_functional_unfold", TORCH + """\
import torch.nn.functional as F
patches = F.unfold(images, 4, 1)
train_set, test_set = random_split(TensorDataset(patches, labels), [0.8, 0.2])
"""),
    ("shuffled_before_the_windows", """\
import numpy as np
rows = np.random.permutation(raw)
X = np.array([rows[i:i + 5] for i in range(len(rows) - 5)])
X_tr, X_te = X[:800], X[800:]
"""),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


BY_NAME = {b[0]: b[1] for b in BUGGY}


def test_message_names_the_window_and_the_way_out():
    [f] = findings(BY_NAME["loop_then_default_split"], RULE)
    assert f.message.startswith("`train_test_split` shuffles the rows before it splits them")
    assert "`prices[i:i + seq_len]` takes 60 steps and moves on by 1 step" in f.message
    assert "share 59 of their 60 steps" in f.message
    assert "Split the series in time first" in f.message
    assert [r.message for r in f.related] == ["overlapping windows cut here"]


def test_message_of_a_symbolic_window_and_a_splitter():
    [f] = findings(BY_NAME["shuffled_kfold_loop_in_a_class"], RULE)
    assert f.message.startswith("`KFold(shuffle=True)` picks the held-out samples of each fold at random")
    assert "`series[t - lookback:t]` takes `lookback` steps and moves on by 1 step" in f.message
    assert "share all but one of their steps" in f.message
    [g] = findings(BY_NAME["dataset_class_and_random_split"], RULE)
    assert g.message.startswith("`random_split` deals the samples out at random")


def test_fix_splits_in_time_order():
    out = fixed_once(BY_NAME["loop_then_default_split"], RULE)
    assert "train_test_split(X, y, test_size=0.2, random_state=42, shuffle=False)" in out


def test_no_fix_where_shuffle_is_written_or_stratified():
    [f] = findings(BY_NAME["helper_function"], RULE)
    assert f.fix is None
    src = BY_NAME["loop_then_default_split"].replace("random_state=42", "stratify=y_bins")
    [g] = findings(src, RULE)
    assert g.fix is None


def test_across_notebook_cells():
    found = notebook([NP, "X = []\nfor i in range(len(s) - 12):\n    X.append(s[i:i + 12])\n",
                      "X_train, X_test = train_test_split(np.array(X))\n"], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(2, 0)]
