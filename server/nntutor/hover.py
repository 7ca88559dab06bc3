"""What is under the cursor, and what to teach about it.

Position -> node -> qualified name (or Keras string argument) -> concept card, plus facts
computed from this very call's arguments (Dropout p, LSTM shapes, Conv2d output size ...)."""
from __future__ import annotations

from dataclasses import dataclass

from .parsing import F_ATTRIBUTE, F_FUNCTION, F_NAME, F_OBJECT
from .values import FUNCTIONAL_DROPOUT, args_of, literal_value, string_value

KEYWORDS = ("activation", "loss", "optimizer")


@dataclass
class HoverTarget:
    concept_id: str
    node: object          # the node to highlight (the name or the string)
    call: object | None   # the call expression, when the name is being called
    qual: str


def target_at(doc, catalog, offset: int) -> HoverTarget | None:
    """The taught thing at byte `offset`, or None."""
    node = doc.tree.root_node.named_descendant_for_byte_range(offset, offset)
    if node is None:
        return None
    facts = doc.facts
    # Keras string arguments: activation="softmax"
    if node.type in ("string_content", "string", "string_start", "string_end"):
        s = node if node.type == "string" else node.parent
        kw = s.parent if s is not None else None
        if kw is not None and kw.type == "keyword_argument":
            name = kw.child_by_field_id(F_NAME)
            value = string_value(s)
            if name is not None and value is not None and doc.text(name) in KEYWORDS:
                concept = catalog.concept_for_keyword(doc.text(name), value)
                if concept is not None:
                    return HoverTarget(concept.id, s, None, f'{doc.text(name)}="{value}"')
        return None
    if node.type != "identifier":
        return None
    # Climb to the full attribute chain the identifier ends: nn.Dropout, torch.nn.functional.dropout
    expr = node
    while expr.parent is not None and expr.parent.type == "attribute" and \
            expr.parent.child_by_field_id(F_ATTRIBUTE) == expr:
        expr = expr.parent
    qual = facts.qual(expr)
    call = expr.parent if expr.parent is not None and expr.parent.type == "call" and \
        expr.parent.child_by_field_id(F_FUNCTION) == expr else None
    if qual is None and expr.type == "attribute":
        # Method on an object: criterion(...)? model.eval() -> torch.nn.Module.eval
        from .values import Values

        obj = expr.child_by_field_id(F_OBJECT)
        cls_qual, _ = Values(facts).instance(obj)
        if cls_qual is not None:
            attr = doc.text(expr.child_by_field_id(F_ATTRIBUTE))
            for candidate in (f"{cls_qual}.{attr}", f"torch.nn.Module.{attr}" if cls_qual.startswith("torch.nn.") else None,
                              f"torch.optim.Optimizer.{attr}" if cls_qual.startswith("torch.optim.") else None):
                if candidate and catalog.concept_for(candidate) is not None:
                    qual = candidate
                    break
    if qual is None and expr.type == "identifier":
        # A variable holding a taught object: hovering `criterion` shows CrossEntropyLoss.
        from .values import Values

        cls_qual, ctor = Values(facts).instance(expr)
        if cls_qual is not None and catalog.concept_for(cls_qual) is not None:
            qual, call = cls_qual, ctor
    if qual is None:
        return None
    concept = catalog.concept_for(qual)
    if concept is None:
        return None
    return HoverTarget(concept.id, expr, call, qual)


# -- facts about this very call ------------------------------------------------------------
def _arg(doc, call, index, name, default=None):
    pos, kw = args_of(call)
    node = kw.get(name) if name in kw else (pos[index] if index is not None and index < len(pos) else None)
    if node is None:
        return default, False
    value = literal_value(node)
    return (value, True) if value is not None else (doc.text(node), True)


