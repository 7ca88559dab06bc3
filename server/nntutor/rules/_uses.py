"""Is a loader or data generator really used, or only peeked at?"""
from __future__ import annotations

import re

from ..namescan import whole_name_matches
from ..parsing import F_BODY, F_FUNCTION, F_LEFT, F_NAME, F_RIGHT
from ..values import is_method

# Calls that pass a loader through to the loop around them, and calls that only peek at it.
WRAPPERS = frozenset({"enumerate", "tqdm", "notebook_tqdm", "track", "progress_bar", "zip", "cycle"})
PEEKS = frozenset({"iter", "next", "len", "print", "display", "type", "isinstance", "str", "repr"})
_LOADER = re.compile(r"loader|(^|_)dl$", re.IGNORECASE)


def used_beyond_a_peek(ctx, call, _depth: int = 0) -> bool:
    """The object `call` makes, bound to a name, is looped over (`for x, y in
    enumerate(train_loader)`), passed on (`train(model, train_loader)`, `fit(validation_data=
    val_gen)`), returned, or used where it is made; not when it is only peeked at:
    `next(iter(train_loader))`, `gen.class_indices`, or a loop that shows one batch and breaks
    (`for x, y in loader: plt.imshow(x[0]); break`)."""
    parent, left = target_of(call)
    if left is None or left.type not in ("identifier", "attribute"):
        callers = callers_of_returning_function(ctx, call)
        if callers and _depth < 2:
            # `def load_mnist(): return DataLoader(...)`: what each caller does with it
            return any(used_beyond_a_peek(ctx, c, _depth + 1) for c in callers)
        return not _peeked_where_made(ctx, call)
    name = ctx.text(left).encode()
    data, root = ctx.doc.data, ctx.doc.tree.root_node
    # Uses up to the next binding of the name in the same scope: after it, the name is another
    # object (a notebook's later cell rebuilding `dl_train` with shuffle=True).
    scope = ctx.facts.scope_id(parent.start_byte)
    later = [b.end if b.kind in ("assign", "aug") and b.end > 0 else b.target.start_byte
             for b in ctx.facts.bindings.get(ctx.text(left), ())
             if b.target is not None and b.scope == scope and b.target.start_byte >= parent.end_byte]
    end = min(later, default=len(data))
    for m in whole_name_matches(data, name):
        if m.start() < parent.end_byte or ctx.facts.in_comment(m.start()):
            continue
        if m.start() >= end:
            break
        node = root.named_descendant_for_byte_range(m.start(), m.end())
        while node is not None and node.parent is not None:
            holder = node.parent
            if holder.type == "for_statement" and holder.child_by_field_id(F_RIGHT) == node:
                if _runs_once(holder) or _only_shows(ctx, holder):
                    break
                return True
            if holder.type in ("return_statement", "yield") or (
                    holder.type in ("expression_list", "tuple") and holder.parent is not None
                    and holder.parent.type == "return_statement"):
                return True  # `return train_loader, val_loader`: made for a caller to use
            if holder.type == "keyword_argument":  # `fit_loader(loader=train_loader)`
                node, holder = holder, holder.parent
            if holder.type != "argument_list" or holder.parent is None or holder.parent.type != "call":
                break  # `train_loader.dataset`, a string ...
            callee = ctx.text(holder.parent.child_by_field_id(F_FUNCTION)).rsplit(".", 1)[-1]
            if callee in PEEKS:
                break
            if callee not in WRAPPERS:
                return True  # handed to something that will use it
            node = holder.parent  # enumerate(tqdm(train_loader)): look at what holds the wrapper
    return False


def identifier_nodes(ctx, name: str, start: int = 0):
    """The identifier nodes that spell `name` from byte `start` on, outside comments: a name's
    occurrences found by a text search, each then checked against the tree."""
    root = ctx.doc.tree.root_node
    for m in whole_name_matches(ctx.doc.data, name.encode(), start):
        node = root.named_descendant_for_byte_range(m.start(), m.end())
        if node is not None and node.type == "identifier" and not ctx.facts.in_comment(m.start()):
            yield node


def call_given(node):
    """The call that `node` is an argument of (positional or keyword), else None."""
    args = node.parent
    if args is not None and args.type == "keyword_argument":
        args = args.parent
    if args is None or args.type != "argument_list" or args.parent is None or args.parent.type != "call":
        return None
    return args.parent


def callers_of_returning_function(ctx, call) -> list:
    """The calls of the plain function of the file whose `return` statement is `call`."""
    ret = call.parent
    if ret is None or ret.type != "return_statement":
        return []
    fn = ctx.facts.function_at(call.start_byte)
    name = fn.child_by_field_id(F_NAME) if fn is not None else None
    if name is None or is_method(fn):
        return []
    return ctx.facts.calls_named(ctx.text(name))


def _peeked_where_made(ctx, call) -> bool:
    """`next(iter(DataLoader(train_ds, batch_size=64)))`: made only to look at one batch."""
    node = call
    while node.parent is not None and node.parent.type == "argument_list" and node.parent.parent is not None:
        outer = node.parent.parent
        callee = ctx.text(outer.child_by_field_id(F_FUNCTION)).rsplit(".", 1)[-1]
        if callee in PEEKS:
            return True
        if callee not in WRAPPERS:
            return False
        node = outer
    return False


def target_of(call):
    """(assignment, the target that receives `call`): `x = call` or, in `a, b = call1, call2`,
    the matching name; (None, None) otherwise."""
    parent = call.parent
    if parent is not None and parent.type == "assignment":
        return parent, parent.child_by_field_id(F_LEFT)
    if parent is not None and parent.type == "expression_list" and parent.parent is not None \
            and parent.parent.type == "assignment" and parent.parent.child_by_field_id(F_RIGHT) == parent:
        left = parent.parent.child_by_field_id(F_LEFT)
        values, targets = parent.named_children, left.named_children if left is not None else []
        if left is not None and left.type in ("pattern_list", "tuple_pattern") and len(values) == len(targets):
            return parent.parent, targets[values.index(call)]
    return None, None


