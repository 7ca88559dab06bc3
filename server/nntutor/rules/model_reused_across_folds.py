"""model-reused-across-folds: one model (Keras or PyTorch), built before a cross-validation loop,
trained again in every fold."""
from __future__ import annotations

from ..findings import Severity
from ..parsing import F_ARGUMENTS, F_BODY, F_RIGHT
from ..values import args_of, method_call, strip, unwrap_calls
from . import Rule
from ._losses import is_keras_model
from ._splits import SPLITTERS, is_sklearn, short
from ._training import events, helper_calls, is_torch_module_class, optimizer_constructor

# Calls in the fold loop that give the model fresh or saved weights again.
_RESETS = frozenset({"set_weights", "load_weights", "load_state_dict", "reset_parameters"})
# ... on a torch model: `model.apply(reset_weights)` re-initialises every layer; any
# `reset_parameters()` in the fold (`for layer in model.children(): layer.reset_parameters()`).
_TORCH_RESETS = frozenset({"load_state_dict", "apply", "reset_parameters", "init_weights",
                           "reset_weights", "reset_parameters_"})
_LIGHTNING_TRAINERS = frozenset({"pytorch_lightning.Trainer", "lightning.pytorch.Trainer", "lightning.Trainer",
                                 "pytorch_lightning.trainer.Trainer", "lightning.pytorch.trainer.Trainer"})
# Walk-forward splitters: each fold trains on everything before its validation rows, which no
# earlier fold trained on; a model carried over only trains on those earlier rows again.
_WALK_FORWARD = frozenset({"TimeSeriesSplit"})
_WRAPPERS = frozenset({"enumerate", "tqdm", "list", "iter", "zip"})


def check(ctx):
    facts = ctx.facts
    for loop in facts.loops:
        if loop.type != "for_statement" or not _over_folds(ctx, loop):
            continue
        body = loop.child_by_field_id(F_BODY)
        if body is None:
            continue
        reported = set()
        for call in facts.calls_in(body):
            recv, method = method_call(call)
            recv = strip(recv)
            if method != "fit" or recv is None or recv.type != "identifier":
                continue
            name = ctx.text(recv)
            if name in reported or not _built_before(ctx, name, call, loop) or _reset_in(ctx, name, body, call):
                continue
            if not is_keras_model(ctx, recv, name):
                continue
            reported.add(name)
            yield ctx.finding(
                call,
                f"`{name}` is built once, before this cross-validation loop, and Keras' `fit` goes "
                "on from its current weights: from the second fold on, the model has already "
                "trained on the rows it is now validated on, so the fold scores are inflated and "
                "not independent. Build (and compile) a fresh model inside the loop, once per fold.",
                related=[ctx.related(loop, "the folds"),
                         ctx.related(facts.binding(name, call.start_byte).target, "the one model, built here")])
        yield from _torch_models_trained_again(ctx, loop, body, reported)


def _torch_models_trained_again(ctx, loop, body, reported):
    """A torch model built before the fold loop and trained in it: by an optimizer step over its
    parameters, by a helper of the file that trains (`train_one_epoch(model, loader, opt)`) or by
    a Lightning `trainer.fit(model)`. One finding per model, at its first training site."""
    facts = ctx.facts
    sites = []   # (call, the model's name node) in source order
    for event in events(ctx):
        if event.kind != "step" or not body.start_byte <= event.pos < body.end_byte:
            continue
        model = _stepped_model(ctx, event)
        if model is not None:
            sites.append((event.call, model))
    steps = [e.pos for e in events(ctx) if e.kind == "step"]
    trainers = set(helper_calls(ctx, steps)) if steps else set()
    for call in facts.calls_in(body):
        recv, method = method_call(call)
        lightning = method == "fit" and recv is not None and \
            ctx.values.instance(strip(recv))[0] in _LIGHTNING_TRAINERS
        if not lightning and call.start_byte not in trainers:
            continue
        pos, kw = args_of(call)
        for arg in (*pos, *kw.values()):
            arg = strip(arg)
            if arg is not None and arg.type == "identifier":
                sites.append((call, arg))
    sites.sort(key=lambda s: s[0].start_byte)
    for call, model in sites:
        name = ctx.text(model)
        if name in reported or not _built_before(ctx, name, call, loop):
            continue
        qual, _ctor = ctx.values.instance(model)
        if qual is None or not is_torch_module_class(ctx, qual) or _torch_reset_in(ctx, name, body, call):
            continue
        reported.add(name)
        yield ctx.finding(
            call,
            f"`{name}` is built once, before this cross-validation loop, and trained again in "
            "every fold: its weights carry over, so from the second fold on the model has already "
            "trained on the rows it is now validated on, and the fold scores are inflated and not "
            f"independent. Build a fresh model (and optimizer) inside the loop, or reload its "
            f"initial weights (`{name}.load_state_dict(initial_state)`) at the start of each fold.",
            related=[ctx.related(loop, "the folds"),
                     ctx.related(facts.binding(name, call.start_byte).target, "the one model, built here")])


