"""missing-no-grad: an evaluation loop in eval mode that still records the autograd graph."""
from __future__ import annotations

import re

from ..findings import Fix, Severity, TextEdit
from ..models import is_model_factory
from ..parsing import F_FUNCTION, F_NAME, F_RIGHT
from . import Rule
from ._modes import calls_to, last_switch, mode_at, mode_switches, param_arguments
from ._training import (
    EVAL_NAME,
    any_between,
    events,
    helper_calls,
    model_is_mode_dependent,
    statement_of,
)


def check(ctx):
    facts = ctx.facts
    roots = {v.split(".", 1)[0] for v in facts.imports.values()}
    if "torch" not in roots and roots & _OTHER_FRAMEWORKS:
        return   # Flax, Paddle ... have eval() too, and no torch.no_grad
    # With another framework's modules in the file (a Flax model fed by torch's DataLoader), an
    # `.eval()` alone does not say the model is a torch module.
    eval_is_evidence = not roots & _OTHER_FRAMEWORKS
    if _grad_disabled_elsewhere(ctx):
        return
    backwards = [e.pos for e in events(ctx) if e.kind == "backward"]
    trainers = helper_calls(ctx, backwards)   # `train_batch(...)`: a backward pass in a helper
    reported = set()
    free_of: dict = {}  # innermost loop -> the loops around it that do not backpropagate
    after_training: dict = {}  # loop -> where its training loops end (_after_the_training_loops)
    for call in _model_calls(ctx):
        fn = call.child_by_field_id(F_FUNCTION)
        inner = facts.innermost_loop(call.start_byte)
        if inner is None or inner.start_byte in reported:
            continue
        if inner.start_byte not in free_of:
            loops = facts.loops_containing(call.start_byte)
            # The outermost loop around the call that does not backpropagate: an eval loop nested
            # in the epoch loop counts; a loop that calls backward() needs the graph (saliency, FGSM).
            free = [lp for lp in loops if not any_between(backwards, lp.start_byte, lp.end_byte)
                    and not any_between(trainers, lp.start_byte - 1, lp.end_byte)
                    and not _INPUT_GRADS.search(facts.code_in(lp))]
            free_of[inner.start_byte] = free if free and free[-1] == loops[-1] else None
        free = free_of[inner.start_byte]
        stmt = None
        if free is not None:
            stmt = statement_of(free[0])   # the evaluation loop, wrapped whole by the fix
        elif _after_the_training_loops(ctx, inner, call, backwards, after_training):
            stmt = _body_statement(inner, call)   # `samples = G(z)` after the epoch's batches
        if stmt is None or facts.in_no_grad(call.start_byte):
            continue
        name = ctx.text(fn)
        if mode_at(ctx, name, call.start_byte) != "eval":
            continue
        if not _is_model_object(ctx, fn, name, call.start_byte) and not (
                eval_is_evidence
                and last_switch(ctx, name, call.start_byte, facts.scope_id(call.start_byte)) is not None
                and _evaluates(ctx, call, inner)):
            continue   # neither known to be a module nor switched with `.eval()` to evaluate here
        if _in_lightning_eval_hook(ctx, call):
            continue   # Lightning runs validation_step & co. under no_grad itself
        if _in_grad_mode_block(ctx, call.start_byte) or _every_call_guarded(ctx, call.start_byte):
            continue
        reported.add(inner.start_byte)
        torch_name = next((k for k, v in facts.imports.items() if v == "torch"), None)
        fix = None
        if torch_name is not None:
            fix = Fix("Wrap the loop in `with torch.no_grad():`" if free is not None else
                      "Wrap the statement in `with torch.no_grad():`", (_wrap_edit(ctx, stmt, torch_name),))
        if _VOLATILE.search(facts.code_in(stmt)):
            message = (f"`{name}` runs in eval mode outside torch.no_grad(): `volatile=True` has "
                       "had no effect since PyTorch 0.4 (it only warns), so autograd records the "
                       "graph, costing memory and time for gradients nobody uses.")
        else:
            message = (f"`{name}` runs in eval mode outside torch.no_grad(): autograd still "
                       "records the graph, costing memory and time for gradients nobody uses.")
        yield ctx.finding(call, message, fix=fix)


