"""Dropout whose rate a model class takes as a constructor argument: when an instance is built
with that rate at zero, `eval()` changes nothing in it.

`class Attention(nn.Module): def __init__(self, d, dropout): self.drop = nn.Dropout(dropout)`
built as `Attention(64, 0.0)` (rasbt's LLMs-from-scratch, ch. 3) has no train/eval difference,
so evaluating it in training mode is harmless. `rate_parameters` says, for one class body,
whether all its train/eval differences are dropouts whose rates are `__init__` parameters (and
which); `turned_off` says whether one constructor call sets all of them to zero. Anything less
clear (batch norm, a rate computed from two parameters, a `**kwargs` call, an unknown block)
keeps the class mode-dependent.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .parsing import F_BODY, F_FUNCTION, F_LEFT, F_NAME, F_PARAMETERS, F_RIGHT, F_VALUE
from .values import args_of, follow, has_splat, literal_value, method_call, strip

# Dropout layers and functions of torch: where their rate goes (position, keyword).
_LAYER_RATE = (0, "p")          # nn.Dropout(p=0.5), nn.AlphaDropout(0.1) ...
_FUNCTION_RATE = (1, "p")       # F.dropout(x, p=0.5), F.dropout(x, 0.5)
_HINTS = ("Dropout", "dropout(")


@dataclass(frozen=True)
class RateParams:
    """A class whose only train/eval difference is dropout with these `__init__` parameters as
    rates. `positional`: the parameters that can be passed by position, in order (after
    self); `zero_default`: rate parameters whose default is 0."""

    positional: tuple[str, ...]
    rates: frozenset[str]
    zero_default: frozenset[str]
    # Blocks of the file it builds (`FeedForward(dim, dropout)`) whose own rates are among
    # these parameters or literal zeros: their dropout is accounted for here.
    blocks: frozenset[str] = frozenset()


def rate_parameters(facts, body, init, layers: dict, blocks: dict | None = None) -> RateParams | None:
    """`body`: a torch model class body, `init` its `__init__` (or None), `layers`: attribute ->
    (qual, ctor) of what `__init__` builds, `blocks`: the model classes of the file defined
    above it (name -> ModelClass). None unless every dropout in the body has a rate that is an
    `__init__` parameter (directly, or through `self.attr = param`) or a literal zero, and
    nothing else in it differs between train and eval mode. A block of the file it builds
    counts as its dropout, with the rates the call gives it (`FeedForward(dim, dropout)`,
    `FeedForward(dim)` leaving a zero default). Empty rates: every dropout is off (`nn.Dropout(0.0)`)."""
    from .models import TORCH_TRANSFORMER, is_model_factory

    if init is None:
        return None
    code = facts.code_in(body)
    if "BatchNorm" in code or "batch_norm(" in code:
        return None
    if code.count("self.training") != code.count("training=self.training"):
        return None   # the class's own code branches on the mode (noise in training, say)
    params = init_parameters(facts, init)
    if params is None:
        return None
    positional, defaults, names = params
    attrs = _self_attrs(facts, init, names)   # self.p = p
    rates: set[str] = set()
    built: set[str] = set()
    accounted = 0
    for qual, ctor in layers.values():
        outside = ctor is None or not body.start_byte <= ctor.start_byte < body.end_byte
        if outside and (any(h in qual for h in ("Dropout", "BatchNorm", "Transformer"))
                        or not qual.startswith("torch.nn.")):
            return None   # `self.drop = drop` of a layer built elsewhere: its rate is not seen here
    for call in facts.calls_in(body):
        hits = sum(_callee_text(facts, call).count(h) for h in _HINTS)
        qual = facts.callee_qual(call) or ""
        fn = call.child_by_field_id(F_FUNCTION)
        block = blocks.get(facts.text(fn)) if blocks and fn is not None and fn.type == "identifier" else None
        if block is not None and block.mode_dependent is not False:
            if not _block_rates(facts, call, block, init, names, attrs, rates):
                return None
            built.add(block.name)
            accounted += hits
            continue
        if not hits:
            if is_model_factory(qual) or qual.startswith(TORCH_TRANSFORMER):
                return None   # a pretrained backbone, a torch Transformer layer: dropout inside
            rate = _dropout_keyword(facts, call, qual)
            if rate is False or (rate is not None and not _rate_param(facts, rate, init, names, attrs, rates)):
                return None
            continue
        accounted += hits
        receiver, method = method_call(call)
        if receiver is not None and facts.text(receiver) == "self" and method in layers:
            if "Dropout" in layers[method][0]:
                continue   # calling a dropout layer built in __init__ (`self.dropout(x)`)
            return None
        if not qual.startswith("torch.nn.") or has_splat(call):
            return None
        where = _FUNCTION_RATE if qual.startswith("torch.nn.functional.") else _LAYER_RATE
        pos, kw = args_of(call)
        rate = kw.get(where[1]) or (pos[where[0]] if len(pos) > where[0] else None)
        if rate is None or not _rate_param(facts, rate, init, names, attrs, rates):
            return None
    if accounted != sum(code.count(h) for h in _HINTS) or not (accounted or built):
        return None  # a hint somewhere else (a string, a name): not a case this can judge
    zero = frozenset(r for r in rates if r in defaults and _is_zero(facts, defaults[r]))
    return RateParams(tuple(positional), frozenset(rates), zero, frozenset(built))


def _block_rates(facts, call, block, init, names, attrs, rates) -> bool:
    """`call` builds `block`, a model class of the file: True when its only train/eval
    difference is dropout (its `rates`) and the call gives each rate a literal zero, a parameter
    of `init` (recorded in `rates`) or leaves a zero default."""
    spec = block.rates
    if spec is None or block.mode_dependent is None:
        return False
    given = _given_rates(call, spec)
    return given is not None and all(_rate_param(facts, value, init, names, attrs, rates) for value in given)


def _given_rates(ctor, spec: RateParams) -> list | None:
    """The arguments the call `ctor` gives to the rate parameters of `spec` (by keyword or
    position; a rate left at a zero default gives none); None when a rate is left at a default
    that is not zero, or the call has a splat."""
    if has_splat(ctor):
        return None
    pos, kw = args_of(ctor)
    out = []
    for name in spec.rates:
        if name in kw:
            out.append(kw[name])
        elif name in spec.positional and spec.positional.index(name) < len(pos):
            out.append(pos[spec.positional.index(name)])
        elif name not in spec.zero_default:
            return None
    return out


def turned_off(facts, ctor, rates: RateParams) -> bool:
    """The constructor call `ctor` gives every rate parameter a literal 0 (by position, keyword
    or default)."""
    given = _given_rates(ctor, rates)
    return given is not None and all(_is_zero(facts, follow(facts, value)) for value in given)


def _callee_text(facts, call) -> str:
    fn = call.child_by_field_id(F_FUNCTION)
    return facts.text(fn) + "(" if fn is not None else ""


def _dropout_keyword(facts, call, qual: str):
    """A torch layer's `dropout=` value (nn.LSTM(..., dropout=d)); None when there is none;
    False when the call is not one this can judge (not torch, or a splat)."""
    _, kw = args_of(call)
    value = kw.get("dropout")
    if value is None:
        return None
    if not qual.startswith("torch.nn.") or has_splat(call):
        return False
    return value


def _rate_param(facts, rate, init, names, attrs, rates) -> bool:
    """Record the parameter `rate` stands for; False when it is not one (a literal zero is fine)."""
    rate = strip(rate)
    if rate is None:
        return False
    if _is_zero(facts, rate):
        return True
    text = facts.text(rate)
    inside_init = init.start_byte <= rate.start_byte < init.end_byte
    if rate.type == "identifier" and inside_init and text in names:
        rates.add(text)
        return True
    if rate.type == "attribute" and text in attrs:
        rates.add(attrs[text])
        return True
    return False


def init_parameters(facts, init):
    """(names passable by position after self, {name: default node}, every name) of
    `__init__`; None with *args / **kwargs (a rate may come through them)."""
    params = init.child_by_field_id(F_PARAMETERS)
    if params is None:
        return None
    positional: list[str] = []
    defaults: dict = {}
    names: set[str] = set()
    keyword_only = False
    for p in params.named_children:
        kind = p.type
        if kind in ("list_splat_pattern", "dictionary_splat_pattern"):
            return None
        if kind == "keyword_separator":
            keyword_only = True
            continue
        if kind == "positional_separator":
            continue
        if kind == "identifier":
            name, default = facts.text(p), None
        elif kind in ("default_parameter", "typed_default_parameter", "typed_parameter"):
            ident = p.child_by_field_id(F_NAME) or (p.named_children[0] if p.named_children else None)
            if ident is None or ident.type != "identifier":
                return None
            name, default = facts.text(ident), p.child_by_field_id(F_VALUE)
        else:
            return None
        names.add(name)
        if default is not None:
            defaults[name] = default
        if not keyword_only:
            positional.append(name)
    if positional and positional[0] == "self":
        positional = positional[1:]
    names.discard("self")
    return positional, defaults, names


def _self_attrs(facts, init, names) -> dict[str, str]:
    """`self.attr` -> parameter, for each `self.attr = param` statement of `__init__`'s body."""
    out: dict[str, str] = {}
    body = init.child_by_field_id(F_BODY)
    for stmt in body.named_children if body is not None else ():
        node = stmt.named_children[0] if stmt.type == "expression_statement" and stmt.named_children else None
        if node is None or node.type != "assignment":
            continue
        left, right = node.child_by_field_id(F_LEFT), strip(node.child_by_field_id(F_RIGHT))
        if (left is not None and left.type == "attribute" and facts.text(left).startswith("self.")
                and right is not None and right.type == "identifier" and facts.text(right) in names):
            out[facts.text(left)] = facts.text(right)
    return out


