"""td-target-not-detached: a bootstrapped target (`r + gamma * Q(s')`) computed by the network
being trained, with gradients, and regressed onto by that same network.

In Q-learning, TD(0) critics and actor-critic methods, the target `r + gamma * max_a' Q(s', a')`
is a fixed label for the update: the gradient is taken through the prediction `Q(s, a)` only
(the "semi-gradient"). When the target is computed by the same network without `.detach()` or
`torch.no_grad()`, `backward()` also pushes `Q(s')` towards `Q(s, a)`: a different algorithm
(the residual gradient), slower and known to converge to worse values, and a bug when the
code meant DQN. The rule reports a regression loss (`F.mse_loss`, `F.smooth_l1_loss`,
`F.huber_loss`, `nn.MSELoss()` ...) in one function whose target side reaches a call of a
network on the next state (`next_state`, `s_prime`, `obs_next` ...) with a discount factor
(`gamma`, `discount`), where the prediction side reaches a call of the same network, and
nothing on the target's way detaches it.

Silent on purpose: a target network (`target_net(next_state)`, another object than the
prediction's); a target computed under `torch.no_grad()`, or passed through `.detach()`,
`.data`, `.item()`, `.numpy()` or an `argmax` (Double DQN picks the action with the online
network, which carries no gradient); targets built in another function or through a list.
"""
from __future__ import annotations

import re

from ..findings import Severity
from ..parsing import (
    F_ARGUMENTS,
    F_ATTRIBUTE,
    F_FUNCTION,
    F_LEFT,
    F_OBJECT,
    F_OPERATOR,
    F_RIGHT,
    F_VALUE,
)
from ..values import args_of, strip
from . import Rule
from ._training import identifiers_in

_LOSSES = frozenset({"mse_loss", "smooth_l1_loss", "huber_loss", "l1_loss"})
_LOSS_CLASSES = frozenset({"MSELoss", "SmoothL1Loss", "HuberLoss", "L1Loss"})
# Calls and attributes that cut the graph: what lies below them carries no gradient.
# (`tf.stop_gradient` / `jax.lax.stop_gradient` are the same cut in a file that mixes them in.)
_CUTS = frozenset({"detach", "detach_", "item", "numpy", "tolist", "argmax", "argmin", "data",
                   "stop_gradient"})
# Frameworks whose code has no `torch.no_grad()` / `.detach()` to advise: a file of theirs
# without torch is left alone (TF1's `tf.stop_gradient(r + gamma * q_targ)`).
_OTHER_FRAMEWORKS = frozenset({"tensorflow", "keras", "jax", "flax", "paddle", "mindspore", "mxnet"})
_NEXT_STATE = re.compile(r"next|prime|^s_?[2']$|^s_$|^obs_$|_tp1$|^new_?(state|obs)", re.IGNORECASE)
_DISCOUNT = re.compile(r"gamma|discount", re.IGNORECASE)
# Names of objects holding networks (`agent.q(...)`, `self.nets.critic(...)`).
_NETWORK = re.compile(r"agent|net|model|critic|actor|policy|learner|dqn|^q|^v$|^self$", re.IGNORECASE)
# Builtins and tensor / container methods seen on the way to a target.
_NOT_NETWORKS = frozenset({
    "float", "int", "len", "list", "tuple", "dict", "max", "min", "sum", "abs", "range", "zip",
    "long", "view", "reshape", "unsqueeze", "squeeze", "to", "cuda", "cpu", "gather", "mean",
    "type", "clone", "expand", "repeat", "permute", "transpose", "flatten", "index_select",
    "masked_fill", "astype", "get", "append", "size", "numel", "new_tensor", "sample",
    "log_prob", "entropy", "Variable", "FloatTensor", "LongTensor", "Tensor", "tensor", "array",
    "max_q", "logsumexp", "softmax", "log_softmax", "exp", "log", "clamp", "pow", "sqrt"})
_MAX_DEPTH = 6


