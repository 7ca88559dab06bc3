"""Training-loop structure shared by the zero_grad / step / backward / eval-mode rules:
which calls are backward passes, optimizer steps, zero_grads, mode switches, and model objects."""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from ..findings import Fix, TextEdit
from ..models import index_classes, is_model_factory, mode_dependent_where_built
from ..parsing import (
    F_ATTRIBUTE,
    F_BODY,
    F_CONSEQUENCE,
    F_DEFINITION,
    F_FUNCTION,
    F_NAME,
    F_OBJECT,
    F_SUPERCLASSES,
)
from ..rates import hf_model_without_dropout, turned_off
from ..values import args_of, has_splat, is_method, method_call, strip

# Compound statements that make what they contain conditional (or skippable by an exception).
_CONDITIONAL = frozenset({"if_statement", "try_statement", "match_statement", "conditional_expression"})

_OPT_NAME = re.compile(r"(^|[._])(opt|optim|optimizer|optimiser)[\w]*$", re.I)
_SCHED_NAME = re.compile(r"sched|lr_", re.I)
# Optimizer classes of other libraries, by name.
_OPT_CLASS = re.compile(r"adam|sgd|adafactor|lamb(?!da)|lion|lars|rmsprop|adagrad|optimizer", re.I)


@dataclass
class Event:
    kind: str      # backward | step | zero_grad | eval | train | mode (train(flag): unknown)
    call: object
    target: str    # receiver text (model / optimizer name), '' when not relevant
    pos: int
    closure: bool = False  # step(closure): LBFGS-style, the closure runs zero_grad/backward


# Names that say a loop or function evaluates: `for x, y in test_loader`, `def validate(...)`.
EVAL_NAME = re.compile(r"(?i)(?:^|_)(?:eval|evaluate|evaluation|val|vali|valid|validate|validation|test|"
                       r"testing|predict|prediction|inference|infer|accuracy|acc|score|metrics?)(?:$|_)")


def object_name(ctx, expr) -> str:
    """`model.to(device).eval()` switches `model`: drop the chained calls that return the module."""
    from ..values import MODULE_SELF_METHODS

    while expr is not None and expr.type == "call":
        inner, method = method_call(expr)
        if method not in MODULE_SELF_METHODS or inner is None:
            break
        expr = inner
    return ctx.text(expr) if expr is not None else ""


def is_optimizer(ctx, recv) -> bool:
    if recv is None:
        return False
    qual, _ = ctx.values.instance(recv)
    if qual is not None:
        if qual.startswith("torch.optim."):
            return ".lr_scheduler." not in qual
        # transformers.AdamW, BertAdam, apex's FusedAdam, torch_optimizer.Lamb ...
        last = qual.rsplit(".", 1)[-1]
        return bool(_OPT_CLASS.search(last)) and not _SCHED_NAME.search(last) and "sched" not in qual.lower()
    text = ctx.text(recv)
    return bool(_OPT_NAME.search(text)) and not _SCHED_NAME.search(text)


def events(ctx) -> list[Event]:
    """All training events of the document in source order (cached per context)."""
    cached = getattr(ctx.values, "_training_events", None)
    if cached is not None:
        return cached
    out = []
    facts = ctx.facts
    for method in ("backward", "step", "zero_grad", "eval", "train"):
        for call, recv in facts.method_calls(method):
            _event(ctx, out, call, recv, method)
    # `discriminator.train_custom()`: a method of a class of the file that puts the model, or
    # the part of it that trains, back in training mode
    for method in _training_mode_methods(ctx):
        for call, recv in facts.method_calls(method):
            recv = strip(recv)
            if recv is not None and recv.type == "identifier" and ctx.text(recv) != "self" \
                    and not _conditional(call):
                out.append(Event("train", call, ctx.text(recv), call.start_byte))
    # `net.set_mode("test")`: a method of a class of the file that switches the mode itself
    # (Heng's TGS models: `if mode in ["eval", "valid", "test"]: self.eval() else: self.train()`)
    for method, kind in _mode_setting_methods(ctx).items():
        for call, recv in facts.method_calls(method):
            recv = strip(recv)
            if recv is None or recv.type not in ("identifier", "attribute") or ctx.text(recv) == "self":
                continue
            if kind == "model" and not _MODEL_NAME.search(ctx.text(recv).rsplit(".", 1)[-1]):
                continue
            mode = kind if kind not in ("either", "model") else _mode_named(ctx, call)
            if mode is not None:
                out.append(Event(mode, call, object_name(ctx, recv), call.start_byte))
    # `p.grad = None` / `p.grad.zero_()` also clear gradients.
    for node in _manual_zeroing(ctx):
        out.append(Event("zero_grad", node, "", node.start_byte))
    out.sort(key=lambda e: (e.pos, -e.call.end_byte))  # `m.eval().train()`: outer call first
    ctx.values._training_events = out
    return out