def _is_zero(facts, node) -> bool:
    value = literal_value(node)
    return value is not None and not isinstance(value, bool) and value == 0


# transformers' decoder-only families whose configs have no dropout by default (attention_dropout
# = 0.0 and no hidden or embedding dropout): such a model built from its config class has no
# train/eval difference. The task heads are left out: `...ForTokenClassification` adds a
# dropout of its own (0.1 unless the config says otherwise).
_NO_DROPOUT_HF = re.compile(
    r"^(Llama|Mistral|Mixtral|Qwen2|Qwen2Moe|Qwen3|Qwen3Moe|Qwen3Next|Qwen3_5|Qwen3_5Moe|Gemma|Gemma2"
    r"|Gemma3|Gemma3Text|Olmo|Olmo2|Olmo3|Olmoe|Cohere|Cohere2|Phi3|Phi|GPTNeoX|Falcon|GPTJ|CodeGen|StableLm)"
    r"(Model|ForCausalLM)$")


def hf_model_without_dropout(facts, qual: str, ctor) -> bool:
    """`ctor` builds a transformers model of a family without dropout (above) from a config
    built right here (`Qwen3Config(...)`, followed through a name) that sets no dropout: a model
    whose config comes from elsewhere (a checkpoint, a variable) may have some."""
    if ctor is None or not qual.startswith("transformers.") or not _NO_DROPOUT_HF.match(qual.rsplit(".", 1)[-1]):
        return False
    if has_splat(ctor):
        return False
    pos, kw = args_of(ctor)
    config = follow(facts, kw.get("config") or (pos[0] if pos else None))
    if config is None or config.type != "call" or has_splat(config):
        return False
    config_qual = facts.callee_qual(config) or ""
    if not (config_qual.startswith("transformers.") and config_qual.endswith("Config")):
        return False
    _, settings = args_of(config)
    return all(_is_zero(facts, follow(facts, value)) for name, value in settings.items()
               if "dropout" in name or "pdrop" in name)
