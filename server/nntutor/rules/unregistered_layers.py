"""unregistered-layers: layers kept in a plain list or dict on an nn.Module are not registered,
so their weights are not trained, moved or saved."""
from __future__ import annotations

import re
from bisect import bisect_left

from ..findings import Fix, Severity, TextEdit
from ..parsing import (
    F_ARGUMENTS,
    F_ATTRIBUTE,
    F_BODY,
    F_FUNCTION,
    F_KEY,
    F_LEFT,
    F_NAME,
    F_OBJECT,
    F_RIGHT,
    F_SUPERCLASSES,
    F_VALUE,
)
from ..values import args_of, strip
from . import Rule

# A class that registers by hand (`add_module(f"fc{i}", layer)`, `setattr(self, ...)`) knows.
# Searched in the class's code without its comments (`Facts.code_in`): a comment edit cannot
# change the answer, so these words need no place in incremental.SENSITIVE_WORDS.
# (`object.__setattr__(self, ...)` is the idiom that bypasses registration: not one of these.)
_REGISTERS = re.compile(r"\b(add_module|register_module|register_parameter|setattr)\s*\(|(?<!\bobject)\.__setattr__\s*\(")
_CONTAINERS = ("torch.nn.ModuleList", "torch.nn.ModuleDict", "torch.nn.Sequential",
               "torch.nn.ParameterList", "torch.nn.ParameterDict")
_SELF_ATTRIBUTE = re.compile(r"\bself\.(\w+)")
_NOT_MODULES = ("torch.nn.functional.", "torch.nn.init.", "torch.nn.utils.")
_PARAMETER = "torch.nn.Parameter"


_CANDIDATES = frozenset({"list", "tuple", "list_comprehension", "dictionary", "identifier"})


def check(ctx):
    classes = ctx.values.classes
    facts = ctx.facts
    assigns = facts.assignments
    starts = [a.start_byte for a in assigns]
    for node in facts.classes_nodes:
        name = node.child_by_field_id(F_NAME)
        cls = classes.get(ctx.text(name)) if name is not None else None
        if cls is None or cls.framework != "torch":
            continue
        bases = node.child_by_field_id(F_SUPERCLASSES)
        if bases is None or not any(b.type != "comment" and ctx.text(b) != "object" for b in bases.named_children):
            continue   # `class Model():` of a notebook that later defines another, nn.Module, `Model`
        wrapped = None  # computed for the first candidate only: most classes have none
        for i in range(bisect_left(starts, node.start_byte), len(assigns)):
            assign = assigns[i]
            if assign.start_byte >= node.end_byte:
                break
            left = assign.child_by_field_id(F_LEFT)
            value = strip(assign.child_by_field_id(F_RIGHT))
            if left is None or left.type != "attribute" or value is None or value.type not in _CANDIDATES:
                continue
            obj, attr = left.child_by_field_id(F_OBJECT), left.child_by_field_id(F_ATTRIBUTE)
            if obj is None or attr is None or ctx.text(obj) != "self" or not _method_of(ctx, assign, node):
                continue
            held = _held(ctx, value, assign)
            if held is None:
                continue
            if wrapped is None:
                body = node.child_by_field_id(F_BODY)
                if body is None or _REGISTERS.search(facts.code_in(body)):
                    break  # the class registers by hand: it knows
                wrapped = _wrapped_attributes(ctx, node)
            attr_name = ctx.text(attr)
            if attr_name in wrapped:
                continue
            container, example, all_modules, related = held
            plain = "dict" if container.endswith("Dict") else "list"
            what = "parameters" if container.startswith("Parameter") else f"`{example}` layers"
            yield ctx.finding(
                value, f"`self.{attr_name}` keeps {what} in a plain Python {plain}: nn.Module does "
                f"not look inside it, so their weights are not registered. `model.parameters()` "
                "leaves them out (the optimizer never updates them), `model.to(device)` does not "
                "move them and `state_dict()` does not save them, and nothing raises an error. "
                f"Use `nn.{container}(...)`.",
                related=[ctx.related(r, "a layer added to it") for r in related[:1]],
                fix=_wrap_fix(ctx, value, container) if all_modules else None)


def _method_of(ctx, assign, cls) -> bool:
    """`assign` sits in a method of `cls` itself (not in a nested class or function)."""
    fn = ctx.facts.function_at(assign.start_byte)
    if fn is None:
        return False
    parent = fn.parent
    if parent is not None and parent.type == "decorated_definition":
        parent = parent.parent
    return parent is not None and parent.parent == cls


