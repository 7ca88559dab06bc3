"""Facts about one call, computed from its literal arguments: the hover's "this very call" part.

`call_facts(doc, target)` looks at the qualified name and the arguments of the call under the
cursor (`nn.Dropout(0.25)`, `nn.MaxPool2d(2)`, `optim.SGD(..., momentum=0.9)`) and returns a
few short markdown lines: shapes, parameter counts, what a default means here. Only literals
are read (never evaluated); an argument that is a name or an expression is quoted or makes the
fact drop out. Defaults are those of PyTorch 2.x, Keras 3 and scikit-learn 1.x, and every number
these lines compute is checked against torch itself in tests/test_callfacts_torch.py.
"""
from __future__ import annotations

from math import prod

from .values import (
    FUNCTIONAL_DROPOUT,
    args_of,
    bound_once,
    constant,
    follow,
    has_splat,
    literal_value,
    string_value,
)

_MISSING = object()
# A torch module's own methods: their facts depend on the model (modulefacts.py).
_MODULE_METHODS = frozenset({"torch.nn.Module.eval", "torch.nn.Module.train", "torch.nn.Module.state_dict"})
# Moves between devices: in place on a module, a copy on a tensor (devicefacts.py).
_MOVES = frozenset(f"torch.{owner}.{m}" for owner in ("Tensor", "nn.Module") for m in ("to", "cuda", "cpu"))


def call_facts(doc, target) -> list[str]:
    """Markdown lines about `target.call` (a call of `target.qual`); [] when there is nothing
    certain to say, when the call has `*args` / `**kwargs` (which argument is which is then
    unknown) or when the call is half-typed."""
    q, call = target.qual, target.call
    if call is None:
        return _uncalled_check(target)
    if has_splat(call):
        return []
    if q in _MODULE_METHODS or q in _MOVES:
        from .devicefacts import move_facts
        from .modulefacts import module_method_facts

        try:
            return (move_facts if q in _MOVES else module_method_facts)(doc, target, target.workspace)
        except Exception:  # a half-typed call must never break a hover
            return []
    if q.startswith("tensorflow.keras."):
        q = q[len("tensorflow."):]
    short = q.rsplit(".", 1)[-1]
    try:
        handler = _EXACT.get(q)
        if handler is not None:
            return handler(doc, call, q)
        if q.startswith(("torch.", "keras.", "sklearn.")):
            handler = _BY_SHORT.get(short)
            if handler is not None:
                return handler(doc, call, q)
    except Exception:  # a half-typed call must never break a hover
        return []
    return []


def _uncalled_check(target) -> list[str]:
    """`torch.cuda.is_available` named, not called, where its truth is used: the warning of the
    rule accelerator-check-not-called."""
    from .rules.accelerator_check_not_called import CHECKS, truth_use

    if target.qual not in CHECKS or truth_use(target.node) is None:
        return []
    name = target.qual.rsplit(".", 1)[-1]
    return [f"⚠ Without parentheses `{name}` is the function itself, and a function is always "
            f"true: this check gives the same answer on every machine (see the rule "
            f"accelerator-check-not-called). Call it: `{name}()`."]


# -- reading arguments ------------------------------------------------------------------------
def _arg(doc, call, index, name, default=None):
    """(value, given): an int/float/bool literal as a value (also through a name that holds
    one, values.constant), any other argument as its source text, `default` when absent."""
    pos, kw = args_of(call)
    node = kw.get(name) if name in kw else (pos[index] if index is not None and index < len(pos) else None)
    if node is None:
        return default, False
    value = literal_value(node)
    if value is None:  # `HIDDEN = 256` at module level, a constructor parameter all callers agree on
        value = constant(doc.facts, node)[0]  # (None for a name bound twice: `if big: h = 256 ...`)
    return (value, True) if value is not None else (doc.text(node), True)


def _node(call, index, name):
    pos, kw = args_of(call)
    return kw.get(name) if name in kw else (pos[index] if index is not None and index < len(pos) else None)


def _str(call, index, name, default=None):
    """A string literal argument without its quotes; `default` when absent, None when it is
    not a string literal."""
    node = _node(call, index, name)
    return default if node is None else string_value(node)


def _dims(doc, call, index, name, default=_MISSING):
    """An int literal, or a tuple/list of int literals with all entries equal (a square kernel):
    the int (also through a name that holds one, `k = (3, 3)`). A non-square tuple or anything
    else: None. Absent: `default`."""
    node = _node(call, index, name)
    if node is None:
        return None if default is _MISSING else default
    node = _followed(doc, node)
    value = node if _is_int(node) else literal_value(node)
    if _is_int(value):
        return value
    if node.type in ("tuple", "list", "parenthesized_expression"):
        items = [literal_value(c) for c in node.named_children if c.type != "comment"]
        if items and all(_is_int(v) for v in items) and len(set(items)) == 1:
            return items[0]
    return None


def _shape(doc, call, index, name):
    """An int literal or a tuple/list of int literals (also through a name that holds one): the
    tuple of ints; else None."""
    node = _node(call, index, name)
    if node is None:
        return None
    node = _followed(doc, node)
    value = node if _is_int(node) else literal_value(node)
    if _is_int(value):
        return (value,)
    if node.type in ("tuple", "list"):
        items = tuple(literal_value(c) for c in node.named_children if c.type != "comment")
        if items and all(_is_int(v) for v in items):
            return items
    return None


def _followed(doc, node):
    """A name's value: the expression of its one reaching plain assignment (`k = (3, 3)`), or
    an int its function's callers all pass (values.constant, returned as an int); else the
    node itself."""
    if node.type != "identifier" or not bound_once(doc.facts, node):
        return node  # (bound twice, `if big: k = (5, 5) else: ...`: which value a run sees is not known)
    value = follow(doc.facts, node)
    if value is not None and value.type != "identifier":
        return value
    number = constant(doc.facts, node)[0]
    return number if _is_int(number) else node


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _num(v) -> str:
    """A number as the code would spell it: 0.001 -> 1e-3 stays readable, 0.9 stays 0.9."""
    return f"{v:g}" if isinstance(v, float) else str(v)


# -- losses -----------------------------------------------------------------------------------
def _cross_entropy(doc, call, q):
    return ["Takes **raw logits** of shape `(N, C)` and **class indices** `(N,)` (or class "
            "probabilities); it applies log-softmax itself, so do not put a softmax before it."]


def _bce(doc, call, q):
    return ["Takes **probabilities** in [0, 1]; prefer `BCEWithLogitsLoss` on raw logits (stabler)."]


def _bce_logits(doc, call, q):
    return ["Takes **raw logits**; applies the sigmoid internally with the log-sum-exp trick."]


def _nll(doc, call, q):
    return ["Takes **log-probabilities** (the output of `log_softmax`), not logits or probabilities."]