def mode_events(ctx) -> list[Event]:
    """Only the eval() / train() calls among `events` (no optimizer steps, whose receivers need
    type inference, nor the methods of classes of the file): what the cross-file index needs of
    a file, at a fraction of the cost."""
    out = []
    for method in ("eval", "train"):
        for call, recv in ctx.facts.method_calls(method):
            _event(ctx, out, call, recv, method)
    out.sort(key=lambda e: (e.pos, -e.call.end_byte))
    return out


_SELF_TRAIN = re.compile(r"\bself(?:\.\w+)*\.train\(\s*(?:True|mode\s*=\s*True)?\s*\)")
_SELF_EVAL = re.compile(r"\.eval\(\s*\)|\.train\(\s*(?:False|mode\s*=\s*False)\s*\)")


def _conditional(call) -> bool:
    """`call` runs only under an `if` inside the loop around it (`if epoch == 3:
    model.unfreeze()`): not every pass puts the model back. An `if` around the whole loop or
    program (`if __name__ == "__main__":`, `if args.do_train:`) decides nothing per pass."""
    node = call.parent
    while node is not None and node.type not in ("function_definition", "module", "for_statement",
                                                  "while_statement"):
        if node.type in ("if_statement", "elif_clause", "else_clause", "conditional_expression"):
            return True
        node = node.parent
    return False


_TRAINS = re.compile(r"\.backward\(|\.step\(|\bfit\(|zero_grad\(")


def _training_mode_methods(ctx) -> set:
    """Names of methods (not `train` itself) of the file's classes that only set the mode: their
    body calls `self.train()` or `self.<part>.train()`, never eval(), and does not train (a
    model's own `fit()` that calls `self.train()` and backpropagates is a training call, not a
    switch: what follows it is not a deliberate training-mode inference)."""
    facts = ctx.facts
    # the methods holding a `.train(` call: only their classes need reading
    candidates = {}
    for call, _recv in facts.method_calls("train"):
        fn = facts.function_at(call.start_byte)
        if fn is not None and is_method(fn):
            candidates[fn.start_byte] = fn
    found = set()
    by_class: dict = {}
    for fn in candidates.values():
        cls = fn.parent
        while cls is not None and cls.type != "class_definition":
            cls = cls.parent
        if cls is not None:
            by_class.setdefault(cls.start_byte, (cls, []))[1].append(fn)
    for cls, fns in by_class.values():
        body = cls.child_by_field_id(F_BODY)
        methods = {}
        for d in body.named_children if body is not None else ():
            if d.type == "decorated_definition":
                d = d.child_by_field_id(F_DEFINITION)
            name = d.child_by_field_id(F_NAME) if d is not None and d.type == "function_definition" else None
            if name is not None:
                methods[ctx.text(name)] = facts.code_in(d)
        # methods that train, themselves or through another method of the class (`self._update()`)
        trains = {m for m, code in methods.items() if _TRAINS.search(code)}
        for _ in range(3):
            trains |= {m for m, code in methods.items()
                       if any(f"self.{t}(" in code for t in trains)}
        for fn in fns:
            name = fn.child_by_field_id(F_NAME)
            m = ctx.text(name) if name is not None else ""
            code = methods.get(m)
            if code is None or m in ("train", "eval", "__init__", "forward") or m in trains:
                continue
            if _SELF_TRAIN.search(code) and not _SELF_EVAL.search(code):
                found.add(m)
    return found


