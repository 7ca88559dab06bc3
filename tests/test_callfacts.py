"""Facts about this very call (callfacts.py): what the hover says for given arguments, and that
it says nothing, rather than something wrong, when the arguments are not literals."""
import pytest

from nntutor.callfacts import call_facts
from nntutor.content import catalog
from nntutor.document import Document
from nntutor.hover import target_at

HEADER = '''import torch
import torch.nn as nn
import torch.optim as optim
from torch.optim import lr_scheduler
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.decomposition import PCA
from tensorflow import keras
from tensorflow.keras import layers, callbacks
'''


def facts_for(expr: str) -> list[str]:
    """The facts the hover shows on the callee of `x = <expr>`."""
    src = HEADER + f"x = {expr}\n"
    doc = Document.from_text(src)
    callee_end = src.index(expr) + expr.index("(")
    t = target_at(doc, catalog(), callee_end - 1)
    assert t is not None, f"no hover target for {expr}"
    return call_facts(doc, t)


def assert_says(text: str, expected, absent=()) -> None:
    """Every string of `expected` is in the hover's facts, none of `absent`."""
    for e in expected:
        assert e in text, (e, text)
    for a in absent:
        assert a not in text, (a, text)


def says(expr: str, *expected: str, absent: tuple[str, ...] = ()) -> None:
    assert_says("\n".join(facts_for(expr)), expected, absent)


@pytest.mark.parametrize("expr,expected", [
    ("nn.MaxPool2d(2)", ["stride 2 (= kernel_size, the default)", "(e.g. 32 → 16)", "no parameters"]),
    ("nn.MaxPool2d(3, stride=1, padding=1)", ["(e.g. 32 → 32)"]),
    ("nn.MaxPool2d(3, 2, ceil_mode=True)", ["⌈", "(e.g. 32 → 16)"]),
    ("nn.AvgPool2d(kernel_size=(2, 2))", ["Average over 2×2 windows", "(e.g. 32 → 16)"]),
    ("nn.AvgPool1d(4, 4)", ["Average over 4-wide windows", "(e.g. 32 → 8)"]),
    ("layers.MaxPooling2D()", ["padding 'valid' (the default)", "(e.g. 32 → 16)"]),
    ("layers.MaxPooling2D(3, strides=2, padding='same')", ["⌈in / 2⌉", "(e.g. 32 → 16)"]),
    ("layers.Conv2D(32, 3)", ["`(batch, H′, W′, 32)`", "(e.g. 32 → 30)"]),
    ("layers.Conv2D(64, (5, 5), strides=2, padding='same')", ["(e.g. 32 → 16)", "5×5×C×64"]),
])
def test_pooling_and_keras_conv_sizes(expr, expected):
    says(expr, *expected)


def test_conv_groups_bias_and_tuple_kernels():
    says("nn.Conv2d(32, 32, 3, groups=32, bias=False)", "32×1×3×3 = **288 parameters** (32 groups)")
    says("nn.Conv2d(3, 8, kernel_size=(3, 3), padding='same')", "padding='same'", "224 parameters")
    says("nn.Conv2d(3, 8, 3, padding='valid')", "(e.g. 32 → 30)")
    # a non-square kernel: no single size formula, no made-up numbers
    assert facts_for("nn.Conv2d(3, 8, (3, 5))") == []


def test_conv_transpose_size_and_parameters():
    says("nn.ConvTranspose2d(16, 8, kernel_size=4, stride=2, padding=1)", "(e.g. 7 → 14)", "**2,056 parameters**")


