"""best-weights-not-copied: the "best" weights kept with `best = model.state_dict()` in a training
loop, with no copy, and restored, saved or returned after more training.

`Module.state_dict()` returns a new dict whose tensors are the module's own parameters and
buffers, detached but sharing their storage; the optimizer (and batch norm's running statistics)
update those in place, so the "snapshot" follows every later step and what gets restored is the
last weights. The same holds for `.state_dict().copy()`, `dict(...)`, `OrderedDict(...)` and a
comprehension that keeps each tensor as it is (`{k: v for k, v in sd.items()}`, `v.detach()`):
they copy the dict, not the tensors. An optimizer's `state_dict()` holds its live per-parameter
state (momentum buffers, Adam's moments) the same way.

Flagged: such an assignment to a name or attribute (alone, in a tuple, or as a value of a dict
literal) inside a loop that trains (a backward pass or an optimizer step in it, a helper of the
file that does, a `train...` / `fit...` call, or `model.train()`), when the same name is then given
to `load_state_dict`, `torch.save` or `return`: after the loop, earlier in the loop (a later pass),
or later in the loop outside the branch that took the snapshot.

Left alone: `copy.deepcopy(...)` and `.clone()` / `.cpu()` / `.to(...)` comprehensions (`.cpu()`
copies GPU tensors; on a CPU-only run it returns the same tensor, but the intent is a copy and the
usual run is on a GPU: not reported), `torch.save(model.state_dict(), path)` (written to disk at
once), a snapshot saved in the branch that took it with no later use, a `state_dict()` taken
after training, one passed straight to `load_state_dict` (target networks copy the values), a
loop that builds a new model on each pass (the old snapshot is no longer trained), Keras
`get_weights()` (numpy copies) and `best_model = model` (another bug)."""
from __future__ import annotations

import re
from bisect import bisect_left

from ..findings import Fix, Severity, TextEdit
from ..parsing import F_ATTRIBUTE, F_FUNCTION, F_LEFT, F_OBJECT, F_RIGHT, F_VALUE
from ..values import MODULE_SELF_METHODS, args_of, has_splat, method_call, strip
from . import Rule
from ._bare import used_with
from ._training import (
    EVAL_NAME,
    events,
    helper_calls,
    is_optimizer,
    is_torch_module_class,
    returns_of,
    same_scope,
    statement_of,
)

# Calls that show a name holds a module (not `state_dict` itself, which optimizers share).
_MODULE_METHODS = ("parameters", "named_parameters", "eval", "train", "to", "cuda", "zero_grad",
                   "forward", "modules", "children", "apply", "named_modules", "buffers")
_MODEL_NAME = re.compile(r"(?i)model|net|encoder|decoder|generator|discriminator|classifier|"
                         r"backbone|actor|critic|policy|agent|head|transformer|lstm|rnn|cnn|unet|module")
_NOT_MODULE = re.compile(r"(?i)sched|scaler|loader|sampler|dataset|scheduler|lr_|amp$|metric|logger")
# Loop bodies that train through a call the file does not define: `train_one_epoch(...)`.
_TRAIN_CALL = re.compile(r"(?i)^_*(?:(?!(?:get|load|read|make|split|build|create|prepare|process|init)_)[a-z0-9]+_)*"
                         r"(?:train|fit)(?:_(?:one_|single_|an_|per_)?(?:epoch|step|batch|model|net|network|loop|"
                         r"iter|iteration|on_batch|steps|epochs|fn|func|function))?$")
_SHALLOW_FUNCTIONS = ("dict", "OrderedDict", "collections.OrderedDict")
# What runs a statement on some passes only (an inner loop may run no pass at all).
_CONDITIONAL = frozenset({"if_statement", "elif_clause", "else_clause", "try_statement", "except_clause",
                          "match_statement", "case_clause", "for_statement", "while_statement"})
_LITERALS = ("dictionary", "list", "tuple", "expression_list", "parenthesized_expression")


def check(ctx):
    reported: dict = {}   # assignment -> kind: one finding per assignment, a module's first
    found = []
    for call, recv in ctx.facts.method_calls("state_dict"):
        unsafe = _unsafe(ctx, call, recv)
        if unsafe is None:
            continue
        value, assign, target, how, kind, use = unsafe
        key = assign.start_byte
        if key in reported and (reported[key] == "module" or kind == "optimizer"):
            continue
        reported[key] = kind
        found = [f for f in found if f[0] != key]
        found.append((key, _finding(ctx, call, recv, value, assign, target, how, kind, use)))
    for _key, finding in found:
        yield finding


