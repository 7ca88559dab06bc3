"""optimizer-recreated-in-loop: a stateful optimizer is built anew on every pass of the loop that
trains with it, so its state (Adam's moment estimates, momentum buffers) never builds up."""
from __future__ import annotations

import re

from ..findings import Fix, Severity, TextEdit
from ..parsing import (
    F_ARGUMENTS,
    F_ATTRIBUTE,
    F_CONDITION,
    F_CONSEQUENCE,
    F_FUNCTION,
    F_LEFT,
    F_NAME,
    F_OBJECT,
    F_OPERATOR,
    F_PARAMETERS,
    F_RIGHT,
)
from ..values import args_of, bound_once, follow, is_method, literal_value, strip, unwrap_calls
from . import Rule
from ._training import identifiers_in, same_scope

# What each optimizer keeps between steps, i.e. what a new instance throws away.
_ADAM = "running averages of the gradient and of its square (bias correction restarts at step 1)"
_STATE = {
    "Adam": _ADAM, "AdamW": _ADAM, "Adamax": _ADAM, "NAdam": _ADAM, "Nadam": _ADAM, "RAdam": _ADAM,
    "SparseAdam": _ADAM,
    "RMSprop": "running average of squared gradients",
    "Adagrad": "sum of squared gradients (so the step sizes jump back up)",
    "Adadelta": "running averages of squared gradients and updates",
    "Rprop": "per-parameter step sizes",
    "ASGD": "averaged parameters",
    "LBFGS": "curvature history",
    "SGD": "momentum buffers",
}
_FAMILIES = ("torch.optim.", "keras.optimizers.", "tensorflow.keras.optimizers.")
_QUALS = frozenset(f"{family}{name}" for family in _FAMILIES for name in _STATE)
# `optimizer.step()` (torch), `apply_gradients` / `minimize` (Keras) use it to train.
_USES = ("step", "apply_gradients", "minimize")
# Loops over these are runs, not epochs: a new optimizer per grid point, fold or trial is right.
_RUNS = re.compile(r"lr|learning_rate|rate|param|config|grid|fold|split|trial|seed|run|repeat|"
                   r"experiment|model|opt|setting|combination|task|search|candidate|choice", re.IGNORECASE)
# Calls that only show or record the optimizer (`print(optimizer)`), not train with it.
_REPORTING = re.compile(r"^(print|repr|str|len|type|isinstance|id|vars|dir|hash|format|pprint)$|"
                        r"(^|\.)(log\w*|info|debug|warning|summary|watch)$|^(logging|logger|wandb|mlflow)\.")
# Restoring or re-initialising weights in the loop: each pass is a fresh run.
_RESETS = ("load_state_dict", "reset_parameters", "apply", "deepcopy", "init_weights")
# Functional (MAML) wrappers that build their own differentiable optimizer from the one given,
# copying its state: one never stepped itself hands them nothing, so a new one per task loses nothing.
_DIFF_WRAPPERS = frozenset({"higher.innerloop_ctx", "higher.get_diff_optim", "higher.optim.get_diff_optim"})


def check(ctx):
    for call in ctx.facts.calls_to(_QUALS):
        qual = ctx.facts.callee_qual(call)
        kind = qual.rsplit(".", 1)[-1]
        if kind == "SGD" and not _has_momentum(ctx, call):
            continue  # plain SGD keeps no state: a new one per epoch changes nothing
        loop = ctx.facts.innermost_loop(call.start_byte)
        if loop is None or not same_scope(ctx, loop.start_byte, call.start_byte):
            yield from _built_per_call(ctx, call, kind)
            continue
        if not _repeats_training(ctx, loop) or _periodic_restart(ctx, call, loop):
            continue
        stmt, target = _assignment_of(call)
        use = _trained_with(ctx, loop, call, target)
        if use is None:
            continue
        trained = _trained_objects(ctx, call, use)
        if trained is None or _names_bound_in(ctx, trained, loop) or _resets_in(ctx, loop, trained) \
                or _attribute_rebuilt_in(ctx, loop, call):
            continue  # a new model (or new weights) per pass is a new run: a new optimizer is right
        ctor = ctx.text(call.child_by_field_id(F_FUNCTION))
        yield ctx.finding(
            call, f"`{ctor}(...)` builds a new optimizer on every pass of this loop, which also "
            f"trains with it: each new one starts empty, so its {_STATE[kind]} are thrown away "
            "every time and never build up. Create the optimizer once, before the loop; to change "
            "the learning rate as training goes, use a scheduler (`torch.optim.lr_scheduler`) or "
            "set `param_group[\"lr\"]` in `optimizer.param_groups`.",
            related=[ctx.related(use, "training step with the new optimizer")],
            fix=_hoist(ctx, stmt, target, loop))