# Frameworks whose modules have an eval() of their own (no autograd tape to turn off, or their
# own no_grad): a file built on one of them, without torch, is not checked.
_OTHER_FRAMEWORKS = frozenset({"flax", "jax", "paddle", "mindspore", "oneflow", "jittor", "mxnet",
                               "tensorflow", "keras", "equinox"})


# Lightning hooks that the Trainer runs with gradients off.
_LIGHTNING_EVAL_HOOKS = frozenset({"validation_step", "test_step", "predict_step", "validation_epoch_end",
                                   "test_epoch_end", "on_validation_epoch_end", "on_test_epoch_end"})


def _in_lightning_eval_hook(ctx, call) -> bool:
    func = ctx.facts.function_at(call.start_byte)
    name = func.child_by_field_id(F_NAME) if func is not None else None
    return name is not None and ctx.text(name) in _LIGHTNING_EVAL_HOOKS


def _evaluates(ctx, call, loop) -> bool:
    """The code around `call` says it evaluates: its function is named so (`validate`,
    `evaluate`, `test`, `predict` ...) or its loop runs over evaluation data (`val_loader`). A
    helper that computes a loss through a frozen network (`perceptual_loss(vgg, ...)`) does not:
    its caller backpropagates what it returns."""
    func = ctx.facts.function_at(call.start_byte)
    name = func.child_by_field_id(F_NAME) if func is not None else None
    if name is not None and EVAL_NAME.search(ctx.text(name)) and "loss" not in ctx.text(name).lower():
        return True
    right = loop.child_by_field_id(F_RIGHT) if loop.type == "for_statement" else None
    return right is not None and any(EVAL_NAME.search(w) for w in _WORDS.findall(ctx.facts.code_in(right)))


_WORDS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _model_calls(ctx):
    """The calls that may run a model, in document order: `model(x)`, and `self.unet(x)` where
    `self.unet` is switched with `.eval()` / `.train()` somewhere (a trainer's `validate()`)."""
    facts = ctx.facts
    calls = facts.plain_name_calls_in_order()
    members = {target[5:] for _scope, target in mode_switches(ctx)
               if target.startswith("self.") and "." not in target[5:]}
    if not members:
        return calls
    calls = list(calls)
    for member in members:
        calls.extend(c for c, recv in facts.method_calls(member)
                     if recv is not None and recv.type == "identifier" and ctx.text(recv) == "self")
    calls.sort(key=lambda c: c.start_byte)
    return calls


def _after_the_training_loops(ctx, loop, call, backwards, cache: dict) -> bool:
    """`call` sits in the body of `loop` itself, after the loops nested in it that backpropagate
    (an epoch's batches), and no backward runs at its own level or in a loop after it: what it
    computes cannot feed a backward of this iteration (GAN notebooks' `samples.append(G(z))`
    after each epoch, a full-batch validation after the batch loop)."""
    key = loop.start_byte
    if key not in cache:
        # per loop: None when a backward runs at its own level (or it needs input gradients),
        # else where the last nested loop that backpropagates ends
        facts = ctx.facts
        inside = [p for p in backwards if loop.start_byte < p < loop.end_byte]
        last_end = None
        if inside and not _INPUT_GRADS.search(facts.code_in(loop)):
            last_end = 0
            for pos in inside:
                around = facts.innermost_loop(pos)
                if around is None or around.start_byte == loop.start_byte:
                    last_end = None
                    break
                last_end = max(last_end, around.end_byte)
        cache[key] = last_end
    last_end = cache[key]
    return last_end is not None and last_end <= call.start_byte


def _body_statement(loop, call):
    """The statement of `loop`'s body that contains `call` (None if it is in the loop's header
    or `else`)."""
    node = call
    while node.parent is not None and node.parent != loop:
        block = node.parent
        if block.type == "block" and block.parent == loop:
            return node
        node = block
    return None


# PyTorch 0.3's way to turn the graph off, ignored since 0.4 (a UserWarning says so).
_VOLATILE = re.compile(r"\bvolatile\s*=\s*True")

