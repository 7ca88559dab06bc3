"""Following values: what a name holds, what class an object is, what a tensor went through.

Everything here is static and conservative: when a value cannot be followed the answer is
"unknown" (None / empty set), and rules stay silent on unknowns.
"""
from __future__ import annotations

from .parsing import (
    F_ARGUMENTS,
    F_ATTRIBUTE,
    F_BODY,
    F_DEFINITION,
    F_FUNCTION,
    F_LEFT,
    F_NAME,
    F_OBJECT,
    F_PARAMETERS,
    F_RIGHT,
    F_SUBSCRIPT,
    F_SUPERCLASSES,
    F_VALUE,
)

SOFTMAX, LOG_SOFTMAX, SIGMOID, LOGITS = "softmax", "log_softmax", "sigmoid", "logits"

SOFTMAX_FUNCS = {"torch.nn.functional.softmax", "torch.softmax", "torch.special.softmax",
                 "keras.activations.softmax", "keras.ops.softmax", "tensorflow.nn.softmax"}
LOG_SOFTMAX_FUNCS = {"torch.nn.functional.log_softmax", "torch.log_softmax",
                     "torch.special.log_softmax", "tensorflow.nn.log_softmax"}
SIGMOID_FUNCS = {"torch.sigmoid", "torch.nn.functional.sigmoid", "torch.special.expit",
                 "keras.activations.sigmoid", "tensorflow.sigmoid", "tensorflow.math.sigmoid"}
# Functional dropout: (input, p=0.5, training=True, inplace=False), whatever the module's mode.
FUNCTIONAL_DROPOUT = frozenset(f"torch.nn.functional.{name}" for name in (
    "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"))
LAYER_TAGS = {"torch.nn.Softmax": SOFTMAX, "torch.nn.LogSoftmax": LOG_SOFTMAX,
              "torch.nn.Sigmoid": SIGMOID, "torch.nn.Linear": LOGITS, "torch.nn.LazyLinear": LOGITS,
              "torch.nn.Bilinear": LOGITS, "torch.nn.Conv2d": LOGITS, "torch.nn.Conv1d": LOGITS}
# Layers that do not change what the last activation was.
TRANSPARENT_LAYERS = {"torch.nn.Dropout", "torch.nn.Flatten", "torch.nn.Identity",
                      "torch.nn.Dropout1d", "torch.nn.Dropout2d", "torch.nn.Unflatten"}
# Tensor methods that keep the meaning of a tensor (its values are still "the probabilities"):
# moves and casts, and the shape / layout / selection methods, which only rearrange or pick
# values (not those that compute new ones: sum, mean, max, log, gather + log ...).
PASSTHROUGH_METHODS = {"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "squeeze",
                       "unsqueeze", "view", "reshape", "contiguous", "flatten", "clone", "type",
                       "permute", "transpose", "view_as", "reshape_as", "type_as", "requires_grad_",
                       "unflatten", "movedim", "moveaxis", "swapaxes", "swapdims", "t", "expand",
                       "expand_as", "narrow", "select", "index_select", "masked_select"}
# The same as functions of a tensor (their first argument): `torch.flatten(probs, 0, 1)`,
# einops' `rearrange(probs, "b t c -> (b t) c")`.
PASSTHROUGH_FUNCS = frozenset({*(f"torch.{name}" for name in (
    "squeeze", "unsqueeze", "reshape", "flatten", "unflatten", "permute", "transpose", "movedim",
    "moveaxis", "swapaxes", "swapdims", "t", "narrow", "select", "index_select", "masked_select")),
    "einops.rearrange"})
# Attributes of a tensor that are the same values transposed.
PASSTHROUGH_ATTRIBUTES = frozenset({"T", "mT"})
# Methods on a module that return the module itself.
MODULE_SELF_METHODS = {"to", "cuda", "cpu", "train", "eval", "float", "double", "half",
                       "requires_grad_", "bfloat16", "to_empty"}

_MAX_DEPTH = 12


_ACTIVATION_METHODS = frozenset({"softmax", "log_softmax", "sigmoid"})


# torch functions that make a new tensor.
TENSOR_FACTORIES = frozenset(f"torch.{name}" for name in (
    "tensor", "as_tensor", "from_numpy", "randn", "rand", "randint", "randperm", "zeros", "ones",
    "empty", "full", "arange", "linspace", "logspace", "eye", "zeros_like", "ones_like",
    "randn_like", "rand_like", "randint_like", "full_like", "empty_like", "stack", "cat",
    "concat", "Tensor", "FloatTensor", "LongTensor", "IntTensor", "DoubleTensor", "BoolTensor",
    "ByteTensor", "HalfTensor"))


