"""Model classes (nn.Module / keras.Model subclasses): their layers and what `forward` returns.

This is what lets `train.py` know that `Net` from `models.py` ends in a softmax.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

from .facts import Nested
from .findings import Location
from .mode_selectors import Selector, mode_selector, selects_stochastic
from .parsing import (
    F_ATTRIBUTE,
    F_BODY,
    F_CONDITION,
    F_CONSEQUENCE,
    F_DEFINITION,
    F_FUNCTION,
    F_LEFT,
    F_NAME,
    F_OBJECT,
    F_PARAMETERS,
    F_RIGHT,
    F_SUPERCLASSES,
    F_VALUE,
)
from .rates import RateParams, rate_parameters
from .values import Values, is_method, method_call, strip

TORCH_BASES = {"torch.nn.Module"}
KERAS_BASES = {"keras.Model", "keras.models.Model", "keras.layers.Layer"}
# Words of a class body's code that mean layers which behave differently in train and eval mode.
# Not "Transformer": torch's nn.Transformer* layers (dropout=0.1 by default) are recognised by
# their qualified name, and a user's `TransformerBlock` is only as mode-dependent as its own body.
STOCHASTIC_HINTS = ("Dropout", "BatchNorm", "dropout(", "batch_norm(", "AlphaDropout")
_HINT_BYTES = tuple(h.encode() for h in STOCHASTIC_HINTS)
# What the type tests below start with: most code has none, and the substitution is slow.
_TYPE_TEST_MARKS = ("isinstance", "type(", ".find", "' in ", '" in ', "' not in ", '" not in ')


def _builds_stochastic_layers(code: str) -> bool:
    """The code names a dropout or batch-norm layer other than in a type test, or calls
    functional dropout in a way that follows the mode."""
    if not any(h in code for h in STOCHASTIC_HINTS):
        return False
    if "dropout(" in code and "training" not in code and _FUNCTIONAL_DROPOUT_CALL.search(code):
        code = _FUNCTIONAL_DROPOUT_CALL.sub(_keep_if_mode_aware, code)
        if not any(h in code for h in STOCHASTIC_HINTS):
            return False
    if not any(m in code for m in _TYPE_TEST_MARKS):
        return True
    return any(h in _TYPE_TESTS.sub(" ", code) for h in STOCHASTIC_HINTS)


# `F.dropout(x, 0.5)` with no `training` argument drops in both modes (torch's default is
# training=True): `model.eval()` changes nothing there (functional-dropout-always-on reports
# it), so such a call makes no train/eval difference. With `training=self.training`, a third
# positional argument, or splatted arguments it may follow the mode.
_FUNCTIONAL_DROPOUT_CALL = re.compile(
    r"\b(?:F|functional|nn\.functional)\.(?:dropout|dropout1d|dropout2d|dropout3d)\("
    r"((?:[^()]|\((?:[^()]|\([^()]*\))*\))*)\)")


def _keep_if_mode_aware(m: re.Match) -> str:
    args = m.group(1)
    if "training" in args or "*" in args or _positional_count(args) >= 3:
        return m.group(0)
    return " "


def _positional_count(args: str) -> int:
    """How many positional arguments a call's argument text holds (`x, 0.5, True` -> 3)."""
    depth, parts, current = 0, [], []
    for ch in args:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return sum(1 for p in parts if p.strip() and not re.match(r"\s*\w+\s*=(?!=)", p))


# Mentions of a layer type that test for it, not build it: weight-init methods do
# `if isinstance(m, nn.BatchNorm2d): ...` or `classname.find("BatchNorm")` whatever the model holds.
_TYPE_TESTS = re.compile(
    r"\bisinstance\s*\((?:[^()]|\([^()]*\))*\)"                 # isinstance(m, (nn.BatchNorm2d, ...))
    r"|\btype\s*\([^()]*\)\s*(?:==|is|in)\s*[\w.]+"                # type(m) == nn.BatchNorm2d
    r"|\.find\s*\(\s*(?:'[^'\n]*'|\"[^\"\n]*\")\s*\)"               # classname.find('BatchNorm')
    r"|(?:'[^'\n]*'|\"[^\"\n]*\")\s+(?:not\s+)?in\s+[\w.]+(?!\s*\()")   # 'BatchNorm' in classname