def _kl_div(doc, call, q):
    """`nn.KLDivLoss(size_average, reduce, reduction='mean', log_target=False)`."""
    log_target, _ = _arg(doc, call, 3, "log_target", False)
    reduction = _str(call, 2, "reduction", "mean")
    lines = ["Takes the **input as log-probabilities** (`log_softmax`) and the target as "
             + ("log-probabilities too (`log_target=True`)." if log_target is True else "probabilities.")]
    if reduction == "mean":
        lines.append("⚠ `reduction='mean'` (the default) divides the sum by the number of *elements*, "
                     "not the batch size, so it is not the KL divergence; `reduction='batchmean'` is.")
    return lines


# -- activations ------------------------------------------------------------------------------
# Where `dim` sits: modules take it first, functions after the input.
_SOFTMAX_DIM_INDEX = {"torch.nn.Softmax": 0, "torch.nn.LogSoftmax": 0, "torch.nn.Softmin": 0,
                      "torch.nn.functional.softmax": 1, "torch.nn.functional.log_softmax": 1,
                      "torch.nn.functional.softmin": 1, "torch.softmax": 1, "torch.log_softmax": 1}


def _softmax_dim(doc, call, q):
    dim, given = _arg(doc, call, _SOFTMAX_DIM_INDEX[q], "dim")
    if not given or dim == "None":
        if q.startswith("torch.nn."):
            return ["**No `dim`**: PyTorch guesses the axis from the input's rank, dim 0 for 1-D "
                    "and 3-D inputs (the batch of a `(batch, seq, classes)` tensor) and dim 1 "
                    "otherwise, with a deprecation warning. Name it: `dim=-1` for `(..., classes)`."]
        return []
    return [f"Normalises along `dim={dim}`: the values along that axis sum to 1"
            + (" (in log space)" if "log_" in q or "Log" in q else "") + "."]


# -- data -------------------------------------------------------------------------------------
def _loader(doc, call, q):
    """`DataLoader(dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None, ...,
    drop_last=False)`: the size of an update and the order of an epoch."""
    bs, bs_given = _arg(doc, call, 1, "batch_size", 1)
    shuffle, shuffle_given = _arg(doc, call, 2, "shuffle", False)
    _, kw = args_of(call)
    drop, _ = _arg(doc, call, None, "drop_last", False)
    size = (f"Batches of **{bs}** examples" if bs_given else
            "Batches of **1** example (`batch_size` defaults to 1): one example per update")
    if drop is True:
        size += "; the last, incomplete batch is dropped."
    else:
        size += (f"; the last batch holds the remainder (N mod {bs})." if isinstance(bs, int) and bs > 1
                 else ".")
    if "sampler" in kw or "batch_sampler" in kw:
        order = "Order: chosen by the sampler."
    elif shuffle is True:
        order = "Order: **reshuffled** at the start of every epoch."
    elif shuffle_given and shuffle is False:
        order = "Order: the dataset's own, every epoch (`shuffle=False`): right for evaluation."
    elif shuffle_given:
        order = f"Order: shuffled when `{shuffle}` is true."
    else:
        order = ("Order: **not shuffled** (the default): every epoch visits the dataset in stored "
                 "order. Pass `shuffle=True` for training.")
    return [size, order]


def _kfold(doc, call, q):
    """`KFold(n_splits=5, *, shuffle=False, random_state=None)` (and the stratified one)."""
    n, given = _arg(doc, call, 0, "n_splits", 5)
    shuffle, _ = _arg(doc, call, None, "shuffle", False)
    lines = []
    if _is_int(n) and n >= 2:
        lines.append(f"**{n} folds**{'' if given else ' (the default)'}: every row is held out once; "
                     f"each model trains on {(n - 1) / n:.0%} of the rows.")
    if q.endswith("StratifiedKFold"):
        lines.append("Each fold keeps the class proportions of the whole set.")
    if shuffle is False:
        lines.append("Folds are **contiguous blocks in row order** (`shuffle=False`, the default): data "
                     "sorted by label or time gives unrepresentative folds. Pass `shuffle=True, "
                     "random_state=...` unless the order matters (time series: `TimeSeriesSplit`).")
    return lines


def _pca(doc, call, q):
    """`PCA(n_components=None, ...)`."""
    n, given = _arg(doc, call, 0, "n_components", None)
    if not given or n == "None":
        keep = ("Keeps **all** components (`n_components=None`): a rotation onto the principal axes, "
                "no reduction.")
    elif _is_int(n):
        keep = f"Keeps the **{n}** directions of greatest variance."
    elif isinstance(n, float) and 0 < n < 1:
        keep = f"Keeps as many components as it takes to explain **{n:.0%} of the variance**."
    elif _str(call, 0, "n_components") == "mle":
        keep = "Chooses the number of components by Minka's MLE."
    else:
        keep = f"Components kept: `{n}`."
    return [keep, "Centres each feature but does not scale it: standardise features measured in "
                  "different units first, or the largest-unit feature dominates."]