@pytest.mark.parametrize("expr,expected,absent", [
    ("nn.Embedding(1000, 64)", ["[0, 1000)", "`(*, 64)`", "**64,000 parameters**"], ["padding_idx"]),
    ("nn.Embedding(10, 4, padding_idx=0)", ["`padding_idx=0`", "gets no gradient"], []),
    ("layers.Embedding(100, 8, mask_zero=True)", ["**800 parameters**", "ids 1 … 99"], []),
    ("nn.LayerNorm(512)", ["last dimension (size 512)", "train and eval mode compute the same",
                           "**1,024 parameters** (a scale and a shift"], []),
    ("nn.LayerNorm([8, 8], elementwise_affine=False)", ["last 2 dimensions `(8, 8)`", "**0 parameters**"], []),
    ("nn.MultiheadAttention(64, 8)", ["8 heads of 8 dimensions", "**16,640 parameters**", "**sequence first**"], []),
    ("nn.MultiheadAttention(64, num_heads=8, batch_first=True)", ["`(N, L, E)` (batch_first)"], ["sequence first"]),
    ("nn.MultiheadAttention(100, 8)", ["not divisible by num_heads=8: the constructor raises"], ["parameters"]),
    ("nn.TransformerEncoderLayer(64, 8)", ["64 → 2048 → 64 (2048 by default", "dropout 0.1", "Post-norm",
                                          "**sequence first**"], []),
    ("nn.TransformerEncoderLayer(d_model=256, nhead=8, dim_feedforward=1024, batch_first=True, norm_first=True)",
     ["256 → 1024 → 256", "(batch_first)"], ["Post-norm", "2048"]),
])
def test_embedding_norm_attention(expr, expected, absent):
    says(expr, *expected, absent=tuple(absent))


@pytest.mark.parametrize("expr,expected,absent", [
    ("optim.SGD(model.parameters(), lr=0.1)", ["lr = 0.1", "**no momentum**"], []),
    ("optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)",
     ["momentum 0.9", "**10× lr**", "weight_decay = 0.0005"], ["no momentum"]),
    ("optim.SGD(model.parameters(), 0.1, nesterov=True)", ["`nesterov=True` needs momentum > 0"], []),
    ("optim.Adam(model.parameters())", ["lr = 0.001 (the default)"], ["weight_decay"]),
    ("optim.Adam(model.parameters(), lr=3e-4, weight_decay=1e-2)", ["lr = 0.0003", "added to the gradient (L2)",
                                                                    "`AdamW` decouples"], []),
    ("optim.AdamW(model.parameters(), lr=1e-3)", ["weight_decay = 0.01 (the default): **decoupled**"], []),
    ("lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)", ["lr × 0.5 every 10 calls", "after 30: 0.125×"], []),
    ("lr_scheduler.MultiStepLR(opt, milestones=[30, 80])", ["lr × 0.1", "`[30, 80]`"], []),
    ("lr_scheduler.ExponentialLR(opt, gamma=0.9)", ["after 10 steps 0.349×"], []),
    ("lr_scheduler.CosineAnnealingLR(opt, T_max=100)", ["eta_min = 0 ", "T_max = 100", "**rises again**"], []),
    ("lr_scheduler.ReduceLROnPlateau(opt, mode='max', patience=3)",
     ["lr × 0.1", "more than 3 epochs", "higher is better"], []),
    ("lr_scheduler.OneCycleLR(opt, max_lr=0.01, epochs=10, steps_per_epoch=100)",
     ["from 0.0004 (max_lr / 25)", "first 30% of 1,000 steps", "anneals to 4e-08", "**after every batch**"], []),
    ("nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)", ["exceeds 1.0", "direction is kept"], []),
    ("torch.nn.utils.clip_grad_value_(model.parameters(), 0.5)", ["[−0.5, 0.5]", "change the gradient's direction"], []),
    ("torch.amp.GradScaler('cuda')", ["65,536 (2¹⁶, the default)", "after 2000 clean steps", "`scaler.unscale_"],
     ["deprecated"]),
    ("torch.cuda.amp.GradScaler(init_scale=1024)", ["by 1,024 before backward", "deprecated"], ["the default)"]),
    ("torch.amp.GradScaler('cuda', enabled=False)", ["`enabled=False`"], ["65,536"]),
])
def test_optimisers_schedulers_clipping_scaling(expr, expected, absent):
    says(expr, *expected, absent=tuple(absent))