# Pretrained model factories: their networks contain dropout / batch norm.
MODEL_FACTORIES = ("torchvision.models.", "timm.create_model", "transformers.")
# In `transformers`, the models among everything else (tokenizers, processors, configs,
# pipelines, trainers): `AutoModel...`, `...Model`, `...For<Task>`.
_TRANSFORMERS_MODEL = re.compile(r"Model|For[A-Z]")


def is_model_factory(qual: str) -> bool:
    """`qual` builds a pretrained network (torchvision, timm, a Hugging Face model class) and
    not, say, `transformers.AutoTokenizer.from_pretrained`."""
    if not qual.startswith(MODEL_FACTORIES):
        return False
    if qual.startswith("transformers."):
        return any(_TRANSFORMERS_MODEL.search(part) for part in qual.split(".")[1:])
    return True


@dataclass
class ModelClass:
    name: str
    path: str
    framework: str                      # torch | keras
    layers: dict = field(default_factory=dict)   # attr -> (qual, ctor node or None)
    output: frozenset = frozenset()     # tags of what forward() returns
    output_node: object = None          # node applying the last activation (same file only)
    output_location: Location | None = None
    # Has layers that behave differently in train and eval mode (dropout, batch norm);
    # None when unknown (the class is defined twice, differently: notebooks redefine classes).
    mode_dependent: bool | None = True
    # When its only train/eval difference is dropout with rates from `__init__` parameters:
    # which (an instance built with them at 0 is not mode-dependent; rates.py).
    rates: RateParams | None = None
    # Its `__init__` calls `.eval()` (on itself or a member: yolov7's TracedModel traces its
    # model in eval mode): a fresh instance is not simply in training mode.
    evals_in_init: bool = False
    # forward() returns a tuple: per slot, (tags, activation node) of what it holds (this file
    # only: not kept by summary()).
    slot_outputs: tuple | None = None
    # Its only train/eval-dependent parts are Hugging Face models it loads with
    # `from_pretrained` (which leaves them in eval mode): a fresh instance runs them in eval mode.
    pretrained_eval_only: bool = False
    # forward() applies its last activation only when a flag parameter is set (`def forward(self,
    # x, apply_softmax=False): ... if apply_softmax: x = F.softmax(x)`, PyTorchNLPBook):
    # (parameter name, its position after self, tags, activation node); `output` is then unknown,
    # and a call that passes the flag as True gets these tags (this file only).
    output_flag: tuple | None = None
    # forward() clears the whole model's gradients itself (`self.zero_grad()` at its top: a
    # seq2seq model that returns its loss), so each call of the model starts from zero.
    clears_grads: bool = False
    # Its only dropout / batch norm is built under `if norm == "batch":` on an `__init__`
    # string parameter (mode_selectors.py): a class built of it with another value is not
    # mode-dependent through it (this file only).
    selector: Selector | None = None

    def summary(self) -> "ModelClass":
        """A copy without tree-sitter nodes, safe to send to another process or file."""
        return ModelClass(self.name, self.path, self.framework, {}, self.output, None,
                          self.output_location, self.mode_dependent, self.rates, self.evals_in_init,
                          pretrained_eval_only=self.pretrained_eval_only, clears_grads=self.clears_grads)


def index_classes(facts) -> dict[str, ModelClass]:
    """The model classes of one document version (computed once per version: the project
    index and the analysis both ask). Callers must not change what they get."""
    if facts._model_classes is None:
        with facts.class_index_lock:  # a hover and the diagnostics pass may both ask (facts.py)
            if facts._model_classes is None:
                facts._model_classes = _index_classes(facts)
    return facts._model_classes


