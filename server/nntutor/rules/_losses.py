"""Where losses consume model outputs (torch) and how Keras models end and are compiled.

Shared by the softmax/sigmoid family of rules, so each rule is only its decision."""
from __future__ import annotations

from dataclasses import dataclass

from ..parsing import F_ATTRIBUTE, F_FUNCTION, F_LEFT, F_OBJECT, F_RIGHT, F_VALUE
from ..values import (
    LOGITS,
    PASSTHROUGH_FUNCS,
    SIGMOID,
    SOFTMAX,
    args_of,
    follow,
    method_call,
    string_value,
    strip,
)

# kind of loss -> what its input must be
TORCH_LOSSES = {
    "torch.nn.CrossEntropyLoss": "ce", "torch.nn.functional.cross_entropy": "ce",
    "torch.nn.NLLLoss": "nll", "torch.nn.functional.nll_loss": "nll",
    "torch.nn.BCELoss": "bce", "torch.nn.functional.binary_cross_entropy": "bce",
    "torch.nn.BCEWithLogitsLoss": "bce_logits",
    "torch.nn.functional.binary_cross_entropy_with_logits": "bce_logits",
}


@dataclass
class LossSite:
    call: object       # the call computing the loss: criterion(out, y) / F.cross_entropy(out, y)
    kind: str          # ce | nll | bce | bce_logits
    input: object      # the prediction argument
    ctor: object       # nn.XLoss(...) constructing call, None for functional losses


def torch_loss_sites(ctx) -> list[LossSite]:
    """Every torch loss computation of the document (computed once, shared by the rules)."""
    cached = getattr(ctx.values, "_loss_sites", None)
    if cached is None:
        cached = ctx.values._loss_sites = _find_torch_loss_sites(ctx)
    return cached


_FUNCTIONAL_NAMES = {q.rsplit(".", 1)[1] for q in TORCH_LOSSES if ".functional." in q}


def _mentions_loss(data: bytes, node) -> bool:
    """`b"Loss" in node.text`, without copying the node's bytes (every binding is asked)."""
    return data.find(b"Loss", node.start_byte, node.end_byte) != -1


def _loss_attributes(ctx) -> set:
    """Attribute names `X` of `self.X = <something mentioning Loss>` assignments."""
    facts, data = ctx.facts, ctx.doc.data
    found = set()
    for a in facts.assignments:
        left, right = a.child_by_field_id(F_LEFT), a.child_by_field_id(F_RIGHT)
        if left is None or right is None or left.type != "attribute" or not _mentions_loss(data, right):
            continue
        obj = left.child_by_field_id(F_OBJECT)
        if obj is not None and obj.type == "identifier" and facts.text(obj) == "self":
            found.add(facts.text(left.child_by_field_id(F_ATTRIBUTE)))
    return found


def _find_torch_loss_sites(ctx) -> list[LossSite]:
    facts, values = ctx.facts, ctx.values
    sites = []
    # Names that may hold a loss object: bound to something mentioning "Loss", or parameters
    # (followed to what callers pass). Other plain-name calls are not losses: skip them cheaply.
    data = ctx.doc.data
    candidates = {name for name, bs in facts.bindings.items()
                  if any(b.kind == "param" or (b.value is not None and _mentions_loss(data, b.value))
                         for b in bs)}
    # Only calls that can compute a loss: F.cross_entropy(...), cross_entropy(...) imported,
    # criterion(...) of a name that may hold a loss object, nn.CrossEntropyLoss()(...).
    found = []
    for name in _FUNCTIONAL_NAMES:
        for call, _recv in facts.method_calls(name):
            q = facts.callee_qual(call)
            if q is not None and q.startswith("torch.nn.functional."):
                found.append((call, q, None))
    for name, calls in facts.plain_name_calls().items():
        if name in facts.imports:
            q = facts.callee_qual(calls[0])  # an imported name means one thing in the file
            if q is not None and q.startswith("torch.nn.functional."):
                found.extend((call, q, None) for call in calls)
        elif name in candidates:
            for call in calls:
                q, ctor = values.instance(call.child_by_field_id(F_FUNCTION))
                if ctor is not None and ctor is not call:
                    found.append((call, q, ctor))
    # `self.loss_op(y_pred, y)` where the class assigns `self.loss_op = nn.NLLLoss()`
    for attr in _loss_attributes(ctx):
        for call, recv in facts.method_calls(attr):
            if recv is not None and recv.type == "identifier" and facts.text(recv) == "self":
                q, ctor = values.instance(call.child_by_field_id(F_FUNCTION))
                if ctor is not None and ctor is not call:
                    found.append((call, q, ctor))
    for call in facts.calls_of_calls():
        fn = strip(call.child_by_field_id(F_FUNCTION))
        if fn is not None and fn.type == "call":
            found.append((call, facts.callee_qual(fn), fn))
    found.sort(key=lambda f: (f[0].start_byte, -f[0].end_byte))
    for call, q, ctor in found:
        kind = TORCH_LOSSES.get(q)
        if kind is None:
            continue
        pos, kw = args_of(call)
        inp = pos[0] if pos else kw.get("input")
        if inp is None:
            continue
        sites.append(LossSite(call, kind, inp, ctor))
    return sites