def strip(node):
    while node is not None and node.type in ("parenthesized_expression", "await"):
        node = node.named_children[0] if node.named_children else None
    return node


def follow(facts, expr, depth: int = 0):
    """Follow a plain name to the expression last assigned to it, also through an unpack of a
    literal tuple (`model, criterion = Net(), nn.CrossEntropyLoss()`), not of a call's result."""
    expr = strip(expr)
    while expr is not None and expr.type == "identifier" and depth < _MAX_DEPTH:
        b = facts.binding(facts.text(expr), expr.start_byte)
        if b is None or b.kind != "assign" or b.value is None:
            return expr
        value = strip(b.value)
        if b.index is not None:
            items = value.named_children if value is not None and value.type in ("expression_list", "tuple") else ()
            if len(items) != b.count or any(i.type == "list_splat" for i in items):
                return expr
            value = strip(items[b.index])
        expr = value
        depth += 1
    return expr


def unwrap_calls(node, names):
    """The first argument inside calls of `names`, however nested (`enumerate(tqdm(loader))` ->
    `loader` for names {"enumerate", "tqdm"}), and the names unwrapped, outermost first."""
    node = strip(node)
    seen = []
    while node is not None and node.type == "call":
        fn = node.child_by_field_id(F_FUNCTION)
        name = fn.text.decode().rsplit(".", 1)[-1] if fn is not None else ""
        if name not in names:
            break
        pos, _ = args_of(node)
        if not pos:
            break
        seen.append(name)
        node = strip(pos[0])
    return node, seen


def method_call(call):
    """(receiver node, method name) when `call` is `receiver.method(...)`, else (None, None)."""
    fn = call.child_by_field_id(F_FUNCTION)
    if fn is not None and fn.type == "attribute":
        attr = fn.child_by_field_id(F_ATTRIBUTE)
        return fn.child_by_field_id(F_OBJECT), (attr.text.decode() if attr is not None else None)
    return None, None


def args_of(call):
    """(positional argument nodes, {keyword: value node})."""
    args = call.child_by_field_id(F_ARGUMENTS)
    pos, kw = [], {}
    if args is None or args.type != "argument_list":
        return pos, kw
    for a in args.named_children:
        if a.type == "keyword_argument":
            name = a.child_by_field_id(F_NAME)
            value = a.child_by_field_id(F_VALUE)
            if name is not None and value is not None:
                kw[name.text.decode()] = value
        elif a.type not in ("comment", "list_splat", "dictionary_splat"):
            pos.append(a)
    return pos, kw


def returned_values(func):
    """The values of `func`'s own `return` statements (None for a bare `return`), and a
    `yield` node if it is a generator; nested functions, classes and lambdas are not looked in."""
    stack = [func.child_by_field_id(F_BODY)]
    while stack:
        node = stack.pop()
        if node is None:
            continue
        if node.type == "return_statement":
            yield node.named_children[0] if node.named_children else None
        elif node.type == "yield":
            yield node
        elif node.type not in ("function_definition", "class_definition", "lambda"):
            stack.extend(node.named_children)


def assigned_name(expr):
    """(assignment, identifier) when `expr` is the whole right side of `name = expr`, else
    (None, None)."""
    parent = expr.parent
    while parent is not None and parent.type == "parenthesized_expression":
        parent = parent.parent
    if parent is None or parent.type != "assignment" or strip(parent.child_by_field_id(F_RIGHT)) != expr:
        return None, None
    left = parent.child_by_field_id(F_LEFT)
    return (parent, left) if left is not None and left.type == "identifier" else (None, None)


def is_assignment_target(ident) -> bool:
    """`ident` receives a value (`x = ...`, `a, x = ...`, `x += ...`, `for x in ...`)."""
    node = ident
    while node.parent is not None and node.parent.type in ("pattern_list", "tuple_pattern", "list_pattern"):
        node = node.parent
    parent = node.parent
    return parent is not None and parent.type in ("assignment", "augmented_assignment", "for_statement") \
        and parent.child_by_field_id(F_LEFT) == node


def has_splat(call) -> bool:
    """The call passes `*args` or `**kwargs`: any argument a rule looks for may be in there."""
    args = call.child_by_field_id(F_ARGUMENTS)
    return args is not None and any(a.type in ("list_splat", "dictionary_splat") for a in args.named_children)


def _identity(instance):
    """What makes two objects the same for the rules: the class, or for a Sequential (whose
    class says nothing about its layers) the very constructor call."""
    qual, ctor = instance
    return (qual, ctor.start_byte if qual == "torch.nn.Sequential" and ctor is not None else None)


def is_callee(node) -> bool:
    """`node` is what a call calls: `evaluate` in `evaluate(...)`."""
    parent = node.parent
    return parent is not None and parent.type == "call" and parent.child_by_field_id(F_FUNCTION) == node


