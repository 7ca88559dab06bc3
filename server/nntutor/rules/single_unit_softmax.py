"""single-unit-softmax: softmax over one unit is always 1.0 -- the model cannot learn."""
from __future__ import annotations

import re

from ..findings import Severity
from ..models import _method
from ..parsing import F_BODY, F_FUNCTION, F_LEFT, F_NAME
from ..values import SOFTMAX, SOFTMAX_FUNCS, args_of, follow, method_call, strip
from . import Rule
from ._losses import dense_units, int_literal, keras_activation, linear_out_features

# Attention / pooling modules score each position with Linear(h, 1) and softmax over the
# sequence axis (dim=1 of a (batch, seq, 1) tensor): correct, so they are left alone.
_ATTENTION_HINTS = ("att", "pool", "score", "energy", "align")

MSG_KERAS = ("Softmax over a single unit always outputs 1.0, so the model cannot learn; for "
             "binary classification use activation=\"sigmoid\" with binary cross-entropy.")
MSG_TORCH = ("Softmax over the single output of a Linear layer always gives 1.0, so nothing is "
             "learned; use a sigmoid for a binary output (or BCEWithLogitsLoss on the raw output).")


def _dim(ctx, softmax_call, default=None):
    """The softmax axis: an int, `default` when not given, 'unknown' when not a literal."""
    if softmax_call is None:
        return default
    pos, kw = args_of(softmax_call)
    q = ctx.facts.callee_qual(softmax_call) or ""
    node = kw.get("dim", kw.get("axis"))
    if node is None and q in SOFTMAX_FUNCS and len(pos) > 1:
        node = pos[1]          # F.softmax(x, 1)
    elif node is None and q not in SOFTMAX_FUNCS and pos:
        node = pos[0]          # nn.Softmax(1) / x.softmax(1)
    if node is None:
        return default
    value = int_literal(ctx, node)
    return value if value is not None else "unknown"


_CHECKED = {"keras.layers.Dense", "keras.Sequential", "keras.models.Sequential", "torch.nn.Sequential"}


def check(ctx):
    facts = ctx.facts
    for call in facts.calls_to(_CHECKED):
        q = facts.callee_qual(call) or ""
        if q == "keras.layers.Dense":
            tag, node = keras_activation(facts, call)
            if dense_units(ctx, call) == 1 and tag == SOFTMAX:
                yield ctx.finding(node, MSG_KERAS)
        elif q in ("keras.Sequential", "keras.models.Sequential"):
            yield from _keras_sequential(ctx, call)
        elif q == "torch.nn.Sequential":
            layers = [strip(p) for p in args_of(call)[0]]
            for prev, cur in zip(layers, layers[1:]):
                if not (_is_call(cur, facts, "torch.nn.Softmax") and _is_call(prev, facts, "torch.nn.Linear")
                        and linear_out_features(ctx, prev) == 1):
                    continue
                dim = _dim(ctx, cur, 1)
                if dim == -1 or (dim == 1 and not _sequential_looks_attention(ctx, call)):
                    yield ctx.finding(cur, MSG_TORCH, related=[ctx.related(prev, "Linear layer with one output")])
    yield from _torch_classes(ctx)


# Words of a name that say attention or pooling (whole words: not `attribute`, `flatten`).
_ATTENTION_WORDS = frozenset({"att", "attn", "attention", "attentive", "pool", "pooling", "pooler",
                              "score", "scores", "scorer", "energy", "align", "alignment"})
_NAME_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def _sequential_looks_attention(ctx, seq) -> bool:
    """`self.attention = nn.Sequential(..., nn.Linear(h, 1), nn.Softmax(dim=1))`: a block whose
    name says it scores positions, normalised over the sequence axis of a (batch, seq, 1) tensor
    (as `_torch_classes` judges a forward). The name it is assigned to decides (`self.classifier`
    in an attention model is still a classifier head); unassigned, the class's name does."""
    parent = seq.parent
    name = None
    if parent is not None and parent.type == "assignment":
        left = parent.child_by_field_id(F_LEFT)
        if left is not None:
            name = ctx.text(left).rsplit(".", 1)[-1]
    if name is None:
        node = seq.parent
        while node is not None and node.type != "class_definition":
            node = node.parent
        ident = node.child_by_field_id(F_NAME) if node is not None else None
        name = ctx.text(ident) if ident is not None else ""
    return any(w.lower() in _ATTENTION_WORDS for w in _NAME_WORDS.findall(name))