# -- layer widths ----------------------------------------------------------------------------
def int_literal(ctx, node) -> int | None:
    """An integer literal (also `-1`), else None."""
    node = strip(node)
    if node is not None and node.type == "unary_operator" and ctx.text(node).replace(" ", "") == "-1":
        return -1
    if node is None or node.type != "integer":
        return None
    try:
        return int(ctx.text(node), 0)
    except ValueError:
        return None


def _width(ctx, node, resolve: bool) -> int | None:
    if resolve and node is not None:
        node = follow(ctx.facts, node)   # `n_out = 1; Dense(n_out)`
    return int_literal(ctx, node)


def dense_units(ctx, dense, resolve: bool = False) -> int | None:
    """`units` of a Keras `Dense(...)` call; `resolve`: also through a name."""
    pos, kw = args_of(dense)
    return _width(ctx, kw.get("units") or (pos[0] if pos else None), resolve)


def linear_out_features(ctx, linear, resolve: bool = False) -> int | None:
    """`out_features` of an `nn.Linear(...)` call; `resolve`: also through a name."""
    pos, kw = args_of(linear)
    return _width(ctx, kw.get("out_features") or (pos[1] if len(pos) > 1 else None), resolve)


def class_output_location(ctx, expr):
    """Where a model class (maybe in another file) applies the activation that reaches `expr`."""
    node = follow(ctx.facts, expr)
    for _ in range(_MAX_STEPS):
        if node is not None and node.type == "subscript":   # `model(x)[mask]`
            node = follow(ctx.facts, node.child_by_field_id(F_VALUE))
            continue
        if node is None or node.type != "call":
            return None
        fn = strip(node.child_by_field_id(F_FUNCTION))
        if ctx.facts.callee_qual(node) in PASSTHROUGH_FUNCS:   # `torch.flatten(model(x), 0, 1)`
            pos, _kw = args_of(node)
            node = follow(ctx.facts, pos[0]) if pos else None
            continue
        qual, _ctor = ctx.values.instance(fn) if fn is not None else (None, None)
        if qual is not None:
            cls = ctx.values.local_class(qual)
            return cls.output_location if cls is not None else None
        recv, _m = method_call(node)
        node = follow(ctx.facts, recv) if recv is not None else None
    return None


_MAX_STEPS = 16


# -- Keras -----------------------------------------------------------------------------------
KERAS_SEQUENTIAL = {"keras.Sequential", "keras.models.Sequential"}
KERAS_MODEL = {"keras.Model", "keras.models.Model"}
KERAS_TRANSPARENT = {"Dropout", "Flatten", "Reshape", "SpatialDropout1D", "SpatialDropout2D",
                     "GaussianNoise", "GaussianDropout", "ActivityRegularization"}
KERAS_PROB_LOSSES = {"categorical_crossentropy": SOFTMAX, "sparse_categorical_crossentropy": SOFTMAX,
                     "binary_crossentropy": SIGMOID}
KERAS_LOSS_CLASSES = {"keras.losses.CategoricalCrossentropy": SOFTMAX,
                      "keras.losses.SparseCategoricalCrossentropy": SOFTMAX,
                      "keras.losses.BinaryCrossentropy": SIGMOID,
                      "keras.losses.categorical_crossentropy": SOFTMAX,
                      "keras.losses.sparse_categorical_crossentropy": SOFTMAX,
                      "keras.losses.binary_crossentropy": SIGMOID}