def _index_classes(facts) -> dict[str, ModelClass]:
    text = facts.text
    classes: dict[str, ModelClass] = {}
    defined: list[ModelClass] = []                 # every definition, redefinitions included
    uses: dict[int, set[str]] = {}                 # id(definition) -> class names it builds
    redefined: list[tuple[ModelClass, ModelClass]] = []
    values = None
    bodies: list = []                              # (body node, definition), document order
    nodes_of: dict[int, object] = {}               # id(definition) -> its class node
    for node in facts.classes_nodes:
        name_node = node.child_by_field_id(F_NAME)
        supers = node.child_by_field_id(F_SUPERCLASSES)
        if name_node is None or supers is None:
            continue
        framework = None
        subclass = False   # of another model class of the file: its layers are inherited
        inherits_dropout = False
        for base in supers.named_children:
            q = facts.qual(base)
            if q in TORCH_BASES or (q is None and text(base).endswith(("nn.Module", "Module"))):
                framework = "torch"
            elif q in KERAS_BASES:
                framework = "keras"
            elif base.type == "identifier" and text(base) in classes:
                framework = classes[text(base)].framework
                subclass = True
                inherits_dropout = inherits_dropout or classes[text(base)].mode_dependent is True
        if framework is None:
            continue
        cls = ModelClass(text(name_node), facts.doc.path, framework)
        defined.append(cls)
        nodes_of[id(cls)] = node
        body = node.child_by_field_id(F_BODY)
        body_text = facts.code_in(body) if body is not None else ""  # comments say nothing
        unused = _unused_stochastic_layers(facts, body, body_text) if body is not None else {}
        fresh = _fresh_in_forward(facts, body, body_text) if body is not None and framework == "torch" else []
        for start, end in [*unused.values(), *fresh]:   # declared in __init__, never called: no effect
            # (byte offsets in the document; the text is decoded: count characters before them)
            data = facts.doc.data
            a = len(data[body.start_byte:start].decode("utf-8", errors="replace"))
            b = a + len(data[start:end].decode("utf-8", errors="replace"))
            body_text = body_text[:a] + " " * (b - a) + body_text[b:]
        cls.mode_dependent = _builds_stochastic_layers(body_text) or inherits_dropout
        previous = classes.get(cls.name)
        classes[cls.name] = cls
        if previous is not None:
            redefined.append((previous, cls))
        if body is None:
            continue
        bodies.append((body, cls))
        if values is None:
            values = Values(facts)
            values._local_classes = classes  # classes seen so far: a model may wrap another
        _collect_layers(facts, values, body, cls, set(unused))
        init = _method(body, "__init__", text)
        if cls.mode_dependent and framework == "torch" and not subclass:
            cls.rates = rate_parameters(facts, body, init, cls.layers, classes)
            if not any(is_model_factory(q) for q, _ctor in cls.layers.values()):   # (a backbone)
                cls.selector = mode_selector(facts, body, init)
        # `self.eval()` in __init__, or `self.model.eval()` in a wrapper whose own body builds
        # no dropout / batch norm (yolov7's TracedModel); not a classifier that freezes its
        # backbone (`self.backbone.eval()`) next to a dropout head of its own.
        init_code = facts.code_in(init) if init is not None and ".eval()" in body_text else ""
        cls.evals_in_init = "self.eval()" in init_code or (
            ".eval()" in init_code and not cls.mode_dependent)
        forward = _method(body, "forward" if framework == "torch" else "call", text)
        if forward is not None:
            _forward_output(facts, values, forward, cls)
            cls.clears_grads = framework == "torch" and "zero_grad" in body_text and bool(
                _SELF_ZERO_GRAD.search(facts.code_in(forward)))
        if previous is not None:
            _merge_output(previous, cls)
    _what_bodies_build(facts, bodies, classes, uses)
    for cls in defined:
        if cls.pretrained_eval_only:
            if cls.mode_dependent is False:
                cls.mode_dependent = True    # the pretrained model has dropout, in eval mode
            else:
                cls.pretrained_eval_only = False   # layers of its own (or unknown) as well
    _propagate_mode_dependence(classes, defined, uses)
    # Dropout rates say nothing of the blocks a class builds, unless they are blocks defined
    # once above it whose own rates it sets (rates.py); document order: a block's rates are
    # settled before the classes that build it.
    once = {}
    for cls in defined:
        once[cls.name] = cls.name not in once
    for cls in defined:
        if cls.rates is not None and any(
                classes[n].mode_dependent is not False
                and not (n in cls.rates.blocks and once[n] and classes[n].rates is not None)
                for n in uses.get(id(cls), ()) if n in classes):
            cls.rates = None
    # Each definition's own answer, before redefinitions that disagree make the name's unknown:
    # a constructor next to one definition (in the same function) builds that one.
    by_name: dict[str, list] = {}
    for cls in defined:
        by_name.setdefault(cls.name, []).append((nodes_of[id(cls)], cls.mode_dependent))
    facts._class_definitions = by_name
    for previous, cls in redefined:
        # Which definition a use sees depends on execution order: if they disagree, unknown.
        if previous.mode_dependent != cls.mode_dependent:
            cls.mode_dependent = None
    return classes