def is_keyword_name(node) -> bool:
    """`node` is a keyword argument's name: `objective` in `XGBRegressor(objective="...")`."""
    parent = node.parent
    return parent is not None and parent.type == "keyword_argument" and parent.child_by_field_id(F_NAME) == node


def is_method(func) -> bool:
    """`func` (a function_definition) is defined directly in a class body."""
    return class_of_method(func) is not None


def class_of_method(func):
    """The class whose body defines `func` directly (decorators allowed), else None."""
    if func is None:
        return None
    node = func.parent
    if node is not None and node.type == "decorated_definition":
        node = node.parent
    if node is None or node.type != "block":
        return None
    node = node.parent
    return node if node is not None and node.type == "class_definition" else None


def param_index(facts, func, name):
    """(positional index of parameter `name`, keyword-only?) or (None, False) when absent."""
    params = func.child_by_field_id(F_PARAMETERS)
    index, keyword_only = 0, False
    for p in (params.named_children if params is not None else ()):
        if p.type in ("list_splat_pattern", "keyword_separator", "dictionary_splat_pattern"):
            keyword_only = True
            continue
        if p.type == "positional_separator":
            continue
        ident = p if p.type == "identifier" else (p.child_by_field_id(F_NAME) or
                                                  (p.named_children[0] if p.named_children else None))
        if ident is not None and facts.text(ident) == name:
            return index, keyword_only
        index += 1
    return None, False


def string_value(node) -> str | None:
    node = strip(node)
    if node is None or node.type != "string":
        return None
    raw = node.text.decode("utf-8", errors="replace")
    for q in ('"""', "'''", '"', "'"):
        i = raw.find(q)
        if i != -1 and raw.endswith(q) and len(raw) >= i + 2 * len(q):
            return raw[i + len(q):len(raw) - len(q)]
    return None


def literal_value(node):
    """The int, float or bool a literal node spells (through parentheses and a leading minus),
    else None. Never evaluates anything else."""
    node = strip(node)
    if node is None:
        return None
    sign = 1
    if node.type == "unary_operator" and node.child_count == 2 and node.children[0].type == "-":
        sign, node = -1, strip(node.children[1])
        if node is None or node.type not in ("integer", "float"):
            return None
    text = node.text.decode("utf-8", errors="replace")
    try:
        if node.type == "integer":
            return sign * int(text.replace("_", ""), 0)
        if node.type == "float":
            return sign * float(text.replace("_", ""))
    except ValueError:
        return None  # 1j, 0777 ...
    return True if node.type == "true" else False if node.type == "false" else None


def constant(facts, expr, depth: int = 0):
    """(value, calls): the int / float / bool literal `expr` holds, following module constants
    (`DROPOUT = 0.3`) and, for a parameter, the arguments of every call in this file of its
    plain function (or of its class, for `__init__`), a left-out argument counting as the
    parameter's default. They must all give the same literal; `calls` are those calls (empty
    when no parameter was involved). (None, ()) when unknown, also when nothing calls it, and
    when a name on the way is bound more than once in its scope (`if deep: n = 2 else: n = 1`:
    which literal a run sees is not known)."""
    expr = strip(expr)
    steps = 0
    while expr is not None and expr.type == "identifier" and steps < _MAX_DEPTH:
        if not bound_once(facts, expr):
            return None, ()
        b = facts.assignment_of(expr)
        if b is None:
            break
        expr = strip(b.value)
        steps += 1
    value = literal_value(expr)
    if value is None and expr is not None and expr.type == "attribute" and depth <= 3:
        assigned = self_attribute_value(facts, expr)  # self.num_layers -> `= num_layers` in __init__
        return constant(facts, assigned, depth + 1) if assigned is not None else (None, ())
    if value is not None or expr is None or expr.type != "identifier" or depth > 3:
        return value, ()
    name = facts.text(expr)
    b = facts.binding(name, expr.start_byte)
    func = facts.function_at(expr.start_byte)
    if b is None or b.kind != "param" or func is None or b.scope != func.start_byte:
        return None, ()
    callee, skip = _callee_name(facts, func)
    index, keyword_only = param_index(facts, func, name)
    if callee is None or index is None or index < skip:
        return None, ()
    default = param_default(facts, func, name)
    calls = facts.calls_named(callee)
    found = None
    for call in calls:
        if has_splat(call):
            return None, ()
        pos, kw = args_of(call)
        arg = kw.get(name) if name in kw or keyword_only else (
            pos[index - skip] if index - skip < len(pos) else None)
        got = constant(facts, arg, depth + 1)[0] if arg is not None else literal_value(default)
        if got is None or (found is not None and got != found):
            return None, ()
        found = got
    return (found, tuple(calls)) if found is not None else (None, ())


