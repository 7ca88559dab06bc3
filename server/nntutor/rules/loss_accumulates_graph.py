"""loss-accumulates-graph: summing loss tensors keeps every iteration's autograd graph alive."""
from __future__ import annotations

import re
from bisect import bisect_left

from ..findings import Fix, Severity
from ..parsing import (
    F_ATTRIBUTE,
    F_BODY,
    F_FUNCTION,
    F_LEFT,
    F_NAME,
    F_OBJECT,
    F_OPERATOR,
    F_PARAMETERS,
    F_RIGHT,
    F_VALUE,
)
from ..values import args_of, follow, method_call, strip
from . import Rule
from ._losses import TORCH_LOSSES
from ._modes import function_called_under_no_grad
from ._training import EVAL_NAME, any_between, events, identifiers_in, returns_of, statement_of
from ._uses import call_given, identifier_nodes

_DETACHING = ("item", "detach", "cpu", "numpy", "tolist")
_AUTOGRAD_GRAD = frozenset({"torch.autograd.grad"})


def _is_loss_tensor(ctx, expr, _depth: int = 0) -> bool:
    expr = strip(expr)
    if expr is None:
        return False
    if expr.type == "identifier":
        if _backwarded_value(ctx, expr):
            return True   # `batch_loss, parts = criterion(...)`: the tensor it backpropagates
        b = ctx.facts.assignment_of(expr)
        if b is None:
            return False
        if ctx.facts.in_no_grad(b.pos):
            return False  # computed under no_grad: there is no graph to keep
        return _is_loss_tensor(ctx, b.value, _depth)
    if expr.type == "attribute":  # outputs.loss (Hugging Face style)
        attr = expr.child_by_field_id(F_ATTRIBUTE)
        raw = strip(expr.child_by_field_id(F_OBJECT))
        if raw is not None and raw.type == "identifier":
            b = ctx.facts.assignment_of(raw)
            if b is not None and ctx.facts.in_no_grad(b.pos):
                return False  # `with no_grad(): outputs = model(...)`, then `outputs.loss`
        obj = follow(ctx.facts, raw)
        return attr is not None and ctx.text(attr) == "loss" and obj is not None and obj.type == "call"
    if expr.type == "binary_operator":
        return any(_is_loss_tensor(ctx, c, _depth) for c in (expr.child_by_field_id(F_LEFT),
                                                       expr.child_by_field_id(F_RIGHT)))
    if expr.type != "call":
        return False
    q = ctx.facts.callee_qual(expr)
    if q is not None:
        return q in TORCH_LOSSES or (q.startswith("torch.nn.functional.") and q.endswith("_loss"))
    recv, method = method_call(expr)
    if method is not None and (recv is None or recv.type != "identifier" or ctx.text(recv) != "self"):
        return False   # `x.mean()`; but `self.loss_fn(pred, y)` may be a loss module of the object
    fn = expr.child_by_field_id(F_FUNCTION)
    if fn is not None and fn.type == "identifier" and _step_returns_loss(ctx, ctx.text(fn), _depth):
        return True    # `batch_loss = train_step(x, y)` returning the loss it backpropagated
    qual, _ = ctx.values.instance(fn)
    return qual is not None and qual.startswith("torch.nn.") and qual.endswith("Loss")


def _from_a_training_step(ctx, value) -> bool:
    """`batch_loss` (or the call itself) comes from a function of the file that runs a backward
    pass and returns the loss: the loop trains through it."""
    value = strip(value)
    if value is not None and value.type == "identifier":
        b = ctx.facts.assignment_of(value)
        value = strip(b.value) if b is not None else None
    fn = value.child_by_field_id(F_FUNCTION) if value is not None and value.type == "call" else None
    if fn is None or fn.type != "identifier":
        return False
    return any(_runs_backward(ctx, d) for d in ctx.facts.functions_named(ctx.text(fn)))


def _step_returns_loss(ctx, name: str, depth: int) -> bool:
    """Every definition of the file's function `name` returns, at each of its returns, a single
    loss tensor (the loss it just backpropagated: `loss.backward(); optimizer.step(); return
    loss`), not `.item()` of it."""
    defs = ctx.facts.functions_named(name) if depth < 2 else []
    if not defs:
        return False
    for fn in defs:
        if not _runs_backward(ctx, fn):
            return False   # a loss function (`cross_entropy2d`): its caller's sum is the loss
        rets = list(returns_of(fn))
        if not rets:
            return False
        for ret in rets:
            value = ret.named_children[0] if ret.named_children else None
            if value is None or not _is_loss_tensor(ctx, value, depth + 1):
                return False
    return True


def _backwarded_value(ctx, ident) -> bool:
    """The value `ident` holds is the one a `.backward()` of the same loop runs on (the same
    binding reaches both): a loss with a graph, whatever computed it (a user's loss module
    returning a tuple, a helper)."""
    facts = ctx.facts
    name = ctx.text(ident)
    loop = facts.innermost_loop(ident.start_byte)
    if loop is None:
        return False
    reaching = facts.binding(name, ident.start_byte)
    if reaching is None:
        return False
    for at in _backward_receivers(ctx).get(name, ()):
        if loop.start_byte < at < loop.end_byte and facts.binding(name, at) is reaching:
            return True
    return False


def _backward_receivers(ctx) -> dict:
    """name -> positions of `name.backward()` (once per analysis)."""
    cached = getattr(ctx.values, "_backward_receivers", None)
    if cached is None:
        cached = {}
        for _call, recv in ctx.facts.method_calls("backward"):
            if recv is not None and recv.type == "identifier":
                cached.setdefault(ctx.text(recv), []).append(recv.start_byte)
        ctx.values._backward_receivers = cached
    return cached


