"""Model blocks whose only train/eval-dependent layers are chosen by a string argument.

`class ConvLayer(nn.Module): def __init__(self, ..., norm="instance"): if norm == "instance":
self.norm = nn.InstanceNorm2d(c) elif norm == "batch": self.norm = nn.BatchNorm2d(c)` builds
batch norm only when constructed with `norm="batch"`. A class built of `ConvLayer(3, 32)`
(fast-neural-style's transformer network) is then no more mode-dependent than its other parts:
models.py asks `selects_stochastic` for each constructor call before counting it as a use.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .parsing import F_CONDITION, F_FUNCTION
from .rates import init_parameters
from .values import args_of, has_splat, strip

# What builds a train/eval-dependent layer, as in models.STOCHASTIC_HINTS.
_STOCHASTIC = re.compile(r"Dropout|BatchNorm|dropout\(|batch_norm\(")
_OTHER_SOURCES = re.compile(r"(?i)dropout\s*=|Transformer")
# `norm == "batch"`, `(norm=="batch")`, `"batch" == norm`, `norm in ("batch", "bn")`.
_TEST = re.compile(r"""^\(?\s*(?:(\w+)\s*==\s*(['"])(\w+)\2|(['"])(\w+)\4\s*==\s*(\w+)|(\w+)\s+in\s+[(\[]([^)\]]*)[)\]])\s*\)?$""")


@dataclass(frozen=True)
class Selector:
    param: str
    position: int | None          # index after self when passable by position, else None
    default: str | None           # the default string, None when none or not a string
    stochastic: frozenset         # the values whose branch builds dropout / batch norm


def mode_selector(facts, body, init) -> Selector | None:
    """The selector of a class body whose every dropout / batch-norm layer is built in
    `__init__` under `if <param> == "<value>":` (or `elif`, or `in (...)`) on one string
    parameter of `__init__`; None otherwise."""
    if init is None or body is None:
        return None
    code = facts.code_in(body)
    matches = [m.start() for m in _STOCHASTIC.finditer(code)]
    if not matches:
        return None
    if _OTHER_SOURCES.search(code):
        return None   # dropout given to a torch layer, a Transformer layer: not chosen by the branch
    if any(facts.functions_named(facts.text(fn)) for c in facts.calls_in(body)
           if (fn := c.child_by_field_id(F_FUNCTION)) is not None and fn.type == "identifier"):
        return None   # a function of the file may build the layers (`conv_bn(...)`)
    params = init_parameters(facts, init)
    if params is None:
        return None
    positional, defaults, names = params
    chosen_param, values = None, set()
    for offset in matches:
        at = body.start_byte + len(code[:offset].encode("utf-8"))
        if not init.start_byte <= at < init.end_byte:
            return None   # in forward() or another method: not chosen at construction
        test = _guarding_test(facts, init, at)
        if test is None:
            return None
        param, tested = test
        if param not in names or (chosen_param is not None and param != chosen_param):
            return None
        chosen_param = param
        values |= tested
    if chosen_param is None:
        return None
    default = defaults.get(chosen_param)
    default_text = None
    if default is not None:
        d = strip(default)
        if d is None or d.type != "string":
            return None   # a default of another kind: cannot tell which branch it takes
        default_text = facts.text(d).strip("'\"")
    position = positional.index(chosen_param) if chosen_param in positional else None
    return Selector(chosen_param, position, default_text, frozenset(values))


def _guarding_test(facts, init, at: int):
    """(parameter, values) of the innermost `if` / `elif` of `init` whose branch holds byte
    `at`, when its condition compares a name with string literals; else None."""
    node = init.descendant_for_byte_range(at, at)
    while node is not None and node != init:
        if node.type in ("if_statement", "elif_clause"):
            cond = node.child_by_field_id(F_CONDITION)
            if cond is not None and cond.end_byte <= at:   # in the branch, not the condition
                return _parse_test(facts.text(cond))
            return None
        if node.type == "else_clause":
            return None   # `else:` covers every other value: not a chosen one
        node = node.parent
    return None


def _parse_test(text: str):
    m = _TEST.match(text.strip())
    if m is None:
        return None
    if m.group(1):
        return m.group(1), {m.group(3)}
    if m.group(6):
        return m.group(6), {m.group(5)}
    items = re.findall(r"""(['"])(\w+)\1""", m.group(8))
    leftover = re.sub(r"""(['"])\w+\1|[\s,]""", "", m.group(8))
    if not items or leftover:
        return None
    return m.group(7), {v for _q, v in items}


def selects_stochastic(facts, selector: Selector, ctor) -> bool:
    """Whether the constructor call `ctor` may take a branch that builds dropout / batch norm:
    False only when the argument for the selector (or its default) is a known other string."""
    if has_splat(ctor):
        return True
    pos, kw = args_of(ctor)
    if selector.param in kw:
        value = strip(kw[selector.param])
    elif selector.position is not None and selector.position < len(pos):
        value = strip(pos[selector.position])
    else:
        return selector.default is None or selector.default in selector.stochastic
    if value is None or value.type != "string":
        return True
    return facts.text(value).strip("'\"") in selector.stochastic