_MODEL_NAME = re.compile(r"(?i)net|model")
_SELF_SWITCH_EVAL = re.compile(r"\bself\.eval\(\s*\)|\bself\.train\(\s*(?:False|mode\s*=\s*False)\s*\)")
_SELF_SWITCH_TRAIN = re.compile(r"\bself\.train\(\s*(?:True|mode\s*=\s*True)?\s*\)")
_EVAL_WORDS = re.compile(r"(?i)^(eval|evaluate|evaluation|valid|validate|validation|val|test|infer|inference|predict)$")
_TRAIN_WORDS = re.compile(r"(?i)^(train|training)$")


def _mode_setting_methods(ctx) -> dict:
    """Methods (other than train / eval) of the file's classes that switch the object's own
    mode and do nothing that trains: name -> "eval" (it only calls `self.eval()`), "either"
    (it calls both, on a mode given as argument: `set_mode("test")`), or "model" for
    `set_mode` not defined in the file (a model class of another module; read on model names)."""
    facts = ctx.facts
    found = {}
    for call, recv in facts.method_calls("eval"):
        recv = strip(recv)
        fn = facts.function_at(call.start_byte)
        if recv is None or ctx.text(recv) != "self" or fn is None or not is_method(fn):
            continue
        name = fn.child_by_field_id(F_NAME)
        m = ctx.text(name) if name is not None else ""
        if m in ("train", "eval", "__init__", "forward") or m in found:
            continue
        code = facts.code_in(fn)
        if _TRAINS.search(code) or not _SELF_SWITCH_EVAL.search(code):
            continue
        found[m] = "either" if _SELF_SWITCH_TRAIN.search(code) else "eval"
    # A model class of another module: `net.set_mode("valid")` says what it does.
    for m in ("set_mode", "setMode"):
        if m not in found and not facts.functions_named(m):
            found[m] = "model"   # (only on a name that says model: datasets have modes too)
    return found


def _mode_named(ctx, call) -> str | None:
    """"eval" / "train" for a call whose one argument is a string naming the mode, "mode" when
    that argument is not a literal, else None."""
    pos, kw = args_of(call)
    args = [*pos, *kw.values()]
    if len(args) != 1:
        return None
    if args[0].type != "string":
        return "mode"   # `net.set_mode(mode)`: the mode is unknown from here on
    word = ctx.text(args[0]).strip("\"'")
    if _EVAL_WORDS.match(word):
        return "eval"
    if _TRAIN_WORDS.match(word):
        return "train"
    return None


def _event(ctx, out, call, recv, method):
    if method == "backward":
        out.append(Event("backward", call, ctx.text(recv) if recv is not None else "", call.start_byte))
    elif method == "step":
        pos, kw = args_of(call)
        if is_optimizer(ctx, recv):
            out.append(Event("step", call, ctx.text(recv), call.start_byte,
                             closure=bool(pos) or "closure" in kw))
        elif pos and recv is not None and "scaler" in ctx.text(recv).lower():
            # GradScaler.step(optimizer): the optimizer steps here.
            out.append(Event("step", call, ctx.text(pos[0]), call.start_byte))
    elif method == "zero_grad":
        out.append(Event("zero_grad", call, ctx.text(recv) if recv is not None else "", call.start_byte))
    elif method in ("eval", "train") and recv is not None:
        pos, kw = args_of(call)
        if (method == "eval" and (pos or kw)) or (method == "train" and (len(pos) > 1 or kw.keys() - {"mode"})):
            return   # not nn.Module's eval() / train(mode): `evaluator.eval(test_loader)`
        if recv.type == "identifier" and ctx.text(recv) == "self" and _own_method_of_a_plain_class(ctx, call, method):
            return   # a Trainer's own `def eval(self)` (an evaluation), not nn.Module's
        arg = pos[0] if pos else kw.get("mode")
        kind = method
        if method == "train" and arg is not None and ctx.text(arg) == "False":
            kind = "eval"
        elif method == "train" and arg is not None and ctx.text(arg) != "True":
            kind = "mode"  # model.train(flag): the mode is unknown from here on
        out.append(Event(kind, call, object_name(ctx, recv), call.start_byte))


