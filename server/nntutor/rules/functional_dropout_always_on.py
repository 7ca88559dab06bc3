"""functional-dropout-always-on: `F.dropout` in a model defaults to training=True and keeps
dropping activations after `model.eval()`; `F.scaled_dot_product_attention(..., dropout_p=p)`
drops attention weights whatever the mode."""
from __future__ import annotations

import re

from ..findings import Fix, Severity, TextEdit
from ..models import index_classes
from ..parsing import F_ARGUMENTS, F_ATTRIBUTE, F_FUNCTION, F_NAME, F_OBJECT, F_PARAMETERS
from ..values import (
    FUNCTIONAL_DROPOUT,
    args_of,
    bound_once,
    class_of_method,
    constant,
    defines_method,
    has_splat,
    literal_value,
    param_default,
    param_index,
    strip,
)
from . import Rule

# values.FUNCTIONAL_DROPOUT: (input, p=0.5, training=True, inplace=False).
TRAINING_POSITION = 2
# (query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, ...): no
# training flag at all, the rate applies in every mode.
ATTENTION = frozenset({"torch.nn.functional.scaled_dot_product_attention"})
DROPOUT_P_POSITION = 4
# Dropout kept on at inference on purpose: Monte Carlo dropout, Bayesian approximations.
_ON_PURPOSE = re.compile(r"mc_?drop|monte|bayes|variational|uncertaint|always", re.IGNORECASE)
# The method follows the mode: `if self.training:`, `training=self.training`, a `training`
# parameter. A whole word in the code (not a docstring or a string): `self.is_training`, a flag
# of the model's own that eval() leaves alone (d2l's hand-written dropout notebooks), is no such
# evidence.
_FOLLOWS_MODE = re.compile(rb"(?<!\w)training\b")
# A class that overrides the mode switches themselves (`def train(self, mode=True)`, `def
# eval(self)`) may keep its own flag in step; a `def train(self, loader)` is a training loop.
_OWN_SWITCH = re.compile(r"^\s*def\s+(?:train\s*\(\s*self\s*(?:,\s*mode\b[^)]*)?\)|eval\s*\(\s*self\s*\))", re.MULTILINE)


def check(ctx):
    facts = ctx.facts
    calls = facts.calls_to(FUNCTIONAL_DROPOUT)
    attention = facts.calls_to(ATTENTION)
    if not calls and not attention:
        return
    models = {name for name, cls in index_classes(facts).items()
              if cls.framework == "torch" and cls.path == ctx.doc.path}
    if not models:
        return
    for call in calls:
        pos, kw = args_of(call)
        if "training" in kw or len(pos) > TRAINING_POSITION or has_splat(call):
            continue  # the caller decided (`training=self.training`, or `True` on purpose)
        method = _model_method(ctx, call, models)
        if method is None:
            continue
        if _rate_from_caller(facts, method, pos[1] if len(pos) > 1 else kw.get("p")):
            continue  # `forward(x, drop_prob)`: evaluation passes 0
        name = ctx.text(call.child_by_field_id(F_FUNCTION))  # as spelled: `F.dropout2d`
        yield ctx.finding(
            call, f"`{name}` defaults to training=True, so it keeps zeroing activations after "
            "`model.eval()`: evaluation and inference stay random and scaled. Pass "
            "`training=self.training`, or use an `nn.Dropout` layer, which follows the mode.",
            fix=_fix(ctx, call, method))
    for call in attention:
        if has_splat(call):
            continue
        pos, kw = args_of(call)
        rate = kw.get("dropout_p", pos[DROPOUT_P_POSITION] if len(pos) > DROPOUT_P_POSITION else None)
        if rate is None:
            continue  # dropout_p=0.0 by default
        method = _model_method(ctx, call, models)
        if method is None or not _drops(facts, method, rate):
            continue
        name = ctx.text(call.child_by_field_id(F_FUNCTION))
        shown = ctx.text(rate)
        shown = shown if len(shown) <= 40 and "\n" not in shown else "..."
        yield ctx.finding(
            call, f"`{name}` applies `dropout_p` in every mode: it has no training flag, so "
            "attention weights are still dropped after `model.eval()`, and evaluation and "
            f"generation stay random. Pass `dropout_p={shown} if self.training else 0.0`.",
            fix=_attention_fix(ctx, rate, method))


def _model_method(ctx, call, models):
    """The method of a model class of the file around `call`, unless its mode is followed
    there (`if self.training:`, a `training` parameter, an own train()/eval() override) or
    the class or method says dropout stays on by design (Monte Carlo dropout)."""
    method = ctx.facts.function_at(call.start_byte)
    cls = class_of_method(method)
    if cls is None:
        return None
    cls_name = cls.child_by_field_id(F_NAME)
    method_name = method.child_by_field_id(F_NAME)
    if cls_name is None or ctx.text(cls_name) not in models:
        return None  # a plain function or another class: no train/eval mode to follow
    if _ON_PURPOSE.search(ctx.text(cls_name)) or (
            method_name is not None and _ON_PURPOSE.search(ctx.text(method_name))):
        return None
    if _mentions_training(ctx, method) or _OWN_SWITCH.search(ctx.facts.code_in(cls)):
        return None  # `if self.training:` around it, or an early return: the mode is followed
    return method