def _unsafe(ctx, call, recv):
    """(the node holding the references, the assignment, its target, how it copies, "module" or
    "optimizer", the later use) when `recv.state_dict()` here is kept without a copy in a
    training loop and used after more training; else None."""
    if recv is None or args_of(call)[0] or has_splat(call):
        return None
    snap = _snapshot(ctx, call)
    if snap is None:
        return None
    value, assign, target, how = snap
    loop = _training_loop(ctx, assign)
    if loop is None:
        return None
    kind = _owner_kind(ctx, strip(recv))
    if kind is None or _rebound_in(ctx, strip(recv), loop):
        return None
    use = _later_use(ctx, assign, target, loop)
    if use is None:
        return None
    return value, assign, target, how, kind, use


def unsafe_snapshot(ctx, call, recv) -> tuple[str, str] | None:
    """For the hover on `recv.state_dict()`: (the name that keeps it, how it is used later:
    "`model.load_state_dict(best)` restores") when this rule reports the call, else None."""
    unsafe = _unsafe(ctx, call, recv)
    if unsafe is None:
        return None
    _value, _assign, target, _how, _kind, (site, use_kind) = unsafe
    return ctx.text(target), _shown(ctx, site, use_kind)


def _finding(ctx, call, recv, value, assign, target, how, kind, use):
    owner = ctx.text(recv)
    name = ctx.text(target)
    what = {"direct": f"`{owner}.state_dict()` returns",
            "copy": f"`.copy()` copies only the dict, and `{owner}.state_dict()` returns",
            "dict": f"copying the dict copies only its references, and `{owner}.state_dict()` returns",
            "comprehension": f"the comprehension keeps each tensor as it is, and `{owner}.state_dict()` returns",
            }[how]
    if kind == "optimizer":
        live = (f"{what} the optimizer's live state (momentum buffers, Adam's moment estimates), "
                "which every later step updates in place")
        latest = "the latest optimizer state, not the one of the best epoch"
    else:
        live = (f"{what} tensors that share storage with `{owner}`'s parameters and buffers, "
                "which every later optimizer step updates in place")
        latest = "the latest weights, not the best ones"
    site, use_kind = use
    return ctx.finding(
        value, f"`{name}` keeps no copy: {live}. So {_shown(ctx, site, use_kind)} {latest}. "
        f"Keep a copy: `copy.deepcopy({owner}.state_dict())` or "
        "`{k: v.detach().clone() for k, v in " + f"{owner}.state_dict().items()}}`.",
        related=[ctx.related(site, "the \"best\" state is used here, after more training")],
        fix=_deepcopy_fix(ctx, call, value, how, assign))


def _shown(ctx, site, kind) -> str:
    """How the message names the use: `model.load_state_dict(best)` restores / ... saves / ... hands back."""
    verb = {"load": "restores", "save": "saves", "return": "hands back"}[kind]
    text = " ".join(ctx.text(site).split())
    if len(text) > 60:
        if site.type == "call":
            text = ctx.text(site.child_by_field_id(F_FUNCTION)) + "(...)"
        else:
            text = "return ..."
    return f"`{text}` {verb}"


def _snapshot(ctx, call):
    """(the node holding the references, the assignment, its target, how) when the state dict
    (or a shallow copy of it) is stored in a name or attribute: `best = m.state_dict()`, an item
    of a tuple assignment, a value of a dict literal assigned; else None."""
    node, how = call, "direct"
    parent = node.parent
    if parent.type == "attribute" and parent.child_by_field_id(F_OBJECT) == node:
        attr = ctx.text(parent.child_by_field_id(F_ATTRIBUTE))
        outer = parent.parent
        if outer is None or outer.type != "call":
            return None
        if attr == "copy" and not args_of(outer)[0]:
            node, how = outer, "copy"
        elif attr == "items":
            node = _plain_comprehension(ctx, outer)
            if node is None:
                return None
            how = "comprehension"
        else:
            return None   # `m.state_dict().keys()`, `m.state_dict()[name]`...
    elif parent.type == "argument_list" and parent.named_child_count == 1:
        outer = parent.parent
        fn = outer.child_by_field_id(F_FUNCTION) if outer is not None else None
        if fn is None or ctx.text(fn) not in _SHALLOW_FUNCTIONS:
            return None
        node, how = outer, "dict"
    return _assigned(node, how)