def _own_method_of_a_plain_class(ctx, call, method: str) -> bool:
    """`self.<method>()` inside a class that defines `<method>` itself and is not a model class
    of the file (an nn.Module or Keras subclass): a trainer's `eval()` / `train(epochs)`."""
    cls = call.parent
    while cls is not None and cls.type != "class_definition":
        cls = cls.parent
    name = cls.child_by_field_id(F_NAME) if cls is not None else None
    if name is None or ctx.text(name) in index_classes(ctx.facts):
        return False
    supers = cls.child_by_field_id(F_SUPERCLASSES)
    if supers is not None and re.search(r"Module|Model|Net\b|Layer", ctx.text(supers)):
        return False   # a subclass of a model class defined elsewhere: its eval/train override it
    body = cls.child_by_field_id(F_BODY)
    for child in body.named_children if body is not None else ():
        fn = child.child_by_field_id(F_DEFINITION) if child.type == "decorated_definition" else child
        if fn is not None and fn.type == "function_definition":
            n = fn.child_by_field_id(F_NAME)
            if n is not None and ctx.text(n) == method:
                return True
    return False


# `.grad = None`, `.grad = 0.0` (micrograd's scalar Values), `.grad = torch.zeros_like(p)`
_GRAD_NONE = re.compile(rb"\.grad\s*=\s*(?:None|0(?:\.0*)?(?![\w.])|[\w.]*zeros_like\()")


def _manual_zeroing(ctx):
    data = ctx.doc.data
    if b".grad" not in data:
        return []
    found = []
    for call, recv in ctx.facts.method_calls("zero_"):
        if recv is not None and ctx.text(recv).endswith((".grad", ".grad.data")):
            found.append(call)
    for m in ctx.facts.code_matches(_GRAD_NONE):
        node = ctx.doc.tree.root_node.descendant_for_byte_range(m.start(), m.end())
        if node is not None:
            found.append(node)
    return found


def _zeroing(ctx):
    """(positions of gradient clearing, names of local functions that clear), once per document."""
    cached = getattr(ctx.values, "_zeroing", None)
    if cached is None:
        zeros = sorted(e.pos for e in events(ctx) if e.kind == "zero_grad")
        cached = ctx.values._zeroing = (zeros, functions_around(ctx, zeros))
    return cached


def functions_around(ctx, positions, outer: bool = True) -> set[str]:
    """Names of the local functions that contain these positions: the helpers that run what is
    there when called. With `outer`, the functions around a nested helper count too."""
    names = set()
    for pos in positions:
        fn = ctx.facts.function_at(pos)
        while fn is not None:
            name = fn.child_by_field_id(F_NAME)
            if name is not None:
                names.add(ctx.text(name))
            fn = ctx.facts.function_at(fn.start_byte) if outer else None
    return names


# A method whose name says it clears gradients: `mlp.zero_grads()` (a NumPy "mytorch" MLP
# clearing its own `dW`), `model.cleargrads()` (Chainer), `net.clear_gradients()`.
_CLEARING_NAME = re.compile(r"(?i)^(?:zero|clear|reset)_?grad(?:s|ients?)?$")