def _mentions(ctx, node, name: str, depth: int = 0) -> bool:
    """`node` reads `name`, directly or through a local it was assigned from (one level)."""
    if node is None:
        return False
    if node.type == "identifier":
        if ctx.text(node) == name:
            return True
        if depth == 0:
            b = ctx.facts.binding(ctx.text(node), node.start_byte)
            return b is not None and b.kind == "assign" and _mentions(ctx, b.value, name, 1)
        return False
    return any(_mentions(ctx, c, name, depth) for c in node.named_children)


def _reached_names(ctx, node, depth: int, out: set, seen: dict) -> None:
    """Add to `out` the names `node` reads, directly or through the locals they were assigned
    from (up to three assignments back: `local = 0.01 * total; loss = main + local;
    loss.backward()`). `seen`: binding id -> the least depth it was expanded at."""
    stack = [(node, depth)]
    while stack:
        node, depth = stack.pop()
        if node is None:
            continue
        if node.type == "identifier":
            name = ctx.text(node)
            b = ctx.facts.binding(name, node.start_byte)
            out.add((name, b.scope if b is not None else None))
            if depth < 3 and b is not None and b.kind == "assign" and seen.get(id(b), 4) > depth + 1:
                seen[id(b)] = depth + 1   # again only when reached with more depth to go
                stack.append((b.value, depth + 1))
            continue
        stack.extend((c, depth) for c in node.named_children)


def _backwarded_names(ctx) -> set:
    """Every name a backward pass of the document reads (its receiver and arguments, the outputs
    `torch.autograd.grad` differentiates, through
    the assignments before them), with the scope of the binding it reads there (None: bound
    nowhere in the file): computed once, not once per accumulation."""
    cached = getattr(ctx.values, "_backwarded_names", None)
    if cached is None:
        cached, seen = set(), {}
        for call, recv in ctx.facts.method_calls("backward"):
            if recv is not None:
                _reached_names(ctx, recv, 0, cached, seen)
            for a in args_of(call)[0]:
                _reached_names(ctx, a, 0, cached, seen)
        # `torch.autograd.grad(total, params)` differentiates its outputs as backward() does
        for call in ctx.facts.calls_to(_AUTOGRAD_GRAD):
            pos, kw = args_of(call)
            _reached_names(ctx, pos[0] if pos else kw.get("outputs"), 0, cached, seen)
        ctx.values._backwarded_names = cached
    return cached


def _backwarded(ctx, name: str, pos: int) -> bool:
    """The accumulator feeds a backward pass (`total.backward()`, `torch.stack(losses).mean()
    .backward()`, `accelerator.backward(total)`): a total loss built on purpose. The same
    variable: a `loss` that a training function backpropagates says nothing of the `loss` an
    evaluation function sums (mlabonne's GIN notebook)."""
    names = _backwarded_names(ctx)
    b = ctx.facts.binding(name, pos)
    scope = b.scope if b is not None else None
    return (name, scope) in names or (name, None) in names or (
        scope is None and any(n == name for n, _s in names)) or _handed_to_a_backward(ctx, name, pos)


def _handed_to_a_backward(ctx, name: str, pos: int) -> bool:
    """`update(optimizer, loss)` after the sum: a function of the file that runs a backward pass
    is given the total (an RL agent's `self.optimize(loss)` too)."""
    facts = ctx.facts
    scope = facts.scope_id(pos)
    for node in identifier_nodes(ctx, name, pos):
        call = call_given(node)
        if call is None or facts.scope_id(node.start_byte) != scope:
            continue
        fn = strip(call.child_by_field_id(F_FUNCTION))
        if fn is not None and fn.type == "attribute":
            fn = fn.child_by_field_id(F_ATTRIBUTE)   # `self.optimize(loss)`
        if fn is not None and fn.type == "identifier" and any(
                _runs_backward(ctx, d) for d in facts.functions_named(ctx.text(fn))):
            return True
    return False


def _runs_backward(ctx, fn) -> bool:
    """A backward pass runs in the body of function `fn` (positions computed once)."""
    found = ctx.values.__dict__.get("_backward_positions")
    if found is None:
        found = ctx.values.__dict__["_backward_positions"] = [e.pos for e in events(ctx) if e.kind == "backward"]
    return any_between(found, fn.start_byte, fn.end_byte)