def _plain_comprehension(ctx, items_call):
    """The dict comprehension `{k: v for k, v in <sd>.items()}` (value `v`, `v.detach()` or
    `v.data`) that `items_call` feeds, else None."""
    clause = items_call.parent
    comp = clause.parent if clause is not None else None
    if clause is None or clause.type != "for_in_clause" or comp is None or comp.type != "dictionary_comprehension":
        return None
    if clause.child_by_field_id(F_RIGHT) != items_call:
        return None
    left = clause.child_by_field_id(F_LEFT)
    names = [c for c in left.named_children] if left is not None else []
    pair = comp.named_children[0] if comp.named_children else None
    if len(names) != 2 or pair is None or pair.type != "pair":
        return None
    value = strip(pair.child_by_field_id(F_VALUE))
    while value is not None:
        if value.type == "identifier":
            return comp if ctx.text(value) == ctx.text(names[1]) else None
        if value.type == "attribute" and ctx.text(value.child_by_field_id(F_ATTRIBUTE)) == "data":
            value = strip(value.child_by_field_id(F_OBJECT))
            continue
        if value.type == "call":
            recv, method = method_call(value)
            if method == "detach" and not args_of(value)[0]:
                value = strip(recv)
                continue
        return None   # `.clone()`, `.cpu()`, `.to(...)`, `copy.deepcopy(v)`: a copy (or meant as one)
    return None


def _assigned(node, how):
    up = node.parent
    while up is not None and up.type == "parenthesized_expression":
        node, up = up, up.parent
    if up is None:
        return None
    if up.type == "assignment" and up.child_by_field_id(F_RIGHT) == node:
        return _target(node, up, up.child_by_field_id(F_LEFT), how)
    if up.type in ("expression_list", "tuple"):
        assign = up.parent
        if assign is None or assign.type != "assignment" or assign.child_by_field_id(F_RIGHT) != up:
            return None
        left = assign.child_by_field_id(F_LEFT)
        items = [c for c in up.named_children if c.type != "comment"]
        targets = [c for c in left.named_children if c.type != "comment"] if left is not None else []
        if left is None or left.type not in ("pattern_list", "tuple_pattern", "tuple") or len(items) != len(targets):
            return None
        return _target(node, assign, targets[items.index(node)], how)
    if up.type == "pair" and up.child_by_field_id(F_VALUE) == node:
        literal = up.parent
        assign = literal.parent if literal is not None and literal.type == "dictionary" else None
        if assign is not None and assign.type == "assignment" and assign.child_by_field_id(F_RIGHT) == literal:
            return _target(node, assign, assign.child_by_field_id(F_LEFT), how)
    return None


def _target(value, assign, target, how):
    if target is None or target.type not in ("identifier", "attribute"):
        return None
    if target.type == "attribute":
        obj = strip(target.child_by_field_id(F_OBJECT))
        if obj is None or obj.type not in ("identifier", "attribute"):
            return None   # `f().best = ...`
    return value, assign, target, how


def _training_loop(ctx, assign):
    """The innermost loop around the assignment (in its function) that trains, or None."""
    pos = assign.start_byte
    for loop in reversed(ctx.facts.loops_containing(pos)):
        if not same_scope(ctx, loop.start_byte, pos):
            break
        if _trains(ctx, loop):
            return loop
    return None


def _training_positions(ctx, strong: bool = False) -> list:
    """Sorted positions of what trains: backward passes, optimizer steps, calls of the file's
    helpers that do, `train_one_epoch(...)`-like calls, `model.train()`. With `strong`, only
    what surely updates the weights: no mode switch, and no helper call that evaluates
    (`run_epoch(model, val_loader)`, `self.iterate(epoch, "val")`). Once per document."""
    key = "_bwnc_strong" if strong else "_bwnc_training"
    cached = getattr(ctx.values, key, None)
    if cached is not None:
        return cached
    facts = ctx.facts
    evs = events(ctx)
    core = [e.pos for e in evs if e.kind in ("backward", "step")]
    found = set(core)
    helpers = helper_calls(ctx, core)
    if strong:
        starts = [c.start_byte for c in facts.calls]
        for pos in helpers:
            i = bisect_left(starts, pos)
            if i < len(starts) and starts[i] == pos and not _evaluates(ctx, facts.calls[i]):
                found.add(pos)
    else:
        found.update(helpers)
        found.update(e.pos for e in evs if e.kind == "train")
        for call, _recv in facts.method_calls("train"):
            if args_of(call)[0]:
                found.add(call.start_byte)   # `trainer.train(loader)`, not the mode switch
    for name, calls in facts.calls_by_last_name().items():
        if name != "train" and _TRAIN_CALL.match(_snake(name)):
            found.update(c.start_byte for c in calls)
    for call in facts.calls_named("train"):
        found.add(call.start_byte)
    cached = sorted(found)
    setattr(ctx.values, key, cached)
    return cached