# -- sklearn metrics -------------------------------------------------------------------------
def _metric(doc, call, q):
    """`metric(y_true, y_pred, ...)`: which argument is the truth, what the numbers mean, and a
    warning when the two look swapped (the rule metric-args-swapped) or when a ranking metric gets
    hard labels."""
    from .rules import RuleContext
    from .rules._metrics import metric_args
    from .rules.metric_args_swapped import looks_swapped
    from .rules.metric_on_hard_labels import RANKING, hard_labels
    from .rules.metric_on_scores import LABEL_METRICS, RULE, scores
    from .values import Values

    name = q.rsplit(".", 1)[-1]
    first, second = metric_args(call)
    if first is None or second is None:
        return []
    ranking = name in RANKING
    lines = [f"`y_true` = `{doc.text(first)}`, `{'y_score' if ranking else 'y_pred'}` = "
             f"`{doc.text(second)}` (sklearn takes the true values first)."]
    if looks_swapped(doc, first, second):
        lines.append("⚠ These look **swapped**: predictions first, true values second "
                     "(see the rule metric-args-swapped).")
    if name in LABEL_METRICS:
        found = scores(RuleContext(doc, RULE, Values(doc.facts)), second)
        if found is not None:
            lines.append(f"⚠ `{doc.text(second)}` holds **{found[1]}**, not class labels: scikit-learn "
                         f"stops with \"can't handle a mix of ... and continuous targets\" (see the rule "
                         f"metric-on-scores). {found[2]}")
    if name == "accuracy_score":
        lines.append("The share of exact matches. With imbalanced classes it flatters: always "
                     "predicting the majority class scores that class's share; compare with "
                     "`balanced_accuracy_score` or per-class recall.")
    elif name == "balanced_accuracy_score":
        lines.append("The mean of the per-class recalls: always predicting one class scores "
                     "1 / (number of classes), whatever the imbalance.")
    elif name == "classification_report":
        lines.append("Precision, recall, F1 and support per class, then their plain (macro) and "
                     "support-weighted averages; `output_dict=True` returns them as a dict.")
    elif name == "confusion_matrix":
        lines.append("Rows come from `y_true`, columns from `y_pred`: `cm[i, j]` counts class-i "
                     "samples predicted as j; for two classes `tn, fp, fn, tp = cm.ravel()`.")
        norm = _str(call, None, "normalize")
        if norm in ("true", "pred", "all"):
            lines.append({"true": "`normalize=\"true\"`: each row sums to 1, so the diagonal is each "
                                  "class's recall.",
                          "pred": "`normalize=\"pred\"`: each column sums to 1, so the diagonal is each "
                                  "class's precision.",
                          "all": "`normalize=\"all\"`: the whole matrix sums to 1."}[norm])
    elif name in ("precision_score", "recall_score", "f1_score", "fbeta_score"):
        what = {"precision_score": "TP / (TP + FP): how many predicted positives are right",
                "recall_score": "TP / (TP + FN): how many true positives are found",
                "f1_score": "the harmonic mean of precision and recall",
                "fbeta_score": "precision and recall combined, recall weighted beta times as much"}[name]
        lines.append(f"{what[0].upper()}{what[1:]}.")
        average = _str(call, None, "average", "binary")
        if average == "binary":
            label, _ = _arg(doc, call, None, "pos_label", 1)
            lines.append(f"`average=\"binary\"` (the default): the score of class `{label}` only; "
                         "labels with more than two classes raise an error. Pass `average=\"macro\"` "
                         "(classes count equally), `\"weighted\"` (by support) or `\"micro\"` "
                         "(pooled counts).")
        elif average in ("macro", "weighted", "micro", "samples"):
            lines.append({"macro": "`average=\"macro\"`: the plain mean over classes; rare classes "
                                   "count as much as frequent ones.",
                          "weighted": "`average=\"weighted\"`: the mean over classes weighted by "
                                      "their true support.",
                          "micro": "`average=\"micro\"`: from counts pooled over classes (for "
                                   "single-label multi-class data, equal to accuracy).",
                          "samples": "`average=\"samples\"`: per sample, for multi-label data."}[average])
    elif ranking:
        if hard_labels(doc, second) is not None:
            lines.append("⚠ This classifier's `predict` returns **hard labels**: the curve then has a "
                         "single threshold (see the rule metric-on-hard-labels). Pass scores: "
                         "`predict_proba(X)[:, 1]` or `decision_function(X)`.")
        else:
            lines.append("Needs scores (probabilities or decision values) ranked over all "
                         "thresholds, not hard 0/1 predictions.")
    elif name == "r2_score":
        lines.append(f"1 − SS_res / SS_tot, with SS_tot from the variance of `{doc.text(first)}`: "
                     "0 is no better than predicting its mean, negative is worse.")
    return lines


# -- dropout, recurrent, normalisation ---------------------------------------------------------
def _functional_dropout(doc, call, q):
    """`F.dropout(input, p=0.5, training=True, inplace=False)`: p is the second argument, and
    the mode is whatever `training` says, not the module's."""
    p, given = _arg(doc, call, 1, "p", 0.5)
    training, tgiven = _arg(doc, call, 2, "training", True)
    if _is_num(p) and 0 <= p < 1:
        rate = (f"p = {p}{'' if given else ' (default)'}: when active, about **{p:.0%} of activations "
                f"are zeroed** and the rest scaled by **{1 / (1 - p):.3g}**.")
    else:
        rate = f"Drop probability: `{p}`." if given else "Drop probability p = 0.5 (default)."
    if not tgiven:
        mode = ("⚠ `training` is not passed and defaults to True: this call keeps dropping after "
                "`model.eval()`. Pass `training=self.training`, or use an `nn.Dropout` layer.")
    elif training is True:
        mode = "`training=True`: always active, in eval mode too (on purpose, e.g. Monte Carlo dropout)."
    elif training is False:
        mode = "`training=False`: this call is the identity."
    else:
        mode = f"Active only while `{training}` is true; the identity otherwise."
    return [rate, mode]


def _dropout(doc, call, q):
    keras = q.startswith("keras.")
    p, given = _arg(doc, call, 0, "rate" if keras else "p", None if keras else 0.5)
    if not _is_num(p):
        return [f"Drop probability: `{p}`." if given else "Drop probability p = 0.5 (default)."]
    if not 0 <= p < 1:
        return [f"⚠ p = {p} is outside [0, 1): {'p = 1 zeroes everything' if p == 1 else 'invalid'}."]
    scale = 1 / (1 - p)
    return [f"p = {p}{'' if given else ' (default)'}: in training about **{p:.0%} of activations are "
            f"zeroed** and the rest scaled by **{scale:.3g}** (inverted dropout), so expectations match; "
            f"after `{'model(x, training=False)' if keras else 'model.eval()'}` it is the identity."]


def _recurrent(doc, call, q):
    short = q.rsplit(".", 1)[-1]
    if q.startswith("keras."):
        units, _ = _arg(doc, call, 0, "units")
        rs, _ = _arg(doc, call, None, "return_sequences", False)
        if _is_int(units):
            out = f"`(batch, time, {units})`" if rs is True else f"`(batch, {units})` (last step only)"
            return [f"Input `(batch, time, features)` → output {out}."]
        return []
    i, _ = _arg(doc, call, 0, "input_size")
    h, _ = _arg(doc, call, 1, "hidden_size")
    layers, _ = _arg(doc, call, 2, "num_layers", 1)
    bf, _ = _arg(doc, call, None, "batch_first", False)
    bi, _ = _arg(doc, call, None, "bidirectional", False)
    drop, dgiven = _arg(doc, call, None, "dropout", 0)
    if not _is_int(i) or not _is_int(h):
        return []
    d = 2 if bi is True else 1
    layers = layers if _is_int(layers) else 1
    seq = "(N, L, {})" if bf is True else "(L, N, {})"
    lines = [f"Input `{seq.format(i)}` → output `{seq.format(d * h)}`"
             + (" (batch_first)" if bf is True else " (sequence first: set batch_first=True for (N, L, ...))"),
             f"h_n{', c_n' if short == 'LSTM' else ''}: `({d * layers}, N, {h})`."]
    if dgiven and _is_num(drop) and drop > 0 and layers == 1:
        lines.append(f"⚠ dropout={drop} has no effect with num_layers=1: it is applied only between stacked layers.")
    elif dgiven and _is_num(drop) and drop > 0 and _is_int(layers) and layers > 1:
        which = "layer 1" if layers == 2 else f"layers 1–{layers - 1}"
        lines.append(f"Dropout {drop} on the outputs of {which} (not the last one), in training mode "
                     "only: call `model.eval()` for inference.")
    return lines


def _batchnorm(doc, call, q):
    if q.startswith("keras."):
        return ["Training: normalises with the batch's mean/variance; inference: with moving averages "
                "(momentum 0.99 by default)."]
    n, given = _arg(doc, call, 0, "num_features")
    m, _ = _arg(doc, call, 2, "momentum", 0.1)
    channels = f"{n} channels: t" if given else "T"
    return [f"{channels}raining mode uses batch statistics and updates running estimates "
            f"(momentum {m}); eval mode uses the running estimates — call `model.eval()` for inference."]