def _built_per_call(ctx, call, kind):
    """`def train_model(model, loader): optim = Adam(model.parameters()) ... optim.step()`
    called once per epoch from a loop: every call builds a new optimizer for the same model, so
    its state is lost at each epoch. The model must come in as a parameter (it persists across
    the calls) and the caller's loop must not rebuild or reset it."""
    facts = ctx.facts
    func = facts.function_at(call.start_byte)
    name = func.child_by_field_id(F_NAME) if func is not None else None
    if name is None or is_method(func) or facts.function_at(func.start_byte) is not None:
        return
    _stmt, target = _assignment_of(call)
    # `if optimizer is None: optimizer = Adam(...)`: a caller that passes its own is fine
    optional = target is not None and target.type == "identifier" and _built_only_when_missing(
        ctx, call, ctx.text(target))
    use = _trained_with(ctx, func, call, target) if target is not None else None
    if use is not None and _runs_own_passes(ctx, func, use):
        return   # the function runs its own epochs: the state builds up within each call
    trained = _trained_objects(ctx, call, use) if use is not None else None
    # the models whose parameters it gets (`model` in `filter(lambda p: ..., model.parameters())`)
    trained = [t for t in trained or () if t.parent is not None and t.parent.type == "attribute"
               and t.parent.child_by_field_id(F_OBJECT) == t
               and ctx.text(t.parent.child_by_field_id(F_ATTRIBUTE)) in ("parameters", "named_parameters")]
    if not trained:
        return
    params = _parameter_names(ctx, func)
    index = {n: i for i, n in enumerate(params)}
    if not all(ctx.text(t) in index for t in trained) or any(
            b.kind != "param" and func.start_byte <= b.pos < func.end_byte
            for t in trained for b in facts.bindings.get(ctx.text(t), ())):
        return   # a model built in the function, or a global: a new run each call
    for caller in facts.plain_name_calls().get(ctx.text(name), ()):
        loop = facts.innermost_loop(caller.start_byte)
        if loop is None or not _repeats_training(ctx, loop) or facts.definition_in_effect(
                ctx.text(name), caller.start_byte) != func:
            continue
        pos, kw = args_of(caller)
        if optional:
            i = index.get(ctx.text(target))
            if ctx.text(target) in kw or (i is not None and i < len(pos)):
                continue
        given = []
        for t in trained:
            i = index[ctx.text(t)]
            arg = kw.get(ctx.text(t)) or (pos[i] if i < len(pos) else None)
            if arg is None or strip(arg).type != "identifier":
                given = None
                break
            given.append(strip(arg))
        if not given or _names_bound_in(ctx, given, loop) or _resets_in(ctx, loop, given):
            continue
        ctor = ctx.text(call.child_by_field_id(F_FUNCTION))
        yield ctx.finding(
            call, f"`{ctor}(...)` builds a new optimizer at every call of `{ctx.text(name)}`, and "
            "the loop here calls it on every pass with the same model: each new optimizer starts "
            f"empty, so its {_STATE[kind]} are thrown away every time and never build up. Create "
            "the optimizer once, outside, and pass it in.",
            related=[ctx.related(caller, "called on every pass of this loop"),
                     ctx.related(use, "training step with the new optimizer")])
        return


_EPOCHS = re.compile(r"(?i)epoch")
# A range over the data (`range(0, len(X), bs)`, `range(n_batches)`), not a count of passes.
_OVER_DATA = re.compile(r"(?i)batch|\blen\s*\(|//")


