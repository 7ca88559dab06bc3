"""Is it safe to remove the last activation from a model's forward()?

A quick fix that deletes the softmax (or sigmoid) at the end of `forward()` changes what every
caller of the model gets, not only the loss that the finding is about. It is certain only when
every use of the model's output in the file is one the change cannot hurt: the loss itself
(which then gets the logits it expects), or a class choice (`argmax`, the index half of `max`),
which the monotonic activation does not change. Probabilities written to a submission, printed
or thresholded would silently become logits, so any other use, or a use we cannot see (the
model handed to a helper, built in another file), means no fix.
"""
from __future__ import annotations

from ..parsing import (
    F_ATTRIBUTE,
    F_FUNCTION,
    F_LEFT,
    F_NAME,
    F_OBJECT,
    F_RIGHT,
    F_VALUE,
)
from ..values import (
    MODULE_SELF_METHODS,
    PASSTHROUGH_ATTRIBUTES,
    PASSTHROUGH_FUNCS,
    PASSTHROUGH_METHODS,
    args_of,
    class_of_method,
    defines_method,
    method_call,
    strip,
)

# Module methods that do not read an output (set-up, moving, saving, switching modes).
_HARMLESS_METHODS = MODULE_SELF_METHODS | frozenset({
    "parameters", "named_parameters", "state_dict", "load_state_dict", "zero_grad", "modules",
    "children", "named_modules", "buffers", "apply", "register_forward_hook",
})


def output_change_is_safe(ctx, applied, loss_inputs) -> bool:
    """`applied` (the activation in a model's forward) can go: every instance of its class in
    the file is a plain `name = Class(...)`, and every use of every instance is harmless (see
    the module doc). `loss_inputs`: (start, end) of the prediction arguments of the file's
    losses that take logits (CrossEntropyLoss, BCEWithLogitsLoss)."""
    facts = ctx.facts
    cls = class_of_method(facts.function_at(applied.start_byte))
    name_node = cls.child_by_field_id(F_NAME) if cls is not None else None
    if name_node is None:
        # not in a class: where its value goes is in sight (`probs = F.softmax(out, 1)` read
        # by `roc_auc_score(y, probs[:, 1])` too must keep its probabilities)
        return _output_use_harmless(ctx, applied, loss_inputs, 0)
    instances = []
    family = _with_subclasses(ctx, ctx.text(name_node))
    if any(_defines_forward(ctx, n) for n in family - {ctx.text(name_node)}):
        return False   # a subclass post-processes `super().forward(x)`: its outputs change too
    for class_name in family:   # they inherit forward()
        for ctor in facts.plain_name_calls().get(class_name, ()):
            target = _assigned_name(ctor)
            if target is None:
                return False   # built and used in one expression, returned, passed on ...
            instances.append(ctx.text(target))
    if not instances:
        return False   # built elsewhere (another file, a factory): its callers are unseen
    for name in set(instances):
        if not _every_use_harmless(ctx, name, loss_inputs):
            return False
    return True


def _with_subclasses(ctx, name: str) -> set:
    """`name` and the classes of the file that derive from it, directly or not."""
    return {name} | {ctx.text(n.child_by_field_id(F_NAME)) for n in ctx.values.subclasses(name)}


def _defines_forward(ctx, class_name: str) -> bool:
    return any(defines_method(ctx.facts, node, ("forward", "call")) for node in ctx.facts.classes_nodes
               if node.child_by_field_id(F_NAME) is not None and ctx.text(node.child_by_field_id(F_NAME)) == class_name)


def _assigned_name(ctor):
    """The identifier `ctor` is assigned to (through `.to(device)` / `.cuda()` chains)."""
    node = ctor
    while node.parent is not None and node.parent.type == "attribute":
        call = node.parent.parent
        _recv, method = method_call(call) if call is not None and call.type == "call" else (None, None)
        if method not in MODULE_SELF_METHODS:
            return None
        node = call
    parent = node.parent
    if parent is None or parent.type != "assignment" or parent.child_by_field_id(F_RIGHT) != node:
        return None
    left = parent.child_by_field_id(F_LEFT)
    return left if left is not None and left.type == "identifier" else None