def _layer_norm(doc, call, q):
    """`nn.LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True, bias=True)`."""
    if q.startswith("keras."):
        return ["Normalises each example over its last axis with that example's own statistics: no "
                "moving averages, so training and inference behave the same."]
    shape = _shape(doc, call, 0, "normalized_shape")
    affine, _ = _arg(doc, call, 2, "elementwise_affine", True)
    bias, _ = _arg(doc, call, 3, "bias", True)
    if not shape:
        over = "its last dimension(s)"
    elif len(shape) == 1:
        over = f"its last dimension (size {shape[0]})"
    else:
        over = f"its last {len(shape)} dimensions `{shape}`"
    lines = [f"Normalises each example over {over} with that example's own mean and variance: no "
             "running statistics, so train and eval mode compute the same thing and batch size 1 works."]
    if shape:
        n = prod(shape)
        params = 0 if affine is False else n * (2 if bias is not False else 1)
        lines.append(f"**{params:,} parameters**" + (" (a scale and a shift per feature)." if params == 2 * n
                                                      else "."))
    return lines


# -- layers: linear, convolution, pooling, embedding, attention -------------------------------
def _linear(doc, call, q):
    i, _ = _arg(doc, call, 0, "in_features")
    o, _ = _arg(doc, call, 1, "out_features")
    b, _ = _arg(doc, call, 2, "bias", True)
    if _is_int(i) and _is_int(o):
        params = i * o + (o if b is not False else 0)
        return [f"Maps `(*, {i})` → `(*, {o})`: **{params:,} parameters**."]
    return []


def _dense(doc, call, q):
    """Keras `Dense(units, activation=None, use_bias=True)`."""
    units, _ = _arg(doc, call, 0, "units")
    if not _is_int(units):
        return []
    bias, _ = _arg(doc, call, None, "use_bias", True)
    act = _node(call, 1, "activation")
    lines = [f"Output `(batch, ..., {units})`; (inputs{' + 1' if bias is not False else ''}) × {units} parameters."]
    if act is None or literal_value(act) is None and doc.text(act) == "None":
        lines.append("No activation (`activation=None`, the default): a purely linear layer.")
    return lines


def _conv_out(size, k, s, p, d=1):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _conv(doc, call, q):
    """`nn.Conv1d/2d(in, out, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True)`."""
    two_d = q.endswith("2d")
    cin, _ = _arg(doc, call, 0, "in_channels")
    cout, _ = _arg(doc, call, 1, "out_channels")
    k, s, dil = _dims(doc, call, 2, "kernel_size"), _dims(doc, call, 3, "stride", 1), _dims(doc, call, 5, "dilation", 1)
    groups, _ = _arg(doc, call, 6, "groups", 1)
    bias, _ = _arg(doc, call, 7, "bias", True)
    if not all(_is_int(v) for v in (cin, cout, k, s, dil, groups)) or groups < 1:
        return []
    kernel = k * k if two_d else k
    nbias = cout if bias is not False else 0
    weights = (f"Weights: {cout}×{cin // groups}×{k}{'×' + str(k) if two_d else ''}"
               + (f" + {cout} bias" if nbias else "") + f" = **{cout * (cin // groups) * kernel + nbias:,} parameters**"
               + (f" ({groups} groups)." if groups > 1 else "."))
    padding = _str(call, 4, "padding")
    if padding == "same":
        return [f"Channels {cin} → {cout}; padding='same' keeps the spatial size (stride 1 only).", weights]
    p = 0 if padding == "valid" else _dims(doc, call, 4, "padding", 0)
    if not _is_int(p):
        return [f"Channels {cin} → {cout}.", weights]
    formula = f"out = ⌊(in + 2·{p} − {dil}·({k}−1) − 1) / {s}⌋ + 1"
    return [f"Channels {cin} → {cout}; {formula} (e.g. 32 → {_conv_out(32, k, s, p, dil)}).", weights]