def _differentiable_step(ctx, stmt, value) -> bool:
    """The loss `value` (the same binding) makes a differentiable step in the loop around `stmt`,
    which runs no backward pass: `grads = torch.autograd.grad(loss, params, create_graph=True)`
    then fast weights `params = {n: p - lr * g ...}` made from them, or `higher`'s
    `diffopt.step(loss)`. Each step's graph is part of the weights' graph, which the
    meta-gradient after the loop needs: keeping the loss too keeps nothing more."""
    facts = ctx.facts
    loop = facts.innermost_loop(stmt.start_byte)
    if loop is None or any(e.kind == "backward" and loop.start_byte < e.pos < loop.end_byte for e in events(ctx)):
        return False
    name = ctx.text(value)
    reaching = facts.binding(name, value.start_byte)
    if reaching is None:
        return False

    def same_loss(arg) -> bool:
        arg = strip(arg)
        return arg is not None and arg.type == "identifier" and ctx.text(arg) == name \
            and loop.start_byte < arg.start_byte < loop.end_byte and facts.binding(name, arg.start_byte) is reaching

    for call in facts.calls_to(_AUTOGRAD_GRAD):
        pos, kw = args_of(call)
        graph = kw.get("create_graph")
        if not same_loss(pos[0] if pos else kw.get("outputs")) or graph is None or ctx.text(graph) == "False":
            continue
        inputs = pos[1] if len(pos) > 1 else kw.get("inputs")
        parent = call.parent
        left = parent.child_by_field_id(F_LEFT) if parent is not None and parent.type == "assignment" else None
        if inputs is None or left is None or left.type != "identifier":
            continue
        grads = ctx.text(left)
        for weights in set(identifiers_in(ctx, inputs)):
            if any(b.kind == "assign" and call.end_byte < b.pos < loop.end_byte and _mentions(ctx, b.value, grads)
                   for b in facts.bindings.get(weights, ())):
                return True   # the fast weights made of the gradients
    if any(m == "higher" or m.startswith("higher.") for m in facts.imports.values()):
        for call, recv in facts.method_calls("step"):
            pos, _ = args_of(call)
            if recv is not None and pos and same_loss(pos[0]):
                return True   # `diffopt.step(loss)`: a differentiable optimizer's step takes the loss
    return False


# `iter` only where a word starts (`train_iter`, `n_iters`, `trainIter`): not `delimiters`.
_DATA_ITERABLE = re.compile(r"load|data|batch|(?:^|_|\d)iter|(?-i:[a-z\d]Iter)|sampler|^dl$|_dl$",
                            re.IGNORECASE)
# `range(len(batch))`, `range(batch_size)`, `range(batch.size(0))`: the examples of one batch,
# whose terms all belong to the loss the caller backpropagates; not `range(0, n, batch_size)`
# or `range(n_batches)`, which run over batches.
_ONE_BATCH_WORDS = frozenset({"len", "size", "shape", "batch", "batch_size", "bs", "minibatch",
                              "mini_batch"})


def _returned_by_loss_function(ctx, stmt, name: str) -> bool:
    """`def style_loss(...)` / a module's `forward` summing one term per layer, scale or head and
    returning the sum: the total is the differentiable loss the caller backpropagates. So is
    any function whose result a caller of the file backpropagates (MAML's `al_forward()`
    summing one loss per task). Not when the function trains itself (backward/step inside) or
    the loop runs over batches of data (`for x, y in loader`: one graph per batch is kept until
    the function returns)."""
    facts = ctx.facts
    fn = facts.function_at(stmt.start_byte)
    fname = fn.child_by_field_id(F_NAME) if fn is not None else None
    if fname is None:
        return False
    fname = ctx.text(fname)
    if any(fn.start_byte < e.pos < fn.end_byte and e.kind in ("backward", "step") for e in events(ctx)):
        return False
    loop = facts.innermost_loop(stmt.start_byte)
    if loop is None or loop.start_byte < fn.start_byte or _over_data(ctx, stmt, fn):
        return False
    return _flows_into_return(ctx, fn, name, 0) and (
        "loss" in fname.lower() or fname in ("forward", "__call__") or _backpropagated_by_a_caller(ctx, fname)
        or (_returns_reduced(ctx, fn, name) and not EVAL_NAME.search(fname)))


# Calls that make one tensor of a list of losses (`sum(losses)`: the builtin).
_REDUCING = frozenset({"torch.stack", "torch.cat", "torch.sum", "torch.mean", "sum"})


def _returns_reduced(ctx, fn, name: str) -> bool:
    """`fn` returns the list `name` made into one tensor (`return torch.stack(losses).mean(0)`,
    `sum(losses)`, also through one local): one loss built of the terms, as a loss function
    returns it (MetaHIN's MAML step, one query loss per meta-path)."""
    stack = [(r, 0) for r in returns_of(fn)]
    while stack:
        node, depth = stack.pop()
        if node.type == "identifier" and depth == 0:
            b = ctx.facts.binding(ctx.text(node), node.start_byte)
            if b is not None and b.kind == "assign" and b.value is not None and b.index is None:
                stack.append((b.value, 1))   # `meta_loss = torch.stack(losses).mean(); return meta_loss`
            continue
        if node.type == "call":
            fn_node = node.child_by_field_id(F_FUNCTION)
            q = ctx.facts.callee_qual(node) or (ctx.text(fn_node) if fn_node is not None else "")
            pos, _ = args_of(node)
            if q in _REDUCING and pos and strip(pos[0]) is not None and strip(pos[0]).type == "identifier" \
                    and ctx.text(strip(pos[0])) == name:
                return True
        stack.extend((c, depth) for c in node.named_children)
    return False


def _backpropagated_by_a_caller(ctx, fname: str) -> bool:
    """A call of the file's function `fname` (`loss = self.al_forward(x, y)`, `f(x).backward()`)
    gives the value a backward pass differentiates."""
    calls = [*ctx.facts.calls_named(fname), *(c for c, _recv in ctx.facts.method_calls(fname))]
    for call in calls:
        node, parent = call, call.parent
        while parent is not None and parent.type in _EXPRESSIONS:
            node, parent = parent, parent.parent   # `self.al_forward(x, y) / n`
        if parent is None:
            continue
        if parent.type == "attribute" and ctx.text(parent.child_by_field_id(F_ATTRIBUTE)) == "backward":
            return True
        left = parent.child_by_field_id(F_LEFT) if parent.type == "assignment" else None
        if left is not None and left.type == "identifier" and parent.child_by_field_id(F_RIGHT) == node \
                and _backwarded(ctx, ctx.text(left), parent.end_byte):
            return True
    return False