def mode_dependent_where_built(facts, name: str, ctor) -> bool | None:
    """For a class defined more than once: the answer of the definition a constructor call
    builds when that is certain, the last definition above it in the same function (`def
    get_model(): class Net(nn.Module): ...; return Net()`, a notebook redefining get_model with
    another Net); None otherwise."""
    index_classes(facts)
    defs = facts._class_definitions.get(name, ())
    scope = facts.scope_id(ctor.start_byte)
    if scope == -1:
        return None   # module level: cells may run out of order
    here = [(node, mode) for node, mode in defs
            if facts.scope_id(node.start_byte) == scope and node.end_byte <= ctor.start_byte]
    return here[-1][1] if here else None


def _merge_output(previous: ModelClass, cls: ModelClass) -> None:
    """A class defined twice (a notebook cell run again with changes): which definition a use
    sees depends on execution order, so whatever the two disagree on becomes unknown."""
    if previous.output != cls.output:
        cls.output, cls.output_node, cls.output_location = frozenset(), None, None


def _what_bodies_build(facts, bodies: list, classes: dict, uses: dict) -> None:
    """For each model class body in `bodies` ((body node, ModelClass), in document order): the
    names of this file's model classes it calls (`uses`), and mode-dependent if it builds a
    torch Transformer layer or a torch layer given a non-zero `dropout=` (nn.LSTM,
    nn.MultiheadAttention). Done over the whole file's call index at once (a pass per class
    body cost ~10 ms at 3,000 lines)."""
    if not bodies:
        return
    nest = Nested([body for body, _ in bodies])

    def owner(pos: int):
        i = nest.innermost(pos)
        return bodies[i][1] if i >= 0 else None

    built = []   # (building class, name of the class built, constructor call)
    for name in classes:
        for call in facts.calls_named(name):
            cls = owner(call.start_byte)
            if cls is not None:
                built.append((cls, name, call))
    # A function of the file that builds dropout or batch norm (`def conv_bn(...): return
    # nn.Sequential(..., nn.BatchNorm2d(oup), ...)`, MobileNet's style) called in a class body.
    for func in facts.functions:
        name_node = func.child_by_field_id(F_NAME)
        if name_node is None or is_method(func):
            continue
        raw = facts.doc.data[func.start_byte:func.end_byte]
        if not any(h in raw for h in _HINT_BYTES):
            continue   # most functions: no need to build their code text
        code = facts.code_in(func)
        if not _builds_stochastic_layers(code):
            continue
        for call in facts.calls_named(facts.text(name_node)):
            cls = owner(call.start_byte)
            if cls is not None and cls.mode_dependent is not None:
                cls.mode_dependent, cls.selector, cls.rates = True, None, None
    for last, calls in facts.calls_by_last_name().items():
        if "Transformer" in last:
            for call in calls:
                cls = owner(call.start_byte)
                if cls is not None and (facts.callee_qual(call) or "").startswith(TORCH_TRANSFORMER):
                    cls.mode_dependent, cls.selector = True, None
    calls, starts = facts.calls, None
    for m in _DROPOUT_ARG.finditer(facts.doc.data):
        at = m.start()
        cls = owner(at)
        before = facts.doc.data[at - 1:at]
        if (cls is None or m.group(1) in (b"0", b"0.0", b"0.", b"None") or facts.in_comment(at)
                or before.isalnum() or before in (b"_", b".")):
            continue  # not the keyword argument itself (`attn_dropout=`, `cfg.dropout=`)
        if starts is None:
            starts = [c.start_byte for c in calls]
        i = bisect_right(starts, at) - 1
        while i >= 0 and calls[i].end_byte <= at:
            i -= 1  # the innermost call holding the keyword: the last one starting before it
        if i >= 0 and (facts.callee_qual(calls[i]) or "").startswith("torch.nn."):
            cls.mode_dependent, cls.selector = True, None
    # A class built with a value that takes no dropout / batch-norm branch of its selector is
    # not a mode-dependent part (fast-neural-style's `ConvLayer(3, 32, 9, 1)`, norm="instance");
    # a selector holds only for a class that builds no other class of the file.
    builders = {id(cls) for cls, _name, _call in built}
    for cls, name, call in built:
        used = classes[name]
        if used.selector is not None and id(used) not in builders \
                and not selects_stochastic(facts, used.selector, call):
            continue
        uses.setdefault(id(cls), set()).add(name)


