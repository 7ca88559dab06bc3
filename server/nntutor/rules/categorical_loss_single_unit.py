"""categorical-loss-single-unit: a Keras categorical cross-entropy over a one-unit output.

`categorical_crossentropy` normalises the predictions to sum to 1 over the last axis; with one
unit that is always 1.0, so the loss is 0 (checked on Keras 3.15: 5e-8 from the first epoch)
and no gradient reaches the model. The sparse version has a single class, so the label 1 is out
of range: an IndexError with the torch backend, an error or a NaN loss with TensorFlow. Both
come from a binary classifier written with one unit and a multi-class loss.
"""
from __future__ import annotations

from ..findings import Fix, Severity
from ..values import LOGITS, SIGMOID, SOFTMAX, args_of, follow, string_value, strip
from . import Rule
from ._losses import keras_activation, keras_compiles, keras_layers

def check(ctx):
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
        if short != "Dense" or _units(ctx, layer) != 1:
            return None
        tag = activation or keras_activation(facts, layer)[0]
        if activation is not None and keras_activation(facts, layer)[0] not in (LOGITS, None):
            return None   # `Dense(1, activation=...)` then another activation: leave it
        return (layer, tag) if tag != SOFTMAX else None
    return None


def _units(ctx, dense) -> int | None:
    pos, kw = args_of(dense)
    node = kw.get("units") or (pos[0] if pos else None)
    node = strip(follow(ctx.facts, node)) if node is not None else None
    if node is None or node.type != "integer":
        return None
    try:
        return int(ctx.text(node), 0)
    except ValueError:
        return None


def _quoted(ctx, string_node, value: str) -> str:
    """`value` in the quotes `string_node` uses."""
    quote = ctx.text(string_node)[:1]
    return f"{quote}{value}{quote}" if quote in ("'", '"') else f'"{value}"'


RULE = Rule("categorical-loss-single-unit", Severity.ERROR, "cross-entropy-loss",
            "Categorical cross-entropy over a single output unit", check,
            needs=(b"ategorical",))