def _runs_once(loop) -> bool:
    """The loop's body ends in an unconditional `break`: it looks at the first item only."""
    body = loop.child_by_field_id(F_BODY)
    statements = [c for c in body.named_children if c.type != "comment"] if body is not None else []
    return bool(statements) and statements[-1].type == "break_statement"


# A loop that shows its batches (`plt.imshow`, `plt.show()`, a grid of samples) and calls nothing
# that may train or score a model: a look at the data (ptsemseg's loaders end in such a
# `__main__` demo). A loop that also predicts or measures is an evaluation that shows samples.
_SHOWS = re.compile(r"(?:^|\.)(?:imshow|show|subplots?|figure|savefig|save_image|make_grid)$")
_MAY_TRAIN = re.compile(r"(?i)train|fit|step|backward|update|optimi|learn|loss|criterion|model|net"
                        r"|predict|infer|forward|evaluat|score|accura|metric|classif|detect|segment")


def _only_shows(ctx, loop) -> bool:
    callees = [ctx.text(c.child_by_field_id(F_FUNCTION)) for c in ctx.facts.calls_in(loop)
               if c.child_by_field_id(F_FUNCTION) is not None]
    if not any(_SHOWS.search(t) for t in callees) or any(_MAY_TRAIN.search(t) for t in callees):
        return False
    # a function of this file called there may train (its name need not say so)
    for name in callees:
        for func in ctx.facts.functions_named(name.rsplit(".", 1)[-1]):
            if _MAY_TRAIN.search(ctx.facts.code_in(func)):
                return False
    return True



def is_loader(ctx, node) -> bool:
    """`node` is a data loader: a `DataLoader(...)` call, a name known to hold one, or (type
    unknown) a name that says so (`train_loader`, `val_dl`)."""
    if node.type == "call":
        return (ctx.facts.callee_qual(node) or "").endswith("DataLoader")
    if node.type not in ("identifier", "attribute", "subscript"):
        return False
    qual, _ctor = ctx.values.instance(node)
    if qual is not None:
        return qual.endswith("DataLoader")
    return bool(_LOADER.search(ctx.text(node).rsplit(".", 1)[-1]))


def returned_slot_discarded(ctx, call) -> bool:
    """The object `call` makes leaves a plain function of the file by its `return`, alone or as
    one slot of a tuple (`train_dl = DataLoader(...)` ... `return train_dl, val_dl`), and every
    call of that function in the file drops that slot: `_, val_dl = load_data()`, or a bare
    `load_data()`. False when the function is never called in the file (a library's: its
    callers are unseen), or is used other than by calling it (`fn=load_data`)."""
    fn = ctx.facts.function_at(call.start_byte)
    ident = fn.child_by_field_id(F_NAME) if fn is not None else None
    if ident is None or is_method(fn):
        return False
    slots = _returned_slots(ctx, call, fn)
    if not slots:
        return False
    name = ctx.text(ident)
    callers = ctx.facts.calls_named(name)
    if not callers:
        return False
    for node in identifier_nodes(ctx, name):
        parent = node.parent
        if parent is None or not (parent.type == "function_definition" and parent.child_by_field_id(F_NAME) == node
                                  or parent.type == "call" and parent.child_by_field_id(F_FUNCTION) == node):
            return False   # handed on as a value: what is done with its result is unseen
    return all(_drops(ctx, caller, slot) for caller in callers for slot in slots)


def _returned_slots(ctx, call, fn) -> set:
    """{(index, arity)} of the `return` statements of `fn` that give back what `call` makes:
    (None, 0) for `return call` / `return name`, (i, n) for the i-th of n returned values.
    Empty when the value (or the name it is bound to) is used in any other way."""
    def slot(node):
        holder = node.parent
        while holder is not None and holder.type == "parenthesized_expression":
            node, holder = holder, holder.parent
        if holder is not None and holder.type == "return_statement":
            return (None, 0)
        if holder is not None and holder.type in ("expression_list", "tuple") and holder.parent is not None \
                and holder.parent.type == "return_statement":
            values = holder.named_children
            return (values.index(node), len(values))
        return None

    found = slot(call)
    if found is not None:
        return {found}
    parent, left = target_of(call)
    if left is None or left.type != "identifier":
        return set()
    scope = ctx.facts.scope_id(call.start_byte)
    slots = set()
    for node in identifier_nodes(ctx, ctx.text(left), parent.end_byte):
        if node.start_byte >= fn.end_byte:
            break
        if ctx.facts.scope_id(node.start_byte) != scope:
            return set()   # read by a nested function
        found = slot(node)
        if found is None:
            return set()   # looped over, passed on, ... in the function itself
        slots.add(found)
    return slots


def _drops(ctx, caller, slot) -> bool:
    """The result of `caller` is thrown away, or the slot of it is unpacked into `_`."""
    parent = caller.parent
    if parent is not None and parent.type == "expression_statement":
        return True
    if parent is None or parent.type != "assignment" or parent.child_by_field_id(F_RIGHT) != caller:
        return False
    left = parent.child_by_field_id(F_LEFT)
    index, arity = slot
    if index is None:
        return left is not None and left.type == "identifier" and ctx.text(left) == "_"
    if left is None or left.type not in ("pattern_list", "tuple_pattern") or len(left.named_children) != arity:
        return False
    target = left.named_children[index]
    return target.type == "identifier" and ctx.text(target) == "_"