def bound_once(facts, ident) -> bool:
    """The binding of `ident` that reaches it is the only one of that name in its scope (a
    parameter counts as bound once: its callers say what it holds)."""
    b = facts.binding(facts.text(ident), ident.start_byte)
    if b is None or b.kind == "param":
        return True
    return sum(x.scope == b.scope for x in facts.bindings.get(b.name, ())) == 1


_ASSIGNMENTS = ("assignment", "augmented_assignment")


def self_attribute_value(facts, expr):
    """For `self.name` read inside a class: the right side of the class's one `self.name = value`
    (in any of its methods), else None (no assignment, several, an augmented one, or one inside a
    tuple unpack: then its value is not one known expression)."""
    obj, attr = expr.child_by_field_id(F_OBJECT), expr.child_by_field_id(F_ATTRIBUTE)
    if obj is None or attr is None or obj.type != "identifier" or facts.text(obj) != "self":
        return None
    cls = expr.parent
    while cls is not None and cls.type != "class_definition":
        cls = cls.parent
    if cls is None:
        return None
    name = facts.text(attr)
    found = []
    stack = [cls]
    while stack:
        node = stack.pop()
        if node.type == "attribute":
            o, a = node.child_by_field_id(F_OBJECT), node.child_by_field_id(F_ATTRIBUTE)
            if a is not None and facts.text(a) == name and o is not None and facts.text(o) == "self":
                parent = node.parent
                if parent is not None and parent.type in _ASSIGNMENTS and parent.child_by_field_id(F_LEFT) == node:
                    if parent.type != "assignment":
                        return None
                    found.append(parent.child_by_field_id(F_RIGHT))
                elif parent is not None and parent.type in ("pattern_list", "tuple_pattern", "list_pattern"):
                    return None  # self.a, self.b = ...
            continue
        stack.extend(node.named_children)
    return found[0] if len(found) == 1 else None


def _callee_name(facts, func):
    """(the name its callers use, how many leading parameters they do not pass): a plain
    function's name, or for `__init__` its class's name (and `self`)."""
    ident = func.child_by_field_id(F_NAME)
    if ident is None:
        return None, 0
    if not is_method(func):
        return facts.text(ident), 0
    if facts.text(ident) != "__init__":
        return None, 0  # obj.method(...) calls cannot be matched by name
    parent = func.parent if func.parent.type != "decorated_definition" else func.parent.parent
    name = parent.parent.child_by_field_id(F_NAME)  # block -> class_definition
    return (facts.text(name), 1) if name is not None else (None, 0)


def param_default(facts, func, name):
    params = func.child_by_field_id(F_PARAMETERS)
    for p in (params.named_children if params is not None else ()):
        if p.type in ("default_parameter", "typed_default_parameter"):
            ident = p.child_by_field_id(F_NAME)
            if ident is not None and facts.text(ident) == name:
                return p.child_by_field_id(F_VALUE)
    return None


# Where pretrained backbones keep their classifier head (timm's `head`, torchvision's `fc` /
# `classifier`, pretrainedmodels' `last_linear`).
_HEAD_ATTRIBUTES = ("head", "fc", "classifier", "last_linear")


