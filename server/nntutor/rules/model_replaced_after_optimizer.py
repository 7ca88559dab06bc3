"""model-replaced-after-optimizer: the model's name gets a new model object after the optimizer
was built over the old one's parameters, and training goes on with both.

`optimizer = Adam(model.parameters())` keeps references to those parameter tensors.
`model = torch.load(path)` (or `Net()`, `copy.deepcopy(...)`, `from_pretrained(...)`) makes a
new object with new tensors: the loss is computed with them, their gradients are never applied,
and `optimizer.step()` keeps updating the old tensors that nothing uses. The model never trains.
`model = model.to(device)`, `.cuda()`, `nn.DataParallel(model)`, `torch.compile(model)` and
`load_state_dict(...)` keep the same parameters and are fine.
"""
from __future__ import annotations

from ..findings import Severity
from ..models import is_model_factory
from ..parsing import F_FUNCTION, F_LEFT
from ..values import args_of, follow, method_call, strip
from . import Rule
from ._training import events, identifiers_in, statement_of

_OPTIMIZERS = frozenset(f"torch.optim.{name}" for name in (
    "SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "SparseAdam", "RMSprop", "Adagrad",
    "Adadelta", "Rprop", "ASGD", "LBFGS", "Adafactor", "Muon"))
# Calls that return a new model object (new parameter tensors).
_NEW_OBJECT = frozenset({"torch.load", "copy.deepcopy", "torch.jit.load"})


def check(ctx):
    facts = ctx.facts
    steps = [e for e in events(ctx) if e.kind == "step"]
    for ctor in facts.calls_to(_OPTIMIZERS):
        assign = ctor.parent
        if assign is None or assign.type != "assignment" or strip(assign.child_by_field_id(F_LEFT)) is None:
            continue
        target = assign.child_by_field_id(F_LEFT)
        if target.type != "identifier":
            continue
        opt, scope = ctx.text(target), facts.scope_id(ctor.start_byte)
        for model in sorted(_models_trained_by(ctx, ctor)):
            replaced = _replacement(ctx, model, scope, assign.end_byte)
            if replaced is None:
                continue
            use = _training_after(ctx, steps, opt, model, scope, replaced)
            if use is None:
                continue
            yield ctx.finding(
                replaced.target,
                f"`{model}` gets a new model object here, but `{opt}` was built over the "
                f"parameters of the previous one: `{opt}.step()` keeps updating those old tensors, "
                f"which no longer compute anything, and the gradients of the new `{model}` are "
                f"never applied, so it never trains. Build the optimizer after the final model "
                f"exists, or load weights into the same object with `{model}.load_state_dict(...)`.",
                related=[ctx.related(ctor, f"`{opt}` is built over the old parameters"),
                         ctx.related(use, "training goes on with that optimizer")])


def _training_after(ctx, steps, opt: str, model: str, scope: int, replaced):
    """The node where training with `opt` goes on after the replacement, on a path the
    replacement can reach: `opt.step()` later in the scope (the new model computing something
    before it), the next pass of a loop around the replacement that steps, or a call handed
    both the new model and `opt` (`train(model, opt, loader)`). None otherwise."""
    facts = ctx.facts
    stmt = statement_of(replaced.target)
    candidates = []
    for e in steps:
        if e.target != opt or facts.scope_id(e.pos) != scope:
            continue
        if e.pos > replaced.pos and _called_between(ctx, model, scope, replaced.pos, e.pos):
            candidates.append((e.pos, e.call))
        else:
            loop = _loop_around_both(ctx, stmt, e.pos)
            if loop is not None and not _rebound_between(ctx, opt, scope, loop.start_byte, loop.end_byte):
                candidates.append((e.pos, e.call))   # the next pass steps the old parameters
    for call in facts.calls:
        if call.start_byte > replaced.pos and facts.scope_id(call.start_byte) == scope:
            pos, kw = args_of(call)
            names = {ctx.text(a) for a in [*pos, *kw.values()] if a is not None and a.type == "identifier"}
            if {model, opt} <= names:
                candidates.append((call.start_byte, call))
    for at, node in sorted(candidates, key=lambda c: c[0]):
        if at > replaced.pos and _rebound_between(ctx, opt, scope, replaced.pos, at):
            continue
        if at > replaced.pos and not _reaches(ctx, stmt, at):
            continue
        return node
    return None


def _loop_around_both(ctx, stmt, pos: int):
    """The innermost loop that holds both the replacement and `pos`."""
    for loop in reversed(ctx.facts.loops_containing(stmt.start_byte)):
        if loop.start_byte < pos < loop.end_byte:
            return loop
    return None


_LEAVES = frozenset({"return_statement", "raise_statement", "break_statement", "continue_statement"})
_EXITS = ("exit", "quit", "sys.exit", "os._exit")


