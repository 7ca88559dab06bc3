"""Deterministic generator of realistic ML training code for nntutor's benchmarks.

    python bench/generate.py [--seed 20240611] [--out bench/out/gen]

Writes (all valid Python, checked with ast.parse):
    bench/out/gen/f300/pipeline_300.py        ~300 lines
    bench/out/gen/f3000/pipeline_3000.py      ~3,000 lines
    bench/out/gen/f20000/pipeline_20000.py    ~20,000 lines
    bench/out/gen/tree/mlzoo/...              200 modules of ~100-400 lines in nested packages
                                              (plus their __init__.py), some models.py/train.py pairs
    bench/out/gen/manifest.json               line counts and the bugs seeded into each file

The code is assembled from varied blocks: imports, nn.Module classes (conv, linear, dropout,
batch norm, LSTM/GRU, residual, transformer), Dataset classes, train/evaluate/fit functions,
optimizer and scheduler set-up, scikit-learn preprocessing + train_test_split + cross-validation,
Keras Sequential models with compile/fit, argparse entry points, logging, helpers, docstrings and
comments. Sizes, names, layer stacks and options are drawn from a seeded RNG, so no block repeats
verbatim. About one block per 300 lines carries a real bug:

    double-softmax      softmax output fed to CrossEntropyLoss (or Keras from_logits=True)
    missing-zero-grad   optimizer.step() in a loop that never clears gradients
    hardcoded-cuda      .cuda() / torch.device("cuda") with no availability check
    scaler-leak         a scaler fitted on all rows before train_test_split (data leakage)
"""
from __future__ import annotations

import argparse
import ast
import json
import random
import shutil
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "out" / "gen"
DEFAULT_SEED = 20240611
SIZES = (300, 3000, 20000)
TREE_MODULES = 200
BUG_EVERY = 300  # lines per seeded bug

# -- imports ------------------------------------------------------------------------------------
# key -> ("import", "numpy as np") or ("from", module, name)
IMPORTS = {
    "argparse": ("import", "argparse"), "json": ("import", "json"), "logging": ("import", "logging"),
    "math": ("import", "math"), "os": ("import", "os"), "random": ("import", "random"),
    "time": ("import", "time"), "sys": ("import", "sys"),
    "contextmanager": ("from", "contextlib", "contextmanager"),
    "dataclass": ("from", "dataclasses", "dataclass"), "field": ("from", "dataclasses", "field"),
    "asdict": ("from", "dataclasses", "asdict"),
    "Path": ("from", "pathlib", "Path"),
    "Optional": ("from", "typing", "Optional"), "Sequence": ("from", "typing", "Sequence"),
    "Callable": ("from", "typing", "Callable"), "Any": ("from", "typing", "Any"),
    "Iterator": ("from", "typing", "Iterator"),
    "np": ("import", "numpy as np"),
    "torch": ("import", "torch"), "nn": ("import", "torch.nn as nn"),
    "F": ("import", "torch.nn.functional as F"), "optim": ("import", "torch.optim as optim"),
    "Dataset": ("from", "torch.utils.data", "Dataset"), "DataLoader": ("from", "torch.utils.data", "DataLoader"),
    "random_split": ("from", "torch.utils.data", "random_split"),
    "train_test_split": ("from", "sklearn.model_selection", "train_test_split"),
    "cross_val_score": ("from", "sklearn.model_selection", "cross_val_score"),
    "StratifiedKFold": ("from", "sklearn.model_selection", "StratifiedKFold"),
    "KFold": ("from", "sklearn.model_selection", "KFold"),
    "GridSearchCV": ("from", "sklearn.model_selection", "GridSearchCV"),
    "StandardScaler": ("from", "sklearn.preprocessing", "StandardScaler"),
    "MinMaxScaler": ("from", "sklearn.preprocessing", "MinMaxScaler"),
    "RobustScaler": ("from", "sklearn.preprocessing", "RobustScaler"),
    "make_pipeline": ("from", "sklearn.pipeline", "make_pipeline"),
    "LogisticRegression": ("from", "sklearn.linear_model", "LogisticRegression"),
    "Ridge": ("from", "sklearn.linear_model", "Ridge"),
    "RandomForestClassifier": ("from", "sklearn.ensemble", "RandomForestClassifier"),
    "GradientBoostingClassifier": ("from", "sklearn.ensemble", "GradientBoostingClassifier"),
    "SVC": ("from", "sklearn.svm", "SVC"),
    "accuracy_score": ("from", "sklearn.metrics", "accuracy_score"),
    "f1_score": ("from", "sklearn.metrics", "f1_score"),
    "mean_squared_error": ("from", "sklearn.metrics", "mean_squared_error"),
    "keras": ("from", "tensorflow", "keras"), "layers": ("from", "tensorflow.keras", "layers"),
}
STDLIB = {"argparse", "json", "logging", "math", "os", "random", "time", "sys", "contextlib",
          "dataclasses", "pathlib", "typing", "__future__"}

# -- vocabulary ---------------------------------------------------------------------------------
DOMAINS = ["Image", "Text", "Audio", "Tabular", "Signal", "Sensor", "Review", "Traffic", "Medical",
           "Satellite", "Speech", "Sales", "Click", "Molecule", "Weather", "Fraud", "Churn", "Xray",
           "Retina", "Fashion", "Digit", "Sentiment", "Intent", "Topic", "Energy", "Crop", "Gesture"]
CORES = ["Conv", "Res", "Dense", "Deep", "Tiny", "Wide", "Shallow", "Light", "Fast", "Multi",
         "Dual", "Gated", "Stacked", "Simple", "Compact", "Baseline"]
TAILS = ["Net", "Classifier", "Encoder", "Regressor", "Model", "Tagger", "Head", "Backbone"]
SNAKE = ["image", "text", "audio", "tabular", "signal", "sensor", "review", "traffic", "medical",
         "satellite", "speech", "sales", "click", "molecule", "weather", "fraud", "churn", "xray",
         "retina", "fashion", "digit", "sentiment", "intent", "topic", "energy", "crop", "gesture"]
COMMENTS = [
    "# NOTE: keep this in sync with the config defaults",
    "# TODO: make this configurable from the command line",
    "# the loader already shuffles, so no need to permute here",
    "# move everything to the target device once",
    "# guard against empty batches at the end of an epoch",
    "# cheap sanity check, helps catch shape bugs early",
    "# values found with a small sweep on the validation split",
    "# a smaller learning rate for the pretrained layers",
    "# see the experiment log for why this is here",
    "# reproducibility: same seed for numpy, random and torch",
    "# FIXME: this is slow on large datasets",
    "# logits, not probabilities",
    "# keep the best checkpoint only",
    "# average over the batch, not the dataset",
    "# follows the reference implementation",
    "# pin_memory speeds up host-to-device copies",
]
ACTS = [("nn.ReLU()", "F.relu"), ("nn.GELU()", "F.gelu"), ("nn.LeakyReLU(0.1)", "F.leaky_relu"),
        ("nn.SiLU()", "F.silu"), ("nn.ELU()", "F.elu"), ("nn.Tanh()", "torch.tanh")]
OPTIMIZERS = [("optim.Adam", "lr={lr}"), ("optim.AdamW", "lr={lr}, weight_decay={wd}"),
              ("optim.SGD", "lr={lr}, momentum=0.9, nesterov=True"), ("optim.RMSprop", "lr={lr}, alpha=0.99"),
              ("optim.Adagrad", "lr={lr}")]


class FileCtx:
    """State of one generated module: imports used, names taken, classes and helpers defined."""

    def __init__(self, rng: random.Random, name: str):
        self.rng = rng
        self.name = name
        self.uses: set[str] = set()
        self.names: set[str] = set()
        self.models: list[dict] = []        # {"name", "kind", "ctor", "input"}
        self.datasets: list[dict] = []
        self.funcs: dict[str, list[str]] = {}  # role -> names (train_epoch, evaluate, ...)
        self.bugs: list[dict] = []
        self.has_logger = False
        self.has_main = False

    def use(self, *keys: str) -> None:
        self.uses.update(keys)

    def unique(self, base: str) -> str:
        if base not in self.names:
            self.names.add(base)
            return base
        for i in range(2, 10_000):
            cand = f"{base}_v{i}" if base[:1].islower() else f"{base}V{i}"
            if cand not in self.names:
                self.names.add(cand)
                return cand
        raise RuntimeError(base)

    def pick(self, seq):
        return self.rng.choice(seq)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def comment(self, indent: str) -> list[str]:
        return [indent + self.pick(COMMENTS)] if self.chance(0.25) else []

    def class_name(self) -> str:
        return self.unique(self.pick(DOMAINS) + self.pick(CORES) + self.pick(TAILS))

    def func_name(self, stem: str) -> str:
        return self.unique(stem.format(d=self.pick(SNAKE)))

    def lr(self) -> str:
        return self.pick(["1e-3", "3e-4", "5e-4", "1e-4", "2e-3", "0.01", "0.05"])

    def bug(self, kind: str, where: str) -> None:
        self.bugs.append({"kind": kind, "where": where})


# -- blocks ---------------------------------------------------------------------------------------
# Each block returns a list of lines (no trailing blank lines). `bug` asks for the buggy variant.