def clears_grads_in(ctx, node) -> bool:
    """`node` (a loop) clears gradients: directly, or through a local helper it calls, a function
    (`reset_grads()`) or a method of its own object (`self.reset_grad()`, StarGAN's solver), or
    a method named for it (`mlp.zero_grads()`)."""
    zeros, helpers = _zeroing(ctx)
    if any_between(zeros, node.start_byte, node.end_byte):
        return True
    for call in ctx.facts.calls_in(node):
        fn = call.child_by_field_id(F_FUNCTION)
        if fn is not None and fn.type == "identifier" and ctx.text(fn) in helpers:
            return True
        if fn is not None and fn.type == "attribute":
            obj, attr = fn.child_by_field_id(F_OBJECT), fn.child_by_field_id(F_ATTRIBUTE)
            if obj is not None and attr is not None and ctx.text(obj) == "self" \
                    and ctx.text(attr) in _clearing_methods(ctx):
                return True
            if attr is not None and _CLEARING_NAME.match(ctx.text(attr)):
                return True
        if fn is not None and fn.type in ("identifier", "attribute") and _model_clears_grads(ctx, fn):
            return True
    return False


def _model_clears_grads(ctx, fn) -> bool:
    """`loss = model(x, y)` where the model's forward() starts with `self.zero_grad()`."""
    if ctx.values.workspace is None and not any(c.clears_grads for c in ctx.values.classes.values()):
        return False
    qual, _ctor = ctx.values.instance(fn)
    cls = ctx.values.local_class(qual) if qual is not None else None
    return cls is not None and cls.clears_grads


def _clearing_methods(ctx) -> set:
    """Names of the methods (defined in a class) that clear gradients in their own body: what a
    `self.reset_grad()` call can run. Not a module-level `def train(...)`: `self.train()` is
    the mode switch."""
    cached = getattr(ctx.values, "_clearing_methods", None)
    if cached is None:
        cached = set()
        for pos in _zeroing(ctx)[0]:
            fn = ctx.facts.function_at(pos)
            name = fn.child_by_field_id(F_NAME) if fn is not None else None
            if name is not None and is_method(fn):
                cached.add(ctx.text(name))
        ctx.values._clearing_methods = cached
    return cached


def same_scope(ctx, a: int, b: int) -> bool:
    return ctx.facts.scope_id(a) == ctx.facts.scope_id(b)


def is_torch_module_class(ctx, qual: str) -> bool:
    """`qual` (what values.instance resolved) is a torch module: a `torch.nn` layer, a
    torchvision model, a pretrained-model factory, or a torch model class of the project."""
    return torch_module_qual(ctx.values, qual)


def torch_module_qual(values, qual: str) -> bool:
    """is_torch_module_class with the document's Values (the hover has no rule context)."""
    if qual.startswith(("torch.nn.", "torchvision.models.")) or is_model_factory(qual):
        return True
    cls = values.local_class(qual)
    return cls is not None and cls.framework == "torch"


def model_is_mode_dependent(ctx, expr) -> bool | None:
    """True if the object has dropout/batch norm (eval() changes it), False if known not to,
    None when unknown."""
    qual, ctor = ctx.values.instance(expr)
    if qual is None:
        return None
    if is_model_factory(qual):
        return not hf_model_without_dropout(ctx.facts, qual, ctor)
    if qual == "torch.nn.Sequential" and ctor is not None:
        return _sequential_mode_dependent(ctx, ctor, 0)
    cls = ctx.values.local_class(qual)
    if cls is not None and cls.framework == "torch":
        if cls.mode_dependent and cls.rates is not None and (
                not cls.rates.rates or ctor is not None and turned_off(ctx.facts, ctor, cls.rates)):
            return False  # built with every dropout rate at 0 (or its dropouts are `nn.Dropout(0.0)`)
        if cls.mode_dependent is None and ctor is not None and cls.path == ctx.doc.path:
            return mode_dependent_where_built(ctx.facts, cls.name, ctor)
        return cls.mode_dependent
    return None


_PLAIN_CONTAINERS = frozenset({"OrderedDict", "list", "tuple", "dict"})
_LITERALS = frozenset({"string", "integer", "float", "true", "false", "none", "concatenated_string"})