def _runs_own_passes(ctx, func, use) -> bool:
    """The loops of `func` around the training step include one over epochs (`for e in
    range(n_epochs)`), or a `for ... in range(n)` (whatever `n` is called) around a loop over
    the data (`for x, y in loader`, `for i in range(0, len(X), bs)`) or one that makes a new
    iterator over the data when the last runs out (`data_iter = iter(DataLoader(...))` in its
    body, batches drawn with `next`): several passes per call. A critic loop (`for _ in
    range(n_critic)` inside the batch loop) is neither."""
    loops = [lp for lp in ctx.facts.loops_containing(use.start_byte)
             if func.start_byte < lp.start_byte < func.end_byte]
    for i, lp in enumerate(loops):
        over = lp.child_by_field_id(F_RIGHT)
        if _EPOCHS.search(ctx.text(over or lp)):
            return True
        if _range_args(ctx, over) in (1, 2) and not _OVER_DATA.search(ctx.text(over)) \
                and (any(_over_data(ctx, inner) for inner in loops[i + 1:])
                     or _renews_iterator(ctx, lp)):
            return True
    return False


def _renews_iterator(ctx, loop) -> bool:
    """`data_iter = iter(loader)` assigned in the body of `loop` (in the `if` that finds the
    last one spent, or in `except StopIteration:`): the loop cycles through the data."""
    for c in ctx.facts.calls_in(loop):
        fn = c.child_by_field_id(F_FUNCTION)
        parent = c.parent
        if fn is not None and fn.type == "identifier" and ctx.text(fn) == "iter" \
                and parent is not None and parent.type == "assignment" \
                and parent.child_by_field_id(F_RIGHT) == c:
            return True
    return False


_PROGRESS = frozenset({"tqdm", "enumerate"})


def _range_args(ctx, over) -> int:
    """How many arguments `over` gives `range(...)` (also inside `tqdm(...)` / `enumerate(...)`);
    0 when it is no call of range."""
    over, _ = unwrap_calls(over, _PROGRESS)
    if over is None or over.type != "call" or ctx.text(over.child_by_field_id(F_FUNCTION)) \
            not in ("range", "trange"):
        return 0
    pos, _kw = args_of(over)
    return len(pos)


def _over_data(ctx, loop) -> bool:
    """A `for` over a loader or a dataset (not a `range(n)` count), or over batch offsets."""
    over = loop.child_by_field_id(F_RIGHT) if loop.type == "for_statement" else None
    if over is None:
        return False
    return _range_args(ctx, over) == 0 or bool(_OVER_DATA.search(ctx.text(over))) \
        or _range_args(ctx, over) == 3


def _built_only_when_missing(ctx, call, name: str) -> bool:
    """`if optimizer is None:` (or `if not optimizer:`) around the construction."""
    node = call.parent
    while node is not None and node.type not in ("function_definition", "module"):
        if node.type == "if_statement":
            cond = ctx.text(node.child_by_field_id(F_CONDITION) or node).replace(" ", "")
            if cond in (f"{name}isNone", f"not{name}"):
                return True
        node = node.parent
    return False


def _parameter_names(ctx, func) -> list:
    params = func.child_by_field_id(F_PARAMETERS)
    out = []
    for p in params.named_children if params is not None else ():
        ident = p if p.type == "identifier" else p.child_by_field_id(F_NAME)
        if ident is None and p.named_children:
            ident = p.named_children[0]
        out.append(ctx.text(ident) if ident is not None and ident.type == "identifier" else "")
    return out


def _periodic_restart(ctx, call, loop) -> bool:
    """Built again only every so many passes (`if (epoch + 1) % cycle == 0:`): a warm restart
    on purpose (snapshot ensembles, SGDR by hand); the state builds up within each cycle."""
    child, node = call, call.parent
    while node is not None and node.start_byte > loop.start_byte:
        if node.type in ("if_statement", "elif_clause") and child == node.child_by_field_id(F_CONSEQUENCE):
            cond = node.child_by_field_id(F_CONDITION)   # its body, not an `else` of it
            text = ctx.text(cond) if cond is not None else ""
            # `x % n == 0` or `not x % n`: once every n passes (not `x % n != 0`: the others)
            if "%" in text and "!=" not in text and ("==" in text or text.lstrip().startswith("not")):
                return True
            if _at_given_passes(ctx, cond, loop) or _threshold_moved_on(ctx, cond, child):
                return True
        child, node = node, node.parent
    return False