def call_facts(doc, target: HoverTarget) -> list[str]:
    q, call = target.qual, target.call
    if call is None:
        return []
    short = q.rsplit(".", 1)[-1]
    try:
        if q in FUNCTIONAL_DROPOUT:
            return _functional_dropout(doc, call)
        if short in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "dropout", "SpatialDropout1D", "SpatialDropout2D"):
            return _dropout(doc, call, q)
        if short in ("LSTM", "GRU", "RNN"):
            return _recurrent(doc, call, q, short)
        if short in ("Conv2d", "Conv1d"):
            return _conv(doc, call, short)
        if short in ("CrossEntropyLoss", "cross_entropy"):
            return ["Takes **raw logits** of shape `(N, C)` and **class indices** `(N,)` (or class "
                    "probabilities); it applies log-softmax itself, so do not put a softmax before it."]
        if short in ("BCELoss", "binary_cross_entropy"):
            return ["Takes **probabilities** in [0, 1]; prefer `BCEWithLogitsLoss` on raw logits (stabler)."]
        if short in ("BCEWithLogitsLoss", "binary_cross_entropy_with_logits"):
            return ["Takes **raw logits**; applies the sigmoid internally with the log-sum-exp trick."]
        if short == "NLLLoss":
            return ["Takes **log-probabilities** (the output of `log_softmax`), not logits or probabilities."]
        if q in _SOFTMAX_DIM_INDEX:
            return _softmax_dim(doc, call, q)
        if q == "torch.nn.Parameter":
            grad, _ = _arg(doc, call, 1, "requires_grad", True)
            frozen = " It is created **frozen** (`requires_grad=False`): the optimizer will not change it." \
                if grad is False or grad == "False" else ""
            return ["Registered as a trainable weight when assigned to an attribute of an `nn.Module` "
                    "(`self.w = nn.Parameter(...)`): it is listed by `parameters()`, moved by `.to()` and "
                    "saved in `state_dict()`. In a plain list or dict it is not; use "
                    "`nn.ParameterList` / `nn.ParameterDict`." + frozen]
        if q == "torch.autograd.Variable":
            return _variable(doc, call)
        if q == "torch.utils.data.DataLoader":
            return _loader(doc, call)
        if short in ("BatchNorm1d", "BatchNorm2d", "BatchNormalization"):
            return _batchnorm(doc, call, q)
        if short == "Linear":
            i, _ = _arg(doc, call, 0, "in_features")
            o, _ = _arg(doc, call, 1, "out_features")
            b, given = _arg(doc, call, 2, "bias", True)
            if isinstance(i, int) and isinstance(o, int):
                params = i * o + (o if b is not False else 0)
                return [f"Maps `(*, {i})` → `(*, {o})`: **{params:,} parameters**."]
    except Exception:  # a half-typed call must never break a hover
        return []
    return []


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


def _loader(doc, call):
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


def _variable(doc, call):
    """`Variable(t, requires_grad=..., volatile=...)`, the pre-0.4 wrapper: what is left of it."""
    out = ["Since PyTorch 0.4 tensors track gradients themselves: `Variable(t)` just returns a "
           "tensor, and `torch.tensor(...)` or `t.requires_grad_()` say the same thing directly."]
    volatile, given = _arg(doc, call, None, "volatile")
    if given and volatile is not False:
        out.append("⚠ `volatile` is **ignored** (with a warning): this call records the autograd "
                   "graph like any other. For evaluation, run it under `with torch.no_grad():`.")
    return out


def _functional_dropout(doc, call):
    """`F.dropout(input, p=0.5, training=True, inplace=False)`: p is the second argument, and
    the mode is whatever `training` says, not the module's."""
    p, given = _arg(doc, call, 1, "p", 0.5)
    training, tgiven = _arg(doc, call, 2, "training", True)
    if isinstance(p, (int, float)) and not isinstance(p, bool) and 0 <= p < 1:
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
    if not isinstance(p, (int, float)) or isinstance(p, bool):
        return [f"Drop probability: `{p}`." if given else "Drop probability p = 0.5 (default)."]
    if not 0 <= p < 1:
        return [f"⚠ p = {p} is outside [0, 1): {'p = 1 zeroes everything' if p == 1 else 'invalid'}."]
    scale = 1 / (1 - p)
    return [f"p = {p}{'' if given else ' (default)'}: in training about **{p:.0%} of activations are "
            f"zeroed** and the rest scaled by **{scale:.3g}** (inverted dropout), so expectations match; "
            f"after `{'model(x, training=False)' if keras else 'model.eval()'}` it is the identity."]


