"""Train/eval mode of model objects at a point of the program, with one level of calls:
`evaluate(model, loader)` is checked with the mode `model` has where evaluate is called."""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

from ..parsing import F_FUNCTION, F_NAME, F_PARAMETERS
from ..values import (
    MODULE_SELF_METHODS,
    args_of,
    class_of_method,
    is_method,
    method_call,
    returned_values,
    strip,
)
from ._training import events, mode_events


@dataclass
class FunctionModes:
    node: object
    params: list[str]
    sets_eval: set      # params on which the function calls .eval()
    sets_train: set     # params on which it calls .train()
    # Module-level names (not parameters, not bound in the function) it switches, with the
    # receiver node of one such switch: `def evaluate(): model.eval() ...` on a global model.
    globals_switched: dict = field(default_factory=dict)
    # Names of the enclosing function it switches (a closure: `def train_step(): model.train()`
    # nested in the `main()` that builds `model`), with the receiver node of one such switch.
    closure_switched: dict = field(default_factory=dict)

    def switches_global(self, name: str) -> bool:
        return bool(self.globals_switched) and name in self.globals_switched


@dataclass(frozen=True)
class HelperModes:
    """What a module-level function of another file of the project does to the mode of the
    objects handed to it (`from train_utils import evaluate`, whose body calls `model.eval()`):
    FunctionModes without nodes, kept in the cross-file index (models.Workspace) and sent to
    worker processes."""
    name: str
    path: str
    params: tuple
    sets_eval: frozenset
    sets_train: frozenset
    ends_in_train: frozenset   # the params whose last switch in the body is train()
    node = None                # (read where a FunctionModes is expected)
    globals_switched = {}      # noqa: RUF012  (never filled: another file's globals are not ours)
    closure_switched = {}      # noqa: RUF012

    def switches_global(self, name: str) -> bool:
        return False


def exported_modes(doc) -> dict[str, HelperModes]:
    """The module-level functions of `doc` (a .py file others may import: models.file_summary
    leaves notebooks out) that switch the mode of a parameter, by name."""
    facts = doc.facts
    if not (facts.method_calls("eval") or facts.method_calls("train")):
        return {}
    from ..values import Values
    from . import RuleContext

    ctx = RuleContext(doc, None, Values(facts))
    # (this context is the index's own: its events need only be the mode switches, which is all
    # that function_modes and _last_is_train read of them)
    ctx.values._training_events = mode_events(ctx)
    out = {}
    for name, fm in function_modes(ctx).items():
        if not (fm.sets_eval or fm.sets_train) or is_method(fm.node) or ctx.facts.scope_id(fm.node.start_byte) != -1:
            continue
        switched = fm.sets_eval | fm.sets_train
        out[name] = HelperModes(name, doc.path, tuple(fm.params), frozenset(fm.sets_eval), frozenset(fm.sets_train),
                                frozenset(p for p in switched if _last_is_train(ctx, fm, p)))
    return out


def imported_helpers(ctx) -> dict[str, HelperModes]:
    """Local name -> HelperModes of the functions this file imports from another file of the
    project (the cross-file index) that switch a parameter's mode; names the file defines
    itself are its own."""
    cached = getattr(ctx.values, "_imported_helpers", None)
    if cached is not None:
        return cached
    out = {}
    workspace = ctx.values.workspace
    if workspace is not None and getattr(workspace, "helpers", None):
        for local, qual in ctx.facts.imports.items():
            if "." not in qual or ctx.facts.functions_named(local):
                continue
            helper = workspace.get_helper(qual)
            if helper is not None and helper.path != ctx.doc.path:
                out[local] = helper
    ctx.values._imported_helpers = out
    return out