def _stepped_model(ctx, step):
    """The model whose parameters the stepped optimizer was built over: `model` in
    `optim.Adam(model.parameters(), ...)` (also `filter(..., model.parameters())`)."""
    ctor = optimizer_constructor(ctx, step)
    if ctor is None:
        return None
    for call in ctx.facts.calls_in(ctor):
        recv, method = method_call(call)
        recv = strip(recv)
        if method in ("parameters", "named_parameters") and recv is not None and recv.type == "identifier":
            return recv
    return None


def _torch_reset_in(ctx, name: str, body, first_training) -> bool:
    """The fold gives the model fresh weights: `model.load_state_dict(initial)` before it trains
    (one after training loads the fold's best checkpoint), `model.apply(init_fn)`, or any
    `reset_parameters()` call in the fold."""
    for call in ctx.facts.calls_in(body):
        recv, method = method_call(call)
        if method not in _TORCH_RESETS:
            continue
        if method.startswith("reset_parameters"):
            return True
        if recv is None or ctx.text(strip(recv)) != name:
            continue
        if method != "load_state_dict" or call.start_byte < first_training.start_byte:
            return True
    return False


def _over_folds(ctx, loop) -> bool:
    """`for tr, va in kf.split(X, y):` (also through enumerate / tqdm, or a name bound to it)."""
    right = loop.child_by_field_id(F_RIGHT)
    node, _seen = unwrap_calls(right, _WRAPPERS)
    node = strip(node)
    if node is not None and node.type == "identifier":
        b = ctx.facts.binding(ctx.text(node), node.start_byte)
        node = strip(b.value) if b is not None and b.kind == "assign" and b.index is None else None
    if node is None or node.type != "call":
        return False
    recv, method = method_call(node)
    if method != "split" or recv is None:
        return False
    qual, _ctor = ctx.values.instance(recv)
    return is_sklearn(qual, SPLITTERS) and short(qual) not in _WALK_FORWARD


def _built_before(ctx, name: str, call, loop) -> bool:
    """The binding `call` sees is made before the loop, and the loop binds the name nowhere."""
    facts = ctx.facts
    b = facts.binding(name, call.start_byte)
    if b is None or b.kind != "assign" or not b.pos < loop.start_byte:
        return False
    return not any(loop.start_byte < other.pos < loop.end_byte for other in facts.bindings.get(name, ())
                   if other.scope == b.scope)


def _reset_in(ctx, name: str, body, fit) -> bool:
    """The loop gives the model its initial weights again (`model.set_weights(initial)`, before
    the fit or at the end of the fold); `model = clone_model(model)` is a rebinding. A
    `load_weights` after the fit counts only when it loads initial weights (`init_weights.h5`),
    not the fold's best checkpoint."""
    for call in ctx.facts.calls_in(body):
        recv, method = method_call(call)
        if method not in _RESETS or recv is None or ctx.text(strip(recv)) != name:
            continue
        if method in ("set_weights", "reset_parameters") or call.start_byte < fit.start_byte:
            return True
        if "init" in ctx.text(call.child_by_field_id(F_ARGUMENTS)).lower():
            return True
    return False


RULE = Rule("model-reused-across-folds", Severity.WARNING, "data-leakage",
            "One model trained again in every cross-validation fold", check,
            needs=(b".split(",))