# Gradients with respect to inputs (saliency, adversarial examples) need the graph.
_INPUT_GRADS = re.compile(r"autograd\.grad\(|requires_grad_\(|requires_grad\s*=\s*True")


def _is_model(ctx, expr):
    qual, _ = ctx.values.instance(expr)
    return qual is not None and (ctx.values.local_class(qual) is not None or qual.startswith("torch.nn.")
                                 or is_model_factory(qual))


def _is_model_object(ctx, fn, name, pos):
    if model_is_mode_dependent(ctx, fn) is not None or _is_model(ctx, fn):
        return True
    args = param_arguments(ctx, name, pos)  # evaluate(model, loader): look at the callers
    return args is not None and all(_is_model(ctx, a) for a in args)


def _in_grad_mode_block(ctx, pos):
    """Inside `with torch.set_grad_enabled(...)`: the code decides about gradients itself."""
    return any(w.start_byte < pos < w.end_byte and "set_grad_enabled" in ctx.text(w.named_children[0])
               for w in ctx.facts.withs if w.named_children)


def _every_call_guarded(ctx, pos):
    """Every call of the function around `pos` is inside `no_grad` / `inference_mode` or
    `set_grad_enabled(...)` (rasbt's `with torch.set_grad_enabled(False): compute_accuracy(model,
    test_loader)`): the callers decide about gradients. One unguarded call in eval mode still
    records the graph, and is reported."""
    fn = ctx.facts.function_at(pos)
    fname = fn.child_by_field_id(F_NAME) if fn is not None else None
    if fname is None:
        return False
    calls = list(calls_to(ctx, ctx.text(fname)))
    return bool(calls) and all(ctx.facts.in_no_grad(c.start_byte) or _in_grad_mode_block(ctx, c.start_byte)
                               for c in calls)


_FROZEN = re.compile(rb"requires_grad(_\(\s*False|\s*=\s*False)")


def _grad_disabled_elsewhere(ctx):
    """`torch.set_grad_enabled(False)` as a statement, or frozen parameters (requires_grad False):
    no graph is recorded, or the file manages gradients on purpose."""
    if ctx.facts.code_matches(_FROZEN):
        return True
    for call in ctx.facts.calls_ending("set_grad_enabled"):
        q = ctx.facts.callee_qual(call) or ""
        if q.endswith("set_grad_enabled") and call.parent is not None and call.parent.type == "expression_statement":
            return True
    return False


def _wrap_edit(ctx, stmt, torch_name):
    """One edit: `with torch.no_grad():` above the statement, the statement indented one level
    with the file's own unit (a tab where its body is tab-indented). Lines inside a multi-line
    string are its text, not code: they stay as they are."""
    idx = ctx.doc.index
    first, last = idx.line_of(stmt.start_byte), idx.line_of(max(stmt.start_byte, stmt.end_byte - 1))
    indent = ctx.line_indent(stmt)
    lines = [idx.line_bytes(n).decode("utf-8", "replace") for n in range(first, last + 1)]
    unit = "    "
    for line in lines[1:]:
        if line.strip():
            unit = "\t" if line[len(indent):len(indent) + 1] == "\t" else "    "
            break
    if "\t" in indent:
        unit = "\t"
    in_string = _string_continuation_lines(ctx, stmt)
    body = [(unit + line) if line.strip() and first + i not in in_string else line
            for i, line in enumerate(lines)]
    end = idx.starts[last] + len(idx.line_bytes(last))
    return TextEdit(idx.starts[first], end, f"{indent}with {torch_name}.no_grad():\n" + "\n".join(body))


def _string_continuation_lines(ctx, stmt) -> set[int]:
    """Lines (0-based) that continue a string literal begun on an earlier line."""
    idx = ctx.doc.index
    lines: set[int] = set()
    stack = [stmt]
    while stack:
        node = stack.pop()
        if node.type == "string":
            a, b = idx.line_of(node.start_byte), idx.line_of(max(node.start_byte, node.end_byte - 1))
            lines.update(range(a + 1, b + 1))
            continue
        stack.extend(node.children)
    return lines


RULE = Rule("missing-no-grad", Severity.HINT, "autograd-graph",
            "Evaluation loop without torch.no_grad()", check, needs=(b".eval(",))