@pytest.mark.parametrize("expr,expected,absent", [
    ("nn.KLDivLoss()", ["**input as log-probabilities**", "`reduction='batchmean'` is"], []),
    ("nn.KLDivLoss(reduction='batchmean', log_target=True)", ["log-probabilities too"], ["⚠"]),
    ("nn.Flatten()", ["Keeps the batch dimension (`start_dim=1`, the default)"], []),
    ("torch.flatten(x)", ["**batch dimension is flattened too**"], []),
    ("torch.flatten(x, 1)", ["`(N, C, H, W)` → `(N, C·H·W)`"], ["⚠"]),
    ("KFold(5)", ["**5 folds**", "80% of the rows", "**contiguous blocks in row order**"], []),
    ("KFold(n_splits=10, shuffle=True, random_state=0)", ["**10 folds**", "90%"], ["contiguous"]),
    ("StratifiedKFold(shuffle=True)", ["**5 folds** (the default)", "class proportions"], []),
    ("PCA(2)", ["**2** directions of greatest variance", "does not scale"], []),
    ("PCA(n_components=0.95)", ["**95% of the variance**"], []),
    ("PCA()", ["Keeps **all** components"], []),
    ("callbacks.EarlyStopping(patience=3)", ["after 3 epoch(s) without improvement of `val_loss`",
                                              "`restore_best_weights=False` (the default)"], []),
    ("keras.callbacks.EarlyStopping(monitor='val_accuracy', restore_best_weights=True)",
     ["`val_accuracy`", "patience=0, the default"], ["⚠"]),
    ("layers.Dense(10)", ["`(batch, ..., 10)`", "(inputs + 1) × 10", "No activation"], []),
    ("layers.Dense(1, activation='sigmoid', use_bias=False)", ["(inputs) × 1"], ["No activation"]),
    ("nn.BatchNorm1d(num_features=n)", ["n channels"], []),
])
def test_losses_shapes_splits_callbacks(expr, expected, absent):
    says(expr, *expected, absent=tuple(absent))


@pytest.mark.parametrize("expr", [
    "nn.MaxPool2d(k)", "nn.Embedding(vocab, dim)", "nn.MultiheadAttention(d, h)", "nn.Conv2d(3, 8, *ks)",
    "nn.Linear(*shape)", "nn.LSTM(**cfg)", "lr_scheduler.StepLR(opt, n)", "nn.LayerNorm(shape)",
    "nn.ConvTranspose2d(c, 8, 4)", "lr_scheduler.OneCycleLR(opt, lr)", "nn.utils.clip_grad_norm_(ps)",
    "nn.MaxPool2d(2, 0)", "nn.MultiheadAttention(8, 0)",
])
def test_non_literal_or_unusable_arguments_give_no_numbers(expr):
    facts = facts_for(expr)
    assert not any(ch.isdigit() and "parameters" in f for f in facts for ch in f), facts
    assert not any("e.g." in f for f in facts), facts


@pytest.mark.parametrize("src", [
    "import torch.nn as nn\nx = nn.MaxPool2d(\n", "import torch.nn as nn\nx = nn.Embedding(10,\n",
    "import torch.nn as nn\nx = nn.MultiheadAttention(embed_dim=\n", "import torch.optim as o\nx = o.SGD(p, lr=)\n",
])
def test_half_typed_calls_never_raise(src):
    doc = Document.from_text(src)
    t = target_at(doc, catalog(), src.index("(") - 1)
    if t is not None:
        assert isinstance(call_facts(doc, t), list)


def test_tensor_methods_on_values_of_unknown_type():
    says("loss.backward()", "**Adds** the gradient", "must be a scalar", "usually raises")
    says("y.backward(torch.ones_like(y), retain_graph=True)", "`retain_graph=True`: the graph is kept",
         absent=("must be a scalar",))
    says("out.detach()", "cut from the autograd graph", "shares memory")


def test_tensor_method_names_need_a_torch_import():
    src = "import numpy as np\nresult = thing.backward()\n"
    doc = Document.from_text(src)
    assert target_at(doc, catalog(), src.index("backward") + 1) is None


def test_names_holding_literals_are_followed():
    src = HEADER + "HIDDEN = 256\nLAYERS = 2\nx = nn.LSTM(10, HIDDEN, LAYERS, bidirectional=True)\n"
    doc = Document.from_text(src)
    t = target_at(doc, catalog(), src.index("LSTM(10") + 1)
    text = "\n".join(call_facts(doc, t))
    assert "`(L, N, 512)`" in text and "`(4, N, 256)`" in text