def _every_use_harmless(ctx, name: str, loss_inputs) -> bool:
    facts = ctx.facts
    for ident in facts.identifiers_named(name):
        parent = ident.parent
        if parent.type == "assignment" and parent.child_by_field_id(F_LEFT) == ident:
            continue   # (re)bound: the constructions were checked
        if parent.type == "attribute" and parent.child_by_field_id(F_OBJECT) == ident:
            call = parent.parent
            attr = parent.child_by_field_id(F_ATTRIBUTE)
            if call is not None and call.type == "call" and ctx.text(attr) in _HARMLESS_METHODS:
                continue
            return False   # model.forward(x), model.fc ...: unknown
        if parent.type == "call" and parent.child_by_field_id(F_FUNCTION) == ident:
            if not _output_use_harmless(ctx, parent, loss_inputs, 0):
                return False
            continue
        return False   # passed to a function, stored in a list ...: callers unseen
    return True


def _output_use_harmless(ctx, expr, loss_inputs, depth) -> bool:
    """The value of `expr` (a model call, or a name bound to one) goes only to a loss or to a
    class choice."""
    if depth > 4:
        return False
    if (expr.start_byte, expr.end_byte) in loss_inputs:
        return True
    parent = expr.parent
    if parent is None:
        return False
    if parent.type == "parenthesized_expression":
        return _output_use_harmless(ctx, parent, loss_inputs, depth)
    if parent.type == "subscript" and parent.child_by_field_id(F_VALUE) == expr:
        return _output_use_harmless(ctx, parent, loss_inputs, depth + 1)   # `probs[mask]`
    if parent.type == "attribute" and parent.child_by_field_id(F_OBJECT) == expr:
        attr = ctx.text(parent.child_by_field_id(F_ATTRIBUTE))
        if attr == "data" or attr in PASSTHROUGH_ATTRIBUTES:
            return _output_use_harmless(ctx, parent, loss_inputs, depth + 1)
        call = parent.parent
        if call is None or call.type != "call":
            return False
        if attr == "argmax":
            return True
        if attr in PASSTHROUGH_METHODS:   # `probs.view(-1, C)`: the same values, reshaped
            return _output_use_harmless(ctx, call, loss_inputs, depth + 1)
        return attr == "max" and _index_half_only(ctx, call)
    if parent.type == "argument_list":
        call = parent.parent
        q = ctx.facts.callee_qual(call)
        pos, _kw = args_of(call)
        if not pos or strip(pos[0]) != expr:
            return False
        if q == "torch.argmax":
            return True
        if q in PASSTHROUGH_FUNCS:   # `torch.flatten(probs, 0, 1)`
            return _output_use_harmless(ctx, call, loss_inputs, depth + 1)
        return q == "torch.max" and len(pos) > 1 and _index_half_only(ctx, call)
    if parent.type == "assignment" and parent.child_by_field_id(F_RIGHT) == expr:
        target = parent.child_by_field_id(F_LEFT)
        if target is None or target.type != "identifier":
            return False
        name = ctx.text(target)
        facts = ctx.facts
        mine = facts.binding(name, parent.end_byte)
        loop = facts.innermost_loop(parent.start_byte)
        # the reads this value reaches, and in a loop any read of the name in it (one before the
        # assignment sees the previous pass's value)
        reads = [i for i in facts.identifiers_named(name)
                 if i != target and (facts.binding(name, i.start_byte) is mine
                                     or loop is not None and loop.start_byte < i.start_byte < loop.end_byte)
                 and not (i.parent.type == "assignment" and i.parent.child_by_field_id(F_LEFT) == i)]
        return all(_output_use_harmless(ctx, r, loss_inputs, depth + 1) for r in reads)
    return False


def _index_half_only(ctx, max_call) -> bool:
    """`_, pred = out.max(1)` / `torch.max(out, 1)[1]` / `.max(1).indices`: only the argmax."""
    parent = max_call.parent
    if parent is None:
        return False
    if parent.type == "subscript":
        idx = parent.named_children[1:] if len(parent.named_children) > 1 else []
        return len(idx) == 1 and idx[0].type == "integer" and ctx.text(idx[0]) == "1"
    if parent.type == "attribute":
        attr = parent.child_by_field_id(F_ATTRIBUTE)
        return attr is not None and ctx.text(attr) == "indices"
    if parent.type == "assignment" and parent.child_by_field_id(F_RIGHT) == max_call:
        left = parent.child_by_field_id(F_LEFT)
        if left is not None and left.type in ("pattern_list", "tuple_pattern") and len(left.named_children) == 2:
            first = left.named_children[0]
            return first.type == "identifier" and ctx.text(first).startswith("_")
    return False