class Values:
    """Value questions about one document, with the workspace for classes defined elsewhere."""

    def __init__(self, facts, workspace=None):
        self.facts = facts
        self.workspace = workspace
        self._local_classes = None
        self._param_memo: dict = {}

    # -- classes --------------------------------------------------------------------------
    def local_class(self, name_or_qual: str):
        """A model class by (qualified) name: this file first, then the workspace."""
        from .models import index_classes

        if self._local_classes is None:
            self._local_classes = index_classes(self.facts)
        short = name_or_qual.rsplit(".", 1)[-1]
        if short in self._local_classes:
            return self._local_classes[short]
        if self.workspace is not None:
            return self.workspace.get_class(name_or_qual)
        return None

    @property
    def classes(self) -> dict:
        self.local_class("")
        return self._local_classes

    def instance(self, expr, depth: int = 0):
        """(class qualname or local class name, constructing call node) of an object, or (None, None).

        `criterion = nn.CrossEntropyLoss()` -> ("torch.nn.CrossEntropyLoss", <call>);
        `model = Net().to(device)` -> ("Net", <call Net()>)."""
        facts = self.facts
        expr = follow(facts, expr)
        if expr is None or depth > _MAX_DEPTH:
            return None, None
        if expr.type == "call":
            fn = expr.child_by_field_id(F_FUNCTION)
            q = facts.callee_qual(expr)
            if q is not None:
                return q, expr
            if fn is not None and fn.type == "identifier":
                name = facts.text(fn)
                if self.local_class(name) is not None:
                    return name, expr
                return self._factory_instance(name, expr, None, depth)
            receiver, method = method_call(expr)
            if method in MODULE_SELF_METHODS and receiver is not None:
                return self.instance(receiver, depth + 1)
        if expr.type == "identifier":
            b = facts.binding(facts.text(expr), expr.start_byte)
            if b is not None and b.kind == "assign" and b.index is not None:
                # `model, loss_fn, optimizer = get_model()`: the factory's returns, that slot
                value = strip(b.value)
                callee = value.child_by_field_id(F_FUNCTION) if value is not None and value.type == "call" else None
                if callee is not None and callee.type == "identifier":
                    return self._factory_instance(facts.text(callee), value, (b.index, b.count), depth)
                return None, None
            return self._param_instance(expr, depth)
        if expr.type == "attribute":
            return self._self_attribute_instance(expr, depth)
        if expr.type == "subscript":
            return self._item_instance(expr, depth)
        return None, None

    def _item_instance(self, sub, depth):
        """`encoders[col]`: what the dictionary holds, when everything put in it agrees on the
        class: its `encoders[...] = LabelEncoder()` items, a `{c: LabelEncoder() for c in cols}`
        comprehension, or a `defaultdict(LabelEncoder)`."""
        facts = self.facts
        base = strip(sub.child_by_field_id(F_VALUE))
        if base is None or base.type != "identifier":
            return None, None
        name = facts.text(base)
        b = facts.binding(name, base.start_byte)
        if b is None or b.kind != "assign" or b.index is not None or b.value is None:
            return None, None
        value = strip(b.value)
        if value is not None and value.type == "dictionary_comprehension":
            body = value.named_children[0] if value.named_children else None
            return self.instance(body.child_by_field_id(F_VALUE), depth + 1) \
                if body is not None and body.type == "pair" else (None, None)
        if value is not None and value.type == "call" and facts.callee_qual(value) == "collections.defaultdict":
            pos, _kw = args_of(value)
            factory = strip(pos[0]) if pos else None
            q = facts.qual(factory) if factory is not None else None
            return (q, None) if q is not None else (None, None)
        items = [right for target, right in self._item_assignments().get(name, ())
                 if target.start_byte > b.pos and facts.binding(name, target.start_byte) is b]
        if value is not None and value.type == "dictionary":   # `{"num": StandardScaler()}` too
            items += [p.child_by_field_id(F_VALUE) for p in value.named_children if p.type == "pair"]
        return self._agreed_instance(items, depth) if items else (None, None)

    def _item_assignments(self) -> dict:
        """name -> [(the name node, the value)] of every `name[...] = value` of the file, once."""
        found = self.__dict__.get("_items")
        if found is None:
            found = self._items = {}
            facts = self.facts
            for a in facts.assignments:
                left = a.child_by_field_id(F_LEFT)
                if left is None or left.type != "subscript":
                    continue
                target = strip(left.child_by_field_id(F_VALUE))
                if target is not None and target.type == "identifier":
                    found.setdefault(facts.text(target), []).append((target, a.child_by_field_id(F_RIGHT)))
        return found

    def _self_attribute_instance(self, attr, depth):
        """`self.loss_op` / `self.model` in a method: what the class assigns to that attribute
        (`self.loss_op = nn.NLLLoss()` in `__init__`), when its assignments in the class body
        agree on the class; (None, None) otherwise."""
        facts = self.facts
        obj = attr.child_by_field_id(F_OBJECT)
        name = attr.child_by_field_id(F_ATTRIBUTE)
        if obj is None or name is None or obj.type != "identifier" or facts.text(obj) != "self":
            return None, None
        cls = class_of_method(facts.function_at(attr.start_byte))
        if cls is None:
            return None, None
        key = (cls.start_byte, facts.text(name))
        memo = self._param_memo
        if key in memo:
            return memo[key]
        memo[key] = (None, None)
        target = "self." + facts.text(name)
        cls_name = cls.child_by_field_id(F_NAME)
        family = [cls] + (self.subclasses(facts.text(cls_name)) if cls_name is not None else [])
        # (a subclass that assigns the attribute again must agree: `self.criterion` may be
        # another loss there)
        assigned = [a.child_by_field_id(F_RIGHT) for c in family for a in facts.assignments_in(c)
                    if a.child_by_field_id(F_LEFT) is not None and facts.text(a.child_by_field_id(F_LEFT)) == target]
        memo[key] = self._agreed_instance(assigned, depth)
        return memo[key]

    def subclasses(self, name: str) -> list:
        """The class nodes of the file that derive from the class `name`, directly or not."""
        facts = self.facts
        found, names, grew = [], {name}, True
        while grew:
            grew = False
            for node in facts.classes_nodes:
                ident, supers = node.child_by_field_id(F_NAME), node.child_by_field_id(F_SUPERCLASSES)
                if ident is None or supers is None or facts.text(ident) in names:
                    continue
                if any(facts.text(b).rsplit(".", 1)[-1] in names for b in supers.named_children):
                    names.add(facts.text(ident))
                    found.append(node)
                    grew = True
        return found

    def _agreed_instance(self, exprs, depth):
        """The (class, constructing call) of the objects `exprs` hold, when there is at least
        one and they all agree on the class; (None, None) otherwise (a None in `exprs`: a value
        that cannot be read)."""
        found = None
        for expr in exprs:
            got = self.instance(expr, depth + 1) if expr is not None else (None, None)
            if got[0] is None or (found is not None and _identity(found) != _identity(got)):
                return None, None
            found = found or got
        return found or (None, None)

    def _factory_instance(self, name, call, slot, depth):
        """What a function of this file returns (`model = get_model()`, `def get_model(): return
        nn.Sequential(...)`): the object every `return` gives, when they agree on its class;
        with `slot` (index, count), that element of the tuple each returns. (None, None) for a
        generator, a method, a return of something else or of several kinds of object."""
        facts = self.facts
        func = facts.definition_in_effect(name, call.start_byte)
        if func is None:
            return None, None
        key = (func.start_byte, slot)
        memo = self._param_memo
        if key in memo:
            return memo[key]  # (None, None) while in progress: recursion stays unknown
        memo[key] = (None, None)
        values = []
        for value in returned_values(func):
            if value is None or value.type == "yield":
                values.append(None)   # a bare return, a generator: not one object
                break
            if slot is not None:
                value = strip(value)
                if value is None or value.type not in ("expression_list", "tuple") \
                        or len(value.named_children) != slot[1]:
                    values.append(None)
                    break
                value = value.named_children[slot[0]]
            values.append(value)
        memo[key] = self._agreed_instance(values, depth)
        return memo[key]

    def _param_instance(self, ident, depth):
        """A parameter of a plain function: the object every call in this file passes for it
        (`train(model, criterion)` called with `Net()` and `nn.CrossEntropyLoss()`), when they
        all agree on its class; (None, None) otherwise."""
        facts = self.facts
        name = facts.text(ident)
        b = facts.binding(name, ident.start_byte)
        func = facts.function_at(ident.start_byte)
        if b is None or b.kind != "param" or func is None or b.scope != func.start_byte:
            return None, None
        fname = func.child_by_field_id(F_NAME)
        if fname is None or is_method(func):
            return None, None  # obj.method(...) calls cannot be matched by name
        key = (func.start_byte, name)
        memo = self._param_memo
        if key in memo:
            return memo[key]  # also (None, None) while in progress: recursion stays unknown
        memo[key] = (None, None)
        memo[key] = self._param_from_calls(func, fname, name, depth)
        return memo[key]

    def _param_from_calls(self, func, fname, name, depth):
        facts = self.facts
        index, keyword_only = param_index(facts, func, name)
        if index is None:
            return None, None
        args = []
        for call in facts.calls_named(facts.text(fname)):
            pos, kw = args_of(call)
            args.append(kw.get(name) if name in kw or keyword_only else (pos[index] if index < len(pos) else None))
        return self._agreed_instance(args, depth)

    # -- tensors --------------------------------------------------------------------------
    def tags(self, expr, self_layers: dict | None = None, depth: int = 0):
        """(tags, node): what the tensor `expr` last went through (softmax / log_softmax /
        sigmoid / logits) and the node that applied it. Empty set when unknown."""
        facts = self.facts
        expr = strip(expr)
        if expr is None or depth > _MAX_DEPTH:
            return frozenset(), None
        if expr.type == "identifier":
            nxt = follow(facts, expr)
            if nxt is expr:
                return self._unpacked_tags(expr, depth)
            return self.tags(nxt, self_layers, depth + 1)
        if expr.type == "subscript":
            return self._item_tags(expr, self_layers, depth)
        if expr.type == "attribute":
            attr = expr.child_by_field_id(F_ATTRIBUTE)
            if attr is not None and facts.text(attr) in PASSTHROUGH_ATTRIBUTES:   # `probs.T`
                return self.tags(expr.child_by_field_id(F_OBJECT), self_layers, depth + 1)
            return frozenset(), None
        if expr.type != "call":
            return frozenset(), None
        q = facts.callee_qual(expr)
        if q in SOFTMAX_FUNCS:
            return frozenset({SOFTMAX}), expr
        if q in LOG_SOFTMAX_FUNCS:
            return frozenset({LOG_SOFTMAX}), expr
        if q in SIGMOID_FUNCS:
            return frozenset({SIGMOID}), expr
        pos, kw = args_of(expr)
        if q in PASSTHROUGH_FUNCS:
            arg = pos[0] if pos else kw.get("input", kw.get("tensor"))
            return self.tags(arg, self_layers, depth + 1) if arg is not None else (frozenset(), None)
        if q == "torch.log" and pos:
            inner, _n = self.tags(pos[0], self_layers, depth + 1)
            if SOFTMAX in inner:
                return frozenset({LOG_SOFTMAX}), expr
            return frozenset(), None
        receiver, method = method_call(expr)
        held = method in _ACTIVATION_METHODS and q is None and self_layers is not None and receiver is not None \
            and receiver.type == "identifier" and facts.text(receiver) == "self" and method in self_layers
        if held:
            # `self.softmax(x)` calls the module held in `self.softmax`, which may be an
            # nn.LogSoftmax: its class decides (the call is the place that applies a plain
            # activation layer); anything else (a Sequential, a class of the file) is read below
            tag = LAYER_TAGS.get(self_layers[method][0])
            if tag in (SOFTMAX, LOG_SOFTMAX, SIGMOID):
                return frozenset({tag}), expr
            found = self.module_output(strip(expr.child_by_field_id(F_FUNCTION)), self_layers, depth + 1, call=expr)
            if found[0] or self_layers[method][0].startswith("torch.nn."):
                return found
            held = False   # `functools.partial(torch.softmax, dim=1)`: unknown, the name says
        if method is not None and q is None and not held:
            if method == "softmax":
                return frozenset({SOFTMAX}), expr
            if method == "log_softmax":
                return frozenset({LOG_SOFTMAX}), expr
            if method == "sigmoid":
                return frozenset({SIGMOID}), expr
            if method == "log":
                inner, _n = self.tags(receiver, self_layers, depth + 1)
                return (frozenset({LOG_SOFTMAX}), expr) if SOFTMAX in inner else (frozenset(), None)
            if method in PASSTHROUGH_METHODS and not (receiver.type == "identifier" and facts.text(receiver) == "self"):
                return self.tags(receiver, self_layers, depth + 1)   # (`self.flatten(x)`: a layer)
        # Calling a module object: nn.Softmax instance, a Sequential, a model class, self.layer.
        fn = strip(expr.child_by_field_id(F_FUNCTION))
        return self.module_output(fn, self_layers, depth + 1, call=expr)

    def _item_tags(self, sub, self_layers, depth):
        """`probs[mask]`, `probs[:, :-1]`, `probs[0]`: the items of a tensor are what the tensor
        went through (indexing picks values, it does not change them); `model(x)[0]` of a model
        whose forward() returns a tuple: that slot. Unknown for a string key (`out["logits"]`:
        a dictionary, not a tensor)."""
        base = sub.child_by_field_id(F_VALUE)
        index = sub.children_by_field_id(F_SUBSCRIPT)
        if base is None or not index or any(strip(i) is not None and strip(i).type in (
                "string", "concatenated_string") for i in index):
            return frozenset(), None
        value = follow(self.facts, base)
        if len(index) == 1 and value is not None and value.type == "call":
            slots = self._slots_of_call(value, depth)
            if slots is not None:   # a tuple: the slot, when the index is a literal
                i = literal_value(index[0])
                if type(i) is int and -len(slots) <= i < len(slots):
                    return slots[i]
                return frozenset(), None
        return self.tags(base, self_layers, depth + 1)

    def _slots_of_call(self, call, depth):
        """The per-slot tags of a call of a model class whose forward() returns a tuple."""
        fn = strip(call.child_by_field_id(F_FUNCTION))
        if fn is None or fn.type not in ("identifier", "attribute"):
            return None
        qual, _ctor = self.instance(fn, depth + 1)
        cls = self.local_class(qual) if qual is not None else None
        return getattr(cls, "slot_outputs", None)

    def _unpacked_tags(self, ident, depth):
        """`validity, label = discriminator(x)`: what the model's forward() puts in that slot."""
        b = self.facts.binding(self.facts.text(ident), ident.start_byte)
        if b is None or b.kind != "assign" or b.index is None or b.value is None:
            return frozenset(), None
        value = strip(b.value)
        if value is None or value.type != "call":
            return frozenset(), None
        qual, _ctor = self.instance(strip(value.child_by_field_id(F_FUNCTION)), depth + 1)
        cls = self.local_class(qual) if qual is not None else None
        slots = getattr(cls, "slot_outputs", None)
        if not slots or len(slots) != b.count:
            return frozenset(), None
        return slots[b.index]

    def module_output(self, fn, self_layers=None, depth=0, call=None):
        """Tags of what calling the module object `fn` returns."""
        facts = self.facts
        if fn is None:
            return frozenset(), None
        if fn.type == "identifier" and facts.text(fn) == "self":
            # `self(x)` in a model's own method (its training loop): its forward's output
            cls_node = class_of_method(facts.function_at(fn.start_byte))
            name = cls_node.child_by_field_id(F_NAME) if cls_node is not None else None
            cls = self.local_class(facts.text(name)) if name is not None else None
            if cls is not None and cls.output and not any(
                    defines_method(facts, sub, ("forward", "call")) for sub in self.subclasses(facts.text(name))):
                return cls.output, cls.output_node   # (a subclass's own forward may run instead)
            return frozenset(), None
        if (self_layers is not None and fn.type == "attribute"
                and facts.text(fn.child_by_field_id(F_OBJECT) or fn) == "self"):
            attr = facts.text(fn.child_by_field_id(F_ATTRIBUTE))
            layer = self_layers.get(attr)
            if layer is not None:
                found = self._layer_tags(layer[0], layer[1], call)
                return found if found[0] else self._replaced_head_tags(fn, attr, call)
            return frozenset(), None
        qual, ctor = self.instance(fn, depth)
        if qual is None:
            return frozenset(), None
        return self._layer_tags(qual, ctor, call)

    def _replaced_head_tags(self, fn, attr, call):
        """`self.vit.head = nn.Sequential(nn.Linear(n, k), nn.Softmax(dim=1))` in the class: a
        pretrained backbone whose classifier head was replaced returns what that head returns."""
        facts = self.facts
        cls = class_of_method(facts.function_at(fn.start_byte))
        if cls is None:
            return frozenset(), None
        targets = {f"self.{attr}.{head}" for head in _HEAD_ATTRIBUTES}
        value = None
        for a in facts.assignments_in(cls):
            left = a.child_by_field_id(F_LEFT)
            if left is not None and left.type == "attribute" and facts.text(left).replace(" ", "") in targets:
                value = strip(a.child_by_field_id(F_RIGHT))
        if value is None or value.type != "call":
            return frozenset(), None
        qual = facts.callee_qual(value)
        return self._layer_tags(qual, value, call) if qual is not None else (frozenset(), None)

    def _layer_tags(self, qual, ctor, call):
        if qual in LAYER_TAGS:
            return frozenset({LAYER_TAGS[qual]}), (ctor if LAYER_TAGS[qual] != LOGITS else call)
        if qual == "torch.nn.Sequential" and ctor is not None:
            return self.sequential_output(ctor)
        cls = self.local_class(qual)
        if cls is not None and cls.output:
            return cls.output, cls.output_node
        flag = getattr(cls, "output_flag", None)
        if flag is not None and call is not None and _passes_true(self.facts, call, flag[0], flag[1]):
            return flag[2], flag[3]   # `classifier(x, apply_softmax=True)`
        return frozenset(), None

    def sequential_output(self, ctor, depth: int = 0):
        """Tags of what an `nn.Sequential(...)` returns: its last layer that is not transparent
        (dropout, reshapes), through nested Sequentials and layers bound to a name first
        (`head = nn.Sequential(nn.Linear(8, 4), nn.Softmax(dim=1))`)."""
        pos, _ = args_of(ctor)
        for layer in reversed(pos):
            layer = strip(follow(self.facts, layer)) if depth <= _MAX_DEPTH else None
            if layer is None or layer.type != "call":
                return frozenset(), None
            q = self.facts.callee_qual(layer)
            if q in TRANSPARENT_LAYERS:
                continue
            if q in LAYER_TAGS:
                return frozenset({LAYER_TAGS[q]}), layer
            if q == "torch.nn.Sequential":
                return self.sequential_output(layer, depth + 1)
            return frozenset(), None
        return frozenset(), None


def _passes_true(facts, call, name: str, index: int) -> bool:
    """The call passes `True` for the parameter `name` (keyword, or positional at `index`)."""
    pos, kw = args_of(call)
    value = kw.get(name)
    if value is None and index < len(pos):
        value = pos[index]
    return value is not None and facts.text(value) == "True"


def defines_method(facts, class_node, names) -> bool:
    """The class body defines one of `names` (decorated or not)."""
    body = class_node.child_by_field_id(F_BODY)
    for d in body.named_children if body is not None else ():
        if d.type == "decorated_definition":
            d = d.child_by_field_id(F_DEFINITION)
        name = d.child_by_field_id(F_NAME) if d is not None and d.type == "function_definition" else None
        if name is not None and facts.text(name) in names:
            return True
    return False
