"""Facts about an `nn.Sequential(...)` of literal layers, for the hover: the feature size that
flows from layer to layer, where two sizes do not meet (a shape error at the first forward
pass), and the number of parameters.

Only layers whose effect on the last dimension is certain from literal arguments are followed:
`Linear`, the norm layers of one size, and the layers that keep the shape (activations,
dropout). Anything else (a convolution, `Flatten`, a custom module) ends the walk: what comes
after it is not judged."""
from __future__ import annotations

from .callfacts import _arg, _is_int
from .values import args_of, strip

# Layers that keep the feature size and have no parameters.
_SHAPE_KEEPING = frozenset({
    "ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Tanh", "Sigmoid",
    "Hardtanh", "Hardswish", "Hardsigmoid", "Softplus", "Softsign", "Tanhshrink", "Identity",
    "Dropout", "AlphaDropout", "Softmax", "LogSoftmax",
})
# Norm layers of one size: the size they expect, and their parameters (weight and bias).
_NORMS = frozenset({"BatchNorm1d", "LayerNorm"})


def sequential_facts(doc, call, q):
    pos, _kw = args_of(call)
    if not pos:
        return []
    facts = doc.facts
    size = None          # the feature size flowing out of the layers so far (None: unknown)
    first = None         # the input size the first Linear / norm expects
    params = 0
    steps = []
    for index, layer in enumerate(pos):
        layer = strip(layer)
        if layer is None or layer.type != "call":
            return _report(steps, first, size, params, complete=False)
        qual = facts.callee_qual(layer) or ""
        if not qual.startswith("torch.nn.") or qual.count(".") != 2:
            return _report(steps, first, size, params, complete=False)
        name = qual.rsplit(".", 1)[-1]
        if name in _SHAPE_KEEPING:
            continue
        if name == "Linear":
            i, _ = _arg(doc, layer, 0, "in_features")
            o, _ = _arg(doc, layer, 1, "out_features")
            bias, _ = _arg(doc, layer, 2, "bias", True)
            if not (_is_int(i) and _is_int(o)):
                return _report(steps, first, size, params, complete=False)
            if size is not None and i != size:
                return [_mismatch(index, f"Linear({i}, {o})", i, size)]
            first = i if first is None else first
            params += i * o + (o if bias is not False else 0)
            steps.append(f"Linear {i}→{o}")
            size = o
        elif name in _NORMS:
            n, _ = _arg(doc, layer, 0, "num_features" if name == "BatchNorm1d" else "normalized_shape")
            if not _is_int(n):
                return _report(steps, first, size, params, complete=False)
            if size is not None and n != size:
                return [_mismatch(index, f"{name}({n})", n, size)]
            first = n if first is None else first
            params += _norm_parameters(doc, layer, name, n)
            size = n
        else:
            return _report(steps, first, size, params, complete=False)
    return _report(steps, first, size, params, complete=True)


def _norm_parameters(doc, layer, name: str, n: int) -> int:
    """Weight and bias of a norm layer, unless turned off (`affine=False`,
    `elementwise_affine=False`, LayerNorm's `bias=False`)."""
    if name == "BatchNorm1d":
        affine, _ = _arg(doc, layer, None, "affine", True)
        return 2 * n if affine is not False else 0
    affine, _ = _arg(doc, layer, None, "elementwise_affine", True)
    bias, _ = _arg(doc, layer, None, "bias", True)
    return 0 if affine is False else n + (n if bias is not False else 0)


def _mismatch(index: int, layer: str, expects: int, gets: int) -> str:
    return (f"⚠ Layer {index} (`{layer}`) expects {expects} features but the layers before it "
            f"give {gets}: the first forward pass fails with a shape error "
            "(\"mat1 and mat2 shapes cannot be multiplied\" for a Linear).")


def _report(steps, first, size, params, complete: bool) -> list[str]:
    if first is None or not steps:
        return []
    path = " → ".join(steps)
    if complete:
        return [f"{path}: input `(N, {first})` → output `(N, {size})`; **{params:,} parameters**."]
    return [f"{path}: takes `(N, {first})`; the layers after these are not followed here."]