# A torch dropout layer built with a literal zero rate: `nn.Dropout(0.0)`, `nn.Dropout(p=0)`.
_ZERO_DROPOUT = re.compile(r"(?<![\w.])(?:torch\.)?(?:nn\.)?(?:Feature)?(?:Alpha)?Dropout(?:[123]d)?\(\s*(?:p\s*=\s*)?"
                           r"0(?:\.0*)?\s*(?:,\s*(?:inplace\s*=\s*)?(?:True|False)\s*)?,?\s*\)")


def _sequential_mode_dependent(ctx, ctor, depth: int) -> bool | None:
    """An `nn.Sequential(...)`: True when its text builds dropout or batch norm; False only when
    every layer is seen and none does (torch layers, classes of the file known to be free of
    them); None when a layer is not seen: `nn.Sequential(*layers)`, a helper's result
    (`conv_bn(...)`), a module held by a name or an attribute."""
    text = ctx.text(ctor)
    if "BatchNorm" in text or "Transformer" in text \
            or text.count("Dropout") > len(_ZERO_DROPOUT.findall(text)):
        return True   # (`nn.Dropout(0.0)` drops nothing in either mode)
    if has_splat(ctor) or depth > 3:
        return None
    return _combine(_layer_part(ctx, a, depth) for a in args_of(ctor)[0])


def _combine(states) -> bool | None:
    states = list(states)
    return True if True in states else (None if None in states else False)


def _layer_part(ctx, node, depth: int) -> bool | None:
    """Whether one argument of an `nn.Sequential` (a layer, an `OrderedDict([...])` of named
    layers, a (name, layer) pair) has dropout or batch norm: True / False / None (not seen)."""
    node = strip(node)
    if node is None or node.type in _LITERALS:
        return False
    if node.type == "identifier":
        made, ctor = ctx.values.instance(node)
        if made is not None and made.startswith("torch.nn.") and made != "torch.nn.Sequential" and ctor is not None:
            return _layer_part(ctx, ctor, depth + 1)   # `encoder = nn.Linear(...)`: that layer
        return model_is_mode_dependent(ctx, node)
    if node.type in ("tuple", "list", "expression_list"):
        return _combine(_layer_part(ctx, c, depth) for c in node.named_children if c.type != "comment")
    if node.type != "call" or has_splat(node):
        return None
    facts = ctx.facts
    q = facts.callee_qual(node)
    callee = node.child_by_field_id(F_FUNCTION)
    name = (q or (ctx.text(callee) if callee is not None else "")).rsplit(".", 1)[-1]
    pos, kw = args_of(node)
    if name in _PLAIN_CONTAINERS:
        return _combine(_layer_part(ctx, a, depth) for a in pos)
    if "dropout" in kw and ctx.text(kw["dropout"]).strip() not in ("0", "0.0", "0."):
        return True   # nn.LSTM(..., dropout=0.2)
    if q == "torch.nn.Sequential":
        return _sequential_mode_dependent(ctx, node, depth + 1)
    if q is not None and q.startswith("torch.nn."):
        return False
    cls = ctx.values.local_class(q or name)
    if cls is not None:
        return cls.mode_dependent
    # a function of the file that returns the layer (`conv_layer(3, 64, 3)` building
    # `nn.Sequential(nn.Conv2d(...), nn.BatchNorm2d(...))`)
    made, ctor = ctx.values.instance(node)
    if made == "torch.nn.Sequential" and ctor is not None and ctor != node:
        return _sequential_mode_dependent(ctx, ctor, depth + 1)
    if made is not None and made.startswith("torch.nn."):
        return False
    return None


def any_between(sorted_positions: list, start: int, end: int) -> bool:
    """Some position p with start < p < end, in a sorted list (bisect, not a scan)."""
    i = bisect_right(sorted_positions, start)
    return i < len(sorted_positions) and sorted_positions[i] < end