def function_modes(ctx) -> dict[str, FunctionModes]:
    """name -> the mode switches of its last definition. A call runs the definition in effect
    where it is made (`modes_for_call`): iterate over names, then ask per call."""
    cached = getattr(ctx.values, "_function_modes", None)
    if cached is not None:
        return cached
    out = {}
    by_start = {}
    ctx.values._function_modes_by_start = by_start
    evs = events(ctx)
    for fn in ctx.facts.functions:
        name = fn.child_by_field_id(F_NAME)
        params_node = fn.child_by_field_id(F_PARAMETERS)
        if name is None or params_node is None:
            continue
        params = []
        for p in params_node.named_children:
            ident = p if p.type == "identifier" else (p.child_by_field_id(F_NAME) or
                                                      (p.named_children[0] if p.named_children else None))
            if ident is not None and ident.type == "identifier":
                params.append(ctx.text(ident))
        fm = FunctionModes(fn, params, set(), set())
        by_start[fn.start_byte] = fm
        out[ctx.text(name)] = fm
    # Each mode switch counts for every function around it whose parameter it switches.
    scopes_binding: dict = {}   # name -> the scopes that bind it
    for e in evs:
        if e.kind not in ("eval", "train"):
            continue
        chain = []   # the functions around the switch, innermost first
        fn = ctx.facts.function_at(e.pos)
        while fn is not None:
            chain.append(fn)
            fn = ctx.facts.function_at(fn.start_byte)
        # A parameter of the innermost function that has it; a name that none of them binds is
        # the module's: each of those functions switches that global object when it runs.
        bound_in = scopes_binding.get(e.target)
        if bound_in is None:
            bound_in = scopes_binding[e.target] = {b.scope for b in ctx.facts.bindings.get(e.target, ())}
        owner = next((f for f in chain if f.start_byte in bound_in), None)
        fm = by_start.get(owner.start_byte) if owner is not None else None
        if fm is not None and e.target in fm.params:
            (fm.sets_eval if e.kind == "eval" else fm.sets_train).add(e.target)
        elif owner is None and e.target.isidentifier():
            for f in chain:
                fm = by_start.get(f.start_byte)
                if fm is not None:
                    fm.globals_switched.setdefault(e.target, method_call(e.call)[0])
        if owner is not None and e.target.isidentifier():
            for f in chain:   # the functions nested in the owner that switch its local
                if f == owner:
                    break
                inner = by_start.get(f.start_byte)
                if inner is not None:
                    inner.closure_switched.setdefault(e.target, method_call(e.call)[0])
    ctx.values._function_modes = out
    return out


def self_method_calls(ctx) -> list:
    """(call, receiver, mode, target) for every `self.method(...)` call whose method, of the same
    class, leaves `target` ('self', or a model it holds: 'self.model') in `mode` ('eval' /
    'train'): its own last switch of the target, or that of a `self.` method it calls after it,
    three levels deep (DeepCTR-Torch's `fit()` loop calls `self.evaluate()` -> `self.predict()`
    -> `self.eval()`; a Kaggle Fitter's `train_one_epoch()` starts with `self.model.train()`).
    Found from the switches upwards, through the call index: methods that switch nothing are
    never looked at."""
    cached = getattr(ctx.values, "_self_method_calls", None)
    if cached is not None:
        return cached
    facts = ctx.facts
    direct: dict = {}   # (method start, target) -> [(pos, kind)] of its own switches
    methods: dict = {}  # method start -> its node
    for e in events(ctx):
        if e.kind in ("eval", "train") and (e.target == "self" or e.target.startswith("self.")):
            fn = facts.function_at(e.pos)
            if fn is not None and is_method(fn):
                direct.setdefault((fn.start_byte, e.target), []).append((e.pos, e.kind))
                methods[fn.start_byte] = fn
    targets = {t for _s, t in direct}
    edges: dict = {}    # caller start -> {call start: (call, receiver, callee start)}
    frontier = list(methods)
    for _depth in range(3):
        reached = []
        for start in frontier:
            callee = methods[start]
            name, cls = callee.child_by_field_id(F_NAME), class_of_method(callee)
            if name is None or cls is None:
                continue
            for call, recv in facts.method_calls(ctx.text(name)):
                if recv is None or recv.type != "identifier" or ctx.text(recv) != "self":
                    continue
                caller = facts.function_at(call.start_byte)
                if caller is None or class_of_method(caller) != cls:
                    continue
                found = edges.setdefault(caller.start_byte, {})
                if call.start_byte not in found:
                    found[call.start_byte] = (call, recv, start)
                    if caller.start_byte not in methods:
                        methods[caller.start_byte] = caller
                        reached.append(caller.start_byte)
        frontier = reached
    last: dict = {}

    def last_mode(start, target, depth=0):
        key = (start, target)
        if key in last:
            return last[key]
        last[key] = None   # recursion guard
        found = list(direct.get(key, ()))
        if depth < 4:
            for call, _recv, callee in edges.get(start, {}).values():
                mode = last_mode(callee, target, depth + 1)
                if mode is not None:
                    found.append((call.start_byte, mode))
        last[key] = max(found)[1] if found else None
        return last[key]

    out = []
    for calls in edges.values():
        for call, recv, callee in calls.values():
            for target in sorted(targets):
                mode = last_mode(callee, target)
                if mode is not None:
                    out.append((call, recv, mode, target))
    out.sort(key=lambda t: (t[0].start_byte, t[3]))
    ctx.values._self_method_calls = out
    return out