def _at_given_passes(ctx, cond, loop) -> bool:
    """`if epoch == 5:` / `if epoch in milestones:`: rebuilt at chosen passes of the loop only
    (a learning-rate drop by hand), not on every pass. The loop must be the outermost one around
    the rebuild (`if i == 0:` on an inner batch loop still rebuilds once per epoch), and the
    passes a fixed set (not `in range(a, b)`)."""
    cond = strip(cond)
    if cond is None or cond.type != "comparison_operator" or loop.type != "for_statement":
        return False
    # the outermost loop that repeats training (a fold or seed loop around the epochs is a
    # series of runs): `if i == 0:` on the batch loop inside the epochs is no chosen pass
    around = [lp for lp in ctx.facts.loops_containing(cond.start_byte) if _repeats_training(ctx, lp)]
    if not around or around[0] != loop:
        return False
    ops = [c.type for c in cond.children if not c.is_named]
    if ops not in (["=="], ["in"]):
        return False
    if ops == ["in"]:
        choices = strip(cond.named_children[-1]) if cond.named_children else None
        if choices is not None and choices.type == "identifier":
            choices = strip(follow(ctx.facts, choices))   # `warmup = range(0, 5)`
        if choices is None or choices.type not in ("tuple", "list", "set", "identifier"):
            return False   # `epoch in range(5, 10)`: every pass in the range
    left = loop.child_by_field_id(F_LEFT)
    names = {ctx.text(n) for n in ([left] if left is not None and left.type == "identifier"
                                   else (left.named_children if left is not None else ()))
             if n.type == "identifier"}
    return any(strip(side) is not None and strip(side).type == "identifier" and ctx.text(strip(side)) in names
               for side in cond.named_children)


def _threshold_moved_on(ctx, cond, body) -> bool:
    """`if step >= warm_up_steps:` whose body also moves the threshold on (`warm_up_steps =
    warm_up_steps * 3`, `next_drop += 1000`, `next_drop = step + interval`): the branch fires
    at a few milestones (a learning-rate drop by hand), not on every pass after the first."""
    cond = strip(cond)
    if cond is None or cond.type != "comparison_operator" or cond.named_child_count != 2:
        return False
    ops = [c.type for c in cond.children if not c.is_named]
    if ops not in ([">="], [">"], ["<="], ["<"]):
        return False
    low, high = (strip(c) for c in cond.named_children)
    counter, threshold = (low, high) if ops[0].startswith(">") else (high, low)
    if counter is None or threshold is None or counter.type != "identifier" \
            or threshold.type != "identifier":
        return False
    name, reads = ctx.text(threshold), {ctx.text(threshold), ctx.text(counter)}
    for b in ctx.facts.bindings.get(name, ()):
        if not body.start_byte <= b.pos < body.end_byte or b.value is None \
                or not same_scope(ctx, b.pos, cond.start_byte):
            continue
        if b.kind == "aug":   # `t += n` / `t *= n`
            op = b.value.child_by_field_id(F_OPERATOR)
            if op is not None and op.type in ("+=", "*="):
                return True
        elif b.kind == "assign" and b.index is None and strip(b.value) is not None \
                and strip(b.value).type == "binary_operator" \
                and reads & set(identifiers_in(ctx, b.value)):   # `t = t * 3`, `t = step + n`
            return True
    return False


def _has_momentum(ctx, call) -> bool:
    _, kw = args_of(call)
    value = kw.get("momentum")
    return value is not None and ctx.text(value).strip() not in ("0", "0.0", "0.", "None")


# Calls that hand a loop their first argument's items: `for x in enumerate(tqdm(loader))`.
_ITERATION_WRAPPERS = frozenset({"enumerate", "tqdm", "list", "iter", "zip", "notebook_tqdm", "progress_bar"})