_DROPOUT_ARG = re.compile(rb"dropout\s*=\s*([^,)\s]+)")  # (no look-behind: it disables the fast literal scan)
TORCH_TRANSFORMER = ("torch.nn.Transformer", "torch.nn.modules.transformer.")


def _propagate_mode_dependence(classes: dict, defined: list, uses: dict) -> None:
    """A class that builds a mode-dependent class of this file is mode-dependent too (a model
    holding `TransformerBlock`s with dropout); unknown if one it builds is unknown."""
    changed = True
    while changed:
        changed = False
        for cls in defined:
            if cls.mode_dependent is True:
                continue
            states = {classes[n].mode_dependent for n in uses.get(id(cls), ()) if n in classes}
            new = True if True in states else (None if None in states else cls.mode_dependent)
            if new != cls.mode_dependent:
                cls.mode_dependent = new
                changed = True


def _method(body, name, text):
    for child in body.named_children:
        fn = child
        if child.type == "decorated_definition":
            fn = child.child_by_field_id(F_DEFINITION)
        if fn is not None and fn.type == "function_definition":
            n = fn.child_by_field_id(F_NAME)
            if n is not None and text(n) == name:
                return fn
    return None


_REACHES_LAYERS_INDIRECTLY = re.compile(
    r"\b(?:children|named_children|modules|named_modules)\s*\(|_modules\b|\bgetattr\s*\(|__dict__|\bvars\s*\(")


def _unused_stochastic_layers(facts, body, body_text: str) -> dict:
    """`self.dropout = nn.Dropout(0.1)` in __init__ with no other mention of `.dropout` in the
    file: attribute -> (start, end) of its assignment. A layer never called changes
    nothing in either mode (a wrapper around a from_pretrained model declaring a dropout it
    never uses). Offsets are the document's; the body text is the class body's."""
    if not any(h in body_text for h in STOCHASTIC_HINTS):
        return {}
    init = _method(body, "__init__", facts.text)
    if init is None:
        return {}
    found = {}
    for a in facts.assignments_in(init):
        left, right = a.child_by_field_id(F_LEFT), a.child_by_field_id(F_RIGHT)
        if left is None or right is None or left.type != "attribute" or right.type != "call":
            continue
        obj, attr = left.child_by_field_id(F_OBJECT), left.child_by_field_id(F_ATTRIBUTE)
        if obj is None or attr is None or facts.text(obj) != "self":
            continue
        if not any(h in facts.text(right) for h in STOCHASTIC_HINTS):
            continue
        # the file's only mention of `.name` (outside comments): not read by forward, another
        # method, a subclass or the code that uses the model (`model.dropout.p = 0.3`)
        name = facts.text(attr)
        if facts.method_calls(name):
            continue   # `self.dropout(x)`: called (the cheap test, true of nearly every layer)
        if len(facts.code_matches(re.compile(rb"\." + re.escape(name.encode()) + rb"\b"))) == 1:
            found[name] = (a.start_byte, a.end_byte)
    if found and _REACHES_LAYERS_INDIRECTLY.search(body_text):
        return {}   # `for layer in self.children()`, `getattr(self, name)`: any layer may run
    return found


def _fresh_in_forward(facts, body, body_text: str) -> list:
    """`d = nn.Dropout(p=drop_prob)` (or `nn.Dropout(p)(x)`) inside forward() or a method it
    uses (any method but __init__): a module built on every call, never registered, is always
    in training mode, so eval() does not switch it off. (start, end) of each such constructor
    whose only uses are calls of it in that method."""
    if not any(h in body_text for h in ("Dropout", "BatchNorm")):
        return []
    found = []
    for method in _methods(body):
        name = method.child_by_field_id(F_NAME)
        if name is not None and facts.text(name) != "__init__":
            found += _fresh_in(facts, method)
    return found