def _flows_into_return(ctx, fn, name: str, depth: int) -> bool:
    """`fn` returns `name`, or a total that `name` is added into (`temp += term` in an inner
    loop, then `total += temp / n`: a sum of sums), a value computed from it, or a dict of
    losses it is stored in (`G_losses["GAN_Feat"] = total`, SPADE)."""
    if any(_mentions(ctx, r, name) for r in returns_of(fn)):
        return True
    if depth >= 3:
        return False
    # `total += term`, or `outputs = (sum(losses),) + outputs` (a loss packed into the returned
    # tuple, as Hugging Face models do)
    for aug in [*(a for a in ctx.facts.aug_assigns if fn.start_byte < a.start_byte < fn.end_byte),
                *ctx.facts.assignments_in(fn)]:
        left, right = aug.child_by_field_id(F_LEFT), aug.child_by_field_id(F_RIGHT)
        while left is not None and left.type == "subscript":   # `G_losses["GAN_Feat"] = total`
            left = strip(left.child_by_field_id(F_VALUE))
        if left is not None and left.type == "identifier" and ctx.text(left) != name \
                and right is not None and _mentions(ctx, right, name, 1) and not _over_data(ctx, aug, fn) \
                and _flows_into_return(ctx, fn, ctx.text(left), depth + 1):
            return True
    return False


def _over_data(ctx, stmt, fn) -> bool:
    """A loop of `fn` around `stmt` runs over batches of data (`for x, y in loader`)."""
    for loop in ctx.facts.loops_containing(stmt.start_byte):
        if loop.start_byte < fn.start_byte or loop.type != "for_statement":
            continue
        it = loop.child_by_field_id(F_RIGHT)
        if it is None:
            return True
        names = list(identifiers_in(ctx, it))
        if _over_one_batch(ctx, it, names):
            continue
        if any(_DATA_ITERABLE.search(n) for n in names):
            return True
    return False


def _over_one_batch(ctx, it, names) -> bool:
    """`range(<one argument>)` whose argument only names one batch and its size, directly or
    through one assignment (`n = len(batch.states)`; `for episode in range(n)`)."""
    it = strip(it)
    if it is None or it.type != "call" or ctx.text(it.child_by_field_id(F_FUNCTION)) != "range":
        return False
    pos, kw = args_of(it)
    if len(pos) != 1 or kw:
        return False
    if set(names) - {"range"} <= _ONE_BATCH_WORDS:
        return True
    bound = strip(pos[0])
    if bound is not None and bound.type == "identifier":
        b = ctx.facts.assignment_of(bound)
        bound = strip(b.value) if b is not None else None
    return bound is not None and _size_of_one_batch(ctx, bound)


def _size_of_one_batch(ctx, node) -> bool:
    """`len(batch...)`, `batch....size(0)`, `batch....shape[0]`: the size of one batch."""
    if node.type == "call" and ctx.text(node.child_by_field_id(F_FUNCTION)) == "len":
        pos, _ = args_of(node)
        return len(pos) == 1 and _root_is_one_batch(ctx, pos[0])
    if node.type == "call":
        recv, method = method_call(node)
        return method == "size" and recv is not None and _root_is_one_batch(ctx, recv)
    if node.type == "subscript":
        value = node.child_by_field_id(F_VALUE)
        return value is not None and value.type == "attribute" and ctx.text(value).endswith(".shape") \
            and _root_is_one_batch(ctx, value.child_by_field_id(F_OBJECT))
    return False


def _root_is_one_batch(ctx, node) -> bool:
    node = strip(node)
    while node is not None and node.type in ("attribute", "subscript"):
        node = node.child_by_field_id(F_OBJECT if node.type == "attribute" else F_VALUE)
    return node is not None and node.type == "identifier" and ctx.text(node) in ("batch", "minibatch", "mini_batch")


def check(ctx):
    facts = ctx.facts
    for aug in facts.aug_assigns:
        op = aug.child_by_field_id(F_OPERATOR)
        left, right = aug.child_by_field_id(F_LEFT), aug.child_by_field_id(F_RIGHT)
        if op is None or ctx.text(op) != "+=" or left is None or right is None:
            continue
        yield from _check_accumulation(ctx, aug, left, right)
    for binding in (b for bs in facts.bindings.values() for b in bs):
        # total = total + loss
        if binding.kind != "assign" or binding.index is not None:
            continue
        value = strip(binding.value)
        if value is None \
                or value.type != "binary_operator" or ctx.text(value.child_by_field_id(F_OPERATOR)) != "+":
            continue
        left, right = value.child_by_field_id(F_LEFT), value.child_by_field_id(F_RIGHT)
        if left is not None and left.type == "identifier" and ctx.text(left) == binding.name:
            yield from _check_accumulation(ctx, value, binding.target, right)
    for call, recv in facts.method_calls("append"):
        if recv is not None:
            pos, _ = args_of(call)
            if pos and not _not_a_list(ctx, recv):
                yield from _check_accumulation(ctx, call, recv, pos[0])


# What `.append` keeps every item of: a list, a deque.
_LIST_MAKERS = ("list", "collections.deque", "deque")