def modes_for_call(ctx, fname: str, call) -> FunctionModes | None:
    """The mode switches of the definition of `fname` that `call` runs (a notebook that
    redefines `train_batch` later: the loop above runs the first one)."""
    func = ctx.facts.definition_in_effect(fname, call.start_byte)
    if func is None:
        return None   # no plain function of that name, or definitions under different conditions
    function_modes(ctx)
    return ctx.values._function_modes_by_start.get(func.start_byte)


def switching_names(ctx) -> list[str]:
    """Names of functions some definition of which switches a parameter's mode."""
    cached = getattr(ctx.values, "_switching_names", None)
    if cached is not None:
        return cached
    by_start = getattr(ctx.values, "_function_modes_by_start", None)
    if by_start is None:
        function_modes(ctx)
        by_start = ctx.values._function_modes_by_start
    names = []
    for fm in by_start.values():
        name = fm.node.child_by_field_id(F_NAME)
        if (fm.sets_eval or fm.sets_train or fm.globals_switched or fm.closure_switched) and name is not None:
            names.append(ctx.text(name))
    ctx.values._switching_names = list(dict.fromkeys(names))
    return ctx.values._switching_names


def mode_switches(ctx) -> dict:
    """(scope, object name) -> (positions, events) of its eval / train / mode switches in source
    order, once per document: `mode_at` bisects instead of scanning every event per question."""
    cached = getattr(ctx.values, "_mode_switches", None)
    if cached is None:
        cached = {}
        for e in events(ctx):
            if e.kind in ("eval", "train", "mode"):
                positions, switches = cached.setdefault((ctx.facts.scope_id(e.pos), e.target), ([], []))
                positions.append(e.pos)
                switches.append(e)
        ctx.values._mode_switches = cached
    return cached


def calls_to(ctx, fname: str):
    yield from ctx.facts.calls_named(fname)


def calls_of(ctx, fname: str, func):
    """The calls of `fname` that run the definition `func` (not another definition of it)."""
    for call in ctx.facts.calls_named(fname):
        if ctx.facts.definition_in_effect(fname, call.start_byte) == func:
            yield call


def _modes_of(ctx, func) -> FunctionModes | None:
    function_modes(ctx)
    return ctx.values._function_modes_by_start.get(func.start_byte)


def argument_for(ctx, call, fm: FunctionModes, param: str):
    """The argument node passed for `param` at `call`, or None."""
    pos, kw = args_of(call)
    if param in kw:
        return kw[param]
    try:
        i = fm.params.index(param)
    except ValueError:
        return None
    if fm.params and fm.params[0] == "self":
        i -= 1
    return pos[i] if 0 <= i < len(pos) else None


def param_arguments(ctx, name: str, pos: int):
    """When `name` at `pos` is a parameter of the enclosing function: the argument passed for it
    at every call of that function in this file. None when not a parameter, never called here,
    or some call does not pass it."""
    pairs = param_calls(ctx, name, pos)
    return [arg for _call, arg in pairs] if pairs else None