def _conv_transpose(doc, call, q):
    """`nn.ConvTranspose1d/2d(in, out, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
    bias=True, dilation=1)`."""
    two_d = q.endswith("2d")
    cin, _ = _arg(doc, call, 0, "in_channels")
    cout, _ = _arg(doc, call, 1, "out_channels")
    k, s, p = _dims(doc, call, 2, "kernel_size"), _dims(doc, call, 3, "stride", 1), _dims(doc, call, 4, "padding", 0)
    op, groups, dil = _dims(doc, call, 5, "output_padding", 0), _dims(doc, call, 6, "groups", 1), _dims(doc, call, 8, "dilation", 1)
    bias, _ = _arg(doc, call, 7, "bias", True)
    if not all(_is_int(v) for v in (cin, cout, k, s, p, op, groups, dil)) or groups < 1:
        return []
    out = (7 - 1) * s - 2 * p + dil * (k - 1) + op + 1
    kernel = k * k if two_d else k
    params = cin * (cout // groups) * kernel + (cout if bias is not False else 0)
    return [f"Channels {cin} → {cout}; out = (in − 1)·{s} − 2·{p} + {dil}·({k}−1) + {op} + 1 "
            f"(e.g. 7 → {out}): the inverse of a convolution's *shape* map, not of its values.",
            f"**{params:,} parameters**."]


def _pool(doc, call, q):
    """`nn.MaxPool1d/2d(kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
    ceil_mode=False)`, `nn.AvgPool1d/2d(kernel_size, stride=None, padding=0, ceil_mode=False, ...)`."""
    is_max = ".MaxPool" in q
    k = _dims(doc, call, 0, "kernel_size")
    s_default = _node(call, 1, "stride") is None or doc.text(_node(call, 1, "stride")) == "None"
    s = k if s_default else _dims(doc, call, 1, "stride")
    p = _dims(doc, call, 2, "padding", 0)
    d = _dims(doc, call, 3, "dilation", 1) if is_max else 1
    ceil_mode, _ = _arg(doc, call, 5 if is_max else 3, "ceil_mode", False)
    if not all(_is_int(v) for v in (k, s, p, d)) or s < 1:
        return []
    span = f"{d}·({k}−1) + 1" if d != 1 else str(k)
    bracket = ("⌈", "⌉") if ceil_mode is True else ("⌊", "⌋")
    formula = f"out = {bracket[0]}(in + 2·{p} − {span}) / {s}{bracket[1]} + 1"
    example = _pool_out(32, k, s, p, d, ceil_mode is True)
    stride = f"stride {s}" + (" (= kernel_size, the default)" if s_default else "")
    window = f"{k}×{k}" if q.endswith("2d") else f"{k}-wide"
    return [f"{'Max' if is_max else 'Average'} over {window} windows, {stride}; {formula} (e.g. 32 → {example}).",
            "Channels unchanged; no parameters."]


def _pool_out(size, k, s, p, d, ceil_mode):
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:  # the last window must start inside the input
        out -= 1
    return out


def _keras_pool(doc, call, q):
    """Keras `MaxPooling2D(pool_size=2, strides=None, padding='valid')` (and Average, 1D)."""
    k = _dims(doc, call, 0, "pool_size", 2)
    s_node = _node(call, 1, "strides")
    s = k if s_node is None or doc.text(s_node) == "None" else _dims(doc, call, 1, "strides")
    padding = _str(call, 2, "padding", "valid")
    if not _is_int(k) or not _is_int(s) or s < 1:
        return []
    if padding == "same":
        return [f"Windows of {k}, stride {s}, padding 'same': out = ⌈in / {s}⌉ (e.g. 32 → {-(-32 // s)}); "
                "channels unchanged, no parameters."]
    if padding == "valid":
        return [f"Windows of {k}, stride {s}, padding 'valid' (the default): out = ⌊(in − {k}) / {s}⌋ + 1 "
                f"(e.g. 32 → {(32 - k) // s + 1}); channels unchanged, no parameters."]
    return []


def _keras_conv(doc, call, q):
    """Keras `Conv2D(filters, kernel_size, strides=1, padding='valid', ...)`: channels last."""
    f, _ = _arg(doc, call, 0, "filters")
    k, s = _dims(doc, call, 1, "kernel_size"), _dims(doc, call, 2, "strides", 1)
    padding = _str(call, 3, "padding", "valid")
    if not _is_int(f) or not _is_int(k) or not _is_int(s) or s < 1:
        return []
    if padding == "same":
        size = f"out = ⌈in / {s}⌉ (e.g. 32 → {-(-32 // s)}) with padding 'same'"
    elif padding == "valid":
        size = f"out = ⌊(in − {k}) / {s}⌋ + 1 (e.g. 32 → {(32 - k) // s + 1}) with padding 'valid' (the default)"
    else:
        return []
    return [f"Channels last: `(batch, H, W, C)` → `(batch, H′, W′, {f})`; {size}.",
            f"{k}×{k}×C×{f} weights + {f} biases."]


def _embedding(doc, call, q):
    """`nn.Embedding(num_embeddings, embedding_dim, padding_idx=None, ...)`; Keras
    `Embedding(input_dim, output_dim, ..., mask_zero=False)`."""
    keras = q.startswith("keras.")
    n, _ = _arg(doc, call, 0, "input_dim" if keras else "num_embeddings")
    d, _ = _arg(doc, call, 1, "output_dim" if keras else "embedding_dim")
    if not _is_int(n) or not _is_int(d):
        return []
    lines = [f"A {n:,} × {d} lookup table: integer ids in [0, {n}) of any shape `(*)` → `(*, {d})`; "
             f"**{n * d:,} parameters**. An id ≥ {n} is an index error, so count the padding and "
             "unknown tokens in the vocabulary size."]
    if not keras:
        pad, given = _arg(doc, call, 2, "padding_idx")
        if given and pad != "None":
            lines.append(f"`padding_idx={pad}`: that row starts at zero and gets no gradient, so it stays "
                         "fixed while the other rows train.")
    else:
        mask, _ = _arg(doc, call, None, "mask_zero", False)
        if mask is True:
            lines.append("`mask_zero=True`: id 0 is padding and is masked in the layers that follow, "
                         f"so real tokens use ids 1 … {n - 1}.")
    return lines


def _attention(doc, call, q):
    """`nn.MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
    add_zero_attn=False, kdim=None, vdim=None, batch_first=False)`."""
    e, _ = _arg(doc, call, 0, "embed_dim")
    h, _ = _arg(doc, call, 1, "num_heads")
    bf, _ = _arg(doc, call, 8, "batch_first", False)
    lines = []
    if _is_int(e) and _is_int(h) and h > 0:
        if e % h:
            return [f"⚠ embed_dim={e} is not divisible by num_heads={h}: the constructor raises."]
        lines.append(f"{h} heads of {e // h} dimensions each (embed_dim / num_heads).")
        _, kw = args_of(call)
        bias, _ = _arg(doc, call, 3, "bias", True)
        if not ({"kdim", "vdim", "add_bias_kv"} & kw.keys()) and len(args_of(call)[0]) <= 4:
            params = 4 * e * e + (4 * e if bias is not False else 0)
            lines.append(f"**{params:,} parameters** (Q, K, V and output projections).")
    lines.append("Inputs `(N, L, E)` (batch_first)." if bf is True else
                 "Inputs `(L, N, E)`: **sequence first** by default; pass `batch_first=True` for `(N, L, E)`.")
    return lines


def _transformer_layer(doc, call, q):
    """`nn.TransformerEncoderLayer/DecoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1,
    activation=relu, layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True)`."""
    decoder = q.endswith("DecoderLayer")
    d, _ = _arg(doc, call, 0, "d_model")
    h, _ = _arg(doc, call, 1, "nhead")
    ff, ff_given = _arg(doc, call, 2, "dim_feedforward", 2048)
    drop, _ = _arg(doc, call, 3, "dropout", 0.1)
    bf, _ = _arg(doc, call, 6, "batch_first", False)
    norm_first, _ = _arg(doc, call, 7, "norm_first", False)
    bias, _ = _arg(doc, call, 8, "bias", True)
    lines = []
    if _is_int(d) and _is_int(h) and h > 0:
        if d % h:
            return [f"⚠ d_model={d} is not divisible by nhead={h}: the constructor raises."]
        heads = f"{h} heads of {d // h} dimensions"
        if _is_int(ff):
            lines.append(f"{heads}; feed-forward {d} → {ff} → {d}" + ("" if ff_given else " (2048 by default, "
                         "whatever d_model is)") + f"; dropout {_num(drop)}.")
            if bias is not False:
                attn = 4 * d * d + 4 * d
                params = (2 if decoder else 1) * attn + 2 * d * ff + ff + d + (3 if decoder else 2) * 2 * d
                lines.append(f"**{params:,} parameters**.")
        else:
            lines.append(f"{heads}; dropout {_num(drop)}.")
    lines.append("Inputs `(N, S, E)` (batch_first)." if bf is True else
                 "Inputs `(S, N, E)`: **sequence first** by default; pass `batch_first=True` for `(N, S, E)`.")
    if norm_first is not True:
        lines.append("Post-norm (LayerNorm after each residual, as in the original Transformer); "
                     "`norm_first=True` (pre-norm) trains more stably in deep stacks.")
    return lines


def _flatten(doc, call, q):
    if q == "torch.flatten":
        start, given = _arg(doc, call, 1, "start_dim", 0)
        if start == 0:
            return ["⚠ `start_dim` is 0" + ("" if given else " by default") + ": the **batch dimension is "
                    "flattened too**, `(N, C, H, W)` → `(N·C·H·W,)`. For a batch use `start_dim=1` "
                    "(what `nn.Flatten()` does)."]
        return [f"Flattens from dim {start}: " + ("`(N, C, H, W)` → `(N, C·H·W)`." if start == 1 else "")]
    if q.startswith("keras."):
        return ["Keeps the batch axis: `(batch, H, W, C)` → `(batch, H·W·C)`."]
    start, given = _arg(doc, call, 0, "start_dim", 1)
    if start == 1:
        return ["Keeps the batch dimension (`start_dim=1`" + ("" if given else ", the default")
                + "): `(N, C, H, W)` → `(N, C·H·W)`."]
    return []


# -- optimisation -----------------------------------------------------------------------------
def _lr(doc, call):
    lr, given = _arg(doc, call, 1, "lr", 0.001)
    return f"lr = {_num(lr)}" + ("" if given else " (the default)")


def _sgd(doc, call, q):
    """`SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False)`."""
    m, _ = _arg(doc, call, 2, "momentum", 0)
    damp, _ = _arg(doc, call, 3, "dampening", 0)
    wd, _ = _arg(doc, call, 4, "weight_decay", 0)
    nesterov, _ = _arg(doc, call, 5, "nesterov", False)
    lines = []
    if m == 0:
        lines.append(f"{_lr(doc, call)}; **no momentum** (`momentum=0` is the default): each step is "
                     "lr × the current gradient. 0.9 is the usual choice.")
    elif _is_num(m) and 0 < m < 1 and damp == 0:
        lines.append(f"{_lr(doc, call)}; momentum {_num(m)}: each step follows a running sum of past gradients "
                     f"(v ← {_num(m)}·v + g), so a steady gradient moves the weights "
                     f"**{1 / (1 - m):.3g}× lr** per step.")
    else:
        lines.append(f"{_lr(doc, call)}; momentum `{m}`.")
    if nesterov is True and (m == 0 or (_is_num(damp) and damp != 0)):
        lines.append("⚠ `nesterov=True` needs momentum > 0 and dampening 0: the constructor raises.")
    if _is_num(wd) and wd > 0:
        lines.append(f"weight_decay = {_num(wd)}: adds {_num(wd)}·w to every gradient (L2 regularisation).")
    return lines


def _adam(doc, call, q):
    """`Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, ...,
    decoupled_weight_decay=False)`; `AdamW(..., weight_decay=0.01)`."""
    adamw = q.endswith("AdamW")
    wd, wd_given = _arg(doc, call, 4, "weight_decay", 0.01 if adamw else 0)
    lines = [f"{_lr(doc, call)}; running averages of the gradient and of its square give every weight its "
             "own step size."]
    decoupled, _ = _arg(doc, call, None, "decoupled_weight_decay", False)
    if adamw or decoupled is True:
        if _is_num(wd):
            lines.append(f"weight_decay = {_num(wd)}" + ("" if wd_given else " (the default)")
                         + ": **decoupled** (each step also shrinks the weights by lr·weight_decay·w), "
                         "so the decay is the same whatever the gradient's size.")
    elif _is_num(wd) and wd > 0:
        lines.append(f"weight_decay = {_num(wd)} is added to the gradient (L2), so Adam's per-weight scaling "
                     "weakens it where gradients are large; `AdamW` decouples it and usually regularises "
                     "better.")
    return lines


def _step_lr(doc, call, q):
    """`StepLR(optimizer, step_size, gamma=0.1)`."""
    n, _ = _arg(doc, call, 1, "step_size")
    g, _ = _arg(doc, call, 2, "gamma", 0.1)
    if not _is_int(n) or not _is_num(g):
        return []
    return [f"lr × {_num(g)} every {n} calls of `scheduler.step()` (after {3 * n}: {g ** 3:.3g}× the "
            "initial lr). Call it once per epoch, after the epoch's `optimizer.step()`s, unless you "
            "mean `step_size` in batches."]


def _multistep_lr(doc, call, q):
    """`MultiStepLR(optimizer, milestones, gamma=0.1)`."""
    node = _node(call, 1, "milestones")
    g, _ = _arg(doc, call, 2, "gamma", 0.1)
    if node is None or not _is_num(g):
        return []
    return [f"lr × {_num(g)} when the `scheduler.step()` count reaches each of `{doc.text(node)}`."]


def _exponential_lr(doc, call, q):
    g, _ = _arg(doc, call, 1, "gamma")
    if not _is_num(g):
        return []
    return [f"lr × {_num(g)} at every `scheduler.step()`: after 10 steps {g ** 10:.3g}× the initial lr, "
            f"after 100 {g ** 100:.3g}×."]


def _cosine_lr(doc, call, q):
    """`CosineAnnealingLR(optimizer, T_max, eta_min=0.0)`."""
    t, given = _arg(doc, call, 1, "T_max")
    eta, _ = _arg(doc, call, 2, "eta_min", 0.0)
    if not given:
        return []
    return [f"lr follows half a cosine from the initial lr down to eta_min = {_num(eta)} over T_max = {t} "
            "calls of `scheduler.step()`; past T_max it **rises again** (the schedule is periodic), so "
            "make T_max the total number of steps."]


def _plateau(doc, call, q):
    """`ReduceLROnPlateau(optimizer, mode='min', factor=0.1, patience=10, ...)`."""
    mode = _str(call, 1, "mode", "min")
    factor, _ = _arg(doc, call, 2, "factor", 0.1)
    patience, _ = _arg(doc, call, 3, "patience", 10)
    better = "lower" if mode == "min" else "higher" if mode == "max" else None
    return [f"lr × {_num(factor) if _is_num(factor) else factor} once the metric passed to "
            f"`scheduler.step(metric)` has gone more than {patience} epochs without improving"
            + (f" ({better} is better, mode='{mode}')." if better else ".")
            + " Pass the validation metric: `step()` needs it."]


def _one_cycle(doc, call, q):
    """`OneCycleLR(optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
    pct_start=0.3, ..., div_factor=25.0, final_div_factor=1e4)`."""
    max_lr, _ = _arg(doc, call, 1, "max_lr")
    pct, _ = _arg(doc, call, 5, "pct_start", 0.3)
    div, _ = _arg(doc, call, None, "div_factor", 25.0)
    final, _ = _arg(doc, call, None, "final_div_factor", 1e4)
    total, _ = _arg(doc, call, 2, "total_steps")
    epochs, _ = _arg(doc, call, 3, "epochs")
    per, _ = _arg(doc, call, 4, "steps_per_epoch")
    if not all(_is_num(v) for v in (max_lr, pct, div, final)):
        return []
    steps = total if _is_int(total) else epochs * per if _is_int(epochs) and _is_int(per) else None
    count = f"{steps:,} steps" if steps is not None else "the given number of steps"
    start = max_lr / div
    return [f"Warms up from {start:.3g} (max_lr / {_num(div)}) to max_lr = {_num(max_lr)} over the first "
            f"{pct:.0%} of {count}, then anneals to {start / final:.3g}.",
            "Call `scheduler.step()` **after every batch**, not every epoch; stepping past the total raises."]


def _clip_norm(doc, call, q):
    """`clip_grad_norm_(parameters, max_norm, norm_type=2.0, ...)`."""
    m, given = _arg(doc, call, 1, "max_norm")
    nt, _ = _arg(doc, call, 2, "norm_type", 2.0)
    if not given:
        return []
    norm = "L2" if nt in (2, 2.0) else f"{nt}-"
    return [f"If the {norm} norm of **all gradients together** exceeds {m}, every gradient is multiplied by "
            f"{m} / norm: the direction is kept. Returns the norm before clipping (log it to see how "
            "often clipping bites). Call it after `backward()` and before `step()`."]


def _clip_value(doc, call, q):
    v, given = _arg(doc, call, 1, "clip_value")
    if not given:
        return []
    return [f"Clamps every gradient element to [−{v}, {v}] on its own, which can change the gradient's "
            "direction (`clip_grad_norm_` keeps it). Call it after `backward()` and before `step()`."]


def _grad_scaler(doc, call, q):
    """`torch.amp.GradScaler(device='cuda', init_scale=2**16, growth_factor=2.0,
    backoff_factor=0.5, growth_interval=2000, enabled=True)`; torch.cuda.amp's takes no device."""
    offset = 0 if q.startswith("torch.cuda.") else 1
    enabled, _ = _arg(doc, call, 4 + offset, "enabled", True)
    if enabled is False:
        return ["`enabled=False`: `scale()` returns the loss as it is and `step()` just calls "
                "`optimizer.step()`."]
    scale, given = _arg(doc, call, offset, "init_scale", 65536.0)
    interval, _ = _arg(doc, call, 3 + offset, "growth_interval", 2000)
    start = f"{scale:,.0f}" if _is_num(scale) else f"`{scale}`"
    lines = [f"Multiplies the loss by {start}{'' if given else ' (2¹⁶, the default)'} before backward so "
             "float16 gradients do not underflow. A step whose gradients hold inf/NaN is skipped and the "
             f"scale halved; after {interval} clean steps it doubles.",
             "Gradients stay scaled until `scaler.unscale_(optimizer)`: call it before clipping or "
             "reading them."]
    if q.startswith("torch.cuda."):
        lines.append("`torch.cuda.amp.GradScaler` is deprecated: use `torch.amp.GradScaler(\"cuda\")`.")
    return lines


def _early_stopping(doc, call, q):
    """Keras `EarlyStopping(monitor='val_loss', min_delta=0, patience=0, verbose=0, mode='auto',
    baseline=None, restore_best_weights=False, start_from_epoch=0)`."""
    monitor = _str(call, 0, "monitor", "val_loss")
    patience, _ = _arg(doc, call, 2, "patience", 0)
    restore, _ = _arg(doc, call, 6, "restore_best_weights", False)
    monitored = f"`{monitor}`" if monitor is not None else "the monitored metric"
    lines = [f"Stops after {patience} epoch(s) without improvement of {monitored}"
             + (" (patience=0, the default: the first epoch that does not improve ends training)."
                if patience == 0 else ".")]
    if restore is False:
        lines.append("⚠ `restore_best_weights=False` (the default): the model keeps the weights of the last "
                     "epoch, past the best one. Pass `restore_best_weights=True`.")
    return lines


def _backward(doc, call, q):
    """`tensor.backward(gradient=None, retain_graph=None, create_graph=False, inputs=None)`."""
    retain, _ = _arg(doc, call, 1, "retain_graph")
    lines = ["**Adds** the gradient into `.grad` of every leaf tensor that requires grad (it "
             "accumulates: clear it with `optimizer.zero_grad()` before each step's backward)."]
    if retain is True:
        lines.append("`retain_graph=True`: the graph is kept for another backward pass (more memory).")
    else:
        lines.append("Then frees the graph's saved tensors: a second backward through the same graph "
                     "usually raises, unless `retain_graph=True`.")
    pos, kw = args_of(call)
    if not pos and "gradient" not in kw:
        lines.append("Without `gradient=`, the tensor must be a scalar (e.g. the mean loss).")
    return lines


def _detach(doc, call, q):
    return ["A tensor cut from the autograd graph: no gradient flows back through it. It shares "
            "memory with the original, so in-place changes to one change the other (`.clone()` "
            "for a copy)."]


def _current_accelerator(doc, call, q):
    checks, _ = _arg(doc, call, 0, "check_available", False)
    if checks is True or checks == "True":
        return ["With `check_available=True`: the accelerator when one is usable here, else "
                "**None** (`.to(None)` leaves tensors where they are, but `.type` on it fails)."]
    return ["Returns the accelerator PyTorch was **built** for, without checking that one is "
            "present: **None** on a CPU-only build, `cuda` on a CUDA build with no GPU. Guard it: "
            "`... if torch.accelerator.is_available() else torch.device(\"cpu\")`."]


_EXACT = {
    **{q: _functional_dropout for q in FUNCTIONAL_DROPOUT},
    "torch.accelerator.current_accelerator": _current_accelerator,
    **{q: _softmax_dim for q in _SOFTMAX_DIM_INDEX},
    "torch.flatten": _flatten,
    "torch.nn.functional.cross_entropy": _cross_entropy,
    "torch.nn.functional.binary_cross_entropy": _bce,
    "torch.nn.functional.binary_cross_entropy_with_logits": _bce_logits,
    "torch.nn.utils.clip_grad_norm_": _clip_norm,
    "torch.nn.utils.clip_grad_value_": _clip_value,
    "torch.amp.GradScaler": _grad_scaler,
    "torch.cuda.amp.GradScaler": _grad_scaler,
    "torch.nn.Parameter": lambda doc, call, q: _parameter(doc, call),
    "torch.autograd.Variable": lambda doc, call, q: _variable(doc, call),
    "torch.utils.data.DataLoader": _loader,
    "torch.Tensor.backward": _backward,
    "torch.Tensor.detach": _detach,
}

# By the last part of the name, for torch.*, keras.* and sklearn.* names only.
_BY_SHORT = {
    **dict.fromkeys(("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "SpatialDropout1D",
                     "SpatialDropout2D"), _dropout),
    **dict.fromkeys(("LSTM", "GRU", "RNN"), _recurrent),
    **dict.fromkeys(("Conv1d", "Conv2d"), _conv),
    **dict.fromkeys(("ConvTranspose1d", "ConvTranspose2d"), _conv_transpose),
    **dict.fromkeys(("MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d"), _pool),
    **dict.fromkeys(("MaxPooling1D", "MaxPooling2D", "MaxPool1D", "MaxPool2D", "AveragePooling1D",
                     "AveragePooling2D", "AvgPool1D", "AvgPool2D"), _keras_pool),
    "Conv2D": _keras_conv,
    "CrossEntropyLoss": _cross_entropy,
    "BCELoss": _bce,
    "BCEWithLogitsLoss": _bce_logits,
    "NLLLoss": _nll,
    "KLDivLoss": _kl_div,
    **dict.fromkeys(("BatchNorm1d", "BatchNorm2d", "BatchNormalization"), _batchnorm),
    **dict.fromkeys(("LayerNorm", "LayerNormalization"), _layer_norm),
    "Linear": _linear,
    "Dense": _dense,
    "Embedding": _embedding,
    "MultiheadAttention": _attention,
    **dict.fromkeys(("TransformerEncoderLayer", "TransformerDecoderLayer"), _transformer_layer),
    "Flatten": _flatten,
    "SGD": _sgd,
    **dict.fromkeys(("Adam", "AdamW"), _adam),
    "StepLR": _step_lr,
    "MultiStepLR": _multistep_lr,
    "ExponentialLR": _exponential_lr,
    "CosineAnnealingLR": _cosine_lr,
    "ReduceLROnPlateau": _plateau,
    "OneCycleLR": _one_cycle,
    **dict.fromkeys(("KFold", "StratifiedKFold"), _kfold),
    "PCA": _pca,
    "EarlyStopping": _early_stopping,
}
_EXACT.update({f"sklearn.metrics.{name}": _metric for name in (
    "accuracy_score", "balanced_accuracy_score", "classification_report", "confusion_matrix",
    "precision_score", "recall_score", "f1_score", "fbeta_score",
    "roc_auc_score", "average_precision_score", "roc_curve", "precision_recall_curve", "r2_score")})


def _parameter(doc, call):
    grad, _ = _arg(doc, call, 1, "requires_grad", True)
    frozen = " It is created **frozen** (`requires_grad=False`): the optimizer will not change it." \
        if grad is False or grad == "False" else ""
    return ["Registered as a trainable weight when assigned to an attribute of an `nn.Module` "
            "(`self.w = nn.Parameter(...)`): it is listed by `parameters()`, moved by `.to()` and "
            "saved in `state_dict()`. In a plain list or dict it is not; use "
            "`nn.ParameterList` / `nn.ParameterDict`." + frozen]


def _variable(doc, call):
    """`Variable(t, requires_grad=..., volatile=...)`, the pre-0.4 wrapper: what is left of it."""
    out = ["Since PyTorch 0.4 tensors track gradients themselves: `Variable(t)` just returns a "
           "tensor, and `torch.tensor(...)` or `t.requires_grad_()` say the same thing directly."]
    volatile, given = _arg(doc, call, None, "volatile")
    if given and volatile is not False:
        out.append("⚠ `volatile` is **ignored** (with a warning): this call records the autograd "
                   "graph like any other. For evaluation, run it under `with torch.no_grad():`.")
    return out


# -- activations and regression losses ---------------------------------------------------------
def _leaky_relu(doc, call, q):
    if not q.startswith("torch."):
        return []   # Keras' LeakyReLU has another default slope (0.3)
    functional = q.startswith("torch.nn.functional.")
    slope, given = _arg(doc, call, 1 if functional else 0, "negative_slope", 0.01)
    if not _is_num(slope):
        return []
    note = "" if given else " (the default)"
    return [f"Negative inputs are multiplied by **{slope}**{note} instead of zeroed as in ReLU, so a "
            "unit whose inputs all turn negative still passes a gradient and cannot go 'dead'."]


_REDUCTION = {
    "mean": "averaged over every element (all samples and all outputs): the gradient scale does not "
            "depend on the batch size",
    "sum": "summed over every element: the loss and its gradients grow with the batch size, so the "
           "learning rate that works depends on it",
    "none": "one loss per element, not reduced: reduce it (`.mean()`) before `backward()`",
}


def _regression_loss(doc, call, q):
    short = q.rsplit(".", 1)[-1]
    reduction = _str(call, None, "reduction", "mean")
    lines = []
    if short in ("MSELoss", "mse_loss"):
        lines.append("Squared error `(prediction - target)²`: large errors dominate, so a few outliers "
                     "steer training.")
    elif short in ("L1Loss", "l1_loss"):
        lines.append("Absolute error `|prediction - target|`: robust to outliers, but its gradient has "
                     "the same size for small and large errors.")
    elif short in ("HuberLoss", "huber_loss", "SmoothL1Loss", "smooth_l1_loss"):
        name = "delta" if short.lower().startswith("huber") else "beta"
        value, _ = _arg(doc, call, None, name, 1.0)
        if _is_num(value):
            quad = "½·error²" if name == "delta" else "½·error²/β"
            lines.append(f"{quad} for |error| < {value}, linear beyond (`{name}={value}`): squared "
                         "error near the target, absolute error for outliers.")
    if reduction in _REDUCTION:
        lines.append(f"`reduction='{reduction}'`: {_REDUCTION[reduction]}.")
    return lines


_BY_SHORT.update({
    "LeakyReLU": _leaky_relu, "leaky_relu": _leaky_relu,
    **dict.fromkeys(("MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "mse_loss", "l1_loss",
                     "huber_loss", "smooth_l1_loss"), _regression_loss),
})

def _no_grad(doc, call, q):
    inference = q.endswith("inference_mode")
    lines = ["Inside this block (or the function it decorates) operations record **no autograd "
             "graph**: less memory, faster, and the results have `requires_grad=False`, so nothing "
             "computed there can be backpropagated."]
    if inference:
        lines.append("Stricter than `torch.no_grad()`: tensors made inside can never be used in "
                     "autograd later, which lets PyTorch skip even the version counting.")
    lines.append("It does not switch dropout or batch norm to evaluation: that is `model.eval()`; "
                 "evaluation needs both.")
    return lines


def _model_checkpoint(doc, call, q):
    monitor = _str(call, None, "monitor", "val_loss")
    best, _ = _arg(doc, call, None, "save_best_only", False)
    lines = []
    if best is True:
        lines.append(f"Writes the file only when `{monitor}` improves. After `fit()` the model in "
                     "memory still has the **last** epoch's weights: load the file to use the best ones.")
    elif best is False:
        lines.append("`save_best_only=False` (the default): writes after every epoch, overwriting the "
                     "file unless its name has a placeholder such as `{epoch:02d}`.")
    path = _str(call, 0, "filepath")
    weights_only, _ = _arg(doc, call, None, "save_weights_only", False)
    if path is not None and path.endswith(".h5") and weights_only is not True:
        lines.append("Keras 3 saves whole models only to `.keras` files (a `.h5` path raises an "
                     "error there); `.h5` works with TensorFlow's older Keras 2.")
    return lines


# The facts kept in modules of their own; they read arguments with the helpers above.
from .devicefacts import device_facts
from .sequentialfacts import sequential_facts
from .sklearnfacts import (
    cross_validation_facts,
    linear_model_facts,
    scaler_facts,
    search_facts,
    split_facts,
)

_EXACT.update({
    "torch.no_grad": _no_grad, "torch.inference_mode": _no_grad,
    **dict.fromkeys(("keras.callbacks.ModelCheckpoint", "tensorflow.keras.callbacks.ModelCheckpoint"),
                    _model_checkpoint),
    **{f"sklearn.preprocessing.{name}": scaler_facts for name in ("StandardScaler", "MinMaxScaler", "RobustScaler")},
    "sklearn.model_selection.train_test_split": split_facts,
    "sklearn.linear_model.LogisticRegression": linear_model_facts,
    "torch.device": device_facts,
    "torch.nn.Sequential": sequential_facts,
    **{f"sklearn.model_selection.{name}": cross_validation_facts
       for name in ("cross_val_score", "cross_validate", "cross_val_predict")},
    **{f"sklearn.model_selection.{name}": search_facts for name in ("GridSearchCV", "RandomizedSearchCV")},
})