def blk_cnn(c: FileCtx, bug: bool = False) -> list[str]:
    c.use("torch", "nn")
    name = c.class_name()
    in_ch = c.pick([1, 3, 3, 3])
    classes = c.pick([2, 5, 10, 10, 100, 37])
    stages = c.rng.randint(2, 4)
    width = c.pick([16, 32, 32, 64])
    p = c.pick([0.1, 0.2, 0.25, 0.3, 0.5])
    act, _ = c.pick(ACTS[:4])
    sequential = c.chance(0.6)
    L = [f"class {name}(nn.Module):",
         f'    """{c.pick(["Small", "Compact", "Plain", "Lightweight"])} convolutional classifier for '
         f'{c.pick(["28x28", "32x32", "64x64", "96x96", "224x224"])} inputs.',
         "",
         f"    {stages} conv stages (conv -> batch norm -> activation -> pool), global average pooling,",
         '    dropout and a linear head that returns logits."""',
         "",
         f"    def __init__(self, in_channels: int = {in_ch}, num_classes: int = {classes}, dropout: float = {p}):",
         "        super().__init__()"]
    chans = [width * (2 ** i) for i in range(stages)]
    if sequential:
        L.append("        self.features = nn.Sequential(")
        prev = "in_channels"
        for i, ch in enumerate(chans):
            k = c.pick([3, 3, 5])
            L.append(f"            nn.Conv2d({prev}, {ch}, kernel_size={k}, padding={k // 2}, bias=False),")
            L.append(f"            nn.BatchNorm2d({ch}),")
            L.append(f"            {act},")
            if c.chance(0.3):
                L.append(f"            nn.Conv2d({ch}, {ch}, kernel_size=3, padding=1, bias=False),")
                L.append(f"            nn.BatchNorm2d({ch}),")
                L.append(f"            {act},")
            L.append(f"            nn.MaxPool2d({c.pick([2, 2, '(2, 2)'])}),")
            if c.chance(0.3):
                L.append(f"            nn.Dropout2d({c.pick([0.05, 0.1, 0.15])}),")
            prev = str(ch)
        L.append("        )")
    else:
        prev = "in_channels"
        for i, ch in enumerate(chans, 1):
            L.append(f"        self.conv{i} = nn.Conv2d({prev}, {ch}, kernel_size=3, padding=1)")
            L.append(f"        self.bn{i} = nn.BatchNorm2d({ch})")
            prev = str(ch)
        L.append("        self.pool = nn.MaxPool2d(2, 2)")
    L += [f"        self.gap = nn.AdaptiveAvgPool2d({c.pick(['1', '(1, 1)'])})",
          "        self.dropout = nn.Dropout(p=dropout)"]
    hidden = c.pick([None, 128, 256])
    if hidden:
        L += [f"        self.fc1 = nn.Linear({chans[-1]}, {hidden})",
              f"        self.fc2 = nn.Linear({hidden}, num_classes)"]
    else:
        L.append(f"        self.classifier = nn.Linear({chans[-1]}, num_classes)")
    L += ["", "    def forward(self, x: torch.Tensor) -> torch.Tensor:"]
    L += c.comment("        ")
    if sequential:
        L.append("        x = self.features(x)")
    else:
        c.use("F")
        for i in range(1, stages + 1):
            L.append(f"        x = self.pool(F.relu(self.bn{i}(self.conv{i}(x))))")
    L += ["        x = self.gap(x)", "        x = torch.flatten(x, 1)"]
    if hidden:
        c.use("F")
        L += ["        x = self.dropout(F.relu(self.fc1(x)))", "        logits = self.fc2(x)"]
    else:
        L += ["        x = self.dropout(x)", "        logits = self.classifier(x)"]
    if bug:
        c.use("F")
        L.append(f"        return {c.pick(['F.softmax(logits, dim=1)', 'torch.softmax(logits, dim=-1)'])}")
    else:
        L.append("        return logits")
    c.models.append({"name": name, "kind": "image", "ctor": f"{name}(in_channels={in_ch}, num_classes={classes})",
                     "softmax": bug, "shape": f"(8, {in_ch}, 32, 32)", "classes": classes})
    return L


def blk_mlp(c: FileCtx, bug: bool = False) -> list[str]:
    c.use("torch", "nn")
    name = c.class_name()
    n_in = c.pick([16, 20, 32, 54, 64, 128, 300, 784])
    classes = c.pick([2, 3, 4, 7, 10])
    hidden = [c.pick([512, 256, 256, 128, 64]) for _ in range(c.rng.randint(1, 4))]
    p = c.pick([0.1, 0.2, 0.3, 0.4, 0.5])
    act_mod, act_fn = c.pick(ACTS)
    style = c.rng.randint(0, 2)
    L = [f"class {name}(nn.Module):",
         f'    """Multi-layer perceptron over {n_in} {c.pick(["tabular", "engineered", "embedding", "summary"])} '
         f'features ({len(hidden)} hidden layer{"s" if len(hidden) > 1 else ""})."""', ""]
    if style == 0:
        c.use("Sequence")
        L += [f"    def __init__(self, in_features: int = {n_in}, hidden: Sequence[int] = {tuple(hidden)!r},",
              f"                 num_classes: int = {classes}, dropout: float = {p}, batch_norm: bool = {c.chance(0.5)}):",
              "        super().__init__()",
              "        layers = []",
              "        prev = in_features",
              "        for width in hidden:",
              "            layers.append(nn.Linear(prev, width))",
              "            if batch_norm:",
              "                layers.append(nn.BatchNorm1d(width))",
              f"            layers.append({act_mod})",
              "            layers.append(nn.Dropout(dropout))",
              "            prev = width",
              "        self.body = nn.Sequential(*layers)",
              "        self.head = nn.Linear(prev, num_classes)",
              "",
              "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
              "        features = self.body(x)",
              "        out = self.head(features)"]
    elif style == 1:
        c.use("F")
        L += [f"    def __init__(self, in_features: int = {n_in}, num_classes: int = {classes}):", "        super().__init__()"]
        prev = "in_features"
        for i, h in enumerate(hidden, 1):
            L.append(f"        self.fc{i} = nn.Linear({prev}, {h})")
            if c.chance(0.5):
                L.append(f"        self.norm{i} = nn.BatchNorm1d({h})")
            L.append(f"        self.drop{i} = nn.Dropout({c.pick([p, 0.1, 0.25])})")
            prev = str(h)
        L += [f"        self.out = nn.Linear({prev}, num_classes)", "",
              "    def forward(self, x):"]
        L += c.comment("        ")
        for i in range(1, len(hidden) + 1):
            norm = f"self.norm{i}(self.fc{i}(x))" if f"        self.norm{i} = nn.BatchNorm1d({hidden[i - 1]})" in L \
                else f"self.fc{i}(x)"
            L.append(f"        x = self.drop{i}({act_fn}({norm}))")
        L.append("        out = self.out(x)")
    else:
        L += [f"    def __init__(self, in_features: int = {n_in}, num_classes: int = {classes}, p: float = {p}):",
              "        super().__init__()",
              "        self.net = nn.Sequential("]
        prev = "in_features"
        for h in hidden:
            L += [f"            nn.Linear({prev}, {h}),", f"            {act_mod},", "            nn.Dropout(p),"]
            prev = str(h)
        L += [f"            nn.Linear({prev}, num_classes),", "        )", "",
              "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
              "        out = self.net(x.flatten(1))"]
    if bug:
        c.use("F")
        L.append(f"        return {c.pick(['F.softmax(out, dim=1)', 'out.softmax(dim=-1)', 'torch.softmax(out, dim=1)'])}")
    else:
        L.append("        return out")
    if c.chance(0.4) and not bug:
        c.use("F")
        L += ["", "    @torch.no_grad()", "    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:",
              '        """Class probabilities; use only for inference, the loss takes logits."""',
              "        self.eval()", "        return F.softmax(self(x), dim=-1)"]
    c.models.append({"name": name, "kind": "tabular", "ctor": f"{name}(in_features={n_in}, num_classes={classes})",
                     "softmax": bug, "shape": f"(16, {n_in})", "classes": classes})
    return L


def blk_rnn(c: FileCtx, bug: bool = False) -> list[str]:
    c.use("torch", "nn")
    name = c.class_name()
    cell = c.pick(["LSTM", "LSTM", "GRU"])
    vocab = c.pick([5000, 10000, 20000, 30522, 50000])
    emb = c.pick([64, 100, 128, 300])
    hid = c.pick([64, 128, 256, 512])
    layers = c.rng.randint(1, 3)
    bi = c.chance(0.6)
    classes = c.pick([2, 3, 5, 20])
    p = c.pick([0.2, 0.3, 0.5])
    L = [f"class {name}(nn.Module):",
         f'    """{"Bidirectional " if bi else ""}{cell} sequence classifier over token ids.',
         "",
         "    Input: (batch, seq_len) int64 token ids, 0 = padding. Output: (batch, num_classes) logits.",
         '    """', "",
         f"    def __init__(self, vocab_size: int = {vocab}, embed_dim: int = {emb}, hidden_size: int = {hid},",
         f"                 num_layers: int = {layers}, num_classes: int = {classes}, dropout: float = {p}):",
         "        super().__init__()",
         "        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)",
         f"        self.rnn = nn.{cell}(embed_dim, hidden_size, num_layers=num_layers, batch_first=True,",
         f"                            dropout=dropout if num_layers > 1 else 0.0, bidirectional={bi})",
         "        self.dropout = nn.Dropout(dropout)",
         f"        self.fc = nn.Linear(hidden_size * {2 if bi else 1}, num_classes)", "",
         "    def forward(self, tokens: torch.Tensor) -> torch.Tensor:",
         "        embedded = self.dropout(self.embedding(tokens))"]
    if cell == "LSTM":
        L.append("        output, (hidden, cell) = self.rnn(embedded)")
    else:
        L.append("        output, hidden = self.rnn(embedded)")
    L += c.comment("        ")
    if bi:
        L.append("        last = torch.cat([hidden[-2], hidden[-1]], dim=1)")
    else:
        L.append("        last = hidden[-1]")
    if bug:
        L += ["        logits = self.fc(self.dropout(last))", "        return torch.softmax(logits, dim=1)"]
    else:
        L.append("        return self.fc(self.dropout(last))")
    c.models.append({"name": name, "kind": "text", "ctor": f"{name}(vocab_size={vocab}, num_classes={classes})",
                     "softmax": bug, "shape": "(4, 50)", "classes": classes})
    return L