def _evaluates(ctx, call) -> bool:
    """A call that names evaluation: its callee (`validate(...)`) or an argument (`val_loader`,
    `"val"`)."""
    fn = call.child_by_field_id(F_FUNCTION)
    if fn is not None and EVAL_NAME.search(ctx.text(fn).rsplit(".", 1)[-1]):
        return True
    pos, kw = args_of(call)
    for arg in (*pos, *kw.values()):
        arg = strip(arg)
        if arg is None or arg.type not in ("string", "identifier", "attribute"):
            continue
        word = ctx.text(arg).strip("\"'").rsplit(".", 1)[-1]
        if EVAL_NAME.search(word):
            return True
    return False


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)


def _trains(ctx, loop) -> bool:
    return _any_in(_training_positions(ctx), loop.start_byte, loop.end_byte)


def _any_in(positions, start, end) -> bool:
    i = bisect_left(positions, start)
    return i < len(positions) and positions[i] < end


def _owner_kind(ctx, recv):
    """"module" or "optimizer" for what `recv.state_dict()` is called on, None when neither is
    shown (a scheduler, a GradScaler, a data loader keep no tensors that training updates)."""
    if recv is None:
        return None
    qual, _ = ctx.values.instance(recv)
    if qual is not None:
        if is_optimizer(ctx, recv):
            return "optimizer"
        if is_torch_module_class(ctx, qual):
            return "module"
        if qual.startswith("torch.") or _NOT_MODULE.search(qual.rsplit(".", 1)[-1]):
            return None   # a scheduler, a GradScaler, a DataLoader...
        # a class of another module of the project (`from models import UNet`): as used
    text = ctx.text(recv)
    last = text.rsplit(".", 1)[-1]
    if _NOT_MODULE.search(last):
        return None
    if is_optimizer(ctx, recv):
        return "optimizer"
    if used_with(ctx, recv, _MODULE_METHODS) or _MODEL_NAME.search(last):
        return "module"
    if recv.type == "identifier" and ctx.facts.calls_named(text):
        return "module"   # `model(x)`
    return None


def _rebound_in(ctx, recv, loop) -> bool:
    """The loop builds a new object each pass (`model = Net()`, `self.model = ...`): a snapshot
    of an earlier one is no longer trained. `model = model.to(device)` is the same object."""
    text = ctx.text(recv)
    for a in ctx.facts.assignments_in(loop):
        left = a.child_by_field_id(F_LEFT)
        if left is None or ctx.text(left) != text:
            continue
        right = strip(a.child_by_field_id(F_RIGHT))
        while right is not None and right.type == "call":
            inner, method = method_call(right)
            if method not in MODULE_SELF_METHODS or inner is None:
                break
            right = strip(inner)
        if right is None or ctx.text(right) != text:
            return True
    return False