def _recurrent(doc, call, q, short):
    if q.startswith("keras."):
        units, _ = _arg(doc, call, 0, "units")
        rs, _ = _arg(doc, call, None, "return_sequences", False)
        if isinstance(units, int):
            out = f"`(batch, time, {units})`" if rs is True else f"`(batch, {units})` (last step only)"
            return [f"Input `(batch, time, features)` → output {out}."]
        return []
    i, _ = _arg(doc, call, 0, "input_size")
    h, _ = _arg(doc, call, 1, "hidden_size")
    layers, _ = _arg(doc, call, 2, "num_layers", 1)
    bf, _ = _arg(doc, call, None, "batch_first", False)
    bi, _ = _arg(doc, call, None, "bidirectional", False)
    drop, dgiven = _arg(doc, call, None, "dropout", 0)
    if not isinstance(i, int) or not isinstance(h, int):
        return []
    d = 2 if bi is True else 1
    layers = layers if isinstance(layers, int) else 1
    seq = "(N, L, {})" if bf is True else "(L, N, {})"
    lines = [f"Input `{seq.format(i)}` → output `{seq.format(d * h)}`"
             + (" (batch_first)" if bf is True else " (sequence first: set batch_first=True for (N, L, ...))"),
             f"h_n{', c_n' if short == 'LSTM' else ''}: `({d * layers}, N, {h})`."]
    if dgiven and isinstance(drop, (int, float)) and drop > 0 and layers == 1:
        lines.append(f"⚠ dropout={drop} has no effect with num_layers=1: it is applied only between stacked layers.")
    return lines


def _conv(doc, call, short):
    cin, _ = _arg(doc, call, 0, "in_channels")
    cout, _ = _arg(doc, call, 1, "out_channels")
    k, _ = _arg(doc, call, 2, "kernel_size")
    s, _ = _arg(doc, call, 3, "stride", 1)
    p, _ = _arg(doc, call, 4, "padding", 0)
    dil, _ = _arg(doc, call, 5, "dilation", 1)
    if not all(isinstance(v, int) for v in (cin, cout, k)) or not all(isinstance(v, int) for v in (s, dil)):
        return []
    if p == "'same'" or p == '"same"':
        return [f"`({cin}, H, W)` → `({cout}, H, W)` with padding='same'."]
    if not isinstance(p, int):
        return []
    formula = f"out = ⌊(in + 2·{p} − {dil}·({k}−1) − 1) / {s}⌋ + 1"
    example = (32 + 2 * p - dil * (k - 1) - 1) // s + 1
    return [f"Channels {cin} → {cout}; {formula} (e.g. 32 → {example}).",
            f"Weights: {cout}×{cin}×{k}{'×' + str(k) if short == 'Conv2d' else ''} + {cout} bias = "
            f"**{cout * cin * k * (k if short == 'Conv2d' else 1) + cout:,} parameters**."]


def _batchnorm(doc, call, q):
    if q.startswith("keras."):
        return ["Training: normalises with the batch's mean/variance; inference: with moving averages "
                "(momentum 0.99 by default)."]
    n, _ = _arg(doc, call, 0, "num_features")
    m, _ = _arg(doc, call, 2, "momentum", 0.1)
    return [f"{n} channels: training mode uses batch statistics and updates running estimates "
            f"(momentum {m}); eval mode uses the running estimates — call `model.eval()` for inference."]


def render(catalog, target: HoverTarget, doc, docs_base: str | None = None) -> str:
    """Markdown for a tooltip: title, summary, this call's facts, pitfalls, interview question."""
    c = catalog.concepts[target.concept_id]
    parts = [f"**{c.title}** — {c.summary}"]
    facts = call_facts(doc, target)
    if facts:
        parts.append("\n".join(f"- {f}" for f in facts))
    if c.pitfalls:
        parts.append("**Pitfalls**\n" + "\n".join(f"- {p}" for p in c.pitfalls[:3]))
    questions = [f"*{catalog.questions[s]}* ({s})" for s in c.seeds[:2] if s in catalog.questions]
    if questions:
        parts.append("**Interview:** " + " · ".join(questions))
    links = []
    if docs_base:
        links.append(f"[Full card]({docs_base}/concepts/{c.id}.md)")
        links += [f"[{r}]({docs_base}/rules/{r}.md)" for r in c.rules[:3]]
    if c.quiz:
        links.append(f"{len(c.quiz)} quiz items")
    if links:
        parts.append(" · ".join(links))
    return "\n\n".join(parts)


def concepts_in(doc, catalog) -> dict[str, list[int]]:
    """Concept id -> 0-based virtual lines where it appears (calls/names that trigger cards, and
    Keras string arguments). Used by the quiz views."""
    found: dict[str, list[int]] = {}
    facts = doc.facts
    index = doc.index
    for call in facts.calls:
        q = facts.callee_qual(call)
        concept = catalog.concept_for(q) if q else None
        if concept is not None:
            found.setdefault(concept.id, []).append(index.line_of(call.start_byte))
        _, kw = args_of(call)
        for key in KEYWORDS:
            if key in kw:
                value = string_value(kw[key])
                c2 = catalog.concept_for_keyword(key, value) if value else None
                if c2 is not None:
                    found.setdefault(c2.id, []).append(index.line_of(kw[key].start_byte))
    return found