def blk_resnet(c: FileCtx, bug: bool = False) -> list[str]:
    c.use("torch", "nn", "F")
    block = c.unique(c.pick(["ResidualBlock", "BasicBlock", "ResBlock", "SkipBlock"]))
    name = c.class_name()
    classes = c.pick([10, 100, 200, 1000])
    w = c.pick([16, 32, 64])
    L = [f"class {block}(nn.Module):",
         '    """Two 3x3 convolutions with a skip connection (projection when the shape changes)."""', "",
         "    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):",
         "        super().__init__()",
         "        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)",
         "        self.bn1 = nn.BatchNorm2d(out_channels)",
         "        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)",
         "        self.bn2 = nn.BatchNorm2d(out_channels)",
         "        self.shortcut = nn.Identity()",
         "        if stride != 1 or in_channels != out_channels:",
         "            self.shortcut = nn.Sequential(",
         "                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),",
         "                nn.BatchNorm2d(out_channels),",
         "            )", "",
         "    def forward(self, x):",
         "        out = F.relu(self.bn1(self.conv1(x)))",
         "        out = self.bn2(self.conv2(out))",
         "        return F.relu(out + self.shortcut(x))", "", "",
         f"class {name}(nn.Module):",
         f'    """ResNet-style network: stem, {block} stages, pooled linear head."""', "",
         f"    def __init__(self, num_classes: int = {classes}, blocks=({c.rng.randint(1, 3)}, {c.rng.randint(1, 3)}, {c.rng.randint(1, 3)})):",
         "        super().__init__()",
         "        self.stem = nn.Sequential(",
         f"            nn.Conv2d(3, {w}, kernel_size=3, padding=1, bias=False),",
         f"            nn.BatchNorm2d({w}),",
         "            nn.ReLU(inplace=True),",
         "        )",
         "        stages = []",
         f"        channels = {w}",
         "        for i, n in enumerate(blocks):",
         "            out_channels = channels * 2 if i else channels",
         "            for j in range(n):",
         f"                stages.append({block}(channels, out_channels, stride=2 if (i and j == 0) else 1))",
         "                channels = out_channels",
         "        self.stages = nn.Sequential(*stages)",
         f"        self.dropout = nn.Dropout({c.pick([0.0, 0.1, 0.2, 0.3])})",
         "        self.fc = nn.Linear(channels, num_classes)", "",
         "    def forward(self, x):",
         "        x = self.stages(self.stem(x))",
         "        x = F.adaptive_avg_pool2d(x, 1).flatten(1)"]
    if bug:
        L.append("        return F.softmax(self.fc(self.dropout(x)), dim=1)")
    else:
        L.append("        return self.fc(self.dropout(x))")
    c.models.append({"name": name, "kind": "image", "ctor": f"{name}(num_classes={classes})", "softmax": bug,
                     "shape": "(4, 3, 32, 32)", "classes": classes})
    return L


def blk_transformer(c: FileCtx, bug: bool = False) -> list[str]:
    c.use("torch", "nn")
    name = c.class_name()
    d = c.pick([128, 256, 384, 512])
    heads = c.pick([4, 8])
    layers = c.rng.randint(2, 6)
    classes = c.pick([2, 4, 6, 20])
    L = [f"class {name}(nn.Module):",
         f'    """Transformer encoder ({layers} layers, d_model={d}) with mean pooling and a linear head."""', "",
         f"    def __init__(self, vocab_size: int = {c.pick([8000, 16000, 32000])}, d_model: int = {d}, nhead: int = {heads},",
         f"                 num_layers: int = {layers}, num_classes: int = {classes}, max_len: int = {c.pick([128, 256, 512])}):",
         "        super().__init__()",
         "        self.tok = nn.Embedding(vocab_size, d_model, padding_idx=0)",
         "        self.pos = nn.Parameter(torch.zeros(1, max_len, d_model))",
         "        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=4 * d_model,",
         f"                                           dropout={c.pick([0.1, 0.1, 0.2])}, batch_first=True)",
         "        self.encoder = nn.TransformerEncoder(layer, num_layers=num_layers)",
         "        self.norm = nn.LayerNorm(d_model)",
         f"        self.dropout = nn.Dropout({c.pick([0.1, 0.2, 0.3])})",
         "        self.head = nn.Linear(d_model, num_classes)", "",
         "    def forward(self, tokens: torch.Tensor) -> torch.Tensor:",
         "        mask = tokens.eq(0)",
         "        x = self.tok(tokens) + self.pos[:, : tokens.size(1)]",
         "        x = self.encoder(x, src_key_padding_mask=mask)"]
    L += c.comment("        ")
    L += ["        keep = (~mask).unsqueeze(-1).float()",
          "        pooled = (x * keep).sum(1) / keep.sum(1).clamp(min=1.0)",
          "        return self.head(self.dropout(self.norm(pooled)))"]
    c.models.append({"name": name, "kind": "text", "ctor": f"{name}(num_classes={classes})", "softmax": False,
                     "shape": "(4, 64)", "classes": classes})
    return L


def blk_autoencoder(c: FileCtx, bug: bool = False) -> list[str]:
    c.use("torch", "nn")
    name = c.unique(c.pick(DOMAINS) + c.pick(["Autoencoder", "AutoEncoder", "DenoisingAE"]))
    n = c.pick([64, 128, 784, 1024])
    z = c.pick([8, 16, 32, 64])
    h = c.pick([256, 512])
    return [f"class {name}(nn.Module):",
            f'    """Fully connected autoencoder {n} -> {z} -> {n}, trained with MSE on [0, 1] inputs."""', "",
            f"    def __init__(self, n_features: int = {n}, latent: int = {z}, hidden: int = {h}):",
            "        super().__init__()",
            "        self.encoder = nn.Sequential(",
            "            nn.Linear(n_features, hidden), nn.ReLU(),",
            f"            nn.Dropout({c.pick([0.0, 0.1, 0.2])}),",
            "            nn.Linear(hidden, latent),",
            "        )",
            "        self.decoder = nn.Sequential(",
            "            nn.Linear(latent, hidden), nn.ReLU(),",
            "            nn.Linear(hidden, n_features), nn.Sigmoid(),",
            "        )", "",
            "    def encode(self, x: torch.Tensor) -> torch.Tensor:",
            "        return self.encoder(x)", "",
            "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
            "        return self.decoder(self.encoder(x))"]


def blk_dataset(c: FileCtx, bug: bool = False) -> list[str]:
    c.use("torch", "Dataset")
    kind = c.rng.randint(0, 2)
    if kind == 0:
        c.use("np", "Optional", "Callable")
        name = c.unique(c.pick(DOMAINS) + c.pick(["Dataset", "ArrayDataset", "TableDataset"]))
        L = [f"class {name}(Dataset):",
             '    """Rows of a feature matrix with integer labels, optionally transformed."""', "",
             "    def __init__(self, features: np.ndarray, labels: np.ndarray, transform: Optional[Callable] = None):",
             "        if len(features) != len(labels):",
             '            raise ValueError(f"{len(features)} rows but {len(labels)} labels")',
             f"        self.features = torch.as_tensor(features, dtype=torch.{c.pick(['float32', 'float32', 'float'])})",
             "        self.labels = torch.as_tensor(labels, dtype=torch.long)",
             "        self.transform = transform", "",
             "    def __len__(self) -> int:",
             "        return len(self.labels)", "",
             "    def __getitem__(self, idx: int):",
             "        x = self.features[idx]",
             "        if self.transform is not None:",
             "            x = self.transform(x)",
             "        return x, self.labels[idx]"]
    elif kind == 1:
        c.use("Path", "np")
        name = c.unique(c.pick(DOMAINS) + c.pick(["FolderDataset", "ImageDataset", "PatchDataset"]))
        ext = c.pick([".npy", ".npz"])
        L = [f"class {name}(Dataset):",
             f'    """Samples stored as one {ext} file per example under <root>/<class_name>/."""', "",
             "    def __init__(self, root, transform=None):",
             "        self.root = Path(root)",
             "        self.classes = sorted(p.name for p in self.root.iterdir() if p.is_dir())",
             "        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}",
             "        self.samples = [",
             "            (path, self.class_to_idx[path.parent.name])",
             f'            for path in sorted(self.root.glob("*/*{ext}"))',
             "        ]",
             "        self.transform = transform", "",
             "    def __len__(self):",
             "        return len(self.samples)", "",
             "    def __getitem__(self, index):",
             "        path, target = self.samples[index]",
             "        array = np.load(path)" + ("" if ext == ".npy" else '["arr_0"]'),
             "        image = torch.from_numpy(array).float() / 255.0",
             "        if image.ndim == 2:",
             "            image = image.unsqueeze(0)",
             "        if self.transform:",
             "            image = self.transform(image)",
             "        return image, target"]
    else:
        name = c.unique(c.pick(DOMAINS) + c.pick(["TokenDataset", "TextDataset", "SequenceDataset"]))
        L = [f"class {name}(Dataset):",
             '    """Tokenised texts padded or truncated to a fixed length."""', "",
             f"    def __init__(self, texts, labels, vocab, max_len: int = {c.pick([64, 128, 256])}):",
             "        self.texts = list(texts)",
             "        self.labels = list(labels)",
             "        self.vocab = vocab",
             "        self.max_len = max_len", "",
             "    def encode(self, text: str) -> list:",
             '        ids = [self.vocab.get(tok, 1) for tok in text.lower().split()][: self.max_len]',
             "        return ids + [0] * (self.max_len - len(ids))", "",
             "    def __len__(self):",
             "        return len(self.texts)", "",
             "    def __getitem__(self, i):",
             "        tokens = torch.tensor(self.encode(self.texts[i]), dtype=torch.long)",
             "        return tokens, torch.tensor(self.labels[i])"]
    c.datasets.append({"name": name, "kind": kind})
    return L