def _is_call(node, facts, qual):
    return node is not None and node.type == "call" and facts.callee_qual(node) == qual


def _keras_sequential(ctx, ctor):
    """Dense(1) followed by a separate Softmax() / Activation("softmax") layer."""
    pos, kw = args_of(ctor)
    lst = strip(pos[0] if pos else kw.get("layers"))
    if lst is None or lst.type != "list":
        return
    layers = [c for c in lst.named_children if c.type == "call"]
    for prev, cur in zip(layers, layers[1:]):
        pq = ctx.facts.callee_qual(prev) or ""
        if pq != "keras.layers.Dense" or dense_units(ctx, prev) != 1 or keras_activation(ctx.facts, prev)[0] == SOFTMAX:
            continue
        tag, node = keras_activation(ctx.facts, cur)
        short = (ctx.facts.callee_qual(cur) or "").rsplit(".", 1)[-1]
        if tag == SOFTMAX and short in ("Softmax", "Activation") and _dim(ctx, cur if short == "Softmax" else None, -1) == -1:
            yield ctx.finding(node, MSG_KERAS, related=[ctx.related(prev, "Dense layer with one unit")])


def _torch_classes(ctx):
    """forward() returning softmax(self.<Linear with one output>(...))."""
    facts = ctx.facts
    for cls_node in facts.classes_nodes:
        name = cls_node.child_by_field_id(F_NAME)
        body = cls_node.child_by_field_id(F_BODY)
        cls = ctx.values.classes.get(ctx.text(name)) if name is not None else None
        if cls is None or body is None or cls.framework != "torch" or SOFTMAX not in cls.output:
            continue
        forward = _method(body, "forward", ctx.text)
        if forward is None:
            continue
        for call in facts.calls_in(forward):
            inner, softmax_call = _softmax_input(ctx, call, cls)
            if inner is None:
                continue
            inner = follow(facts, inner)
            if inner is None or inner.type != "call":
                continue
            fn = strip(inner.child_by_field_id(F_FUNCTION))
            if fn is None or fn.type != "attribute" or not ctx.text(fn).startswith("self."):
                continue
            attr = ctx.text(fn)[5:]
            layer = cls.layers.get(attr)
            if not layer or layer[0] != "torch.nn.Linear" or layer[1] is None or linear_out_features(ctx, layer[1]) != 1:
                continue
            dim = _dim(ctx, softmax_call, 1)
            looks_attention = any(h in (cls.name + attr).lower() for h in _ATTENTION_HINTS)
            if dim == -1 or (dim == 1 and not looks_attention):
                yield ctx.finding(call, MSG_TORCH, related=[ctx.related(layer[1], "Linear layer with one output")])


def _softmax_input(ctx, call, cls):
    """(input tensor, node holding the dim argument) when `call` applies a softmax, else Nones."""
    q = ctx.facts.callee_qual(call)
    if q in SOFTMAX_FUNCS:
        pos, kw = args_of(call)
        inp = pos[0] if pos else kw.get("input")
        return inp, call
    recv, method = method_call(call)
    if method == "softmax" and q is None and recv is not None and ctx.text(recv) != "self":
        return recv, call
    if recv is not None and ctx.text(recv) == "self":
        layer = cls.layers.get(method)
        if layer and layer[0] == "torch.nn.Softmax":
            pos, _ = args_of(call)
            return (pos[0] if pos else None), layer[1]
    return None, None


RULE = Rule("single-unit-softmax", Severity.ERROR, "softmax",
            "Softmax over a single output unit", check, needs=(b"oftmax",))