def _not_a_list(ctx, recv) -> bool:
    """`recv` holds an object this file built with some other class: MONAI's
    `CumulativeAverage().append(loss)` detaches the value itself, a logger's `append` records
    a number. Only a list (or deque) that keeps the tensors keeps their graphs."""
    if recv.type != "identifier":
        return False
    b = ctx.facts.assignment_of(recv)
    value = strip(b.value) if b is not None else None
    if value is None or value.type != "call":
        return False
    fn = value.child_by_field_id(F_FUNCTION)
    name = ctx.facts.callee_qual(value) or (ctx.text(fn) if fn is not None else "")
    if name in _LIST_MAKERS:
        return False
    own = ctx.facts.class_named(name)
    if own is not None:
        # a class of this file: its `append` keeps the tensor unless it detaches it
        append = next((f for f in ctx.facts.functions_named("append")
                       if own.start_byte < f.start_byte < own.end_byte), None)
        return append is not None and _detaches_its_value(ctx, append)
    return True


def _detaches_its_value(ctx, append) -> bool:
    """Every use of `append`'s value parameter takes a number or a detached copy of it
    (`value.item()`, `value.detach()`, `value.tolist()`, `float(value)`, also after
    `value = value.item()`), or only tests its type: what it stores has no graph. (Not
    `.cpu()`: a differentiable copy.)"""
    params = append.child_by_field_id(F_PARAMETERS)
    names = []
    for p in params.named_children if params is not None else ():
        ident = p if p.type == "identifier" else p.child_by_field_id(F_NAME) or (
            p.named_children[0] if p.named_children else None)   # `value: torch.Tensor`, defaults
        if ident is not None and ident.type == "identifier":
            names.append(ctx.text(ident))
    if len(names) < 2:
        return False
    value = names[1]
    body = append.child_by_field_id(F_BODY)
    code = ctx.facts.code_in(body) if body is not None else ""
    rebound = re.search(rf"(?m)^\s*{re.escape(value)}\s*=\s*(?:{re.escape(value)}\s*\.\s*(?:item|detach|tolist)"
                        rf"\s*\(|float\(\s*{re.escape(value)}\b)", code)
    uses = [m for m in re.finditer(rf"(?<![\w.]){re.escape(value)}\b", code)
            if rebound is None or m.start() < rebound.start()]
    if rebound is not None:
        uses = [m for m in uses if m.start() != rebound.start() + code[rebound.start():].index(value)]
    return (bool(uses) or rebound is not None) and all(
        re.match(r"\s*\.\s*(?:item|detach|tolist)\s*\(", code[m.end():])
        or re.search(r"\bfloat\(\s*$", code[:m.start()])
        or re.search(r"\bisinstance\(\s*$", code[:m.start()]) for m in uses)


def _started_this_iteration(ctx, stmt, name: str) -> bool:
    """The sum `stmt` adds to starts over in every iteration: going back through the earlier
    `name = name + ...` / `name += ...` of the loop, the first other assignment of `name` is
    in the loop's body, in the same block as `stmt` (so no iteration skips it). deit's
    `loss = 0.25 * criterion(a, t); loss = loss + 0.25 * criterion(b, t)` is one loss of four
    terms, computed anew for each batch."""
    facts = ctx.facts
    loop = facts.innermost_loop(stmt.start_byte)
    pos = stmt.start_byte
    for _ in range(64):
        b = facts.binding(name, pos)
        if b is None or loop is None or b.pos <= loop.start_byte:
            return False
        value = strip(b.value) if b.value is not None else None
        adds_to_itself = b.kind == "aug" or (
            value is not None and value.type == "binary_operator"
            and (head := value.child_by_field_id(F_LEFT)) is not None
            and head.type == "identifier" and ctx.text(head) == name)
        if not adds_to_itself:
            return b.kind == "assign" and b.index is None and \
                statement_of(b.target).parent == statement_of(stmt).parent
        pos = b.pos
    return False


def _reset_at_optimizer_step(ctx, loop, stmt, name: str) -> bool:
    """`name` starts afresh (`running_loss = 0`) in the loop, in the branch that steps the
    optimizer (gradient accumulation: torchtune's recipes log and reset the total of one step's
    micro-batches there), or unconditionally in the loop's body. The total then spans the few
    iterations of one optimizer step, whose saved activations backward() has freed. A reset
    elsewhere (every 2000 batches for a log line, on the first iteration only, `if total is
    None: total = loss`) leaves a long chain: reported."""
    facts = ctx.facts
    scope = facts.scope_id(stmt.start_byte)
    steps = [e.pos for e in events(ctx) if e.kind == "step"]
    for b in facts.bindings.get(name, ()):
        if b.kind != "assign" or b.scope != scope or not loop.start_byte < b.pos < loop.end_byte \
                or not _fresh_total(ctx, b):
            continue
        block = statement_of(b.target).parent
        if block is None or block.type != "block":
            continue
        if block.parent is not None and block.parent.start_byte == loop.start_byte:
            return True   # in the loop's own body: every iteration starts afresh
        if block.parent is not None and block.parent.type in ("if_statement", "elif_clause", "else_clause") \
                and facts.innermost_loop(block.start_byte).start_byte == loop.start_byte \
                and any_between(steps, block.start_byte - 1, block.end_byte):
            return True
    return False