# The function each loss class or function computes.
_LOSS_NAMES = {q: ("sparse_categorical_crossentropy" if "parse" in q else
                   "categorical_crossentropy" if "ategorical" in q else "binary_crossentropy")
               for q in KERAS_LOSS_CLASSES}


def keras_activation(facts, layer_call) -> tuple[str | None, object]:
    """(tag, node) for one Keras layer construction: softmax / sigmoid / logits / 'skip' / None."""
    q = facts.callee_qual(layer_call) or ""
    short = q.rsplit(".", 1)[-1]
    if not q.startswith("keras."):
        return None, None
    if short in KERAS_TRANSPARENT:
        return "skip", None
    pos, kw = args_of(layer_call)
    if short == "Softmax":
        return SOFTMAX, layer_call
    if short == "Activation":
        act = pos[0] if pos else kw.get("activation")
    else:
        act = kw.get("activation")
        if act is None and short in ("Dense", "Conv1D", "Conv2D") and len(pos) >= 2 and short == "Dense":
            act = pos[1]
    if act is None:
        return (LOGITS, layer_call) if short in ("Dense", "Conv1D", "Conv2D", "EinsumDense") else (None, None)
    name = string_value(act)
    if strip(act).type == "none":
        name = "linear"  # activation=None: no activation, raw scores
    if name is None:
        aq = facts.qual(act) or ""
        name = aq.rsplit(".", 1)[-1] if aq else None
    if name in ("softmax",):
        return SOFTMAX, act
    if name in ("sigmoid",):
        return SIGMOID, act
    if name in ("linear", None) and short == "Dense":
        return (LOGITS, layer_call) if name == "linear" else (None, None)
    return None, None


def keras_output(ctx, model_expr):
    """(tag, node of the last layer or its activation, last layer call) of a Keras model, or Nones."""
    for layer in reversed(keras_layers(ctx, model_expr) or ()):
        tag, node = keras_activation(ctx.facts, layer)
        if tag == "skip":
            continue
        return tag, node, layer
    return None, None, None


def keras_layers(ctx, model_expr) -> list | None:
    """The layer constructions of a Keras model, input to output, as far as the code shows them:
    a `Sequential` list and the `model.add(...)` calls on its name before `model_expr`; for a
    functional `keras.Model`, the chain of layers applied one after the other up to `outputs`
    (`Dense(1)(x)`, back through `x = ...`). None when the model is not one of these, or layers
    were popped."""
    facts = ctx.facts
    ctor = follow(facts, model_expr)
    if ctor is None or ctor.type != "call":
        return None
    q = facts.callee_qual(ctor)
    if q in KERAS_SEQUENTIAL:
        layers = []
        pos, kw = args_of(ctor)
        lst = pos[0] if pos else kw.get("layers")
        if lst is not None and strip(lst).type == "list":
            layers = [c for c in strip(lst).named_children if c.type == "call"]
        # model.add(...) calls on the same name, in order
        if model_expr.type == "identifier":
            name = facts.text(model_expr)
            for method in ("add", "pop"):
                for call, recv in facts.method_calls(method):
                    # only the layers added before this use: the name may be rebuilt later
                    if recv is None or facts.text(recv) != name \
                            or not ctor.start_byte < call.start_byte < model_expr.start_byte:
                        continue
                    if method == "pop":
                        return None   # which layers are left depends on the order: unknown
                    p, _ = args_of(call)
                    if p and strip(p[0]).type == "call":
                        layers.append(strip(p[0]))
        return layers
    if q in KERAS_MODEL:
        pos, kw = args_of(ctor)
        out = kw.get("outputs") or (pos[1] if len(pos) > 1 else None)
        out = follow(facts, out) if out is not None else None
        chain = []
        while out is not None and out.type == "call" and len(chain) < 32:
            fn = strip(out.child_by_field_id(F_FUNCTION))
            if fn is None or fn.type != "call":   # not `layers.Dense(10)(x)`
                break
            chain.append(fn)
            args, _ = args_of(out)
            out = follow(facts, args[0]) if args else None
        return chain[::-1]
    return None


@dataclass
class KerasCompile:
    call: object        # model.compile(...)
    model: object       # the receiver expression
    loss_node: object   # the loss argument
    expects: str        # SOFTMAX | SIGMOID: what the loss wants as input when from_logits is False
    from_logits: bool
    name: str = ""      # categorical_crossentropy | sparse_categorical_crossentropy | binary_crossentropy