def test_a_name_rebound_to_an_unknown_value_gives_no_numbers():
    src = HEADER + "hidden = 256\nhidden = cfg.hidden\nx = nn.Linear(10, hidden)\n"
    doc = Document.from_text(src)
    t = target_at(doc, catalog(), src.index("Linear(10") + 1)
    assert call_facts(doc, t) == []


# -- arguments through names ------------------------------------------------------------------------
def test_tuple_and_int_arguments_are_followed_through_names():
    src = HEADER + "k = (3, 3)\ns = (2, 2)\nx = nn.Conv2d(3, 16, k, stride=s, padding=1)\n"
    says_src(src, "nn.Conv2d(3, 16, k", "out = ⌊(in + 2·1 − 1·(3−1) − 1) / 2⌋ + 1 (e.g. 32 → 16)",
             "16×3×3×3 + 16 bias = **448 parameters**")
    src = HEADER + "window = (2, 2)\nx = nn.MaxPool2d(window)\n"
    says_src(src, "nn.MaxPool2d(window", "2×2 windows, stride 2")


def test_a_name_assigned_in_two_branches_is_not_guessed():
    src = HEADER + "if big:\n    k = (5, 5)\nelse:\n    k = (3, 3)\nx = nn.Conv2d(3, 16, k)\n"
    facts = facts_at(src, "nn.Conv2d(3, 16, k")
    assert not any("parameters**" in f or "⌊" in f for f in facts), facts


def facts_at(src: str, expr: str) -> list[str]:
    doc = Document.from_text(src)
    t = target_at(doc, catalog(), src.index(expr) + expr.index("(") - 1)
    assert t is not None
    return call_facts(doc, t)


def says_src(src: str, expr: str, *expected: str) -> None:
    text = "\n".join(facts_at(src, expr))
    for e in expected:
        assert e in text, f"{e!r} not in:\n{text}"


def test_an_int_assigned_in_two_branches_is_not_guessed():
    src = HEADER + "if big:\n    h = 256\nelse:\n    h = 128\nx = nn.Linear(h, 10)\n"
    assert not any("128" in f or "256" in f for f in facts_at(src, "nn.Linear(h"))
    src = HEADER + "h = 256\nx = nn.Linear(h, 10)\n"
    says_src(src, "nn.Linear(h", "Maps `(*, 256)` → `(*, 10)`")


@pytest.mark.parametrize("expr,expected,absent", [
    ("nn.GRU(10, 20, num_layers=3, dropout=0.2)", "Dropout 0.2 on the outputs of layers 1–2 (not the last one)", "no effect"),
    ("nn.LSTM(10, 20, 2, dropout=0.5)", "Dropout 0.5 on the outputs of layer 1 (not the last one)", "no effect"),
    ("nn.LSTM(10, 20, dropout=0.5)", "no effect with num_layers=1", "on the outputs"),
    ("nn.LSTM(10, 20, 2)", "h_n, c_n", "Dropout"),                       # no dropout: nothing said
    ("nn.LSTM(10, 20, 2, dropout=0.0)", "h_n, c_n", "Dropout"),
])
def test_recurrent_dropout_between_layers(expr, expected, absent):
    says(expr, expected, absent=(absent,))


METRICS = ("from sklearn.metrics import confusion_matrix, precision_score, recall_score, f1_score, "
           "roc_auc_score, r2_score, accuracy_score, balanced_accuracy_score, classification_report\n"
           "from sklearn.linear_model import LinearRegression, LogisticRegression\n"
           "from tensorflow import keras\nnet = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n")


def metric_facts(expr: str) -> str:
    src = METRICS + f"x = {expr}\n"
    doc = Document.from_text(src)
    t = target_at(doc, catalog(), src.index(expr) + expr.index("(") - 1)
    assert t is not None, expr
    return "\n".join(call_facts(doc, t))