def _list_of_one_step(ctx, stmt, name: str) -> bool:
    """`losses = []` in the body of a loop around the `losses.append(loss)` whose own body (not a
    loop nested in it) steps the optimizer: the list holds the losses of one step (the chunks
    of one batch, each backpropagated at once) and starts over at the next; or, whatever the
    loop does, made new in every pass of the innermost loop that appends to it (it never holds
    more than one pass's losses) and never read. A list made new in the epoch loop, around a batch loop that
    steps, spans the epoch: still reported."""
    facts = ctx.facts
    scope = facts.scope_id(stmt.start_byte)
    steps = [e.pos for e in events(ctx) if e.kind == "step"]
    for b in facts.bindings.get(name, ()):
        value = strip(b.value) if b.value is not None else None
        if b.kind != "assign" or b.scope != scope or b.index is not None or value is None:
            continue
        if not (value.type == "list" and not value.named_children) and ctx.text(value) != "list()":
            continue
        block = statement_of(b.target).parent
        loop = block.parent if block is not None and block.type == "block" else None
        if loop is None or loop.type not in ("for_statement", "while_statement") \
                or not loop.start_byte < stmt.start_byte < loop.end_byte or b.pos > stmt.start_byte:
            continue
        if any(loop.start_byte < p < loop.end_byte and facts.innermost_loop(p) == loop for p in steps):
            return True
        if facts.innermost_loop(stmt.start_byte) == loop and _only_appended(ctx, name, b.target, loop):
            return True   # made new in every pass of the very loop that appends, and never read
    return False


def _only_appended(ctx, name: str, target, loop) -> bool:
    """In `loop`, `name` is only made (`target`) and appended to: nothing reads the list (a
    `torch.stack(losses)` or an outer `history.append(losses)` would carry the graphs on)."""
    for ident in ctx.facts.identifiers_named(name):
        if not loop.start_byte <= ident.start_byte < loop.end_byte or ident == target:
            continue
        attr = ident.parent
        call = attr.parent if attr is not None and attr.type == "attribute" else None
        if call is None or call.type != "call" or ctx.text(attr.child_by_field_id(F_ATTRIBUTE)) != "append" \
                or attr.child_by_field_id(F_OBJECT) != ident:
            return False
    return True


def _total_of_one_step(ctx, stmt, name: str) -> bool:
    """The total restarts at least once per optimizer step, however deep the loop that adds to it:
    - in the body of the innermost loop around `stmt` whose own body (not a loop in it) runs a
      backward pass or a step, or of a loop between that one and `stmt` (DAAN sums a term per
      class in a loop inside the batch loop, from `d_c = 0` at each batch);
    - or, with no such loop, at the top of a function that makes one optimizer step per call
      outside any loop (DomainBed's `update()` sums the losses of one batch's domains);
    and the sum comes before that backward pass or step (so it is part of the step's loss).
    A validation total reset in the epoch loop, whose backward passes are in another loop, spans
    the epoch: still reported."""
    facts = ctx.facts
    scope = facts.scope_id(stmt.start_byte)
    loops = facts.loops_containing(stmt.start_byte)
    evs = events(ctx)
    updates = [e.pos for e in evs if e.kind in ("backward", "step")]
    steps = [e.pos for e in evs if e.kind == "step"]
    for i in range(len(loops) - 1, -1, -1):
        loop = loops[i]
        own = [p for p in updates if loop.start_byte < p < loop.end_byte and facts.innermost_loop(p) == loop]
        if own:
            # the sum is part of this step's loss: a backward pass or the step comes after it
            # (a validation total summed after the step holds every validation batch's graph)
            if any(p > stmt.start_byte for p in own) \
                    and any(_restarts_in(ctx, name, scope, inner, stmt) for inner in loops[i:]):
                return True
            if any(p in steps for p in own):
                return False
            # backward passes only: the gradients of all this loop's batches add up for one step
            # of an outer loop (full-batch accumulation), and the total may restart with it
            return _restarts_at_outer_step(ctx, loops[:i], steps, name, scope, stmt)
    fn = facts.function_at(stmt.start_byte)
    if fn is None or fn.start_byte != scope or not loops or loops[0].start_byte < fn.start_byte:
        return False

    def once_per_call(pos: int) -> bool:   # in this function's body, in no loop of it
        if not fn.start_byte < pos < fn.end_byte or facts.function_at(pos) != fn:
            return False
        around = facts.innermost_loop(pos)
        return around is None or around.start_byte < fn.start_byte

    return any(e.kind == "step" and e.pos > stmt.start_byte and once_per_call(e.pos) for e in evs) \
        and _restarts_in(ctx, name, scope, fn, stmt)


def _restarts_at_outer_step(ctx, outer, steps, name: str, scope: int, stmt) -> bool:
    """The innermost of the `outer` loops whose own body steps the optimizer does so after
    `stmt`, and `name` restarts in its body or a loop between it and `stmt`: `for epoch:
    zero_grad(); total = 0; for batch: total += loss; loss.backward()` then `step()` once."""
    facts = ctx.facts
    for j in range(len(outer) - 1, -1, -1):
        loop = outer[j]
        own = [p for p in steps if loop.start_byte < p < loop.end_byte and facts.innermost_loop(p) == loop]
        if own:
            return any(p > stmt.start_byte for p in own) \
                and any(_restarts_in(ctx, name, scope, inner, stmt) for inner in outer[j:])
    return False


def _restarts_in(ctx, name: str, scope: int, holder, stmt) -> bool:
    """`name = 0` (a number) directly in the body of `holder` (a loop or a function), before `stmt`."""
    for b in ctx.facts.bindings.get(name, ()):
        if b.kind != "assign" or b.scope != scope or b.pos >= stmt.start_byte or not _fresh_total(ctx, b):
            continue
        block = statement_of(b.target).parent
        if block is not None and block.type == "block" and block.parent is not None \
                and block.parent.start_byte == holder.start_byte:
            return True
    return False


def _fresh_total(ctx, b) -> bool:
    """The binding gives the name a number literal (`= 0`, `= 0.0`, `acc, n = 0.0, 0`)."""
    value = strip(b.value) if b.value is not None else None
    if value is not None and b.index is not None:
        items = value.named_children if value.type in ("tuple", "expression_list") else ()
        value = strip(items[b.index]) if b.index < len(items) else None
    return value is not None and value.type in ("integer", "float")


