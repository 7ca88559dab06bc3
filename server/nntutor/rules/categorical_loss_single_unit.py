"""categorical-loss-single-unit: a categorical cross-entropy over a one-unit output (Keras,
and PyTorch's CrossEntropyLoss on a model ending in `nn.Linear(n, 1)`).

`categorical_crossentropy` normalises the predictions to sum to 1 over the last axis; with one
unit that is always 1.0, so the loss is 0 (checked on Keras 3.15: 5e-8 from the first epoch)
and no gradient reaches the model. The sparse version has a single class, so the label 1 is out
of range: an IndexError with the torch backend, an error or a NaN loss with TensorFlow. Both
come from a binary classifier written with one unit and a multi-class loss.
"""
from __future__ import annotations

import re

from ..findings import Fix, Severity
from ..models import _method
from ..parsing import F_BODY, F_FUNCTION, F_NAME, F_OBJECT
from ..values import LOGITS, SIGMOID, SOFTMAX, args_of, follow, string_value, strip
from . import Rule
from ._losses import (
    dense_units,
    keras_activation,
    keras_compiles,
    keras_layers,
    linear_out_features,
    torch_loss_sites,
)
from ._training import returns_of


def check(ctx):
    yield from _keras(ctx)
    yield from _torch(ctx)


def _torch(ctx):
    """`nn.CrossEntropyLoss` / `F.cross_entropy` on the output of a model whose last layer is
    `nn.Linear(n, 1)`: a softmax over one logit."""
    cache: dict = {}   # class name -> its one-output Linear or None (many sites, few models)
    for site in torch_loss_sites(ctx):
        if site.kind != "ce":
            continue
        linear = _torch_one_output(ctx, site.input, cache)
        if linear is None:
            continue
        yield ctx.finding(
            site.call,
            "Cross-entropy over a single output: its log-softmax over one logit is always 0. "
            "Class-index targets other than 0 are out of range (an IndexError on the CPU, a "
            "device-side assert on CUDA), and 0 or probability targets give a loss of 0 that "
            "teaches nothing. For two classes keep the one output and use "
            "`nn.BCEWithLogitsLoss` with float targets, or give the last layer two outputs.",
            related=[ctx.related(linear, "the last layer: one output")])


# Layers that keep the shape of what they get (element-wise): the Linear before them decides.
_TORCH_SAME_SHAPE = {"Dropout", "AlphaDropout", "Identity", "ReLU", "LeakyReLU", "ELU", "GELU",
                     "SiLU", "Tanh", "Sigmoid", "Softplus", "PReLU"}


def _torch_one_output(ctx, expr, cache: dict):
    """The `nn.Linear(n, 1)` that makes `expr` (a model's output) one value per sample: the
    model is that Linear, an `nn.Sequential` ending in it, or a class of this file whose
    `forward` returns `self.<it>(...)` (also through a local name or an element-wise layer)."""
    facts = ctx.facts
    node = strip(follow(facts, expr))
    if node is None or node.type != "call":
        return None
    qual, ctor = ctx.values.instance(node.child_by_field_id(F_FUNCTION))
    if qual is None or ctor is None:
        return None
    if qual in ("torch.nn.Linear", "torch.nn.Sequential"):
        return _last_linear_of(ctx, qual, ctor)
    cls = ctx.values.classes.get(qual)
    if cls is None or cls.framework != "torch":
        return None
    if cls.name not in cache:
        cache[cls.name] = _class_one_output(ctx, cls)
    return cache[cls.name]


def _class_one_output(ctx, cls):
    """The one-output Linear a class of this file's `forward` returns through, or None."""
    facts = ctx.facts
    definitions = _class_nodes(ctx).get(cls.name, [])
    if len(definitions) != 1:
        return None   # defined elsewhere, or twice (notebooks redefine classes)
    body = definitions[0].child_by_field_id(F_BODY)
    forward = _method(body, "forward", ctx.text) if body is not None else None
    returns = list(returns_of(forward)) if forward is not None else []
    if len(returns) != 1 or not returns[0].named_children:
        return None
    out = returns[0].named_children[0]
    for _ in range(8):
        out = strip(follow(facts, out))
        if out is None or out.type != "call":
            return None
        fn = strip(out.child_by_field_id(F_FUNCTION))
        text = ctx.text(fn) if fn is not None else ""
        if text.startswith("self.") and text.count(".") == 1:
            layer = cls.layers.get(text[5:])
            if not layer or layer[1] is None or _assigned_elsewhere(ctx, definitions[0], text[5:]):
                return None
            if layer[0].rsplit(".", 1)[-1] in _TORCH_SAME_SHAPE:
                args, _ = args_of(out)
                out = args[0] if len(args) == 1 else None   # `self.drop(self.fc(x))`
                continue
            return _last_linear_of(ctx, layer[0], layer[1])
        q = facts.callee_qual(out) or ""
        if q.startswith(("torch.nn.functional.", "torch.")) and q.rsplit(".", 1)[-1] in _FUNCTIONAL_SAME_SHAPE:
            args, _ = args_of(out)
            out = args[0] if args else None              # `torch.sigmoid(self.fc(x))`
            continue
        return None
    return None


def _class_nodes(ctx) -> dict:
    """class name -> its definitions in this file (once per analysis)."""
    cached = getattr(ctx.values, "_class_nodes", None)
    if cached is None:
        cached = {}
        for node in ctx.facts.classes_nodes:
            name = node.child_by_field_id(F_NAME)
            if name is not None:
                cached.setdefault(ctx.text(name), []).append(node)
        ctx.values._class_nodes = cached
    return cached