@pytest.mark.parametrize("expr,expected,absent", [
    ("confusion_matrix(y_test, y_pred)", ["`y_true` = `y_test`, `y_pred` = `y_pred`", "Rows come from `y_true`",
                                          "tn, fp, fn, tp"], ["swapped", "normalize"]),
    ("confusion_matrix(y_pred, y_test)", ["`y_true` = `y_pred`", "look **swapped**", "metric-args-swapped"], []),
    ("confusion_matrix(y_test, y_pred, normalize='true')", ["each row sums to 1", "recall"], ["swapped"]),
    ("confusion_matrix(y_true=y_test, y_pred=preds, normalize='pred')", ["`y_true` = `y_test`",
                                                                         "each column sums to 1"], []),
    ("precision_score(y_test, y_pred)", ["TP / (TP + FP)", '`average="binary"` (the default)', "class `1`"], []),
    ("recall_score(y_test, y_pred, pos_label='spam')", ["TP / (TP + FN)", "class `'spam'`"], []),
    ("f1_score(y_test, y_pred, average='macro')", ["harmonic mean", "rare classes count as much"], ["binary"]),
    ("roc_auc_score(y_test, LogisticRegression().fit(X, y).predict(X_test))", ["**hard labels**",
                                                                               "metric-on-hard-labels"], []),
    ("roc_auc_score(y_test, LinearRegression().fit(X, y).predict(X_test))", ["Needs scores"], ["hard labels"]),
    ("roc_auc_score(y_test, clf.predict(X_test))", ["`y_score` = `clf.predict(X_test)`"], ["hard labels"]),
    ("roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1])", ["Needs scores"], ["hard labels", "swapped"]),
    ("r2_score(y_test, reg.predict(X))", ["variance of `y_test`", "negative is worse"], []),
    # label metrics given scores (the rule metric-on-scores)
    ("accuracy_score(y_test, clf.predict(X_test))", ["share of exact matches"], ["metric-on-scores"]),
    ("accuracy_score(y_test, clf.predict_proba(X_test))", ["**the class probabilities**", "metric-on-scores",
                                                            "`clf.predict(...)`"], []),
    ("f1_score(y_test, clf.decision_function(X_test))", ["**the decision scores**", "harmonic mean"], []),
    ("confusion_matrix(y_test, net.predict(X_test))", ["**the network's outputs", "`.argmax(axis=1)`"], []),
    ("classification_report(y_test, LinearRegression().fit(X, y).predict(X_test))",
     ["regressor (LinearRegression)", "support-weighted"], []),
    ("balanced_accuracy_score(y_test, clf.predict_proba(X_test)[:, 1] > 0.5)", ["1 / (number of classes)"],
     ["metric-on-scores"]),
    ("roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1])", ["Needs scores"], ["metric-on-scores"]),
])
def test_metric_facts(expr, expected, absent):
    text = metric_facts(expr)
    assert_says(text, expected, absent)


def test_metric_facts_say_nothing_for_a_half_typed_call():
    assert metric_facts("confusion_matrix(y_test") == ""


@pytest.mark.parametrize("line,warned", [
    ("device = 'cuda' if torch.cuda.is_available else 'cpu'", True),
    ("if not torch.cuda.is_available:\n    raise SystemError('no GPU')", True),
    ("device = 'cuda' if torch.cuda.is_available() else 'cpu'", False),
    ("check = torch.cuda.is_available", False),   # kept as a callable
])
def test_an_availability_check_named_but_not_called_is_warned_about(line, warned):
    src = f"import torch\n{line}\n"
    doc = Document.from_text(src)
    t = target_at(doc, catalog(), src.index("is_available"))
    assert t is not None and t.qual == "torch.cuda.is_available"
    text = "\n".join(call_facts(doc, t))
    assert ("always true" in text and "accelerator-check-not-called" in text) == warned, text


# -- a torch module's own methods (modulefacts.py) ---------------------------------------------
MODULES = '''import copy
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 2)
        self.drop = nn.Dropout(0.3)
        self.bn = nn.BatchNorm1d(8)

    def forward(self, x):
        return self.fc(self.drop(self.bn(x)))


class Plain(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        return self.fc(x)


model = Net()
plain = Plain().to("cpu")
opt = torch.optim.SGD(model.parameters(), lr=0.1)
'''