def check(ctx):
    facts = ctx.facts
    roots = {v.split(".", 1)[0] for v in facts.imports.values()}
    if "torch" not in roots and roots & _OTHER_FRAMEWORKS:
        return
    by_last = facts.calls_by_last_name()
    # Only the calls that can be a regression loss: F.mse_loss & co, an object built from a loss
    # class (`self.criterion = nn.MSELoss()` ... `self.criterion(q, y)`), `.pow(2)`, square().
    objects = {ctx.text(left) for cls in _LOSS_CLASSES for ctor in by_last.get(cls, ())
               if (left := _assigned_to(ctor)) is not None}
    candidates = [c for name in (*_LOSSES, "pow", "square") for c in by_last.get(name, ())]
    candidates += [c for name in {o.rsplit(".", 1)[-1] for o in objects} for c in by_last.get(name, ())
                   if ctx.text(c.child_by_field_id(F_FUNCTION)) in objects]
    pairs = [(call, _regression_pair(ctx, call)) for call in sorted(set(candidates), key=lambda c: c.start_byte)]
    pairs += list(_squared_differences(ctx))
    for call, pair in pairs:
        if pair is None or None in pair or facts.in_no_grad(call.start_byte):
            continue
        a, b = pair
        for pred, target in ((a, b), (b, a)):
            hit = _bootstrapped_by_the_same_network(ctx, pred, target)
            if hit is not None:
                yield _finding(ctx, call, target, *hit)
                break


def _assigned_to(ctor):
    """`self.criterion` / `loss_fn` for `... = nn.MSELoss()`, else None."""
    parent = ctor.parent
    if parent is not None and parent.type == "assignment" and strip(parent.child_by_field_id(F_RIGHT)) == ctor:
        left = parent.child_by_field_id(F_LEFT)
        if left is not None and left.type in ("identifier", "attribute"):
            return left
    return None


def _regression_pair(ctx, call):
    """(input, target) of a regression loss call, or of a squared difference written out
    (`(q - y).pow(2)`, `torch.square(q - y)`), or None."""
    fn = strip(call.child_by_field_id(F_FUNCTION))
    if fn is None:
        return None
    if fn.type == "attribute" and ctx.text(fn.child_by_field_id(F_ATTRIBUTE)) == "pow":
        pos, _kw = args_of(call)
        if len(pos) == 1 and ctx.text(pos[0]) == "2":
            return _difference(strip(fn.child_by_field_id(F_OBJECT)))
        return None
    if ctx.text(fn) in ("torch.square", "square") or (ctx.facts.callee_qual(call) or "") == "torch.square":
        pos, _kw = args_of(call)
        return _difference(strip(pos[0])) if len(pos) == 1 else None
    name = ctx.text(fn).rsplit(".", 1)[-1]
    if name not in _LOSSES:
        qual, _ctor = ctx.values.instance(fn) if fn.type in ("identifier", "attribute") else (None, None)
        if qual is None or qual.rsplit(".", 1)[-1] not in _LOSS_CLASSES:
            return None
    pos, kw = args_of(call)
    first = pos[0] if pos else kw.get("input")
    second = pos[1] if len(pos) > 1 else kw.get("target")
    return (strip(first), strip(second)) if first is not None and second is not None else None


def _difference(node):
    """(a, b) for `a - b`, else None."""
    if node is None or node.type != "binary_operator":
        return None
    op = node.child_by_field_id(F_OPERATOR)
    if op is None or op.type != "-":
        return None
    return strip(node.child_by_field_id(F_LEFT)), strip(node.child_by_field_id(F_RIGHT))


_SQUARE = re.compile(rb"\*\*\s*2\b")


def _squared_differences(ctx):
    """`(a - b) ** 2` written with the operator: (the power node, (a, b))."""
    root = ctx.doc.tree.root_node
    for m in ctx.facts.code_matches(_SQUARE):
        node = root.descendant_for_byte_range(m.start(), m.start() + 1)
        while node is not None and node.type != "binary_operator":
            node = node.parent
        if node is None:
            continue
        base = strip(node.child_by_field_id(F_LEFT))
        pair = _difference(base)
        if pair is not None:
            yield node, pair


class _Reach:
    """What an expression is computed from, through the assignments of its function, up to
    the first cut of the graph: the network calls and the names it reads."""

    def __init__(self):
        self.calls: list = []
        self.names: set = set()
        self.seen: set = set()