def _repeats_training(ctx, loop) -> bool:
    """A `while` loop, or a `for` over epochs / steps / batches: `range(epochs)`, a loader.
    A loop over a list of learning rates, configs, folds or models is a series of runs."""
    if loop.type == "while_statement":
        return True
    target = loop.child_by_field_id(F_LEFT)
    iterable, _ = unwrap_calls(loop.child_by_field_id(F_RIGHT), _ITERATION_WRAPPERS)
    if iterable is None:
        return False
    if target is not None and _RUNS.search(ctx.text(target)):
        return False
    if iterable.type == "call":
        fn = iterable.child_by_field_id(F_FUNCTION)
        name = ctx.text(fn).rsplit(".", 1)[-1] if fn is not None else ""
        if name in ("range", "trange"):
            return not _RUNS.search(ctx.text(iterable))
        return False
    if iterable.type == "identifier" and _settings_list(ctx, iterable):
        return False   # `shots_lst = [1, 5]` ... `for shots in shots_lst:`, as `in [1, 5]`
    if iterable.type in ("identifier", "attribute"):
        return not _RUNS.search(ctx.text(iterable))
    return False  # a literal list / tuple of settings, a comprehension...


def _settings_list(ctx, ident) -> bool:
    """`ident` is bound once, to a list or tuple literal of plain constants (numbers, strings):
    a list of settings, as if written in the `for` (not data samples, which are tuples)."""
    if not bound_once(ctx.facts, ident):
        return False
    value = strip(follow(ctx.facts, ident))
    if value is None or value.type not in ("list", "tuple") or not value.named_children:
        return False
    return all(literal_value(item) is not None or (strip(item) is not None and strip(item).type == "string")
               for item in value.named_children)


def _resets_in(ctx, loop, trained) -> bool:
    """The loop restores or re-initialises the weights the optimizer trains:
    `model.load_state_dict(...)`, `model.apply(init)`, `init_weights(model)`."""
    names = {ctx.text(t) for t in trained}
    for c in ctx.facts.calls_in(loop):
        fn = c.child_by_field_id(F_FUNCTION)
        if fn is None or ctx.text(fn).rsplit(".", 1)[-1] not in _RESETS:
            continue
        if fn.type == "attribute":
            subject = fn.child_by_field_id(F_OBJECT)
        else:
            pos, _ = args_of(c)
            subject = pos[0] if pos else None
        root = _root(subject)
        if root is None or not names or ctx.text(root) in names:
            return True
    return False


def _root(node):
    """`model` of `model`, `model.encoder`, `self.model.fc` (`self`)."""
    node = strip(node)
    while node is not None and node.type == "attribute":
        node = node.named_children[0]
    return node if node is not None and node.type == "identifier" else None


def _assignment_of(call):
    """(statement, target node) when the call is `target = Optimizer(...)` on its own."""
    parent = call.parent
    if parent is not None and parent.type == "assignment" and parent.child_by_field_id(F_RIGHT) == call:
        stmt = parent.parent
        target = parent.child_by_field_id(F_LEFT)
        if stmt is not None and stmt.type == "expression_statement" and target is not None \
                and target.type in ("identifier", "attribute"):
            return stmt, target
    return None, None


def _trained_objects(ctx, call, use):
    """Identifiers of what the optimizer trains, or None when that cannot be seen. torch: the
    names in its parameters argument (`model` in `model.parameters()`); Keras: the model it is
    compiled into (`model` in `model.compile(optimizer=opt)`), or the variables at the step: the
    objects whose attributes it reads there (`model` in
    `apply_gradients(zip(grads, model.trainable_variables))`)."""
    if ctx.facts.callee_qual(call).startswith("torch."):
        pos, kw = args_of(call)
        params = pos[0] if pos else kw.get("params")
        return list(_identifiers(params)) if params is not None else None
    fn = use.child_by_field_id(F_FUNCTION)
    if fn is not None and fn.type == "attribute" and ctx.text(fn).rsplit(".", 1)[-1] == "compile":
        # `model.compile(optimizer=opt)`: Keras trains the model it is compiled into.
        root = _root(fn.child_by_field_id(F_OBJECT))
        return [root] if root is not None else None
    args = use.child_by_field_id(F_ARGUMENTS)
    roots = [n.named_children[0] for n in _descendants(args) if n.type == "attribute"] if args else []
    return [r for r in roots if r.type == "identifier"]


def _descendants(node):
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(n.named_children)


def _names_bound_in(ctx, idents, loop) -> bool:
    """One of these names is (re)bound inside the loop."""
    names = {ctx.text(n) for n in idents}
    for name in names:
        for b in ctx.facts.bindings.get(name, ()):
            if loop.start_byte <= b.pos < loop.end_byte and same_scope(ctx, b.pos, loop.start_byte):
                return True
    return False