def hover_after(header: str, body: str, needle: str):
    """(qualified name, facts) of the hover on the last character of `needle` (`model.eval`),
    found in `body` (the code after `header`)."""
    src = header + body
    doc = Document.from_text(src)
    t = target_at(doc, catalog(), src.index(needle, len(header)) + len(needle) - 1)
    return (None, "") if t is None else (t.qual, "\n".join(call_facts(doc, t)))


def module_hover(body: str, needle: str):
    return hover_after(MODULES, body, needle)


@pytest.mark.parametrize("body,needle,qual,expected,absent", [
    ("model.eval()\n", "model.eval", "torch.nn.Module.eval",
     ["evaluation mode", "does not stop gradient tracking", "`Net` has layers", "`drop` (Dropout)",
      "`bn` (BatchNorm1d)", "running statistics"], ["no dropout"]),
    ("plain.eval()\n", "plain.eval", "torch.nn.Module.eval",
     ["evaluation mode", "`Plain` has no dropout or batch-norm layer"], ["has layers"]),
    ("model.train()\n", "model.train", "torch.nn.Module.train",
     ["back to training mode", "trains nothing by itself", "dropout zeroes activations again"], ["evaluation"]),
    ("model.train(False)\n", "model.train", "torch.nn.Module.train", ["evaluation mode", "`Net` has layers"],
     ["training mode"]),
    ("model.train(mode=is_training)\n", "model.train", "torch.nn.Module.train", [], ["mode"]),  # which mode: unknown
    ("def evaluate(net):\n    net.eval()\n", "net.eval", None, [], []),   # a parameter of unknown type: no card
])
def test_module_mode_facts_name_the_layers_the_mode_changes(body, needle, qual, expected, absent):
    got_qual, text = module_hover(body, needle)
    assert got_qual == qual
    assert_says(text, expected, absent)


BEST_KEPT = '''best = None
for epoch in range(10):
    model.train()
    opt.zero_grad()
    model(x).sum().backward()
    opt.step()
    if epoch == 3:
        best = {snapshot}
model.load_state_dict(best)
'''


@pytest.mark.parametrize("snapshot,warned", [
    ("model.state_dict()", True),
    ("model.state_dict().copy()", True),
    ("copy.deepcopy(model.state_dict())", False),
])
def test_state_dict_hover_says_it_holds_references_and_warns_as_the_rule_does(snapshot, warned):
    qual, text = module_hover(BEST_KEPT.format(snapshot=snapshot), "model.state_dict")
    assert qual == "torch.nn.Module.state_dict"
    assert "**not copied**" in text and "copy.deepcopy(model.state_dict())" in text
    assert ("⚠ `best` keeps it without a copy" in text and "`model.load_state_dict(best)` restores" in text
            and "best-weights-not-copied" in text) == warned, text


def test_state_dict_saved_at_once_is_not_warned_about():
    qual, text = module_hover("torch.save(model.state_dict(), 'net.pt')\n", "model.state_dict")
    assert qual == "torch.nn.Module.state_dict" and "not copied" in text and "⚠" not in text


# -- scikit-learn scalers, train_test_split, LogisticRegression (sklearnfacts.py); regression
#    losses and LeakyReLU -------------------------------------------------------------------------
SKLEARN = '''import torch.nn as nn
import torch.nn.functional as F
from sklearn.preprocessing import StandardScaler, MinMaxScaler, RobustScaler
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression
'''


def sk_facts(expr: str, after: str = "") -> str:
    qual, text = hover_after(SKLEARN, f"x = {expr}\n" + after, expr[:expr.index("(")])
    assert qual is not None, expr
    return text