def _wrapped_attributes(ctx, cls) -> set[str]:
    """Attributes handed to a torch container (or to a model class of this file) somewhere in
    the class: `nn.Sequential(*self.layers)`, `self.layers = nn.ModuleList(self.layers)` register
    what the list holds."""
    out = set()
    for call in ctx.facts.calls_in(cls):
        qual = ctx.facts.callee_qual(call)
        if qual is None:
            fn = call.child_by_field_id(F_FUNCTION)
            takes_modules = fn is not None and fn.type == "identifier" and ctx.text(fn) in ctx.values.classes
        else:
            takes_modules = qual in _CONTAINERS
        args = call.child_by_field_id(F_ARGUMENTS) if takes_modules else None
        if args is not None:
            out.update(_SELF_ATTRIBUTE.findall(ctx.text(args)))
    return out


def _kind(ctx, node) -> str | None:
    """'module' for a call building a torch module (an nn layer, a local nn.Module class),
    'parameter' for nn.Parameter(...), else None."""
    node = strip(node)
    if node is None or node.type != "call":
        return None
    qual = ctx.facts.callee_qual(node)
    if qual == _PARAMETER:
        return "parameter"
    if qual is not None:
        last = qual.rsplit(".", 1)[-1]
        if qual.startswith("torch.nn.") and not qual.startswith(_NOT_MODULES) and last[:1].isupper():
            return "module"
        return None
    fn = node.child_by_field_id(F_FUNCTION)
    if fn is not None and fn.type == "identifier":
        cls = ctx.values.classes.get(ctx.text(fn))
        if cls is not None and cls.framework == "torch":
            return "module"
    return None


# torch layers with no parameters, buffers or train/eval behaviour: kept in a plain list, nothing
# is lost (not Dropout: `model.eval()` would not switch it off there).
_INERT_LAYERS = re.compile(
    r"(?:Avg|Max|AdaptiveAvg|AdaptiveMax|LP|Fractional)Pool[123]d|MaxUnpool[123]d|Identity|Flatten|Unflatten"
    r"|ReLU6?|LeakyReLU|ELU|SELU|CELU|GELU|SiLU|Mish|Sigmoid|Tanh|Softmax|LogSoftmax|Softplus|Softsign"
    r"|Hardtanh|Hardswish|Hardsigmoid|Tanhshrink|Threshold|Upsample|UpsamplingNearest2d"
    r"|UpsamplingBilinear2d|PixelShuffle|PixelUnshuffle|(?:Zero|Constant|Reflection|Replication)Pad[123]d")
_HOLDS_STATE = re.compile(r"Parameter|register_buffer|Dropout|BatchNorm|Norm\b|Embedding")


def _inert(ctx, node, depth: int = 0) -> bool:
    """A module with nothing to register: a parameter-free torch layer (`nn.AvgPool1d(...)`), or
    a class of the file whose layers are all such (or such classes, three levels deep) and that
    makes no parameter or buffer."""
    node = strip(node)
    if node is None or node.type != "call" or depth > 3:
        return False
    qual = ctx.facts.callee_qual(node)
    if qual is not None:
        return qual.startswith("torch.nn.") and _INERT_LAYERS.fullmatch(qual.rsplit(".", 1)[-1]) is not None
    fn = node.child_by_field_id(F_FUNCTION)
    if fn is None or fn.type != "identifier":
        return False
    memo = ctx.values.__dict__.setdefault("_inert_classes", {})
    name = ctx.text(fn)
    if name not in memo:   # once per class: a list of lists of wrappers asks again and again
        memo[name] = False  # (while in progress: a class holding itself is not weight-free)
        memo[name] = _inert_class(ctx, name, depth)
    return memo[name]


def _inert_class(ctx, name: str, depth: int) -> bool:
    cls = ctx.values.classes.get(name)
    if cls is None or cls.mode_dependent is not False or not cls.layers:
        return False
    node_of = ctx.facts.class_named(cls.name)
    if node_of is None or _HOLDS_STATE.search(ctx.facts.code_in(node_of)):
        return False
    bases = node_of.child_by_field_id(F_SUPERCLASSES)
    if bases is not None and any(b.type == "identifier" and ctx.text(b) in ctx.values.classes for b in bases.named_children):
        return False   # `MovingAvg(Base)`: what the base class of the file builds is inherited
    return all((q is not None and q.startswith("torch.nn.") and _INERT_LAYERS.fullmatch(q.rsplit(".", 1)[-1]))
               or (ctor is not None and q in ctx.values.classes and _inert(ctx, ctor, depth + 1))
               for q, ctor in cls.layers.values())