def param_calls(ctx, name: str, pos: int):
    """As `param_arguments`, with each call: (call, argument) pairs, or None."""
    b = ctx.facts.binding(name, pos)
    fn = ctx.facts.function_at(pos)
    if b is None or b.kind != "param" or fn is None:
        return None
    fname = fn.child_by_field_id(F_NAME)
    fm = _modes_of(ctx, fn)
    if fm is None or fname is None:
        return None
    pairs = []
    for call in calls_of(ctx, ctx.text(fname), fn):
        arg = argument_for(ctx, call, fm, name)
        if arg is None:
            return None
        pairs.append((call, arg))
    return pairs or None


def function_called_under_no_grad(ctx, pos: int) -> bool:
    """The function enclosing `pos` is called inside a no_grad block (or a no_grad function)."""
    fn = ctx.facts.function_at(pos)
    fname = fn.child_by_field_id(F_NAME) if fn is not None else None
    if fname is None:
        return False
    return any(ctx.facts.in_no_grad(c.start_byte) for c in calls_to(ctx, ctx.text(fname)))


def mode_at(ctx, name: str, pos: int, depth: int = 0):
    """'eval' | 'train' | None (unknown) for object `name` just before byte `pos`."""
    facts = ctx.facts
    scope = facts.scope_id(pos)
    last = last_switch(ctx, name, pos, scope)
    b = facts.binding(name, pos)
    if last is not None and b is not None and b.scope == scope and b.pos > last.pos \
            and not _same_object(ctx, b, name):
        last = None  # `model = from_pretrained(...)` after `model.train()`: another object now
    if depth < 3:
        last = _through_aliases(ctx, name, pos, scope, b, last, depth)
    if last is not None:
        return None if last.kind == "mode" else last.kind
    if b is None:
        return None
    if b.kind == "param" and depth == 0:
        fn = facts.function_at(pos)
        fname_node = fn.child_by_field_id(F_NAME) if fn is not None else None
        fm = _modes_of(ctx, fn) if fname_node is not None else None
        if fm is None:
            return None
        modes = set()
        for call in calls_of(ctx, ctx.text(fname_node), fn):
            arg = argument_for(ctx, call, fm, name)
            if arg is None or strip(arg).type != "identifier":
                return None
            modes.add(mode_at(ctx, ctx.text(arg), call.start_byte, depth + 1))
        return modes.pop() if len(modes) == 1 else None
    if b.scope != scope:
        return None  # a global read from a function: its mode depends on when it is called
    if b.kind == "assign":
        if b.index is not None:   # `model, opt = build()`: what the factory returns there
            value = strip(b.value)
            return _factory_mode(ctx, value, (b.index, b.count), depth) \
                if _local_factory(ctx, value) is not None else None
        return _chain_mode(ctx, b.value, depth)
    return None


def last_switch(ctx, name: str, pos: int, scope: int):
    """The last eval()/train() of object `name` in `scope` before byte `pos`, its own or a
    helper's it was handed to (validate(model) -> eval()), or None."""
    positions, switches = mode_switches(ctx).get((scope, name), ((), ()))
    i = bisect_left(positions, pos)
    last = switches[i - 1] if i else None
    starts, calls = _switching_calls(ctx).get(scope, ((), ()))
    floor = last.pos if last is not None else -1
    for j in range(bisect_left(starts, pos) - 1, -1, -1):   # the latest helper call first
        call, fname = calls[j]
        if call.start_byte < floor:
            break
        fm = modes_for_call(ctx, fname, call) or imported_helpers(ctx).get(fname)
        if fm is None:
            continue
        found = None
        for param in fm.sets_eval | fm.sets_train:
            arg = argument_for(ctx, call, fm, param)
            if arg is not None and ctx.text(arg) == name:
                # the helper's last word on the mode wins
                mode = "train" if param in fm.sets_train and _last_is_train(ctx, fm, param) else "eval"
                found = _Synthetic(mode, call.start_byte)
        if fm.switches_global(name) and global_at(ctx, name, call.start_byte):
            found = _Synthetic("train" if _last_is_train(ctx, fm, name) else "eval", call.start_byte)
        if found is not None:
            return found
    return last


