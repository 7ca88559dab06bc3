"""Where a data loader is made and what it is for: the names that say its role (what it is
assigned to, stored under, returned from) and whether a loop over it trains. Shared by the rules
that judge a loader by its role (train-loader-not-shuffled, eval-loader-drop-last)."""
from __future__ import annotations

from ..parsing import F_BODY, F_FUNCTION, F_KEY, F_NAME, F_RIGHT, F_VALUE
from ..values import string_value, unwrap_calls
from ._training import any_between
from ._uses import WRAPPERS, callers_of_returning_function, target_of

LOADERS = frozenset({"torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader"})


def loop_over(node):
    """The `for` loop whose iterable is `node`, possibly wrapped (`enumerate(tqdm(node))`)."""
    while node.parent is not None:
        holder = node.parent
        if holder.type == "for_statement":
            return holder if holder.child_by_field_id(F_RIGHT) == node else None
        if holder.type == "argument_list" and holder.parent is not None and holder.parent.type == "call":
            fn = holder.parent.child_by_field_id(F_FUNCTION)
            if fn is None or fn.text.decode("utf-8", "replace").rsplit(".", 1)[-1] not in WRAPPERS | {"iter"}:
                return None
            node = holder.parent
            continue
        return None
    return None


def method_chain(ctx, call):
    """(the outermost call of `call.m1(...).m2(...)...`, [m1, m2, ...])."""
    methods = []
    node = call
    while node.parent is not None and node.parent.type == "attribute" and node.parent.parent is not None \
            and node.parent.parent.type == "call":
        attr = node.parent.named_children[-1]
        methods.append(ctx.text(attr))
        node = node.parent.parent
    return node, methods


def target_name(ctx, call) -> str | None:
    """`train_loader` in `train_loader = DataLoader(...)` (or `dl_train, dl_val = DataLoader(...),
    DataLoader(...)`), `self.train_dl` for an attribute."""
    _, left = target_of(call)
    if left is not None and left.type in ("identifier", "attribute"):
        return ctx.text(left)
    return None


def key_name(ctx, call) -> str | None:
    """`"valid"` for a loader stored under a string key: `{"train": DataLoader(...), "valid":
    DataLoader(...)}`, or `loaders["valid"] = DataLoader(...)`."""
    parent = call.parent
    if parent is not None and parent.type == "pair" and parent.child_by_field_id(F_VALUE) == call:
        return string_value(parent.child_by_field_id(F_KEY))
    _, left = target_of(call)
    if left is not None and left.type == "subscript" and len(left.named_children) == 2:
        return string_value(left.named_children[1])
    return None


def returned_by(ctx, call) -> str | None:
    """`val_dataloader` for `def val_dataloader(self): return DataLoader(...)`: the function a
    loader is returned from names its role (Lightning's `train_dataloader` / `val_dataloader` /
    `test_dataloader` hooks, `get_train_loader()` ...)."""
    node = call.parent
    while node is not None and node.type == "parenthesized_expression":
        node = node.parent
    if node is None or node.type != "return_statement":
        return None
    func = ctx.facts.function_at(call.start_byte)
    name = func.child_by_field_id(F_NAME) if func is not None else None
    return ctx.text(name) if name is not None else None


def trains_over(ctx, call, _depth: int = 0) -> bool:
    """`for x, y in loader:` (through enumerate / tqdm), after `loader = DataLoader(...)` in the
    same scope, with a `.backward()` and a `.step()` call in the loop's body."""
    name = target_name(ctx, call)
    if name is None:
        # `def load_mnist(): return DataLoader(ds, ...)`: a caller's loop over what it returns
        return _depth < 2 and any(trains_over(ctx, c, _depth + 1) for c in callers_of_returning_function(ctx, call))
    facts = ctx.facts
    scope = facts.scope_id(call.start_byte)
    return any(loop_scope == scope and start > call.end_byte
               for loop_scope, start in training_loops(ctx).get(name, ()))


def training_loops(ctx) -> dict:
    """iterable name -> [(scope, start)] of the `for` loops over it (through enumerate / tqdm)
    whose body runs a `.backward()` and a `.step()` call: computed once per analysis."""
    cached = ctx.values.__dict__.get("_loader_training_loops")
    if cached is not None:
        return cached
    facts = ctx.facts
    cached = ctx.values.__dict__["_loader_training_loops"] = {}
    backwards = sorted(c.start_byte for c in facts.calls_ending("backward"))
    steps = sorted(c.start_byte for c in facts.calls_ending("step"))
    if not backwards or not steps:
        return cached
    for loop in facts.loops:
        if loop.type != "for_statement":
            continue
        body = loop.child_by_field_id(F_BODY)
        if body is None or not any_between(backwards, body.start_byte, body.end_byte) \
                or not any_between(steps, body.start_byte, body.end_byte):
            continue
        iterable, _ = unwrap_calls(loop.child_by_field_id(F_RIGHT), WRAPPERS)
        if iterable is not None:
            cached.setdefault(ctx.text(iterable), []).append((facts.scope_id(loop.start_byte), loop.start_byte))
    return cached