def _later_use(ctx, assign, target, loop):
    """(node, "load" | "save" | "return") of a use of the snapshot that runs after more training,
    else None."""
    facts = ctx.facts
    text = ctx.text(target)
    is_name = target.type == "identifier"
    block_stmt = statement_of(assign)
    block = block_stmt.parent if block_stmt is not None else None
    fn = facts.function_at(assign.start_byte)
    scope = facts.scope_id(assign.start_byte)
    candidates = []
    for call, _recv in facts.method_calls("load_state_dict"):
        pos, kw = args_of(call)
        arg = pos[0] if pos else kw.get("state_dict")
        if arg is not None:
            candidates.append((arg, "load", call))
    for call in facts.calls_to({"torch.save"}):
        pos, kw = args_of(call)
        arg = pos[0] if pos else kw.get("obj")
        if arg is not None:
            candidates.extend((e, "save", call) for e in _parts(arg))
    if fn is not None:
        for ret in returns_of(fn):
            for child in ret.named_children:
                candidates.extend((e, "return", ret) for e in _parts(child))
    for expr, kind, site in candidates:
        expr = strip(expr)
        if expr is not None and expr.type == "subscript":
            expr = strip(expr.child_by_field_id(F_VALUE))   # `best["model"]`
        if expr is None or ctx.text(expr) != text:
            continue
        same = facts.scope_id(expr.start_byte) == scope
        if not same:
            # an attribute restored in another method (`def restore(self)`), after training
            if not is_name and kind == "load" and not (loop.start_byte <= expr.start_byte < loop.end_byte) \
                    and _stale_after(ctx, assign, loop):
                return site, kind
            continue
        if is_name and not _reaches(ctx, expr, assign, loop):
            continue
        if expr.start_byte >= loop.end_byte:
            if _stale_after(ctx, assign, loop):
                return site, kind
            continue
        if not (loop.start_byte <= expr.start_byte < loop.end_byte):
            continue
        if expr.start_byte < assign.start_byte:
            return site, kind   # read on a later pass, after that pass trained
        inside = block is not None and block.start_byte <= expr.start_byte < block.end_byte
        if not inside or _any_in(_training_positions(ctx, strong=True), assign.end_byte, expr.start_byte):
            return site, kind
    return None


def _stale_after(ctx, assign, loop) -> bool:
    """After the loop, the snapshot may hold later weights than the ones it was taken of: it is
    taken only on some passes (under an `if`), or training follows it in the pass. (One taken
    unconditionally at the end of every pass holds the final weights, as meant: `last = ...`.)"""
    node = assign.parent
    while node is not None and node != loop:
        if node.type in _CONDITIONAL:
            return True
        node = node.parent
    return _any_in(_training_positions(ctx, strong=True), assign.end_byte, loop.end_byte)


def _parts(node):
    """`node` and, through literals (`{"model": best, "epoch": e}`, `(best, loss)`), what it holds."""
    node = strip(node)
    if node is None:
        return
    yield node
    if node.type in _LITERALS:
        for child in node.named_children:
            if child.type == "pair":
                child = child.child_by_field_id(F_VALUE)
            yield from _parts(child)


def _reaches(ctx, expr, assign, loop) -> bool:
    """The value this assignment gives the name can be what `expr` reads: it is the binding in
    effect there, or (read earlier in the loop) no other binding of the loop comes between."""
    b = ctx.facts.binding(ctx.text(expr), expr.start_byte)
    if b is None:
        return False
    if b.pos == assign.start_byte:
        return True
    return loop.start_byte <= expr.start_byte < assign.start_byte and b.pos < loop.start_byte


def _deepcopy_fix(ctx, call, value, how, assign):
    """Wrap the state dict in `copy.deepcopy(...)` when the file imports `copy` (or `deepcopy`)
    where the assignment can see it; none for a comprehension (its filter would be lost)."""
    if how == "comprehension":
        return None
    name = _deepcopy_name(ctx, assign)
    if name is None:
        return None
    new = f"{name}({ctx.text(call)})"
    return Fix(f"Store a copy: `{new}`", (TextEdit(value.start_byte, value.end_byte, new),))


def _deepcopy_name(ctx, assign):
    facts = ctx.facts
    scope = facts.scope_id(assign.start_byte)
    for stmt in facts.import_statements:
        s = facts.scope_id(stmt.start_byte)
        if s not in (-1, scope) or (s == scope and stmt.start_byte > assign.start_byte) \
                or (s == -1 and scope == -1 and stmt.start_byte > assign.start_byte):
            continue
        for local, qual in _imported(ctx, stmt):
            if qual == "copy":
                return f"{local}.deepcopy"
            if qual == "copy.deepcopy":
                return local
    return None


def _imported(ctx, stmt):
    """(local name, qualified name) pairs one import statement binds."""
    from ..symbols import collect_imports

    kind = stmt.type
    names = collect_imports([stmt] if kind == "import_statement" else [],
                            [stmt] if kind == "import_from_statement" else [], ctx.facts.text)
    return names.items()


RULE = Rule("best-weights-not-copied", Severity.ERROR, "early-stopping",
            "The best weights kept as model.state_dict() without a copy, then restored after more training",
            check, needs=(b"state_dict",))