def blk_train_epoch(c: FileCtx, bug: bool = False) -> list[str]:
    c.use("torch", "nn", "optim", "DataLoader")
    name = c.func_name(c.pick(["train_one_epoch", "train_epoch", "run_epoch", "train_{d}_epoch", "fit_epoch"]))
    c.funcs.setdefault("train_epoch", []).append(name)
    amp = c.chance(0.25) and not bug
    clip = c.chance(0.4)
    sched = c.chance(0.3)
    log = c.has_logger and c.chance(0.7)
    x, y = c.pick([("inputs", "targets"), ("images", "labels"), ("batch_x", "batch_y"), ("xb", "yb")])
    L = [f"def {name}(model: nn.Module, loader: DataLoader, optimizer: optim.Optimizer, criterion: nn.Module,",
         f"        device: torch.device{', scheduler=None' if sched else ''}{', scaler=None' if amp else ''}, "
         f"log_every: int = {c.pick([10, 20, 50, 100])}) -> float:",
         '    """Train for one epoch and return the mean training loss."""',
         "    model.train()",
         "    running_loss = 0.0",
         f"    for step, ({x}, {y}) in enumerate(loader):",
         f"        {x} = {x}.to(device, non_blocking=True)",
         f"        {y} = {y}.to(device, non_blocking=True)"]
    L += c.comment("        ")
    if not bug:
        L.append(f"        optimizer.zero_grad({c.pick(['', 'set_to_none=True'])})")
    if amp:
        L += ["        with torch.autocast(device_type=device.type, enabled=scaler is not None):",
              f"            outputs = model({x})",
              f"            loss = criterion(outputs, {y})",
              "        if scaler is not None:",
              "            scaler.scale(loss).backward()",
              "            scaler.unscale_(optimizer)"]
        if clip:
            L.append(f"            nn.utils.clip_grad_norm_(model.parameters(), max_norm={c.pick([0.5, 1.0, 5.0])})")
        L += ["            scaler.step(optimizer)", "            scaler.update()",
              "        else:", "            loss.backward()", "            optimizer.step()"]
    else:
        L += [f"        outputs = model({x})",
              f"        loss = criterion(outputs, {y})",
              "        loss.backward()"]
        if clip:
            L.append(f"        nn.utils.clip_grad_norm_(model.parameters(), {c.pick([0.5, 1.0, 2.0, 5.0])})")
        L.append("        optimizer.step()")
    if sched:
        L += ["        if scheduler is not None:", "            scheduler.step()"]
    L.append("        running_loss += loss.item()")
    if log:
        L += ["        if step % log_every == 0:",
              f'            logger.{c.pick(["info", "debug"])}("step %d/%d loss %.4f", step, len(loader), loss.item())']
    L.append("    return running_loss / max(len(loader), 1)")
    if bug:
        c.bug("missing-zero-grad", name)
    return L


def blk_evaluate(c: FileCtx, bug: bool = False) -> list[str]:
    c.use("torch", "nn", "DataLoader")
    name = c.func_name(c.pick(["evaluate", "validate", "evaluate_{d}", "run_validation", "test_model"]))
    c.funcs.setdefault("evaluate", []).append(name)
    deco = c.chance(0.5)
    x, y = c.pick([("inputs", "targets"), ("images", "labels"), ("features", "target")])
    L = []
    if deco:
        L.append("@torch.no_grad()")
    L += [f"def {name}(model: nn.Module, loader: DataLoader, criterion: nn.Module, device: torch.device):",
          '    """Mean loss and accuracy of `model` on `loader`."""',
          "    model.eval()",
          "    total_loss, correct, seen = 0.0, 0, 0"]
    ind = "    "
    if not deco:
        L.append("    with torch.no_grad():")
        ind = "        "
    L += [f"{ind}for {x}, {y} in loader:",
          f"{ind}    {x}, {y} = {x}.to(device), {y}.to(device)",
          f"{ind}    logits = model({x})",
          f"{ind}    total_loss += criterion(logits, {y}).item() * {y}.size(0)",
          f"{ind}    correct += (logits.argmax(dim=1) == {y}).sum().item()",
          f"{ind}    seen += {y}.size(0)"]
    L += c.comment("    ")
    L.append("    return total_loss / max(seen, 1), correct / max(seen, 1)")
    return L


def blk_optim_setup(c: FileCtx, bug: bool = False) -> list[str]:
    c.use("nn", "optim")
    name = c.func_name(c.pick(["build_optimizer", "make_optimizer", "configure_optimizers", "create_{d}_optimizer"]))
    c.funcs.setdefault("optim", []).append(name)
    opt, args = c.pick(OPTIMIZERS)
    args = args.format(lr="lr", wd="weight_decay")
    sched = c.rng.randint(0, 3)
    L = [f"def {name}(model: nn.Module, lr: float = {c.lr()}, weight_decay: float = {c.pick(['0.0', '1e-4', '5e-4', '0.01'])}, "
         f"epochs: int = {c.pick([10, 20, 50, 90])}):",
         '    """Optimizer with no weight decay on biases and norm layers, plus its LR scheduler."""',
         "    decay, no_decay = [], []",
         "    for param_name, param in model.named_parameters():",
         "        if not param.requires_grad:",
         "            continue",
         '        if param.ndim <= 1 or param_name.endswith(".bias"):',
         "            no_decay.append(param)",
         "        else:",
         "            decay.append(param)",
         "    groups = [",
         '        {"params": decay, "weight_decay": weight_decay},',
         '        {"params": no_decay, "weight_decay": 0.0},',
         "    ]",
         f"    optimizer = {opt}(groups, {args.replace(', weight_decay=weight_decay', '')})"]
    if sched == 0:
        L.append("    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)")
    elif sched == 1:
        L.append(f"    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=max(epochs // 3, 1), gamma={c.pick([0.1, 0.5])})")
    elif sched == 2:
        L.append(f"    scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode=\"min\", factor=0.5, patience={c.pick([2, 3, 5])})")
    else:
        c.use("math")
        L += ["    warmup = max(epochs // 10, 1)", "",
              "    def lr_lambda(epoch: int) -> float:",
              "        if epoch < warmup:",
              "            return (epoch + 1) / warmup",
              "        progress = (epoch - warmup) / max(epochs - warmup, 1)",
              "        return 0.5 * (1.0 + math.cos(math.pi * progress))", "",
              "    scheduler = optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)"]
    L.append("    return optimizer, scheduler")
    return L


def _pick_model(c: FileCtx, kinds=("image", "tabular", "text")):
    options = [m for m in c.models if m["kind"] in kinds]
    return c.pick(options) if options else None


def blk_fit(c: FileCtx, bug: str | None = None) -> list[str]:
    """A self-contained fit(): builds model, loss, optimizer, loaders; bug variants inline."""
    c.use("torch", "nn", "optim", "DataLoader")
    model = _pick_model(c)
    name = c.func_name(c.pick(["fit", "train_model", "fit_{d}_model", "train_{d}", "run_training"]))
    epochs = c.pick([5, 10, 20, 30, 50])
    opt, args = c.pick(OPTIMIZERS)
    args = args.format(lr="lr", wd=c.pick(["1e-4", "0.01", "5e-4"]))
    ctor = model["ctor"] if model else None
    L = [f"def {name}(train_set, val_set, epochs: int = {epochs}, lr: float = {c.lr()}, batch_size: int = {c.pick([32, 64, 128, 256])}):",
         f'    """Train {model["name"] if model else "a classifier"} and keep the weights with the best validation accuracy."""']
    if bug == "hardcoded-cuda":
        if c.chance(0.5):
            L.append('    device = torch.device("cuda")')
            dev_model = ".to(device)"
        else:
            L.append('    device = "cuda"')
            dev_model = ".cuda()"
        c.bug("hardcoded-cuda", name)
    else:
        L.append('    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")')
        dev_model = ".to(device)"
    if ctor:
        L.append(f"    model = {ctor}{dev_model}")
    else:
        n_in, width = c.pick([784, 3072]), c.pick([128, 256])
        L += ["    model = nn.Sequential(",
              f"        nn.Flatten(), nn.Linear({n_in}, {width}), nn.ReLU(),",
              f"        nn.Dropout({c.pick([0.2, 0.5])}), nn.Linear({width}, 10),",
              f"    ){dev_model}"]
    ls = c.pick(["", "label_smoothing=0.1", "label_smoothing=0.05"])
    L += [f"    criterion = nn.CrossEntropyLoss({ls})",
          f"    optimizer = {opt}(model.parameters(), {args})",
          f"    scheduler = optim.lr_scheduler.{c.pick(['CosineAnnealingLR(optimizer, T_max=epochs)', 'StepLR(optimizer, step_size=10, gamma=0.1)', 'ExponentialLR(optimizer, gamma=0.95)'])}",
          f"    train_loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, num_workers={c.pick([0, 2, 4])}, pin_memory=True)",
          "    val_loader = DataLoader(val_set, batch_size=batch_size * 2)",
          "    best_acc, best_state = 0.0, None"]
    L += c.comment("    ")
    x, y = c.pick([("inputs", "targets"), ("images", "labels"), ("batch", "target")])
    dev = ".cuda()" if bug == "hardcoded-cuda" and dev_model == ".cuda()" else ".to(device)"
    L += ["    for epoch in range(epochs):",
          "        model.train()",
          "        epoch_loss = 0.0",
          f"        for {x}, {y} in train_loader:",
          f"            {x}, {y} = {x}{dev}, {y}{dev}"]
    if bug != "missing-zero-grad":
        L.append("            optimizer.zero_grad()")
    else:
        c.bug("missing-zero-grad", name)
    L.append(f"            logits = model({x})")
    if bug == "double-softmax":
        probs = c.pick(["torch.softmax(logits, dim=1)", "F.softmax(logits, dim=-1)", "logits.softmax(dim=1)"])
        if probs.startswith("F."):
            c.use("F")
        L += [f"            probs = {probs}", f"            loss = criterion(probs, {y})"]
        c.bug("double-softmax", name)
    else:
        L.append(f"            loss = criterion(logits, {y})")
    L += ["            loss.backward()",
          "            optimizer.step()",
          "            epoch_loss += loss.item()",
          "        scheduler.step()"]
    evals = c.funcs.get("evaluate")
    if evals:
        L.append(f"        val_loss, val_acc = {c.pick(evals)}(model, val_loader, criterion, device)")
    else:
        L += ["        model.eval()",
              "        correct = total = 0",
              "        with torch.no_grad():",
              f"            for {x}, {y} in val_loader:",
              f"                {x}, {y} = {x}{dev}, {y}{dev}",
              f"                correct += (model({x}).argmax(1) == {y}).sum().item()",
              f"                total += {y}.numel()",
              "        val_acc = correct / max(total, 1)"]
    if c.has_logger:
        L.append('        logger.info("epoch %d: train loss %.4f, val acc %.3f", epoch, epoch_loss / len(train_loader), val_acc)')
    else:
        L.append('        print(f"epoch {epoch}: train loss {epoch_loss / len(train_loader):.4f}, val acc {val_acc:.3f}")')
    L += ["        if val_acc > best_acc:",
          "            best_acc = val_acc",
          "            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}",
          "    if best_state is not None:",
          "        model.load_state_dict(best_state)",
          "    return model, best_acc"]
    return L