def _drops(facts, method, rate, depth: int = 0) -> bool:
    """The attention dropout rate is known to be nonzero, or is a rate the model holds
    (`self.attn_dropout`, `self.attn_drop.p`, `config.attn_pdrop`), or a local name or
    parameter holding one. Not: a literal 0 or None, a conditional (`p if cond else 0`: the
    author decided when), a rate parameter the caller fills (training passes it, evaluation
    0), any other expression."""
    rate = strip(rate)
    if rate is None or depth > 3:
        return False
    value = literal_value(rate)
    if value is not None:
        return value > 0
    if rate.type == "identifier":
        b = facts.binding(facts.text(rate), rate.start_byte)
        if b is None:
            return False
        if b.kind == "param":
            return b.scope == method.start_byte and not _rate_from_caller(facts, method, rate)
        if b.kind != "assign" or b.index is not None or b.value is None or not bound_once(facts, rate):
            return False  # `p = 0.0` under some branch, an unpack, a loop variable: not one rate
        return _drops(facts, method, b.value, depth + 1)
    if rate.type == "attribute":
        value, _calls = constant(facts, rate)   # `self.p = 0.0`, or every construction passes 0
        if value is not None:
            return value > 0
        obj, attr = rate.child_by_field_id(F_OBJECT), rate.child_by_field_id(F_ATTRIBUTE)
        if obj is not None and facts.text(obj) == "self" and attr is not None:
            cls = class_of_method(method)
            if cls is not None and defines_method(facts, cls, {facts.text(attr)}):
                return False  # a property of its own may read the mode
        return True
    return False


def _attention_fix(ctx, rate, method):
    """`dropout_p=X` -> `dropout_p=X if self.training else 0.0`, in a method whose first
    parameter is `self`."""
    params = method.child_by_field_id(F_PARAMETERS)
    first = params.named_children[0] if params is not None and params.named_children else None
    if first is None or first.type != "identifier" or ctx.text(first) != "self":
        return None
    # (what _drops flags is a name, an attribute or a number: it stays whole before `if`)
    return Fix("Drop attention only in training mode",
               (ctx.edit(rate, f"{ctx.text(rate)} if self.training else 0.0"),))


def _rate_from_caller(facts, method, rate) -> bool:
    """The dropout rate is a parameter of the method that the caller must pass (no default) or
    that is off unless passed (default 0): the caller turns dropout on for training and leaves
    it off, or passes 0, for evaluation. A nonzero default still drops at evaluation."""
    rate = strip(rate)
    if rate is None or rate.type != "identifier":
        return False
    name = facts.text(rate)
    if param_index(facts, method, name)[0] is None:
        return False
    binding = facts.binding(name, rate.start_byte)
    if binding is not None and binding.kind != "param":
        return False   # rebound in the method: `p = self.p`
    default = strip(param_default(facts, method, name))
    if not (default is None or default.type == "none" or literal_value(default) == 0):
        return False
    return not _fixed_rate_passed(facts, method, name)


def _fixed_rate_passed(facts, method, name) -> bool:
    """Some call of the file passes, where the rate goes, a rate the model holds
    (`block(x, self.drop_rate)`) or a nonzero number: whatever the mode, that call drops.
    Calls of known functions (`torch.cat(...)`) are not the method's callers."""
    index, keyword_only = param_index(facts, method, name)
    position = None if keyword_only or index is None else index - 1   # after `self`
    for call in facts.calls:
        if facts.callee_qual(call) is not None:
            continue
        pos, kw = args_of(call)
        arg = kw.get(name, pos[position] if position is not None and 0 <= position < len(pos) else None)
        arg = strip(arg)
        if arg is None:
            continue
        if arg.type == "attribute" and facts.text(arg).startswith("self.") and _RATE_WORDS.search(facts.text(arg)):
            return True
        value = literal_value(arg)
        if isinstance(value, float) and 0 < value < 1:
            return True
    return False


_RATE_WORDS = re.compile(r"drop|rate|prob", re.IGNORECASE)


def _mentions_training(ctx, method) -> bool:
    """The word `training` as a name or an attribute in the method's code."""
    data, root = ctx.doc.data, ctx.doc.tree.root_node
    for m in _FOLLOWS_MODE.finditer(data, method.start_byte, method.end_byte):
        node = root.descendant_for_byte_range(m.start(), m.end())
        if node is not None and node.type == "identifier":
            return True
    return False


def _fix(ctx, call, method):
    """Add `training=self.training` after the last argument, when the method's first parameter
    is `self`."""
    params = method.child_by_field_id(F_PARAMETERS)
    first = params.named_children[0] if params is not None and params.named_children else None
    if first is None or first.type != "identifier" or ctx.text(first) != "self":
        return None
    args = call.child_by_field_id(F_ARGUMENTS)
    values = [a for a in args.named_children if a.type != "comment"] if args is not None else []
    if not values:
        return None
    end = values[-1].end_byte
    return Fix("Pass training=self.training", (TextEdit(end, end, ", training=self.training"),))


RULE = Rule("functional-dropout-always-on", Severity.WARNING, "dropout",
            "Functional dropout that ignores model.eval()", check,
            needs=(b"dropout", b"scaled_dot_product_attention"))