def move_statement_fix(ctx, call, anchor_call, *, before: bool, title: str,
                       across_blocks: bool = False) -> Fix | None:
    """Move the statement `call` makes up (an expression statement alone on its lines) to just
    before or after the statement of `anchor_call`, when both are statements of the same block;
    with `across_blocks`, also into another block (a one-line statement, re-indented as the
    anchor is: a scheduler step moved into the batch loop)."""
    stmt, anchor = statement_of(call), statement_of(anchor_call)
    if stmt is None or anchor is None or stmt == anchor:
        return None
    if stmt.parent != anchor.parent and not across_blocks:
        return None
    if stmt.type != "expression_statement" or stmt.named_children[0] != call:
        return None
    lines, anchor_lines = ctx.own_lines(stmt), ctx.own_lines(anchor)
    if lines is None or anchor_lines is None:
        return None
    data = ctx.doc.data
    if stmt.parent == anchor.parent:
        moved = data[lines[0]:lines[1]].decode("utf-8", "replace").rstrip("\n") + "\n"
    elif b"\n" in data[stmt.start_byte:stmt.end_byte]:
        return None
    else:
        moved = ctx.line_indent(anchor) + ctx.text(stmt) + "\n"
    at = anchor_lines[0] if before else anchor_lines[1]
    if not before and not data[anchor_lines[0]:anchor_lines[1]].endswith(b"\n"):
        moved = "\n" + moved.rstrip("\n")  # the anchor ends the text
    return Fix(title, (TextEdit(lines[0], lines[1], ""), TextEdit(at, at, moved)))


def statement_of(node):
    """The statement (direct child of a block) containing `node`."""
    while node is not None and node.parent is not None and node.parent.type not in ("block", "module"):
        node = node.parent
    return node


def update_region(ctx, pos):
    """What runs once per update around `pos`: the innermost loop around it (in its function),
    else its function, else the module."""
    loop = ctx.facts.innermost_loop(pos)
    if loop is not None and same_scope(ctx, loop.start_byte, pos):
        return loop
    return ctx.facts.function_at(pos) or ctx.doc.tree.root_node


def optimizer_constructor(ctx, step):
    """The call that built the optimizer of a step event (`scaler.step(opt)` included), or None."""
    recv, _method = method_call(step.call)
    if recv is not None and "scaler" in ctx.text(recv).lower():  # scaler.step(optimizer)
        pos, _ = args_of(step.call)
        recv = pos[0] if pos else None
    if recv is None:
        return None
    _qual, ctor = ctx.values.instance(recv)
    return ctor


def conditional_between(node, other, region) -> bool:
    """`node` sits under an `if` / `try` (inside `region`) that `other` is not under, or in
    another branch of it: it may not run every time `other` does (`if torch.isnan(loss):
    optimizer.zero_grad(); continue`; `if plain: step(); zero_grad() elif accumulate: step()`)."""
    node = node.parent
    while node is not None and node != region:
        if node.type in _CONDITIONAL and not (node.start_byte <= other.start_byte < node.end_byte):
            return True
        if _is_branch(node) and not (node.start_byte <= other.start_byte < node.end_byte):
            return True   # `other` is in another branch of the same `if`: never both
        node = node.parent
    return False


def _is_branch(node) -> bool:
    """One of an `if` statement's alternatives: its body, an `elif` or the `else`."""
    parent = node.parent
    return parent is not None and parent.type == "if_statement" and (
        node.type in ("elif_clause", "else_clause") or node == parent.child_by_field_id(F_CONSEQUENCE))


def helper_called_between(ctx, region, start, end, helpers) -> bool:
    """A call to one of the local functions named in `helpers` lies in `region` strictly
    between byte offsets `start` and `end`."""
    if not helpers:
        return False
    for call in ctx.facts.calls_in(region):
        if not (start < call.start_byte < end):
            continue
        fn = call.child_by_field_id(F_FUNCTION)
        if fn is None:
            continue
        name = ctx.text(fn).rsplit(".", 1)[-1]  # `train_step(...)` or `self.train_step(...)`
        if name in helpers:
            return True
    return False