def _switching_calls(ctx) -> dict:
    """scope -> (start bytes, [(call, helper name)]) of the calls to helpers that switch a mode,
    in source order (once per analysis: `mode_at` is asked for every model call)."""
    cached = getattr(ctx.values, "_switching_calls", None)
    if cached is None:
        by_scope: dict = {}
        for fname in [*switching_names(ctx), *imported_helpers(ctx)]:
            for call in calls_to(ctx, fname):
                by_scope.setdefault(ctx.facts.scope_id(call.start_byte), []).append((call, fname))
        cached = {}
        for scope, items in by_scope.items():
            items.sort(key=lambda t: t[0].start_byte)
            cached[scope] = ([c.start_byte for c, _f in items], items)
        ctx.values._switching_calls = cached
    return cached


def global_at(ctx, name: str, pos: int) -> bool:
    """`name` at `pos` is the module-level object (not a local or a parameter of that name)."""
    b = ctx.facts.binding(name, pos)
    return b is None or b.scope == -1


def _through_aliases(ctx, name: str, pos: int, scope: int, b, last, depth: int):
    """`last` (the last switch of `name` before `pos`), or a later one made through another
    name for the same object: `best_model = model` shares one module, so `model.eval()` after
    it switches `best_model` too, and `best_model.eval()` switches `model`. With no switch
    after the aliasing, `best_model` has the mode `model` had there."""
    facts = ctx.facts
    found = [last] if last is not None else []
    other = _aliased(ctx, b, name)
    if other is not None and b.scope == scope and facts.binding(other, pos) is facts.binding(other, b.pos):
        switch = last_switch(ctx, other, pos, scope)
        if switch is not None and switch.pos > b.pos:
            found.append(switch)
        elif last is None or last.pos < b.pos:
            mode = mode_at(ctx, other, b.pos, depth + 1)
            if mode is None:
                return None
            found.append(_Synthetic(mode, b.pos))
    for alias in _aliases(ctx).get(name, ()):
        if alias.scope != scope or not alias.pos < pos or facts.binding(alias.name, pos) is not alias \
                or facts.binding(name, alias.pos) is not b:
            continue
        switch = last_switch(ctx, alias.name, pos, scope)
        if switch is not None and switch.pos > alias.pos:
            found.append(switch)
    return max(found, key=lambda s: s.pos) if found else None


def _aliased(ctx, b, name: str):
    """The name `b` binds `name` to when it is a plain alias, `name = other`; else None."""
    if b is None or b.kind != "assign" or b.index is not None:
        return None
    value = strip(b.value)
    if value is None or value.type != "identifier":
        return None
    other = ctx.text(value)
    return other if other != name else None


def _aliases(ctx) -> dict:
    """name -> the plain `alias = name` bindings of the document (once per analysis)."""
    cached = getattr(ctx.values, "_mode_aliases", None)
    if cached is None:
        cached = {}
        for bs in ctx.facts.bindings.values():
            for b in bs:
                if b.kind == "assign" and b.value is not None and b.value.type == "identifier" \
                        and b.index is None:
                    other = ctx.text(b.value)
                    if other != b.name:
                        cached.setdefault(other, []).append(b)
        ctx.values._mode_aliases = cached
    return cached


def _local_factory(ctx, call):
    """The function of this file that the plain call `call` runs, or None."""
    if call is None or call.type != "call":
        return None
    fn = call.child_by_field_id(F_FUNCTION)
    if fn is None or fn.type != "identifier":
        return None
    return ctx.facts.definition_in_effect(ctx.text(fn), call.start_byte)


def _factory_mode(ctx, call, slot, depth: int):
    """The mode of the model a function of this file returns (`build_pair()` ends with
    `hf_model.eval(); return ours, hf_model`): the same at every `return`, else unknown."""
    func = _local_factory(ctx, call)
    if func is None or depth >= 3:
        return None
    modes = set()
    for value in returned_values(func):
        value = strip(value)
        if value is None or value.type == "yield":
            return None
        if slot is not None:
            if value.type not in ("expression_list", "tuple") or len(value.named_children) != slot[1]:
                return None
            value = strip(value.named_children[slot[0]])
        if value is not None and value.type == "identifier":
            modes.add(mode_at(ctx, ctx.text(value), value.start_byte, depth + 1))
        else:
            modes.add(_chain_mode(ctx, value, depth + 1))
        if len(modes) > 1 or None in modes:
            return None
    return modes.pop() if modes else None