def blk_fit_softmax_model(c: FileCtx, bug: bool = True) -> list[str]:
    """A model class whose forward ends in softmax, trained with CrossEntropyLoss (double softmax)."""
    builder = c.pick([blk_mlp, blk_cnn, blk_rnn, blk_resnet])
    L = builder(c, bug=True)
    model = c.models[-1]
    name = c.func_name(c.pick(["train_{d}_classifier", "quick_train", "fit_{d}", "train_baseline"]))
    opt, args = c.pick(OPTIMIZERS)
    args = args.format(lr=c.lr(), wd="1e-4")
    c.use("torch", "nn", "optim")
    L += ["", "", f"def {name}(loader, epochs: int = {c.pick([3, 5, 10])}, device: str = \"cpu\"):",
          f'    """Baseline training loop for {model["name"]}."""',
          f"    model = {model['ctor']}.to(device)",
          "    criterion = nn.CrossEntropyLoss()",
          f"    optimizer = {opt}(model.parameters(), {args})",
          "    for epoch in range(epochs):",
          "        for inputs, labels in loader:",
          "            inputs, labels = inputs.to(device), labels.to(device)",
          "            optimizer.zero_grad()",
          "            outputs = model(inputs)",
          "            loss = criterion(outputs, labels)",
          "            loss.backward()",
          "            optimizer.step()",
          "    return model"]
    c.bug("double-softmax", f"{model['name']}.forward + {name}")
    return L


def blk_sklearn(c: FileCtx, bug: bool = False) -> list[str]:
    c.use("np", "train_test_split")
    name = c.func_name(c.pick(["{d}_baseline", "run_{d}_baseline", "sklearn_{d}_experiment", "tabular_benchmark"]))
    scaler = c.pick(["StandardScaler", "StandardScaler", "MinMaxScaler", "RobustScaler"])
    clf_name, clf = c.pick([("LogisticRegression", f"LogisticRegression(max_iter={c.pick([200, 500, 1000])}, C={c.pick([0.1, 1.0, 10.0])})"),
                            ("RandomForestClassifier", f"RandomForestClassifier(n_estimators={c.pick([100, 200, 500])}, max_depth={c.pick([None, 8, 16])}, n_jobs=-1)"),
                            ("GradientBoostingClassifier", f"GradientBoostingClassifier(learning_rate={c.pick([0.05, 0.1])}, n_estimators={c.pick([100, 300])})"),
                            ("SVC", f"SVC(C={c.pick([0.5, 1.0, 4.0])}, kernel=\"rbf\", probability=True)")])
    cv_name = c.pick(["StratifiedKFold", "KFold"])
    metric_fn = c.pick(["accuracy_score", "f1_score"])
    c.use(scaler, clf_name, cv_name, "cross_val_score", "make_pipeline", metric_fn)
    n_feat = c.pick([8, 12, 20, 30, 50])
    L = [f"def {name}(n_samples: int = {c.pick([500, 1000, 2000, 5000])}, seed: int = {c.pick([0, 1, 7, 42, 1234])}) -> dict:",
         f'    """Classical baseline: {scaler} + {clf_name}, held-out score and {cv_name} CV."""',
         "    rng = np.random.default_rng(seed)",
         f"    X = rng.normal(size=(n_samples, {n_feat}))",
         f"    y = (X[:, 0] + {c.pick([0.5, 0.3, 1.5])} * X[:, 1] - X[:, 2] > 0).astype(int)"]
    L += c.comment("    ")
    if bug:
        L += [f"    scaler = {scaler}()",
              "    X = scaler.fit_transform(X)",
              "    X_train, X_test, y_train, y_test = train_test_split(",
              f"        X, y, test_size={c.pick([0.2, 0.25, 0.3])}, random_state=seed, stratify=y)"]
        c.bug("scaler-leak", name)
    else:
        L += ["    X_train, X_test, y_train, y_test = train_test_split(",
              f"        X, y, test_size={c.pick([0.2, 0.25, 0.3])}, random_state=seed, stratify=y)",
              f"    scaler = {scaler}()",
              "    X_train = scaler.fit_transform(X_train)",
              "    X_test = scaler.transform(X_test)"]
    f1 = ', average="macro"' if metric_fn == "f1_score" else ""
    L += [f"    clf = {clf}",
          "    clf.fit(X_train, y_train)",
          f"    held_out = {metric_fn}(y_test, clf.predict(X_test){f1})",
          "    # cross-validation refits the scaler inside each fold via the pipeline",
          f"    cv = {cv_name}(n_splits={c.pick([3, 5, 10])}, shuffle=True, random_state=seed)",
          f"    pipe = make_pipeline({scaler}(), {clf})",
          f"    scores = cross_val_score(pipe, X, y, cv=cv, scoring=\"{'accuracy' if metric_fn == 'accuracy_score' else 'f1_macro'}\")",
          '    return {"held_out": held_out, "cv_mean": float(scores.mean()), "cv_std": float(scores.std())}']
    if c.chance(0.3):
        c.use("GridSearchCV")
        g = c.func_name("tune_{d}_model")
        L += ["", "", f"def {g}(X_train, y_train, seed: int = 0):",
              '    """Grid search over regularisation strength on the training split only."""',
              f"    pipe = make_pipeline({scaler}(), LogisticRegression(max_iter=1000))",
              '    grid = {"logisticregression__C": [0.01, 0.1, 1.0, 10.0]}',
              f"    search = GridSearchCV(pipe, grid, cv={cv_name}(n_splits=5, shuffle=True, random_state=seed), n_jobs=-1)",
              "    search.fit(X_train, y_train)",
              "    return search.best_estimator_, search.best_params_"]
        c.use("LogisticRegression")
    return L


def blk_keras(c: FileCtx, bug: bool = False) -> list[str]:
    c.use("keras", "layers")
    build = c.func_name(c.pick(["build_{d}_model", "make_keras_model", "build_dense_{d}", "keras_{d}_classifier"]))
    fit = c.func_name(c.pick(["train_keras_{d}", "fit_keras_model", "keras_{d}_training"]))
    classes = c.pick([3, 5, 10, 26])
    units = [c.pick([512, 256, 128, 64]) for _ in range(c.rng.randint(1, 3))]
    L = [f"def {build}(input_dim: int, num_classes: int = {classes}) -> keras.Model:",
         f'    """Keras MLP: {" -> ".join(map(str, units))} with dropout{" and batch norm" if c.chance(0.5) else ""}."""',
         "    model = keras.Sequential([",
         "        keras.Input(shape=(input_dim,)),"]
    for u in units:
        L.append(f'        layers.Dense({u}, activation="{c.pick(["relu", "relu", "elu", "gelu"])}"),')
        if c.chance(0.4):
            L.append("        layers.BatchNormalization(),")
        L.append(f"        layers.Dropout({c.pick([0.2, 0.3, 0.5])}),")
    L.append('        layers.Dense(num_classes, activation="softmax"),')
    L.append("    ])")
    if bug:
        L += ["    model.compile(",
              f"        optimizer=keras.optimizers.Adam(learning_rate={c.lr()}),",
              "        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),",
              '        metrics=["accuracy"],', "    )"]
        c.bug("double-softmax", build + " (keras from_logits=True)")
    else:
        loss = c.pick(['"sparse_categorical_crossentropy"', "keras.losses.SparseCategoricalCrossentropy()"])
        opt = c.pick(['"adam"', f"keras.optimizers.Adam(learning_rate={c.lr()})", f"keras.optimizers.SGD(learning_rate={c.lr()}, momentum=0.9)"])
        L += [f"    model.compile(optimizer={opt}, loss={loss}, metrics=[\"accuracy\"])"]
    L.append("    return model")
    L += ["", "", f"def {fit}(x_train, y_train, x_val, y_val, epochs: int = {c.pick([10, 20, 50])}):",
          '    """Fit with early stopping on the validation loss; returns the model and its history."""',
          f"    model = {build}(x_train.shape[1])",
          "    callbacks = [",
          f"        keras.callbacks.EarlyStopping(monitor=\"val_loss\", patience={c.pick([3, 5, 10])}, restore_best_weights=True),",
          f"        keras.callbacks.ReduceLROnPlateau(factor=0.5, patience={c.pick([2, 3])}),",
          "    ]",
          "    history = model.fit(",
          "        x_train, y_train,",
          "        validation_data=(x_val, y_val),",
          f"        epochs=epochs, batch_size={c.pick([32, 64, 128, 256])}, callbacks=callbacks, verbose=2,",
          "    )",
          "    loss, acc = model.evaluate(x_val, y_val, verbose=0)"]
    if c.has_logger:
        L.append('    logger.info("keras model: val loss %.4f, val acc %.3f", loss, acc)')
    L.append("    return model, history")
    return L