def _reaches(ctx, stmt, pos: int) -> bool:
    """Execution can go from `stmt` to `pos`: they are not in two branches of one `if`, and no
    block between them is left (return, raise, exit ...) after `stmt` (`if args.evaluate:
    model = torch.load(...); ...; return` before the training loop)."""
    node = stmt
    while node.parent is not None and not (node.parent.start_byte <= pos < node.parent.end_byte):
        block = node.parent
        if block.type == "block":
            for sibling in block.named_children:
                if sibling.start_byte > node.start_byte and _leaves(ctx, sibling):
                    return False
        node = block
    common = node.parent
    if common is not None and common.type in ("if_statement", "try_statement"):
        # `if test: model = torch.load(...) else: train()`: the branches exclude each other
        branch_of_pos = next((c for c in common.named_children if c.start_byte <= pos < c.end_byte), None)
        if branch_of_pos is not None and branch_of_pos.type in ("elif_clause", "else_clause") \
                and common.type == "if_statement":
            return False
    return True


def _leaves(ctx, node) -> bool:
    if node.type in _LEAVES:
        return True
    if node.type == "expression_statement" and node.named_children:
        call = node.named_children[0]
        if call.type == "call":
            fn = call.child_by_field_id(F_FUNCTION)
            return fn is not None and ctx.text(fn) in _EXITS
    return False


def _models_trained_by(ctx, ctor) -> set[str]:
    """Names whose `.parameters()` the optimizer gets: `Adam(model.parameters())`,
    `Adam(list(enc.parameters()) + list(dec.parameters()))`, through a name."""
    pos, kw = args_of(ctor)
    params = pos[0] if pos else kw.get("params")
    if params is None:
        return set()
    params = follow(ctx.facts, params)
    names = set()
    stack = [params]
    while stack:
        node = stack.pop()
        if node is None:
            continue
        if node.type == "call":
            recv, method = method_call(node)
            if method in ("parameters", "named_parameters") and recv is not None and recv.type == "identifier":
                names.add(ctx.text(recv))
                continue
        stack.extend(node.named_children)
    return names


def _replacement(ctx, model: str, scope: int, after: int):
    """The first binding of `model` after `after`, in the same scope, that makes a new object."""
    for b in ctx.facts.bindings.get(model, ()):
        if b.scope != scope or b.pos < after or b.kind != "assign" or b.value is None:
            continue
        value = strip(b.value)
        if b.index is not None and value is not None and value.type in ("tuple", "expression_list"):
            items = value.named_children
            value = strip(items[b.index]) if b.index < len(items) else None
        if _new_object(ctx, value, model):
            return b
        return None   # rebound to something else first (the same object, or unknown): stop
    return None


def _new_object(ctx, value, model: str) -> bool:
    """`value` builds a new model: its call chain starts with a constructor of a model class,
    a pretrained-model factory, `torch.load` or `copy.deepcopy`, and not with `model` itself
    (`model.to(device)` is the same object)."""
    facts = ctx.facts
    if value is None or model in identifiers_in(ctx, value):
        return False   # `model = Wrapper(model)`, `nn.Sequential(model, head)`: the same parameters
    node = value
    for _ in range(16):
        if node is None or node.type != "call":
            return False
        qual = facts.callee_qual(node)
        if qual in _NEW_OBJECT or (qual is not None and is_model_factory(qual)):
            return True
        if qual is not None and qual.startswith("torch.nn.") and qual.count(".") == 2 \
                and qual.rsplit(".", 1)[1][:1].isupper() and "Parallel" not in qual:
            return True   # `nn.Sequential(...)`, `nn.Linear(...)`: new layers
        fn = strip(node.child_by_field_id(F_FUNCTION))
        if fn is not None and fn.type == "identifier":
            cls = ctx.values.local_class(ctx.text(fn))
            return cls is not None and cls.framework == "torch"
        recv, method = method_call(node)
        if method in ("from_pretrained", "load_from_checkpoint"):
            return True
        if recv is None or recv.type != "call":
            return False   # `model.to(device)`: a method of an existing object
        node = strip(recv)   # `Net().to(device)`: what the chain starts with decides
    return False


def _rebound_between(ctx, name: str, scope: int, start: int, end: int) -> bool:
    """A new optimizer (or anything) is bound to `name` in between: it holds the new model."""
    return any(b.scope == scope and start < b.pos < end for b in ctx.facts.bindings.get(name, ()))


def _called_between(ctx, model: str, scope: int, start: int, end: int) -> bool:
    """The new model computes something before the step (`model(x)`, `model.forward(x)`)."""
    facts = ctx.facts
    for call in facts.plain_name_calls().get(model, ()):
        if start < call.start_byte < end and facts.scope_id(call.start_byte) == scope:
            return True
    for call, recv in facts.method_calls("forward"):
        if recv is not None and ctx.text(recv) == model and start < call.start_byte < end:
            return True
    return False


RULE = Rule("model-replaced-after-optimizer", Severity.ERROR, "training-loop",
            "Model replaced after its optimizer was built", check,
            needs=(b"parameters",))