def _same_object(ctx, b, name: str) -> bool:
    """The binding keeps the object `name` held: `model = model.to(device)` (methods that return
    the module itself), not a new one."""
    if b.kind != "assign" or b.index is not None:
        return False
    node = strip(b.value)
    while node is not None and node.type == "call":
        recv, method = method_call(node)
        if recv is None or (method not in MODULE_SELF_METHODS and method not in ("eval", "train")):
            return False
        node = strip(recv)
    return node is not None and node.type == "identifier" and ctx.text(node) == name


def _chain_mode(ctx, value, depth: int = 0):
    """Mode of `Net().to(device).eval()`: the last eval()/train() in the chain; a freshly built
    nn.Module starts in training mode. `model = model.cuda()` (`if CUDA:` in tutorials) keeps
    the object and so its mode: that of `model` just before."""
    node = strip(value)
    moved = False   # through at least one method that returns the module itself
    while node is not None and node.type == "call":
        recv, method = method_call(node)
        if method == "eval":
            return "eval"
        if method == "train":
            pos, kw = args_of(node)
            arg = pos[0] if pos else kw.get("mode")
            if arg is None or ctx.text(arg) == "True":
                return "train"
            return "eval" if ctx.text(arg) == "False" else None
        if method not in MODULE_SELF_METHODS or recv is None:
            if method is None and _local_factory(ctx, node) is not None:
                return _factory_mode(ctx, node, None, depth)
            return _built_mode(ctx, node, method)
        node, moved = strip(recv), True
    if moved and node is not None and node.type == "identifier" and depth < 3:
        return mode_at(ctx, ctx.text(node), node.start_byte, depth + 1)
    return None  # `model = other`: an alias, mode unknown here


_LOADERS = ("load", "load_model", "load_from_checkpoint", "restore")


def _built_mode(ctx, call, method):
    """Mode of a freshly obtained model: built -> train; Hugging Face `from_pretrained` -> eval
    (it calls eval() itself); loaded from disk -> unknown (whatever mode was saved)."""
    if method == "from_pretrained":
        return "eval"
    qual = ctx.facts.callee_qual(call) or ""
    name = method or qual.rsplit(".", 1)[-1]
    if name in _LOADERS or qual in ("torch.load", "torch.jit.load", "joblib.load", "pickle.load"):
        return None
    callee = call.child_by_field_id(F_FUNCTION)
    cname = qual or (ctx.text(callee) if callee is not None and callee.type == "identifier" else "")
    cls = ctx.values.local_class(cname) if cname else None
    if cls is not None and getattr(cls, "evals_in_init", False):
        return None   # its __init__ puts (part of) it in eval mode
    if cls is not None and getattr(cls, "pretrained_eval_only", False):
        return "eval"   # what could behave differently was loaded by from_pretrained, in eval mode
    if name in _SAME_MODE_WRAPPERS:
        pos, _ = args_of(call)
        inner = strip(pos[0]) if pos else None
        if inner is not None and inner.type == "identifier":
            return mode_at(ctx, ctx.text(inner), call.start_byte, 3)   # one level: no recursion
        return None
    return "train"


# Calls that wrap or copy a model and keep its mode: torchvision's feature extractor (built in
# `model.training`'s mode), `torch.compile`, `copy.deepcopy`, an FX trace, DataParallel.
_SAME_MODE_WRAPPERS = frozenset({"create_feature_extractor", "compile", "deepcopy", "symbolic_trace",
                                 "DataParallel", "DistributedDataParallel"})


def _last_is_train(ctx, fm, param):
    """The helper's last mode switch of `param` is train() (memoised: asked per call of it)."""
    if fm.node is None:   # another file's helper (HelperModes): computed when it was indexed
        return param in fm.ends_in_train
    memo = ctx.values.__dict__.setdefault("_last_is_train", {})
    key = (fm.node.start_byte, param)
    if key not in memo:
        last = None
        for e in events(ctx):
            if fm.node.start_byte < e.pos < fm.node.end_byte and e.target == param and e.kind in ("eval", "train"):
                last = e.kind
        memo[key] = last == "train"
    return memo[key]


@dataclass
class _Synthetic:
    kind: str
    pos: int