@pytest.mark.parametrize("expr,expected,absent", [
    ("StandardScaler()", ["`(x - mean) / std`", "mean 0 and standard deviation 1"], ["with_mean"]),
    ("StandardScaler(with_mean=False)", ["only divided by its standard deviation", "sparse"], ["mean 0"]),
    ("MinMaxScaler()", ["maps them to 0 and 1", "outside [0, 1]", "outlier"], []),
    ("MinMaxScaler(feature_range=(-1, 1), clip=True)", ["maps them to -1 and 1", "clipped"], ["outside"]),
    ("RobustScaler()", ["median and interquartile range", "(x - median) / IQR"], []),
    ("train_test_split(X, y)", ["**25%**", "Not stratified", "No `random_state`",
                                "`X` train, `X` test, `y` train, `y` test"], []),
    ("train_test_split(X, y, test_size=0.2, stratify=y, random_state=42)",
     ["**20%**", "80% left to train", "`stratify=y`"], ["random_state", "Not stratified"]),
    ("train_test_split(features, labels, test_size=100, shuffle=False)",
     ["exactly 100 rows", "the **last** rows", "`features` train, `features` test, `labels` train"], ["random_state"]),
    ("train_test_split(X, y, train_size=0.9)", ["90% of the rows train", "10%"], []),
    ("LogisticRegression()", ["**C = 1.0**", "Regularised by default", "ConvergenceWarning"], ["stronger"]),
    ("LogisticRegression(C=0.01)", ["**C = 0.01** (stronger than the default)"], []),
    ("nn.LeakyReLU(0.2)", ["multiplied by **0.2**", "'dead'"], ["default"]),
    ("F.leaky_relu(h)", ["**0.01** (the default)"], []),
    ("nn.MSELoss()", ["Squared error", "`reduction='mean'`", "does not depend on the batch size"], []),
    ("nn.MSELoss(reduction='sum')", ["grow with the batch size"], ["'mean'"]),
    ("nn.HuberLoss(delta=2.0)", ["|error| < 2.0", "linear beyond"], []),
    ("F.smooth_l1_loss(pred, target, reduction='none')", ["|error| < 1.0", "reduce it"], []),
])
def test_sklearn_and_regression_loss_facts(expr, expected, absent):
    text = sk_facts(expr)
    assert_says(text, expected, absent)


def test_scaler_hover_says_where_it_is_fitted():
    text = sk_facts("StandardScaler()", "X_train, X_test = train_test_split(X)\nx.fit(X_train)\n")
    assert "Fitted on `X_train` (`fit`, line 8)" in text
    assert "Fitted" not in sk_facts("StandardScaler()", "other.fit(X)\n")
    assert "Fitted" not in sk_facts("StandardScaler()")


def test_non_literal_arguments_say_nothing_wrong():
    assert "C =" not in sk_facts("LogisticRegression(C=best_c)")
    assert "maps them" not in sk_facts("MinMaxScaler(feature_range=rng)")


# -- devices (devicefacts.py) --------------------------------------------------------------------
DEVICES = '''import torch
import torch.nn as nn
import torch.nn.functional as F
model = nn.Linear(2, 2)
x = torch.zeros(3)
'''


def device_hover(body: str, needle: str):
    return hover_after(DEVICES, body, needle)


@pytest.mark.parametrize("body,needle,expected,absent", [
    ('d = torch.device("cuda")\n', "torch.device", ["current CUDA GPU", "touches no GPU", "hardcoded-cuda"], []),
    ('d = torch.device("cuda" if torch.cuda.is_available() else "cpu")\n', "torch.device",
     ["same code runs on a GPU machine and on a CPU-only one"], ["fails"]),
    ('d = torch.device("cuda:1")\n', "torch.device", ["GPU number 1"], []),
    ('d = torch.device("cuda", 2)\n', "torch.device", ["GPU number 2"], []),
    ('d = torch.device("mps")\n', "torch.device", ["Apple-silicon", "mps.is_available()"], []),
    ('d = torch.device(name)\n', "torch.device", [], ["GPU"]),
    ("model.to(device)\n", "model.to", ["**in place**", "`model.to(...)` alone is enough"], ["copy"]),
    ("x.to(device)\n", "x.to", ["**moved copy**", "`x = x.to(...)`", "⚠ Here the copy is thrown away",
                                "tensor-to-discarded"], ["in place"]),
    ("x = x.cuda()\n", "x.cuda", ["**moved copy**"], ["⚠", "in place"]),
    # a torch.nn.functional result is no module (its class is unknown here: both sentences)
    ("p = F.softmax(x, dim=0)\np.to(device)\n", "p.to", ["**moved copy**"], []),
    ("w = nn.Parameter(torch.ones(2))\nw = w.to(device)\n", "w.to", ["copy"], []),
    ("batch.to(device)\n", "batch.to", ["**in place**", "**moved copy**"], ["⚠"]),   # unknown: both
])
def test_device_facts(body, needle, expected, absent):
    _, text = device_hover(body, needle)
    assert_says(text, expected, absent)


