"""single-unit-softmax: softmax over one unit is always 1.0 -- the model cannot learn."""
from __future__ import annotations

from ..findings import Severity
from ..values import SOFTMAX, args_of, strip
from . import Rule
from ._losses import keras_activation


def _int(ctx, node):
    node = strip(node)
    return int(ctx.text(node)) if node is not None and node.type == "integer" else None


def check(ctx):
    facts = ctx.facts
    for call in facts.calls:
        q = facts.callee_qual(call) or ""
        if q in ("keras.layers.Dense",):
            pos, kw = args_of(call)
            units = _int(ctx, kw.get("units") or (pos[0] if pos else None))
            tag, node = keras_activation(facts, call)
            if units == 1 and tag == SOFTMAX:
                yield ctx.finding(node, "Softmax over a single unit always outputs 1.0, so the "
                                  "model cannot learn; for binary classification use "
                                  "activation=\"sigmoid\" with binary cross-entropy.")
        elif q == "torch.nn.Sequential":
            pos, _ = args_of(call)
            layers = [strip(p) for p in pos]
            for prev, cur in zip(layers, layers[1:]):
                if (cur is not None and cur.type == "call" and facts.callee_qual(cur) == "torch.nn.Softmax"
                        and prev is not None and prev.type == "call"
                        and facts.callee_qual(prev) == "torch.nn.Linear" and _out_features(ctx, prev) == 1):
                    yield ctx.finding(cur, "Softmax after a Linear layer with one output always "
                                      "gives 1.0, so nothing is learned; use a sigmoid (or "
                                      "BCEWithLogitsLoss on the raw output).")
    # forward(): softmax of self.<linear with 1 output>
    for cls in ctx.values.classes.values():
        node = cls.output_node
        if SOFTMAX not in cls.output or node is None or node.type != "call":
            continue
        pos, _ = args_of(node)
        inner = strip(pos[0]) if pos else None
        if inner is not None and inner.type == "call":
            fn = strip(inner.child_by_field_name("function"))
            if fn is not None and fn.type == "attribute" and ctx.text(fn).startswith("self."):
                layer = cls.layers.get(ctx.text(fn)[5:])
                if layer and layer[0] == "torch.nn.Linear" and layer[1] is not None \
                        and _out_features(ctx, layer[1]) == 1:
                    yield ctx.finding(node, "Softmax over the single output of "
                                      f"{ctx.text(fn)} is always 1.0; use a sigmoid for a "
                                      "binary output.", related=[ctx.related(layer[1], "Linear layer with one output")])


def _out_features(ctx, linear_call):
    pos, kw = args_of(linear_call)
    return _int(ctx, kw.get("out_features") or (pos[1] if len(pos) > 1 else None))


RULE = Rule("single-unit-softmax", Severity.ERROR, "softmax",
            "Softmax over a single output unit", check, needs=(b"oftmax",))