def _attribute_rebuilt_in(ctx, loop, call) -> bool:
    """`self.model = prune(self.model)` in the loop before the optimizer built over
    `self.model.parameters()`: a new model held by an attribute (iterative pruning)."""
    args = call.child_by_field_id(F_ARGUMENTS)
    if args is None:
        return False
    pos, _kw = args_of(call)
    params = pos[0] if pos else _kw.get("params")
    if params is None:
        return False   # only what the optimizer trains counts (not `lr=self.lr` decayed)
    given = ctx.text(params)
    for node in ctx.facts.assignments:
        if not loop.start_byte < node.start_byte < call.start_byte \
                or not same_scope(ctx, node.start_byte, call.start_byte):
            continue
        left = node.child_by_field_id(F_LEFT)
        # `self.model.parameters()`, `self.model.module.parameters()`, `[self.w, self.b]`
        if left is not None and left.type == "attribute" and re.search(
                re.escape(ctx.text(left)) + r"(?![\w])", given):
            return True
    return False


def _identifiers(node):
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "identifier":
            yield n
        elif n.type == "attribute":
            stack.append(n.named_children[0])  # `self.model.parameters`: the root object only
        else:
            stack.extend(n.named_children)


def _trained_with(ctx, loop, call, target):
    """The call in the loop that trains with the new optimizer: `opt.step()` (or Keras'
    `apply_gradients` / `minimize`), or a call taking it as an argument (`train(model, opt)`),
    not `higher.innerloop_ctx(model, opt)`, which steps a differentiable copy of it."""
    if target is None:
        # `train(model, loader, torch.optim.Adam(...))`: built for the call it is passed to
        args = call.parent
        return args.parent if args is not None and args.type == "argument_list" else None
    name = ctx.text(target)
    for method in _USES:
        for c, receiver in ctx.facts.method_calls(method):
            if receiver is not None and loop.start_byte < c.start_byte < loop.end_byte \
                    and ctx.text(receiver) == name and same_scope(ctx, c.start_byte, call.start_byte):
                return c
    for c in ctx.facts.calls_in(loop):
        if c.start_byte <= call.start_byte or not same_scope(ctx, c.start_byte, call.start_byte):
            continue
        fn = c.child_by_field_id(F_FUNCTION)
        if fn is None or _REPORTING.search(ctx.text(fn)):
            continue
        pos, kw = args_of(c)
        if any(ctx.text(a) == name for a in (*pos, *kw.values())) \
                and ctx.facts.callee_qual(c) not in _DIFF_WRAPPERS:
            return c
    return None


def _hoist(ctx, stmt, target, loop):
    """Move `optimizer = Adam(...)` to just before the loop, when it is a statement of the
    loop's own body and nothing it reads is (re)bound inside the loop."""
    if stmt is None or stmt.parent is None or stmt.parent.parent != loop:
        return None
    value = stmt.named_children[0].child_by_field_id(F_RIGHT)
    if value is None or _names_bound_in(ctx, _identifiers(value), loop):
        return None
    if target.type == "identifier" and sum(
            1 for b in ctx.facts.bindings.get(ctx.text(target), ())
            if loop.start_byte <= b.pos < loop.end_byte) != 1:
        return None
    idx = ctx.doc.index
    first, last = idx.line_of(stmt.start_byte), idx.line_of(stmt.end_byte)
    data = ctx.doc.data
    line_end = idx.starts[last + 1] if last + 1 < len(idx.starts) else len(data)
    if data[idx.starts[first]:stmt.start_byte].strip() or data[stmt.end_byte:line_end].strip():
        return None  # shares its lines with other code or a comment
    lines = data[stmt.start_byte:line_end].decode("utf-8", errors="replace")
    if not lines.endswith("\n"):
        lines += "\n"
    indent = ctx.line_indent(loop)
    at = ctx.line_start(loop)
    return Fix("Create the optimizer once, before the loop",
               (TextEdit(at, at, indent + lines), TextEdit(idx.starts[first], line_end, "")))


RULE = Rule("optimizer-recreated-in-loop", Severity.WARNING, "gradient-descent",
            "optimizer created inside the training loop", check, needs=(b"optim",))