def blk_logging(c: FileCtx, bug: bool = False) -> list[str]:
    c.use("logging")
    name = c.func_name(c.pick(["setup_logging", "configure_logging", "init_logging"]))
    c.funcs.setdefault("logging", []).append(name)
    return [f"def {name}(verbose: bool = False, log_file=None) -> None:",
            '    """Log to stderr, and to `log_file` too when given."""',
            "    handlers = [logging.StreamHandler()]",
            "    if log_file is not None:",
            "        handlers.append(logging.FileHandler(log_file))",
            "    logging.basicConfig(",
            "        level=logging.DEBUG if verbose else logging.INFO,",
            f'        format="{c.pick(["%(asctime)s %(levelname)s %(name)s: %(message)s", "[%(levelname)s] %(message)s", "%(asctime)s | %(message)s"])}",',
            "        handlers=handlers,",
            "    )"]


def blk_seed(c: FileCtx, bug: bool = False) -> list[str]:
    c.use("random", "np", "torch", "os")
    name = c.func_name(c.pick(["set_seed", "seed_everything", "fix_seeds"]))
    c.funcs.setdefault("seed", []).append(name)
    return [f"def {name}(seed: int = {c.pick([0, 42, 1234, 2024])}, deterministic: bool = {c.chance(0.5)}) -> None:",
            '    """Seed python, numpy and torch (all devices)."""',
            "    random.seed(seed)",
            "    np.random.seed(seed)",
            "    torch.manual_seed(seed)",
            '    os.environ["PYTHONHASHSEED"] = str(seed)',
            "    if deterministic:",
            "        torch.backends.cudnn.deterministic = True",
            "        torch.backends.cudnn.benchmark = False"]


def blk_meter(c: FileCtx, bug: bool = False) -> list[str]:
    name = c.unique(c.pick(["AverageMeter", "RunningAverage", "MetricTracker", "Meter"]))
    return [f"class {name}:",
            '    """Keeps a running sum and count; `avg` is the mean so far."""', "",
            f"    def __init__(self, name: str = \"{c.pick(['loss', 'acc', 'metric'])}\"):",
            "        self.name = name",
            "        self.reset()", "",
            "    def reset(self) -> None:",
            "        self.sum = 0.0",
            "        self.count = 0",
            "        self.val = 0.0", "",
            "    def update(self, value: float, n: int = 1) -> None:",
            "        self.val = value",
            "        self.sum += value * n",
            "        self.count += n", "",
            "    @property",
            "    def avg(self) -> float:",
            "        return self.sum / self.count if self.count else 0.0", "",
            "    def __repr__(self) -> str:",
            '        return f"{self.name}: {self.val:.4f} (avg {self.avg:.4f})"']


def blk_early_stop(c: FileCtx, bug: bool = False) -> list[str]:
    name = c.unique(c.pick(["EarlyStopping", "EarlyStopper", "PatienceStopper"]))
    return [f"class {name}:",
            '    """Stop when the monitored value has not improved for `patience` epochs."""', "",
            f"    def __init__(self, patience: int = {c.pick([3, 5, 7, 10])}, min_delta: float = {c.pick(['0.0', '1e-4', '1e-3'])}, mode: str = \"{c.pick(['min', 'max'])}\"):",
            "        self.patience = patience",
            "        self.min_delta = min_delta",
            "        self.mode = mode",
            "        self.best = None",
            "        self.bad_epochs = 0", "",
            "    def step(self, value: float) -> bool:",
            '        """Record `value`; True means stop."""',
            "        if self.best is None:",
            "            self.best = value",
            "            return False",
            '        improved = value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta',
            "        if improved:",
            "            self.best = value",
            "            self.bad_epochs = 0",
            "        else:",
            "            self.bad_epochs += 1",
            "        return self.bad_epochs >= self.patience"]


def blk_checkpoint(c: FileCtx, bug: bool = False) -> list[str]:
    c.use("torch", "Path", "nn", "optim")
    save = c.func_name(c.pick(["save_checkpoint", "save_state", "checkpoint_{d}"]))
    load = c.func_name(c.pick(["load_checkpoint", "restore_state", "resume_{d}"]))
    return [f"def {save}(model: nn.Module, optimizer: optim.Optimizer, epoch: int, path, **extra) -> None:",
            '    """Save model and optimizer state (creating parent folders)."""',
            "    path = Path(path)",
            "    path.parent.mkdir(parents=True, exist_ok=True)",
            '    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}',
            "    state.update(extra)",
            "    torch.save(state, path)", "", "",
            f"def {load}(model: nn.Module, path, optimizer=None, map_location=\"cpu\") -> int:",
            '    """Restore weights (and optimizer state); returns the epoch to resume from."""',
            "    state = torch.load(path, map_location=map_location)",
            '    model.load_state_dict(state["model"])',
            '    if optimizer is not None and "optimizer" in state:',
            '        optimizer.load_state_dict(state["optimizer"])',
            '    return int(state.get("epoch", 0)) + 1']


def blk_small_utils(c: FileCtx, bug: bool = False) -> list[str]:
    c.use("nn", "torch")
    count = c.func_name(c.pick(["count_parameters", "num_params", "parameter_count"]))
    acc = c.func_name(c.pick(["accuracy", "topk_accuracy", "batch_accuracy"]))
    L = [f"def {count}(model: nn.Module, trainable_only: bool = True) -> int:",
         "    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)", "", "",
         f"def {acc}(logits: torch.Tensor, targets: torch.Tensor, topk=(1,{' 5' if c.chance(0.5) else ''})) -> list:",
         '    """Top-k accuracy for each k in `topk`, as fractions."""',
         "    maxk = max(topk)",
         "    _, pred = logits.topk(maxk, dim=1)",
         "    hits = pred.eq(targets.unsqueeze(1))",
         "    return [hits[:, :k].any(dim=1).float().mean().item() for k in topk]"]
    if c.chance(0.5):
        to_dev = c.func_name("move_to_device")
        L += ["", "", f"def {to_dev}(batch, device):",
              '    """Move tensors in nested lists/tuples/dicts to `device`."""',
              "    if isinstance(batch, torch.Tensor):",
              "        return batch.to(device)",
              "    if isinstance(batch, dict):",
              f"        return {{k: {to_dev}(v, device) for k, v in batch.items()}}",
              "    if isinstance(batch, (list, tuple)):",
              f"        return type(batch)({to_dev}(v, device) for v in batch)",
              "    return batch"]
    return L


def blk_config(c: FileCtx, bug: bool = False) -> list[str]:
    c.use("dataclass", "field", "asdict", "json", "Path")
    name = c.unique(c.pick(DOMAINS) + c.pick(["Config", "TrainConfig", "Settings", "Hparams"]))
    fields = [("epochs", "int", c.pick([10, 20, 30, 90])), ("batch_size", "int", c.pick([32, 64, 128])),
              ("lr", "float", c.lr()), ("weight_decay", "float", c.pick(["0.0", "1e-4", "0.05"])),
              ("dropout", "float", c.pick([0.1, 0.2, 0.3, 0.5])), ("seed", "int", c.pick([0, 42])),
              ("num_workers", "int", c.pick([0, 2, 4, 8])), ("data_dir", "str", c.pick(['"data"', '"/data/train"', '"./datasets"'])),
              ("output_dir", "str", c.pick(['"runs"', '"checkpoints"', '"outputs"']))]
    c.rng.shuffle(fields)
    fields = fields[: c.rng.randint(5, len(fields))]
    L = ["@dataclass", f"class {name}:", f'    """Hyper-parameters of one {c.pick(SNAKE)} run."""', ""]
    L += [f"    {n}: {t} = {v}" for n, t, v in fields]
    L += ['    tags: list = field(default_factory=list)', "",
          "    def save(self, path) -> None:",
          "        Path(path).write_text(json.dumps(asdict(self), indent=2))", "",
          "    @classmethod",
          f"    def load(cls, path) -> \"{name}\":",
          "        return cls(**json.loads(Path(path).read_text()))"]
    return L


def blk_timer(c: FileCtx, bug: bool = False) -> list[str]:
    c.use("contextmanager", "time", "Iterator")
    name = c.func_name(c.pick(["timer", "timed", "stopwatch"]))
    out = "logger.info" if c.has_logger else "print"
    return ["@contextmanager", f"def {name}(label: str) -> Iterator[None]:",
            '    """Log how long the body of the `with` block took."""',
            "    start = time.perf_counter()",
            "    try:", "        yield", "    finally:",
            f'        {out}("%s took %.2fs" % (label, time.perf_counter() - start))']


def blk_cuda_helper(c: FileCtx, bug: bool = False) -> list[str]:
    """Model/tensor placement helpers; the buggy one calls .cuda() unconditionally."""
    c.use("torch", "nn")
    name = c.func_name(c.pick(["prepare_model", "to_gpu", "place_model", "setup_{d}_model"]))
    if bug:
        c.bug("hardcoded-cuda", name)
        return [f"def {name}(model: nn.Module, half: bool = False) -> nn.Module:",
                '    """Move the model to the GPU for training."""',
                "    model = model.cuda()",
                "    if half:",
                "        model = model.half()",
                "    return model"]
    return [f"def {name}(model: nn.Module, device=None, half: bool = False) -> nn.Module:",
            '    """Move the model to `device` (default: the first GPU when there is one)."""',
            "    if device is None:",
            '        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")',
            "    model = model.to(device)",
            '    if half and device.type == "cuda":',
            "        model = model.half()",
            "    return model"]