def _check_accumulation(ctx, stmt, left, value):
    # cheapest tests first: most `+=` and `.append(...)` of a file have nothing to do with losses
    value = strip(value)
    if value is None or value.type not in ("identifier", "call", "attribute", "binary_operator"):
        return
    if ctx.facts.innermost_loop(stmt.start_byte) is None:
        return
    if value.type == "call" and method_call(value)[1] in _DETACHING:
        return
    if not _is_loss_tensor(ctx, value):
        return
    if ctx.facts.in_no_grad(stmt.start_byte) or function_called_under_no_grad(ctx, stmt.start_byte):
        return
    if stmt.type != "call" and left.type == "identifier" and _started_this_iteration(ctx, stmt, ctx.text(left)):
        return  # `loss = a; loss = loss + b`: one iteration's terms, not a total across iterations
    # `losses_q[k + 1] += loss_q`: the list of totals (MAML's per-step query losses)
    holder = left
    while holder.type == "subscript" and strip(holder.child_by_field_id(F_VALUE)) is not None:
        holder = strip(holder.child_by_field_id(F_VALUE))
    if _backwarded(ctx, ctx.text(holder), stmt.start_byte):
        return  # building a total loss on purpose, then backpropagating it
    if _returned_by_loss_function(ctx, stmt, ctx.text(holder)):
        return  # a loss function summing its terms; its caller backpropagates the total
    if value.type == "identifier" and _differentiable_step(ctx, stmt, value):
        return  # a MAML inner loop: the fast weights hold every step's graph for the meta-gradient
    text = ctx.text(value)
    fix = None
    if value.type != "binary_operator":
        # `.item()` unless the total is still used as a tensor (`torch.stack(losses)`,
        # `total.detach().cpu()`): `.detach()` drops the graph and keeps the tensor. No fix
        # when a use cannot be judged (the total returned to a caller).
        keep = _fix_method(ctx, stmt, ctx.text(left)) if left.type == "identifier" else "item"
        if keep is not None:
            fix = Fix(f"Accumulate `{text}.{keep}()`", (ctx.edit(value, f"{text}.{keep}()"),))
    loop = ctx.facts.innermost_loop(stmt.start_byte)
    trains = any(e.kind == "backward" and loop.start_byte < e.pos < loop.end_byte for e in events(ctx)) \
        or _from_a_training_step(ctx, value)
    if trains and left.type == "identifier" and _reset_at_optimizer_step(ctx, loop, stmt, ctx.text(left)):
        return  # a total over the micro-batches of one optimizer step (torchtune's recipes)
    if left.type == "identifier" and _total_of_one_step(ctx, stmt, ctx.text(left)):
        return  # started afresh in each training iteration, or in a function that steps once
    if stmt.type == "call" and left.type == "identifier" and _list_of_one_step(ctx, stmt, ctx.text(left)):
        return  # the chunks of one batch, each backpropagated: the list is new at every step
    if trains and stmt.type == "call":   # a list: each element holds its iteration's graph
        why = ("keeps every iteration's autograd graph alive in the list, so memory creeps up "
               "each step")
    elif trains:  # backward() freed the saved activations; the chain of graph nodes remains
        why = ("chains every iteration's autograd graph onto the total, so memory creeps up each "
               "step and the total stays a tensor")
    else:       # no backward: each batch's graph keeps its activations
        why = ("keeps every iteration's autograd graph, saved activations included, alive, so "
               "memory grows each step")
    yield ctx.finding(
        value, f"Accumulating the loss tensor `{text}` {why}; accumulate `.item()` (a Python "
        "float) instead, or `.detach()` where a tensor is needed.", fix=fix)


# What a Python float has: anything else read off the total means it is used as a tensor.
_FLOAT_ATTRS = frozenset({"real", "imag", "conjugate", "is_integer", "hex", "as_integer_ratio"})
# Calls that take a float as well as a 0-dim tensor (what `.item()` would hand them).
_FLOAT_SAFE_CALLS = frozenset({"print", "float", "int", "round", "str", "repr", "format", "abs",
                               "sum", "min", "max", "len", "append", "extend", "add_scalar",
                               "log", "info", "debug", "set_postfix", "set_description", "write"})
_FLOAT_SAFE_MODULES = ("numpy.", "math.", "statistics.", "wandb.", "mlflow.", "logging.")
_EXPRESSIONS = frozenset({"binary_operator", "parenthesized_expression", "unary_operator"})
# How far a total is followed: into a value computed from it, a list it is appended to, what a
# caller does with it when returned (each step a bounded scan).
_DEPTH = 3


def _fix_method(ctx, stmt, name: str) -> str | None:
    """The method the fix appends: "item" when every later read of the total (or of a value
    computed from it) works on a Python float, "detach" when one needs a tensor
    (`total.detach().cpu()`, `torch.stack(losses)`), None when a read cannot be judged (the
    total returned, or handed to a function of the file)."""
    kind = _reads_kind(ctx, name, stmt, 0)
    return {"float": "item", "tensor": "detach"}.get(kind)