def _methods(body) -> list:
    out = []
    for child in body.named_children:
        fn = child.child_by_field_id(F_DEFINITION) if child.type == "decorated_definition" else child
        if fn is not None and fn.type == "function_definition":
            out.append(fn)
    return out


def _fresh_in(facts, forward) -> list:
    found = []
    for call in facts.calls_in(forward):
        q = facts.callee_qual(call) or ""
        if not q.startswith("torch.nn.") or not any(h in q.rsplit(".", 1)[-1] for h in ("Dropout", "BatchNorm")):
            continue
        parent = call.parent
        if parent is not None and parent.type == "call" and parent.child_by_field_id(F_FUNCTION) == call:
            found.append((call.start_byte, call.end_byte))   # `nn.Dropout(p)(x)`
            continue
        if parent is None or parent.type != "assignment" or parent.child_by_field_id(F_RIGHT) != call \
                or parent.parent is None or parent.parent.type != "expression_statement":
            continue   # (`self.d = d = nn.Dropout(p)`: registered too)
        left = parent.child_by_field_id(F_LEFT)
        if left is None or left.type != "identifier":
            continue   # `self.drop = nn.Dropout(p)`: registered
        name = facts.text(left)
        reads = [i for i in facts.identifiers_named(name)
                 if forward.start_byte <= i.start_byte < forward.end_byte and i.start_byte != left.start_byte]
        if all(i.parent is not None and i.parent.type == "call" and i.parent.child_by_field_id(F_FUNCTION) == i
               for i in reads):
            found.append((call.start_byte, call.end_byte))   # `d = nn.Dropout(p)`, then only `d(x)`
    return found


def _collect_layers(facts, values, body, cls, unused=frozenset()):
    init = _method(body, "__init__", facts.text)
    if init is None:
        return
    # `self.fc = nn.Linear(...)`, and `self.head = head` of a layer built under a local name
    named = [strip(a.child_by_field_id(F_RIGHT)) for a in facts.assignments_in(init)]
    values_assigned = list(facts.calls_in(init)) + [v for v in named if v is not None and v.type == "identifier"]
    values_assigned.sort(key=lambda n: n.start_byte)   # a later `self.head = ...` wins
    for call in values_assigned:
        parent = call.parent
        if parent is None or parent.type != "assignment":
            continue
        left = parent.child_by_field_id(F_LEFT)
        if left is None or left.type != "attribute" or strip(parent.child_by_field_id(F_RIGHT)) != call:
            continue
        obj = left.child_by_field_id(F_OBJECT)
        attr = left.child_by_field_id(F_ATTRIBUTE)
        if obj is None or attr is None or facts.text(obj) != "self":
            continue
        qual, ctor = values.instance(call)
        if qual is not None:
            cls.layers[facts.text(attr)] = (qual, ctor)
            if qual.startswith("torch.nn.") and ("Dropout" in qual or "BatchNorm" in qual) \
                    and facts.text(attr) not in unused:
                cls.mode_dependent = True
            sub = None if qual.startswith("torch.") else values.local_class(qual)  # a block defined above
            if is_model_factory(qual) and qual.startswith("transformers.") and method_call(call)[1] == "from_pretrained" \
                    and not cls.mode_dependent:
                cls.pretrained_eval_only = True   # unless something else makes it mode-dependent
            elif (sub is not None and sub.mode_dependent and not (
                    sub.selector is not None and ctor is not None
                    and not selects_stochastic(facts, sub.selector, ctor))) or is_model_factory(qual):
                cls.mode_dependent = True   # (a block with batch norm in the branch built, or a backbone)


# Where a `return` can be: blocks and compound statements (never an expression; never a nested
# def or class, whose returns are not forward's).
_STATEMENT_CONTAINERS = frozenset({
    "block", "if_statement", "elif_clause", "else_clause", "for_statement", "while_statement",
    "with_statement", "try_statement", "except_clause", "except_group_clause", "finally_clause",
    "match_statement", "case_clause",
})


_SELF_ZERO_GRAD = re.compile(r"(?<![\w.])self\s*\.\s*zero_grad\s*\(")