# Gradient clipping. `clip_grad_norm` without the underscore is PyTorch's deprecated alias.
CLIP_FUNCTIONS = ("clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "clip_grad_norm")


def clip_calls(ctx) -> list:
    """The calls that clip gradients, in document order (cached per context)."""
    cached = getattr(ctx.values, "_clip_calls", None)
    if cached is None:
        cached = ctx.values._clip_calls = [
            c for c in ctx.facts.calls_ending(*CLIP_FUNCTIONS)
            if _is_clip(ctx, c) and not _measures_only(ctx, c)]
    return cached


def _is_clip(ctx, call) -> bool:
    """torch.nn.utils' clippers (any import spelling) or an object's in-place one
    (`accelerator.clip_grad_norm_`); not a local function of that name, which may do anything."""
    q = ctx.facts.callee_qual(call)
    if q is not None and q.startswith("torch.nn.utils."):
        return True
    fn = call.child_by_field_id(F_FUNCTION)
    return fn is not None and fn.type == "attribute" and ctx.text(fn).endswith("_")


def _measures_only(ctx, call) -> bool:
    """`clip_grad_norm_(params, float("inf"))` clips nothing on purpose: it returns the total
    gradient norm, for logging, wherever it runs."""
    pos, kw = args_of(call)
    limit = pos[1] if len(pos) > 1 else kw.get("max_norm", kw.get("clip_value"))
    if limit is None:
        return False
    text = "".join(ctx.text(limit).split()).replace("'", '"').lower()
    return text in _INFINITE


_INFINITE = frozenset({'float("inf")', 'float("+inf")', 'float("infinity")', "math.inf",
                       "np.inf", "numpy.inf", "torch.inf"})


def returns_of(fn):
    """The `return` statements of function `fn` itself (not of functions or lambdas inside it)."""
    stack = [fn.child_by_field_id(F_BODY)]
    while stack:
        node = stack.pop()
        if node is None:
            continue
        if node.type == "return_statement":
            yield node
        elif node.type not in ("function_definition", "class_definition", "lambda"):
            stack.extend(node.named_children)


def identifiers_in(ctx, node):
    """The names of the identifiers in `node` (not its comments)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "identifier":
            yield ctx.text(n)
        stack.extend(n.named_children)


def variables_in(ctx, node):
    """The names `node` reads or binds as variables: `x` in `x.data` and `f(x=y)`'s `y`, not the
    attribute `data` or the keyword `x`."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "identifier":
            parent = n.parent
            if parent is not None and (
                    (parent.type == "attribute" and parent.child_by_field_id(F_ATTRIBUTE) == n)
                    or (parent.type == "keyword_argument" and parent.child_by_field_id(F_NAME) == n)):
                continue
            yield ctx.text(n)
        stack.extend(n.named_children)


def helper_calls(ctx, positions) -> list:
    """Start bytes (sorted) of the calls to the functions of the file around `positions`: with
    the positions of backward passes, the calls that train (`train_batch(x, y, model, opt)`);
    with those of optimizer steps, the calls that step."""
    facts = ctx.facts
    by_last = facts.calls_by_last_name()
    names: set = set()
    methods: set = set()   # the names some method of the file has

    def calls(n):
        # `train_batch(...)` and `trainer.fit_one_epoch()` (a method of the file) alike; a plain
        # function `train(model, ...)` is not what `model.train(mode)` calls
        every = by_last.get(n, ())
        return every if n in methods else facts.calls_named(n)

    todo = list(positions)
    while todo:   # and the functions that call those, and so on (`fit_epoch()` -> `train_batch()`)
        fn = facts.function_at(todo.pop())
        while fn is not None:  # every function around a backward pass trains
            name = fn.child_by_field_id(F_NAME)
            text = ctx.text(name) if name is not None else None
            if text is not None and (text not in names or is_method(fn) and text not in methods):
                names.add(text)
                if is_method(fn):
                    methods.add(text)
                todo.extend(c.start_byte for c in calls(text))
            fn = facts.function_at(fn.start_byte)
    return sorted({c.start_byte for n in names for c in calls(n)})