def _assigned_elsewhere(ctx, class_node, attr: str) -> bool:
    """`self.<attr>` is assigned more than once in the class (`if n_classes > 2: self.fc = ...
    else: self.fc = nn.Linear(8, 1)`), or `<something>.<attr> = ...` outside it (a new head put
    on a built model for transfer learning): which layer runs is not the one we read."""
    count = 0
    for at, obj in _attribute_assignments(ctx, attr):
        if class_node.start_byte < at < class_node.end_byte and obj == "self":
            count += 1
        else:
            return True
    return count > 1


def _attribute_assignments(ctx, attr: str) -> list:
    """[(position, object text)] of every `obj.<attr> = ...` of the file (one scan per attribute
    name and analysis: a few names, each rare in the text)."""
    cache = getattr(ctx.values, "_attribute_assignments", None)
    if cache is None:
        cache = ctx.values._attribute_assignments = {}
    if attr in cache:
        return cache[attr]
    facts, root = ctx.facts, ctx.doc.tree.root_node
    found = []
    pattern = re.compile(rb"\.\s*(" + re.escape(attr.encode()) + rb")\s*=(?!=)")
    for m in pattern.finditer(ctx.doc.data):
        at = m.start()
        if facts.in_comment(at):
            continue
        node = root.named_descendant_for_byte_range(m.start(1), m.end(1))
        attribute = node.parent if node is not None else None
        if attribute is None or attribute.type != "attribute":
            continue
        obj = attribute.child_by_field_id(F_OBJECT)
        found.append((at, ctx.text(obj) if obj is not None else ""))
    cache[attr] = found
    return found


_FUNCTIONAL_SAME_SHAPE = {"relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid", "dropout",
                          "softplus"}


def _last_linear_of(ctx, qual, ctor):
    if qual == "torch.nn.Linear":
        return ctor if linear_out_features(ctx, ctor, resolve=True) == 1 else None
    layers = [strip(a) for a in args_of(ctor)[0]]
    for layer in reversed(layers):
        if layer is None or layer.type != "call":
            return None
        q = ctx.facts.callee_qual(layer) or ""
        if q == "torch.nn.Linear":
            return layer if linear_out_features(ctx, layer, resolve=True) == 1 else None
        if not (q.startswith("torch.nn.") and q.rsplit(".", 1)[-1] in _TORCH_SAME_SHAPE):
            return None
    return None


def _keras(ctx):
    for comp in keras_compiles(ctx):
        if comp.name not in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
            continue
        output = _one_unit_output(ctx, comp.model)
        if output is None:
            continue
        layer, tag = output
        related = [ctx.related(layer, "the output layer: one unit")]
        if comp.name == "categorical_crossentropy":
            fix = None
            if tag == SIGMOID and string_value(comp.loss_node) == comp.name:
                fix = Fix('Use loss="binary_crossentropy"',
                          (ctx.edit(comp.loss_node, _quoted(ctx, comp.loss_node, "binary_crossentropy")),))
            yield ctx.finding(
                comp.loss_node,
                "`categorical_crossentropy` over a single output unit is always 0: the loss "
                "divides the predictions by their sum over the units, so one unit always predicts "
                "1.0 and no gradient reaches the model, which never learns (Keras 3 only prints a warning at run "
                "time). For two classes keep one sigmoid unit and use `binary_crossentropy`; for N "
                "one-hot classes use `Dense(N, activation=\"softmax\")`.",
                related=related, fix=fix)
        else:
            yield ctx.finding(
                comp.loss_node,
                "`sparse_categorical_crossentropy` over a single output unit knows one class "
                "only, so every label 1 is out of range: an IndexError with the torch backend, an "
                "error or a NaN loss with TensorFlow. For 0/1 labels use one sigmoid unit with "
                "`binary_crossentropy`, or two output units with this loss."
                + (" The unit has no activation either: a linear output needs "
                   "`from_logits=True`." if tag == LOGITS and not comp.from_logits else ""),
                related=related)


# Layers after the output Dense that keep its shape (the unit count) as it is.
_SAME_SHAPE = {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
               "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Activation"}


def _one_unit_output(ctx, model_expr):
    """(the output Dense, the activation applied to it) when the model ends in a one-unit Dense
    followed only by layers that keep its shape; else None. A softmax there is
    single-unit-softmax's finding; a Flatten or Reshape after it makes the units something else
    (one score per time step, flattened into T classes)."""
    facts = ctx.facts
    activation = None
    for layer in reversed(keras_layers(ctx, model_expr) or ()):
        qual = facts.callee_qual(layer) or ""
        short = qual.rsplit(".", 1)[-1]
        if not qual.startswith("keras."):
            return None
        if short in _SAME_SHAPE:
            if short == "Activation" and activation is None:
                activation = keras_activation(facts, layer)[0]
            continue
        if short != "Dense" or dense_units(ctx, layer, resolve=True) != 1:
            return None
        tag = activation or keras_activation(facts, layer)[0]
        if activation is not None and keras_activation(facts, layer)[0] not in (LOGITS, None):
            return None   # `Dense(1, activation=...)` then another activation: leave it
        return (layer, tag) if tag != SOFTMAX else None
    return None


def _quoted(ctx, string_node, value: str) -> str:
    """`value` in the quotes `string_node` uses."""
    quote = ctx.text(string_node)[:1]
    return f"{quote}{value}{quote}" if quote in ("'", '"') else f'"{value}"'


RULE = Rule("categorical-loss-single-unit", Severity.ERROR, "cross-entropy-loss",
            "Categorical cross-entropy over a single output unit", check,
            needs=(b"ategorical", b"CrossEntropyLoss", b"cross_entropy"))