def _forward_output(facts, values, forward, cls):
    body = forward.child_by_field_id(F_BODY)
    if body is None:
        return
    returns = []
    stack = [body]
    while stack:  # returns of forward itself, not of nested functions
        node = stack.pop()
        for child in node.named_children:
            if child.type == "return_statement":
                returns.append(child)
            elif child.type in _STATEMENT_CONTAINERS:  # a return is a statement: no expressions
                stack.append(child)
    outputs = set()
    node_used = None
    if returns and all(_several(ret) for ret in returns):
        cls.slot_outputs = _slot_outputs(values, returns, cls)
        return   # `return validity, label`: each slot is read where it is unpacked
    flags = _flag_parameters(facts, forward)
    for ret in returns:
        value = ret.named_children[0] if ret.named_children else None
        if value is None or value.type == "tuple":
            return  # several outputs: do not guess which one is the prediction
        tags, applied = values.tags(value, self_layers=cls.layers)
        flag = _guarding_flag(facts, applied, forward, flags) if tags and applied is not None else None
        if flag is not None:
            # Applied only when the caller asks: the default call's output is not known here.
            cls.output_flag = (flag, flags[flag], tags, applied)
            return
        if not tags:
            return
        outputs.add(tags)
        node_used = applied
    if len(outputs) == 1:
        cls.output = outputs.pop()
        cls.output_node = node_used
        if node_used is not None:
            cls.output_location = Location.of_node(facts.doc, node_used)


_OFF_DEFAULTS = frozenset({"False", "None", "0"})


def _flag_parameters(facts, forward) -> dict:
    """forward()'s parameters whose default is off (`apply_softmax=False`): name -> position
    after `self`."""
    params = forward.child_by_field_id(F_PARAMETERS)
    found = {}
    for i, p in enumerate(params.named_children[1:] if params is not None else ()):
        if p.type not in ("default_parameter", "typed_default_parameter"):
            continue
        name, value = p.child_by_field_id(F_NAME), p.child_by_field_id(F_VALUE)
        if name is not None and value is not None and facts.text(value) in _OFF_DEFAULTS:
            found[facts.text(name)] = i
    return found


def _guarding_flag(facts, node, forward, flags) -> str | None:
    """The flag parameter of an `if flag:` whose body holds `node` (in forward itself)."""
    if not flags:
        return None
    inner = node
    parent = node.parent
    while parent is not None and parent != forward:
        if parent.type == "if_statement" and inner == parent.child_by_field_id(F_CONSEQUENCE):
            cond = strip(parent.child_by_field_id(F_CONDITION))
            if cond is not None and cond.type == "identifier" and facts.text(cond) in flags:
                return facts.text(cond)
        inner, parent = parent, parent.parent
    return None


def _several(ret) -> bool:
    """`return a, b` / `return (a, b)`: a return statement with one value per slot."""
    value = ret.named_children[0] if ret.named_children else None
    return value is not None and value.type in ("expression_list", "tuple") and len(value.named_children) > 1


def _slot_outputs(values, returns, cls):
    """Per slot of a forward() that returns a tuple (ACGAN's `return validity, label`): the
    tags and activation node of what it holds, where every return agrees; else None."""
    slots = None
    for ret in returns:
        items = ret.named_children[0].named_children
        found = [values.tags(item, self_layers=cls.layers) for item in items]
        if slots is None:
            slots = found
        elif len(slots) != len(found):
            return None
        else:
            slots = [a if a[0] == b[0] else (frozenset(), None) for a, b in zip(slots, found)]
    if not slots or not any(tags for tags, _node in slots):
        return None
    return tuple(slots)


@dataclass(frozen=True)
class FileSummary:
    """What other files of a project need to know of one file besides its model classes
    (node-free: kept in the Workspace and sent to worker processes)."""
    # module-level functions that switch the train/eval mode of what they are handed
    # (`def evaluate(model): model.eval() ...`), by name: rules/_modes.HelperModes
    helpers: dict = field(default_factory=dict)
    # classes that are not models and define a `cuda()` of their own, by name -> whether it is
    # more than a plain move to one GPU: it names no CUDA, or its file targets GPUs on purpose
    # (DataParallel, `device_count` ...: rules/_devices.GUARDS). `trainer.cuda()` then runs the
    # project's method, which hardcoded-cuda judges in its own file.
    own_cuda: dict = field(default_factory=dict)


def file_summary(doc) -> FileSummary:
    """The FileSummary of `doc` (a notebook is imported by no one: empty)."""
    if doc.path.endswith(".ipynb"):
        return FileSummary()
    from .rules._modes import exported_modes   # (rules import this module)

    return FileSummary(exported_modes(doc), _own_cuda_classes(doc.facts))