def blk_loss_helper(c: FileCtx, bug: bool = False) -> list[str]:
    c.use("torch", "nn", "F")
    name = c.unique(c.pick(["FocalLoss", "LabelSmoothingLoss", "WeightedCrossEntropy"]))
    g = c.pick([1.0, 2.0, 3.0])
    return [f"class {name}(nn.Module):",
            f'    """Focal loss (gamma={g}) on logits; reduces the weight of easy examples."""', "",
            f"    def __init__(self, gamma: float = {g}, weight=None):",
            "        super().__init__()",
            "        self.gamma = gamma",
            "        self.weight = weight", "",
            "    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:",
            "        log_probs = F.log_softmax(logits, dim=-1)",
            "        ce = F.nll_loss(log_probs, targets, weight=self.weight, reduction=\"none\")",
            "        pt = log_probs.gather(1, targets.unsqueeze(1)).squeeze(1).exp()",
            "        return ((1.0 - pt) ** self.gamma * ce).mean()"]


def blk_predict(c: FileCtx, bug: bool = False) -> list[str]:
    c.use("torch", "nn", "F")
    name = c.func_name(c.pick(["predict", "predict_{d}", "infer", "run_inference"]))
    return [f"def {name}(model: nn.Module, inputs: torch.Tensor, device: torch.device, batch_size: int = {c.pick([64, 256, 1024])}):",
            '    """Class probabilities for `inputs`, computed in batches without gradients."""',
            "    model.eval()",
            "    chunks = []",
            "    with torch.no_grad():",
            "        for start in range(0, len(inputs), batch_size):",
            "            batch = inputs[start:start + batch_size].to(device)",
            "            chunks.append(F.softmax(model(batch), dim=1).cpu())",
            "    return torch.cat(chunks)"]


def blk_split(c: FileCtx, bug: bool = False) -> list[str]:
    c.use("torch", "random_split", "DataLoader")
    name = c.func_name(c.pick(["make_loaders", "build_dataloaders", "split_{d}_dataset"]))
    return [f"def {name}(dataset, val_fraction: float = {c.pick([0.1, 0.15, 0.2])}, batch_size: int = {c.pick([32, 64, 128])}, seed: int = 0):",
            '    """Random train/val split and the two loaders (validation is not shuffled)."""',
            "    n_val = int(len(dataset) * val_fraction)",
            "    generator = torch.Generator().manual_seed(seed)",
            "    train_set, val_set = random_split(dataset, [len(dataset) - n_val, n_val], generator=generator)",
            f"    train_loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, num_workers={c.pick([0, 2, 4])}, drop_last=True)",
            "    val_loader = DataLoader(val_set, batch_size=batch_size, shuffle=False)",
            "    return train_loader, val_loader"]


def blk_argparse_main(c: FileCtx, bug: bool = False) -> list[str]:
    c.use("argparse", "torch", "sys")
    c.has_main = True
    L = ["def parse_args(argv=None) -> argparse.Namespace:",
         f'    parser = argparse.ArgumentParser(description="{c.pick(["Train a classifier.", "Run an experiment.", "Training entry point."])}")',
         f'    parser.add_argument("--data-dir", default="{c.pick(["data", "./data", "/datasets/train"])}", help="root folder of the dataset")',
         f'    parser.add_argument("--epochs", type=int, default={c.pick([10, 20, 50])})',
         f'    parser.add_argument("--batch-size", type=int, default={c.pick([32, 64, 128])})',
         f'    parser.add_argument("--lr", type=float, default={c.lr()})',
         f'    parser.add_argument("--seed", type=int, default={c.pick([0, 42])})',
         '    parser.add_argument("--cpu", action="store_true", help="never use the GPU")',
         '    parser.add_argument("--verbose", "-v", action="store_true")']
    if c.chance(0.5):
        L.append(f'    parser.add_argument("--optimizer", choices=("adam", "adamw", "sgd"), default="{c.pick(["adam", "adamw", "sgd"])}")')
    L += ["    return parser.parse_args(argv)", "", "",
          "def main(argv=None) -> int:",
          "    args = parse_args(argv)"]
    if c.funcs.get("logging"):
        L.append(f"    {c.funcs['logging'][0]}(args.verbose)")
    if c.funcs.get("seed"):
        L.append(f"    {c.funcs['seed'][0]}(args.seed)")
    L.append('    device = torch.device("cpu" if args.cpu or not torch.cuda.is_available() else "cuda")')
    if c.has_logger:
        L.append('    logger.info("device: %s", device)')
    model = _pick_model(c)
    if model is not None:
        c.use("nn")
        L += [f"    model = {model['ctor']}.to(device)",
              f"    print(f\"{model['name']}: {{sum(p.numel() for p in model.parameters()):,}} parameters\")"]
        if c.funcs.get("optim"):
            L.append(f"    optimizer, scheduler = {c.funcs['optim'][0]}(model, lr=args.lr, epochs=args.epochs)")
        L += [f"    dummy = torch.randn{model['shape']}" if model["kind"] != "text" else
              f"    dummy = torch.randint(1, 1000, {model['shape']})",
              "    model.eval()",
              "    with torch.no_grad():",
              "        print(model(dummy.to(device)).shape)"]
    L += ["    return 0", "", "", 'if __name__ == "__main__":', "    sys.exit(main())"]
    return L


def blk_section(c: FileCtx, title: str) -> list[str]:
    style = c.rng.randint(0, 2)
    if style == 0:
        return [f"# {'-' * 30} {title} {'-' * 30}"]
    if style == 1:
        return ["#" * 78, f"# {title}", "#" * 78]
    return [f"# === {title} ==="]


# weights for the body of a module; (function, can carry a bug kind)
BODY = [
    (blk_cnn, 6), (blk_mlp, 6), (blk_rnn, 4), (blk_resnet, 2), (blk_transformer, 2), (blk_autoencoder, 1),
    (blk_dataset, 5), (blk_train_epoch, 6), (blk_evaluate, 5), (blk_fit, 6), (blk_optim_setup, 3),
    (blk_sklearn, 4), (blk_keras, 3), (blk_meter, 1), (blk_early_stop, 1), (blk_checkpoint, 2),
    (blk_small_utils, 2), (blk_config, 2), (blk_timer, 1), (blk_cuda_helper, 2), (blk_loss_helper, 1),
    (blk_predict, 2), (blk_split, 2),
]
SECTION = {blk_cnn: "Models", blk_mlp: "Models", blk_rnn: "Models", blk_resnet: "Models",
           blk_transformer: "Models", blk_autoencoder: "Models", blk_dataset: "Data", blk_split: "Data",
           blk_train_epoch: "Training", blk_evaluate: "Evaluation", blk_fit: "Training",
           blk_optim_setup: "Optimisation", blk_sklearn: "Classical baselines", blk_keras: "Keras models",
           blk_meter: "Utilities", blk_early_stop: "Utilities", blk_checkpoint: "Checkpoints",
           blk_small_utils: "Utilities", blk_config: "Configuration", blk_timer: "Utilities",
           blk_cuda_helper: "Devices", blk_loss_helper: "Losses", blk_predict: "Inference"}
BUG_KINDS = ["double-softmax", "missing-zero-grad", "hardcoded-cuda", "scaler-leak"]


def _buggy_block(c: FileCtx, kind: str) -> list[str]:
    if kind == "double-softmax":
        r = c.rng.random()
        if r < 0.45:
            return blk_fit_softmax_model(c)
        if r < 0.8:
            return blk_fit(c, bug="double-softmax")
        return blk_keras(c, bug=True)
    if kind == "missing-zero-grad":
        return blk_train_epoch(c, bug=True) if c.chance(0.5) else blk_fit(c, bug="missing-zero-grad")
    if kind == "hardcoded-cuda":
        return blk_cuda_helper(c, bug=True) if c.chance(0.5) else blk_fit(c, bug="hardcoded-cuda")
    return blk_sklearn(c, bug=True)


def render_imports(c: FileCtx) -> list[str]:
    plain: dict[str, str] = {}
    froms: dict[str, set[str]] = {}
    for key in c.uses:
        spec = IMPORTS[key]
        if spec[0] == "import":
            plain[spec[1]] = spec[1].split()[0]
        else:
            froms.setdefault(spec[1], set()).add(spec[2])
    groups: list[list[str]] = [[], []]
    mods = sorted(set(plain.values()) | set(froms))
    for kind in (0, 1):
        for mod in mods:
            top = mod.split(".")[0]
            if (top in STDLIB) != (kind == 0):
                continue
            for full, m in sorted(plain.items()):
                if m == mod:
                    groups[kind].append(f"import {full}")
        for mod in mods:
            top = mod.split(".")[0]
            if (top in STDLIB) != (kind == 0):
                continue
            if mod in froms:
                names = ", ".join(sorted(froms[mod]))
                line = f"from {mod} import {names}"
                if len(line) > 100:
                    line = f"from {mod} import (\n    " + ",\n    ".join(sorted(froms[mod])) + ",\n)"
                groups[kind].append(line)
    out: list[str] = []
    for g in groups:
        if g:
            out += g + [""]
    return out[:-1] if out else out