def _held(ctx, value, assign):
    """What a plain container assigned to `self.x` holds: (container to use instead, example
    layer, every element is a module/parameter so wrapping is safe, related nodes), or None when
    it holds no torch layer we can see. The elements are those written in it and those added
    later (`self.x.append(nn.Linear(...))`); a local list (`layers = []`, appended to, then
    `self.x = layers`) is followed to where it was built."""
    if value is None:
        return None
    if value.type == "identifier":
        b = ctx.facts.assignment_of(value)
        if b is None:
            return None
        source, name, after = strip(b.value), ctx.text(b.target), b.pos
        scope = ctx.facts.function_at(assign.start_byte)
    else:
        source, name, after = value, ctx.text(assign.child_by_field_id(F_LEFT)), assign.start_byte
        scope = ctx.facts.function_at(assign.start_byte)
        while scope is not None and scope.type != "class_definition":
            scope = scope.parent  # `self.x` may be appended to in any method
    literal = _literal(ctx, source)
    if literal is None or scope is None:
        return None
    elements, dict_like, keys_ok = literal
    related = []
    if not dict_like:
        added, related, unknown = _appended(ctx, name, scope, after)
        elements = elements + added
        keys_ok = keys_ok and not unknown
    return _summary(ctx, elements, dict_like, related, keys_ok)


def _literal(ctx, value):
    """(elements, is a dict, every element is known) of a list / tuple / comprehension / dict."""
    if value is None:
        return None
    if value.type in ("list", "tuple"):
        elements = [e for e in value.named_children if e.type != "comment"]
        return elements, False, not any(e.type == "list_splat" for e in elements)
    if value.type == "list_comprehension":
        body = value.child_by_field_id(F_BODY)
        return ([body] if body is not None else []), False, True
    if value.type == "dictionary":
        children = [p for p in value.named_children if p.type != "comment"]
        pairs = [p for p in children if p.type == "pair"]
        keys = [p.child_by_field_id(F_KEY) for p in pairs]
        # ModuleDict needs string keys, and `**other` hides what else is inside
        known = len(pairs) == len(children) and all(k is not None and k.type == "string" for k in keys)
        return [p.child_by_field_id(F_VALUE) for p in pairs], True, known
    return None


def _appended(ctx, name: str, scope, after: int):
    """Elements added by `name.append(x)` / `name.insert(i, x)` / `name.extend([...])` after
    byte `after` in `scope`: (elements, calls, some addition is of unknown contents)."""
    elements, related, unknown = [], [], False
    for method in ("append", "extend", "insert"):
        for call, receiver in ctx.facts.method_calls(method):
            if (receiver is None or ctx.text(receiver) != name or call.start_byte < after
                    or not (scope.start_byte < call.start_byte < scope.end_byte)):
                continue
            pos, _ = args_of(call)
            arg = strip(pos[-1]) if pos else None
            if method == "extend":
                if arg is not None and arg.type in ("list", "tuple"):
                    elements.extend(arg.named_children)
                else:
                    unknown = True
            elif arg is not None:
                elements.append(arg)
            related.append(call)
    related.sort(key=lambda c: c.start_byte)
    return elements, related, unknown


def _summary(ctx, elements, dict_like, related, known):
    kinds = [_kind(ctx, e) for e in elements]
    if not any(kinds):
        return None
    if known and all(k == "module" and _inert(ctx, e) for e, k in zip(elements, kinds)):
        return None   # pools and activations only: no weights to lose, nothing for eval() to switch
    parameters = all(k == "parameter" for k in kinds if k)
    container = ("Parameter" if parameters else "Module") + ("Dict" if dict_like else "List")
    example = next(ctx.text(strip(e).child_by_field_id(F_FUNCTION)) for e, k in zip(elements, kinds) if k)
    # Wrapping is safe when every element is a module (or every one a parameter): ModuleList
    # raises TypeError on anything else, such as a function kept beside the layers.
    uniform = known and all(k is not None for k in kinds) and len(set(kinds)) == 1
    return container, example, uniform, related


def _wrap_fix(ctx, value, container):
    prefix = _torch_nn(ctx)
    if prefix is None:
        return None
    return Fix(f"Wrap it in `{prefix}.{container}`",
               (TextEdit(value.start_byte, value.start_byte, f"{prefix}.{container}("),
                TextEdit(value.end_byte, value.end_byte, ")")))


def _torch_nn(ctx) -> str | None:
    """How this file spells torch.nn: `nn` (import torch.nn as nn / from torch import nn), or
    `torch.nn` (import torch)."""
    imports = ctx.facts.imports
    for local, qual in imports.items():
        if qual == "torch.nn":
            return local
    for local, qual in imports.items():
        if qual == "torch":
            return f"{local}.nn"
    return None


RULE = Rule("unregistered-layers", Severity.ERROR, "neural-network-basics",
            "nn layers kept in a plain list or dict", check, needs=(b"torch",))