# Superclasses of models: their `cuda()` is nn.Module's (an override still moves to the GPU).
_MODEL_SUPERS = re.compile(r"\b(?:Module|LightningModule|Model|Layer|Sequential)\b")


def _own_cuda_classes(facts) -> dict:
    from .rules._devices import GUARDS   # (rules import this module)

    found = {}
    text = facts.text
    guarded = None
    for node in facts.classes_nodes:
        name, body = node.child_by_field_id(F_NAME), node.child_by_field_id(F_BODY)
        supers = node.child_by_field_id(F_SUPERCLASSES)
        if name is None or body is None or (supers is not None and _MODEL_SUPERS.search(text(supers).replace(".", " "))):
            continue
        method = _method(body, "cuda", text)
        if method is None:
            continue
        plain = "cuda" in facts.code_in(method.child_by_field_id(F_BODY)).lower()
        if plain:
            if guarded is None:
                guarded = any(facts.mentions(g) for g in GUARDS)
            plain = not guarded   # `self.model.cuda()`, nothing more: the caller's `.cuda()` moves
        found[text(name)] = not plain
    return found


def _in_module(path: str, module: str) -> bool:
    """`path` is the file of the dotted `module` (`pkg.utils` -> .../pkg/utils.py)."""
    tail = module.replace(".", "/")
    path = path.replace("\\", "/")
    return path.endswith((f"/{tail}.py", f"/{tail}/__init__.py")) or path in (f"{tail}.py", f"{tail}/__init__.py")


class Workspace:
    """Model classes from every file of a project, keyed by short name and by module path; and
    what else other files need of each file (FileSummary: its functions that switch a model's
    mode, its classes with a `cuda()` of their own)."""

    def __init__(self):
        self.by_name: dict[str, list[ModelClass]] = {}
        self.helpers: dict[str, list] = {}   # function name -> [rules._modes.HelperModes]
        self.summaries: dict[str, FileSummary] = {}   # path -> its summary

    def add_file(self, path: str, classes: dict[str, ModelClass], summary: FileSummary | None = None) -> None:
        """What `path` defines now (its previous entries go)."""
        for name in list(self.by_name):
            self.by_name[name] = [c for c in self.by_name[name] if c.path != path]
        for cls in classes.values():
            self.by_name.setdefault(cls.name, []).append(cls.summary())
        old = self.summaries.pop(path, None)
        for name in (old.helpers if old is not None else ()):
            self.helpers[name] = [h for h in self.helpers.get(name, ()) if h.path != path]
            if not self.helpers[name]:
                del self.helpers[name]
        if summary is not None and (summary.helpers or summary.own_cuda):
            self.summaries[path] = summary
            for helper in summary.helpers.values():
                self.helpers.setdefault(helper.name, []).append(helper)

    def get_helper(self, qual: str):
        """The helper that `qual` (`train_utils.evaluate`, from the importing file's imports)
        names: its module must match the file's path, since names such as `train` or
        `evaluate` are defined in many files (and in libraries)."""
        module, _, short = qual.rpartition(".")
        found = self.helpers.get(short)
        if not found or not module:
            return None
        matches = [h for h in found if _in_module(h.path, module)]
        return matches[0] if len(matches) == 1 else None

    def own_cuda(self, qual: str) -> bool | None:
        """For `qual` (`lib.framework.Framework`), a class of the project's module of that path
        that is not a model and defines `cuda()` itself: whether that method is more than a
        plain move to one GPU (FileSummary.own_cuda); None for any other class."""
        module, _, short = qual.rpartition(".")
        if not module:
            return None
        return next((s.own_cuda[short] for path, s in self.summaries.items()
                     if short in s.own_cuda and _in_module(path, module)), None)

    def get_class(self, qual: str):
        short = qual.rsplit(".", 1)[-1]
        found = self.by_name.get(short)
        if not found:
            return None
        if len(found) == 1:
            return found[0]
        module = qual.rsplit(".", 1)[0].replace(".", "/") if "." in qual else ""
        for cls in found:
            if module and cls.path.replace("\\", "/").endswith(module + ".py"):
                return cls
        return None  # ambiguous: stay silent rather than guess