def _reads_kind(ctx, name: str, origin, depth: int) -> str:
    """How the value `origin` gives `name` is read: after it, up to the next plain rebinding in
    its scope (reads from functions that see it as a global included, other functions' own
    variables of the name not), and in a loop around it also the reads above it (the next
    pass sees the value)."""
    facts = ctx.facts
    scope = facts.scope_id(origin.start_byte)
    idents = facts.identifiers_named(name)
    starts = [i.start_byte for i in idents]
    loop = facts.innermost_loop(origin.start_byte)
    if loop is not None and facts.scope_id(loop.start_byte) != scope:
        loop = None
    # (the right side of the rebinding statement still reads this value: stop at its end)
    stop = min(((b.end if b.end > 0 else b.pos) for b in facts.bindings.get(name, ())
                if b.kind == "assign" and b.scope == scope and b.pos > origin.end_byte), default=None)
    lo = bisect_left(starts, loop.start_byte if loop is not None else origin.end_byte)
    kinds = set()
    for ident in idents[lo:]:
        pos = ident.start_byte
        if stop is not None and pos >= stop and not (loop is not None and pos < loop.end_byte):
            break
        if origin.start_byte <= pos < origin.end_byte:
            continue   # the accumulation itself
        target = ident.parent if ident.parent.type in ("pattern_list", "tuple_pattern") else ident
        if target.parent is not None and target.parent.type in ("assignment", "for_statement") \
                and target.parent.child_by_field_id(F_LEFT) == target:
            continue   # rebound (`train_loss, test_loss = ...`)
        b = facts.binding(name, pos)
        if b is None or b.scope != scope:
            continue   # another function's own variable of that name
        kinds.add(_use_kind(ctx, ident, depth))
        if "tensor" in kinds:
            break
    return "tensor" if "tensor" in kinds else "unknown" if "unknown" in kinds else "float"


def _use_kind(ctx, node, depth: int) -> str:
    parent = node.parent
    if parent.type == "subscript" and parent.child_by_field_id(F_VALUE) == node:
        node, parent = parent, parent.parent   # an element of the list
    while parent is not None and parent.type in _EXPRESSIONS:
        node, parent = parent, parent.parent   # `(total / n)`, `-total`
    if parent is None:
        return "unknown"
    if parent.type == "tuple" and _percent_formatted(ctx, parent):
        return "float"   # `"loss %.4f, lr %f" % (total / n, lr)`
    if parent.type == "attribute" and parent.child_by_field_id(F_OBJECT) == node:
        attr = parent.child_by_field_id(F_ATTRIBUTE)
        return "float" if attr is not None and ctx.text(attr) in _FLOAT_ATTRS else "tensor"
    if parent.type == "pair":
        # `wandb.log({"loss": total})` only logs it; a dict returned or kept is read elsewhere
        holder = parent.parent
        args = holder.parent if holder is not None and holder.type == "dictionary" else None
        return _call_kind(ctx, args.parent) if args is not None and args.type == "argument_list" else "unknown"
    if parent.type == "argument_list":
        call = parent.parent
        recv, method = method_call(call)
        if method in ("append", "extend") and recv is not None and strip(recv).type == "identifier" and depth < _DEPTH:
            # a list of totals: how the list is read (`torch.stack(losses)` needs tensors)
            return _reads_kind(ctx, ctx.text(strip(recv)), call, depth + 1)
        return _call_kind(ctx, call)
    if parent.type == "keyword_argument":
        return "unknown"
    if parent.type in ("interpolation", "comparison_operator", "boolean_operator",
                       "augmented_assignment", "not_operator"):
        return "float"
    if parent.type == "assignment" and parent.child_by_field_id(F_RIGHT) == node:
        left = parent.child_by_field_id(F_LEFT)
        if left is not None and left.type == "identifier" and depth < _DEPTH:
            return _reads_kind(ctx, ctx.text(left), parent, depth + 1)
        return "unknown"
    if parent.type == "return_statement" and depth < _DEPTH:
        return _callers_kind(ctx, node, depth + 1)
    return "unknown"   # in a comprehension, stored in an attribute ...


def _call_kind(ctx, call) -> str:
    """What a call does with a total handed to it: torch needs a tensor; printing, formatting,
    numpy, math and loggers take a float; anything else is not known."""
    q = ctx.facts.callee_qual(call) or ""
    if q.startswith("torch."):
        return "tensor"
    fn = call.child_by_field_id(F_FUNCTION)
    last = ctx.text(fn).rsplit(".", 1)[-1] if fn is not None else ""
    if (last in _FLOAT_SAFE_CALLS and last not in ("append", "extend")) or q.startswith(_FLOAT_SAFE_MODULES):
        return "float"
    return "unknown"


def _percent_formatted(ctx, values) -> bool:
    """`values` is the right operand of `"..." % values`."""
    op = values.parent
    if op is None or op.type != "binary_operator" or op.child_by_field_id(F_RIGHT) != values:
        return False
    left = op.child_by_field_id(F_LEFT)
    return left is not None and left.type == "string" and ctx.text(op.child_by_field_id(F_OPERATOR)) == "%"


def _callers_kind(ctx, returned, depth: int) -> str:
    """What the callers of the function returning `returned` do with it (every call seen in
    the file: `train_loss = train_epoch(...)`, then `print(f"{train_loss:.4f}")`)."""
    fn = ctx.facts.function_at(returned.start_byte)
    name = fn.child_by_field_id(F_NAME) if fn is not None else None
    calls = ctx.facts.plain_name_calls().get(ctx.text(name), ()) if name is not None else ()
    if not calls:
        return "unknown"
    kinds = {_use_kind(ctx, call, depth) for call in calls}
    return "tensor" if "tensor" in kinds else "unknown" if "unknown" in kinds else "float"


RULE = Rule("loss-accumulates-graph", Severity.WARNING, "autograd-graph",
            "Loss tensor accumulated without .item()/.detach()", check,
            needs=(b"loss", b"Loss", b"cross_entropy", b"backward"))