def keras_compiles(ctx) -> list[KerasCompile]:
    facts = ctx.facts
    found = []
    for call, recv in facts.method_calls("compile"):
        if recv is None:
            continue
        pos, kw = args_of(call)
        loss = kw.get("loss") or (pos[1] if len(pos) > 1 else None)
        if loss is None:
            continue
        name = string_value(loss)
        if name is not None:
            if name in KERAS_PROB_LOSSES:
                found.append(KerasCompile(call, recv, loss, KERAS_PROB_LOSSES[name], False, name))
            continue
        loss_call = follow(facts, loss)
        if loss_call is not None and loss_call.type in ("attribute", "identifier"):
            # `loss=tf.keras.losses.binary_crossentropy`: the function itself, no from_logits
            fq = facts.qual(loss_call)
            if fq in KERAS_LOSS_CLASSES and fq[fq.rfind(".") + 1].islower():
                found.append(KerasCompile(call, recv, loss, KERAS_LOSS_CLASSES[fq], False, _LOSS_NAMES[fq]))
            continue
        if loss_call is None or loss_call.type != "call":
            continue
        lq = facts.callee_qual(loss_call)
        if lq in KERAS_LOSS_CLASSES:
            _, lkw = args_of(loss_call)
            fl = lkw.get("from_logits")
            found.append(KerasCompile(call, recv, loss, KERAS_LOSS_CLASSES[lq],
                                      fl is not None and facts.text(fl) == "True", _LOSS_NAMES[lq]))
    return found


def unwrap_activation_fix(ctx, applied):
    """A fix that removes an inline activation call `F.softmax(x, dim=1)` -> `x`, when certain."""
    from ..findings import Fix
    from ._callers import output_change_is_safe

    if applied is None or applied.type != "call":
        return None
    recv, method = method_call(applied)
    pos, kw = args_of(applied)
    if ctx.facts.callee_qual(applied) is not None:
        if not pos:
            return None
        inner = pos[0]
    elif method in ("softmax", "sigmoid") and recv is not None:
        if recv.type == "identifier" and ctx.text(recv) == "self":
            # `self.softmax(x)`: the model's layer called on x, not the tensor method (in
            # `self.fc(x).softmax(1)` and `self.logits.softmax(-1)` it is the tensor's)
            if len(pos) != 1 or kw:
                return None
            inner = pos[0]
        else:
            inner = recv
    else:
        return None
    # the losses that take logits: after the fix they get them (not `F.nll_loss(out.log(), y)`)
    loss_inputs = {(strip(s.input).start_byte, strip(s.input).end_byte) for s in torch_loss_sites(ctx)
                   if s.kind in ("ce", "bce_logits") and strip(s.input) is not None}
    if not output_change_is_safe(ctx, applied, loss_inputs):
        return None   # other callers read the probabilities forward() returns
    return Fix(f"Remove `{ctx.text(applied).split('(')[0]}` and pass the raw logits",
               (ctx.edit(applied, ctx.text(inner)),))


_KERAS = ("keras.", "tensorflow.keras.", "tensorflow.python.keras.", "tf_keras.")
_KERAS_MODELS = frozenset({"Sequential", "Model"})


def is_keras_model(ctx, recv, name: str) -> bool:
    """`recv` (spelled `name`) is a Keras `Sequential` / functional `Model` (made here or by a
    function of the file), a `keras.applications` network, a loaded model, or an object the file
    compiles (`model.compile(...)`)."""
    qual, _ctor = ctx.values.instance(recv)
    last = qual.rsplit(".", 1)[-1] if qual is not None else None
    if qual is not None and qual.startswith(_KERAS) and (
            last in _KERAS_MODELS or ".applications." in qual or last == "load_model"):
        return True   # Sequential / Model, a keras.applications network, a loaded model
    local = ctx.values.local_class(qual) if qual is not None else None
    if local is not None:
        return local.framework == "keras"   # `class MyModel(keras.Model)`
    if qual is not None:
        return False   # a known class that is not a Keras model (a scikit-learn estimator)
    mine = ctx.facts.binding(name, recv.start_byte)
    return any(r is not None and ctx.text(strip(r)) == name and ctx.facts.binding(name, c.start_byte) is mine
               for c, r in ctx.facts.method_calls("compile"))   # this object is compiled