def make_module(rng: random.Random, name: str, target: int, *, role: str = "mixed",
                with_main: bool | None = None, header: str | None = None) -> tuple[str, FileCtx]:
    """One module of about `target` lines."""
    c = FileCtx(rng, name)
    c.has_logger = rng.random() < 0.75
    body: list[list[str]] = []
    lines = 0
    last_section = None
    if with_main is None:
        with_main = rng.random() < 0.5
    main_reserve = 32 if with_main else 0
    lines = 26  # docstring, imports, logger
    if rng.random() < 0.6:
        body.append(blk_config(c) if rng.random() < 0.5 else blk_logging(c))
    if rng.random() < 0.6:
        body.append(blk_seed(c))
    weights = BODY
    if role == "models":
        weights = [(f, w * (4 if SECTION[f] == "Models" else 1)) for f, w in BODY if SECTION[f] in ("Models", "Losses", "Utilities")]
    elif role == "train":
        weights = [(f, w) for f, w in BODY if SECTION[f] not in ("Models",)] + [(blk_mlp, 1), (blk_cnn, 1)]
    elif role == "data":
        weights = [(f, w * (3 if SECTION[f] == "Data" else 1)) for f, w in BODY if SECTION[f] in ("Data", "Utilities", "Classical baselines", "Configuration")]
    funcs = [f for f, _ in weights]
    ws = [w for _, w in weights]
    bug_cycle = BUG_KINDS[:]
    rng.shuffle(bug_cycle)
    while lines < target - main_reserve - 12:
        expected = (lines + 30) / BUG_EVERY
        if len(c.bugs) + 0.5 < expected and rng.random() < 0.5:
            kind = bug_cycle[len(c.bugs) % len(bug_cycle)]
            if role == "models" and kind != "double-softmax":
                kind = "double-softmax"
            block = _buggy_block(c, kind)
            f = None
        else:
            f = rng.choices(funcs, ws)[0]
            block = f(c)
        sec = SECTION.get(f, "Training") if f is not None else "Training"
        if sec != last_section and rng.random() < 0.5:
            body.append(blk_section(c, sec))
            lines += len(body[-1]) + 2
            last_section = sec
        body.append(block)
        lines += len(block) + 2
    if with_main:
        body.append(blk_argparse_main(c))
    doc = header or (f'"""{name}: {rng.choice(["training and evaluation code", "models, data and training loops", "experiment code", "utilities and baselines"])}.\n\n'
                     f"{rng.choice(['Run as a script for a quick smoke test', 'Shared by the experiment scripts', 'Most of this started as a notebook'])}.\n\"\"\"")
    if c.has_logger:
        c.use("logging")
    out = doc.split("\n") + [""] + render_imports(c)
    if c.has_logger:
        out += ["", "logger = logging.getLogger(__name__)"]
    out += ["", ""]
    for i, b in enumerate(body):
        out += b
        if i != len(body) - 1:
            out += ["", ""]
    text = "\n".join(out) + "\n"
    return text, c


# -- tree -------------------------------------------------------------------------------------------
PACKAGES = [
    "mlzoo/vision/classification", "mlzoo/vision/detection", "mlzoo/vision/segmentation",
    "mlzoo/vision/augment", "mlzoo/nlp/classification", "mlzoo/nlp/tagging", "mlzoo/nlp/embeddings",
    "mlzoo/tabular/churn", "mlzoo/tabular/fraud", "mlzoo/tabular/forecasting", "mlzoo/audio/keyword",
    "mlzoo/audio/speaker", "mlzoo/common", "mlzoo/common/metrics", "mlzoo/experiments/ablation",
    "mlzoo/experiments/sweeps", "mlzoo/experiments/baselines", "mlzoo/keras_models", "mlzoo/legacy",
    "mlzoo/serving",
]
MODULE_STEMS = ["data", "datasets", "losses", "metrics", "utils", "layers", "blocks", "heads", "evaluate",
                "pipeline", "baseline", "search", "callbacks", "schedules", "features", "augment", "export",
                "infer", "preprocess", "trainer", "experiment", "config", "analysis", "sampler", "ensembles"]


def _pair(rng: random.Random, pkg: str) -> tuple[str, str, FileCtx, FileCtx]:
    """models.py + train.py of one package; train.py imports its models (some via a softmax bug)."""
    target = rng.randint(120, 380)
    mtext, mc = make_module(rng, f"{pkg}/models.py", target, role="models", with_main=False)
    tc = FileCtx(rng, f"{pkg}/train.py")
    tc.has_logger = True
    tc.use("torch", "nn", "optim", "DataLoader", "logging", "argparse", "sys")
    train_target = rng.randint(130, 380)
    body: list[list[str]] = []
    lines = 20
    # the cross-file fit: uses a model class from models.py
    for m in mc.models:
        tc.models.append(dict(m))
    blocks = [blk_evaluate, blk_train_epoch, blk_optim_setup, blk_checkpoint, blk_meter, blk_early_stop,
              blk_split, blk_predict, blk_small_utils]
    body.append(blk_logging(tc))
    body.append(blk_seed(tc))
    while lines < train_target - 75:
        if rng.random() < 0.35 and tc.models:
            expected = (lines + 30) / BUG_EVERY
            kind = None
            if len(tc.bugs) + 0.5 < expected:
                kind = rng.choice(["missing-zero-grad", "hardcoded-cuda", "double-softmax"])
            b = blk_fit(tc, bug=kind)
        else:
            b = rng.choice(blocks)(tc)
        body.append(b)
        lines += len(b) + 2
    body.append(blk_argparse_main(tc))
    used_models = sorted({m["name"] for m in mc.models if any(m["name"] in ln for b in body for ln in b)})
    out = [f'"""Training script for the models of {pkg.replace("/", ".")}."""', ""]
    out += render_imports(tc)
    if used_models:
        out += ["", f"from .models import {', '.join(used_models)}"]
    out += ["", "logger = logging.getLogger(__name__)", "", ""]
    for i, b in enumerate(body):
        out += b + (["", ""] if i != len(body) - 1 else [])
    # a model from models.py whose forward ends in softmax, trained here with CrossEntropyLoss
    for m in mc.models:
        if m["softmax"] and m["name"] in used_models:
            tc.bug("double-softmax", f"cross-file: {m['name']} (models.py) + CrossEntropyLoss (train.py)")
    return mtext, "\n".join(out) + "\n", mc, tc


def make_tree(rng: random.Random, root: Path) -> list[dict]:
    files: list[dict] = []
    modules = 0
    pkg_dirs = set()
    for pkg in PACKAGES:
        parts = pkg.split("/")
        for i in range(1, len(parts) + 1):
            pkg_dirs.add("/".join(parts[:i]))
    plan: list[tuple[str, str]] = []  # (package, kind)
    pair_pkgs = [p for p in PACKAGES if rng.random() < 0.55]
    for pkg in PACKAGES:
        if pkg in pair_pkgs:
            plan.append((pkg, "pair"))
    while len(plan) + sum(1 for _, k in plan if k == "pair") < TREE_MODULES:
        plan.append((rng.choice(PACKAGES), "single"))
    used: set[str] = set()
    for pkg, kind in plan:
        d = root / pkg
        d.mkdir(parents=True, exist_ok=True)
        if kind == "pair":
            mtext, ttext, mc, tc = _pair(rng, pkg)
            for fname, text, c in (("models.py", mtext, mc), ("train.py", ttext, tc)):
                (d / fname).write_text(text)
                files.append({"path": f"{pkg}/{fname}", "lines": text.count("\n"), "bugs": c.bugs})
                used.add(f"{pkg}/{fname}")
            modules += 2
        else:
            for _ in range(100):
                stem = rng.choice(MODULE_STEMS)
                rel = f"{pkg}/{stem}.py"
                if rel not in used:
                    break
                rel = f"{pkg}/{stem}_{rng.randint(2, 99)}.py"
                if rel not in used:
                    break
            used.add(rel)
            role = "data" if stem in ("data", "datasets", "preprocess", "features", "sampler") else "mixed"
            text, c = make_module(rng, rel, rng.randint(110, 370), role=role)
            (root / rel).write_text(text)
            files.append({"path": rel, "lines": text.count("\n"), "bugs": c.bugs})
            modules += 1
    for pkg in sorted(pkg_dirs):
        init = root / pkg / "__init__.py"
        mods = sorted(p.stem for p in (root / pkg).glob("*.py") if p.stem != "__init__")
        text = f'"""{pkg.replace("/", ".")}."""\n'
        if "models" in mods:
            text += "\nfrom . import models\n"
        init.write_text(text)
        files.append({"path": f"{pkg}/__init__.py", "lines": text.count("\n"), "bugs": []})
    return files


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    out: Path = args.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    manifest = {"seed": args.seed, "files": {}, "tree": {}}
    for size in SIZES:
        rng = random.Random(f"{args.seed}:{size}")
        rel = f"f{size}/pipeline_{size}.py"
        text, c = make_module(rng, f"pipeline_{size}", size, with_main=True)
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text)
        manifest["files"][str(size)] = {"path": rel, "lines": text.count("\n"), "bytes": len(text.encode()),
                                        "bugs": c.bugs, "bug_counts": dict(Counter(b["kind"] for b in c.bugs))}
    rng = random.Random(f"{args.seed}:tree")
    tree_files = make_tree(rng, out / "tree")
    all_bugs = [b for f in tree_files for b in f["bugs"]]
    modules = [f for f in tree_files if not f["path"].endswith("__init__.py")]
    manifest["tree"] = {"path": "tree", "modules": len(modules), "init_files": len(tree_files) - len(modules),
                        "files": len(tree_files), "lines": sum(f["lines"] for f in tree_files),
                        "min_module_lines": min(f["lines"] for f in modules),
                        "max_module_lines": max(f["lines"] for f in modules),
                        "bug_counts": dict(Counter(b["kind"] for b in all_bugs)), "list": tree_files}
    # every generated file must be valid Python
    bad = []
    for p in sorted(out.rglob("*.py")):
        try:
            ast.parse(p.read_text(), filename=str(p))
        except SyntaxError as exc:
            bad.append(f"{p}: {exc}")
    if bad:
        print("\n".join(bad), file=sys.stderr)
        return 1
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    for size, info in manifest["files"].items():
        print(f"{info['path']:28} {info['lines']:6} lines  bugs: {info['bug_counts']}")
    t = manifest["tree"]
    print(f"{'tree/':28} {t['lines']:6} lines  {t['modules']} modules ({t['min_module_lines']}-"
          f"{t['max_module_lines']} lines) + {t['init_files']} __init__.py  bugs: {t['bug_counts']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