# -- nn.Sequential shapes (sequentialfacts.py), cross-validation and searches, no_grad,
#    ModelCheckpoint ---------------------------------------------------------------------------
MORE = '''import torch
import torch.nn as nn
from tensorflow import keras
from sklearn.svm import SVC
from sklearn.model_selection import cross_val_score, cross_val_predict, GridSearchCV, RandomizedSearchCV
'''


def more_facts(expr: str) -> str:
    qual, text = hover_after(MORE, f"x = {expr}\n", expr[:expr.index("(")])
    assert qual is not None, expr
    return text


@pytest.mark.parametrize("expr,expected,absent", [
    ("nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))",
     ["Linear 4→8 → Linear 8→2", "input `(N, 4)` → output `(N, 2)`", "**58 parameters**"], ["⚠"]),
    ("nn.Sequential(nn.Linear(784, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))",
     ["⚠ Layer 4 (`Linear(128, 10)`) expects 128 features", "give 256", "shape error"], ["parameters"]),
    ("nn.Sequential(nn.Linear(16, 32), nn.LayerNorm(64))", ["⚠ Layer 1 (`LayerNorm(64)`)"], []),
    ("nn.Sequential(nn.Linear(10, 20, bias=False), nn.BatchNorm1d(20), nn.Linear(20, 1))",
     ["**261 parameters**"], []),     # 200 + 40 + 21
    ("nn.Sequential(nn.Linear(4, 8), nn.ReLU(), Custom(), nn.Linear(3, 2))",
     ["takes `(N, 4)`", "not followed"], ["⚠", "output"]),     # unknown layer: nothing judged after it
    ("nn.Sequential(nn.Linear(n_in, 8), nn.ReLU())", [], ["⚠", "parameters"]),
    ("cross_val_score(clf, X, y)", ["**5 folds** (the default)", "4/5 of the rows", "**without shuffling**",
                                    "No `scoring`", "`Pipeline`"], []),
    ("cross_val_score(clf, X, y, cv=10, scoring='f1')", ["**10 folds**", "9/10"], ["No `scoring`", "default"]),
    ("cross_val_predict(clf, X, y, cv=kf)", ["`Pipeline`"], ["folds**", "scoring"]),
    ("GridSearchCV(SVC(), {'C': [0.1, 1, 10], 'kernel': ['rbf', 'linear']}, cv=5)",
     ["6 candidate settings × 5 folds = **30 fits**", "optimistic"], []),
    ("GridSearchCV(SVC(), grid)", ["optimistic"], ["fits"]),
    ("RandomizedSearchCV(SVC(), dist, cv=3)", ["10 candidate settings × 3 folds = **30 fits**"], []),
    ("torch.no_grad()", ["**no autograd graph**", "`model.eval()`"], ["Stricter"]),
    ("torch.inference_mode()", ["**no autograd graph**", "Stricter than `torch.no_grad()`"], []),
    ("keras.callbacks.ModelCheckpoint('best.h5', save_best_only=True)",
     ["only when `val_loss` improves", "**last** epoch's weights", "Keras 3"], []),
    ("keras.callbacks.ModelCheckpoint('m.weights.h5', monitor='val_accuracy', save_best_only=True, "
     "save_weights_only=True)", ["only when `val_accuracy` improves"], ["Keras 3"]),
    ("keras.callbacks.ModelCheckpoint('m.keras')", ["after every epoch", "{epoch:02d}"], ["Keras 3"]),
])
def test_more_call_facts(expr, expected, absent):
    text = more_facts(expr)
    assert_says(text, expected, absent)


def test_keras_leaky_relu_is_not_given_torchs_default_slope():
    qual, text = hover_after("from tensorflow.keras import layers\n", "a = layers.LeakyReLU()\n", "layers.LeakyReLU")
    assert qual is not None and "0.01" not in text