def _reach(ctx, node, out: _Reach, depth: int = 0):
    facts = ctx.facts
    stack = [(node, depth)]
    while stack:
        n, d = stack.pop()
        if n is None or n.id in out.seen:
            continue
        out.seen.add(n.id)
        t = n.type
        if t == "call":
            fn = strip(n.child_by_field_id(F_FUNCTION))
            last = ctx.text(fn).rsplit(".", 1)[-1] if fn is not None else ""
            if last in _CUTS:
                continue
            if _is_index_of_max(ctx, n):
                continue
            out.calls.append(n)
            stack.extend((c, d) for c in n.named_children)
        elif t == "attribute":
            attr = n.child_by_field_id(F_ATTRIBUTE)
            name = ctx.text(attr) if attr is not None else ""
            if name in _CUTS or name == "indices":
                continue
            out.names.add(name)
            stack.append((n.child_by_field_id(F_OBJECT), d))
        elif t == "subscript":
            if _is_index_of_max(ctx, n):
                continue
            stack.extend((c, d) for c in n.named_children)
        elif t == "identifier":
            name = ctx.text(n)
            out.names.add(name)
            if d >= _MAX_DEPTH:
                continue
            b = facts.binding(name, n.start_byte)
            if b is None or b.kind not in ("assign", "aug") or b.value is None:
                continue
            if facts.in_no_grad(b.pos):
                continue
            stack.append((b.value, d + 1))
        elif t in ("lambda", "comment", "string"):
            continue
        else:
            stack.extend((c, d) for c in n.named_children)


def _is_index_of_max(ctx, node) -> bool:
    """`q.max(1)[1]` / `torch.max(q, 1)[1]`: the argmax, an index tensor without a gradient."""
    if node.type != "subscript":
        return False
    value = strip(node.child_by_field_id(F_VALUE))
    index = node.named_children[-1] if node.named_child_count > 1 else None
    if value is None or value.type != "call" or index is None or ctx.text(index) != "1":
        return False
    fn = value.child_by_field_id(F_FUNCTION)
    return fn is not None and ctx.text(fn).rsplit(".", 1)[-1] in ("max", "min", "topk", "sort")


def _network(ctx, call) -> str | None:
    """The text naming the object a call runs (`self.q_eval`, `model`, `agent.critic`), or None
    for calls that are not a network's: library functions, functions and methods of the file,
    builtins, tensor methods."""
    fn = strip(call.child_by_field_id(F_FUNCTION))
    if fn is None or fn.type not in ("identifier", "attribute"):
        return None
    text = ctx.text(fn)
    text = text.removesuffix(".forward")
    if ctx.facts.callee_qual(call) is not None:
        return None   # imported: torch.*, np.*, a helper of another module
    last = text.rsplit(".", 1)[-1]
    if last in _NOT_NETWORKS or ctx.facts.functions_named(last):
        return None
    if fn.type == "attribute":
        obj = strip(fn.child_by_field_id(F_OBJECT))
        if obj is None or obj.type not in ("identifier", "attribute"):
            return None   # `model(s).max(1)`: a method of the result
        if not text.startswith("self.") and not _NETWORK.search(ctx.text(obj).rsplit(".", 1)[-1]):
            return None   # `next_state.float()`: a tensor's method, not `agent.q(...)`
    return text


def _bootstrapped_by_the_same_network(ctx, pred, target):
    t = _Reach()
    _reach(ctx, target, t)
    if not any(_DISCOUNT.search(n) for n in t.names):
        return None
    next_calls = {}
    for call in t.calls:
        net = _network(ctx, call)
        if net is not None and _on_next_state(ctx, call):
            next_calls.setdefault(net, call)
    if not next_calls:
        return None
    p = _Reach()
    _reach(ctx, pred, p)
    for call in p.calls:
        net = _network(ctx, call)
        if net in next_calls and not _on_next_state(ctx, call):
            return next_calls[net], call, net
    return None


def _on_next_state(ctx, call) -> bool:
    args = call.child_by_field_id(F_ARGUMENTS)
    if args is None:
        return False
    # (attribute names too: `model(batch.next_obs)`)
    return any(_NEXT_STATE.search(name) for name in identifiers_in(ctx, args))


def _finding(ctx, loss_call, target, next_call, pred_call, net):
    message = (f"The target `{_short(ctx, target)}` is computed by `{net}` on the next state with "
               f"gradients, and `{net}` is also the network being fitted: `backward()` then moves "
               f"`{net}(next state)` towards the prediction too (a residual gradient, not the "
               f"Q-learning / TD update). Compute the target under `torch.no_grad()` or add "
               f"`.detach()`, or use a separate target network.")
    return ctx.finding(next_call, message, related=[
        ctx.related(pred_call, f"the prediction, by the same `{net}`"),
        ctx.related(loss_call, "the loss regressing one onto the other")])


def _short(ctx, node) -> str:
    text = ctx.text(node)
    return text if len(text) <= 40 else text[:37] + "..."


RULE = Rule("td-target-not-detached", Severity.WARNING, "autograd-graph",
            "A bootstrapped target computed with gradients by the network being trained", check,
            needs=(b"gamma", b"GAMMA", b"discount", b"Gamma"))
