"""eval-mode-not-restored: eval() inside a training loop with no train() to switch back."""
from __future__ import annotations

import re

from ..findings import Severity
from ..parsing import F_ARGUMENTS, F_CONDITION, F_FUNCTION, F_LEFT, F_RIGHT, F_SUBSCRIPT, F_VALUE
from ..values import MODULE_SELF_METHODS, args_of, method_call, param_index, strip, unwrap_calls
from . import Rule
from ._modes import (
    argument_for,
    calls_to,
    global_at,
    modes_for_call,
    self_method_calls,
    switching_names,
)
from ._training import any_between, events, helper_calls, model_is_mode_dependent, statement_of
from ._uses import WRAPPERS, call_given, identifier_nodes


def check(ctx):
    facts = ctx.facts
    evs = events(ctx)
    step_pos = _step_positions(ctx, evs)
    # With no optimizer step in sight, a backward of one selected output (`output[:, index]`,
    # a one-hot `gradient=`) reads gradients (Grad-CAM, saliency): it trains nothing.
    backwards = [e.pos for e in evs if e.kind == "backward"
                 and (step_pos or not _reads_gradients(ctx, e.call))]
    switches = []  # (kind, model name, node, model expression) for direct and helper calls
    on_purpose = set()   # models a training function puts in eval mode before it trains them
    for e in evs:
        if e.kind in ("eval", "train") or _restores(e):
            switches.append((e.kind if e.kind != "mode" else "train", e.target, e.call, method_call(e.call)[0]))
    for fname in switching_names(ctx):
        for call in calls_to(ctx, fname):
            fm = modes_for_call(ctx, fname, call)   # the definition this call runs
            for param in (fm.sets_eval | fm.sets_train) if fm is not None else ():
                restores = _ends_in_train(evs, fm, param)
                arg = argument_for(ctx, call, fm, param)
                if arg is not None:
                    switches.append(("train" if restores else "eval", ctx.text(arg), call, arg))
                    if not restores and param in fm.sets_train:
                        # `def train(model): model.train() ... step ... model.eval()` (pygcn):
                        # each call switches back before it trains again
                        switches.append(("train", ctx.text(arg), call, arg))
                    if not restores and _trains_after_eval(ctx, evs, fm, param):
                        on_purpose.add(ctx.text(arg))
            # `def evaluate(): model.eval() ...` on the module's model, called where `model` is it
            for name, receiver in (fm.globals_switched.items() if fm is not None else ()):
                if not global_at(ctx, name, call.start_byte):
                    continue
                restores = _ends_in_train(evs, fm, name)
                switches.append(("train" if restores else "eval", name, call, receiver))
                if not restores and _switches_to_train(evs, fm, name):
                    switches.append(("train", name, call, receiver))   # as above, on the global
                if not restores and _trains_after_eval(ctx, evs, fm, name):
                    on_purpose.add(name)
            # `def train_step(): student_model.train() ...` nested in the main() whose
            # `student_model` it switches, called there
            enclosing = facts.function_at(fm.node.start_byte) if fm is not None else None
            for name, receiver in (fm.closure_switched.items() if fm is not None and enclosing is not None else ()):
                b = facts.binding(name, call.start_byte)
                if b is not None and b.scope == enclosing.start_byte:
                    switches.append(("train" if _ends_in_train(evs, fm, name) else "eval", name, call, receiver))
    # `self.evaluate()` in a model's own `fit()` loop, whose chain of methods ends in self.eval()
    for call, receiver, mode, target in self_method_calls(ctx):
        if target == "self" or mode == "train":
            # (a model held by the object, `self.model`, counts when switched back to train
            # mode: `self.train_one_epoch()` starting with `self.model.train()`)
            switches.append((mode, target, call, receiver))
    # A model never switched to train mode that the training function itself puts in eval mode
    # before its backward pass (the linear-probe protocol: `def train(...)` starts with
    # `model.eval()` to keep a frozen backbone's batch-norm statistics) trains in eval mode by
    # design; another eval() in the loop changes nothing. (An eval() before the training loop
    # of a script may be an evaluation of the untrained model: not taken as design.)
    on_purpose -= {n for k, n, _nd, _o in switches if k == "train"}
    trainers = helper_calls(ctx, backwards)
    # A training loop also steps an optimizer (itself or through a helper): in a file whose
    # optimizer steps we see, a loop that only backpropagates reads gradients (Grad-CAM heat
    # maps, saliency maps). (A file with no visible step: its steps are out of sight, but a
    # backward of one selected output was left out of `backwards` above.)
    steppers = helper_calls(ctx, step_pos)
    trained = _optimized_models(ctx)
    for kind, name, node, obj in switches:
        if kind != "eval":
            continue
        if obj is not None and obj.type not in ("identifier", "attribute"):
            continue  # `validate(task.get_eval_model())`: what the call returns is not known
        if trained is not None and not any(t == name or t.startswith(name + ".") for t in trained):
            continue  # not the model being optimized (e.g. a frozen teacher or target network)
        if _not_trained_by_design(ctx, name, obj) or name in on_purpose:
            continue
        if model_is_mode_dependent(ctx, obj) is False:
            continue  # no dropout / batch norm: training in eval mode changes nothing
        loops = [lp for lp in facts.loops_containing(node.start_byte)
                 if not _in_else_of(lp, node)   # `for ...: ... else: validate()` runs once, after it
                 and (any_between(backwards, lp.start_byte, lp.end_byte)
                     or any_between(trainers, lp.start_byte - 1, lp.end_byte))
                 and (not step_pos or any_between(step_pos, lp.start_byte, lp.end_byte)
                      or any_between(steppers, lp.start_byte - 1, lp.end_byte))]
        if not loops:
            continue
        loop = loops[-1]
        if _bound_by(ctx, name, loop):
            continue  # `for model in models:` each iteration evaluates a different model
        if _not_stepped_in(ctx, evs, name, loop, steppers):
            continue  # the optimizers of this loop train other models (stage 2 on a frozen stage 1)
        if _eval_opens_training(ctx, switches, name, loop, backwards, trainers):
            continue  # each pass trains in eval mode on purpose: a linear probe
        restored = any(k == "train" and n == name and loop.start_byte < nd.start_byte < loop.end_byte
                       for k, n, nd, _ in switches)
        if restored or _leaves_loop(node) or _only_run_without_grad(ctx, name):
            continue   # (a frozen feature extractor: its eval mode is the point)
        # A train() in an outer loop (the epoch's) restores the mode only at the next epoch.
        later = any(k == "train" and n == name and lp.start_byte < nd.start_byte < lp.end_byte
                    for lp in loops[:-1] for k, n, nd, _ in switches)
        if later and _on_last_pass(ctx, node, loop):
            continue   # `if i == len(loader) - 1: model.eval()`: no step follows in this epoch
        until = f"until the epoch's `{name}.train()`" if later else "from then on"
        yield ctx.finding(
            node, f"`{name}` is switched to eval mode inside the training loop and not back: "
            f"the following iterations train it with dropout off and frozen batch-norm "
            f"statistics, {until}; call `{name}.train()` right after the evaluation.")


def _step_positions(ctx, evs) -> list:
    """Start bytes (sorted) of the optimizer steps of the file: step events, also a SAM
    optimizer's `first_step` / `second_step`, and `.step(...)` of anything named like an
    optimizer or a scaler (`amp.step(opt)`; not `env.step(action)`)."""
    by_last = ctx.facts.calls_by_last_name()
    return sorted({e.pos for e in evs if e.kind == "step"} | {
        c.start_byte for last in ("step", "first_step", "second_step")
        for c in by_last.get(last, ())
        if method_call(c)[0] is not None and (
            last != "step" or _STEPPER.search(ctx.text(method_call(c)[0]).rsplit(".", 1)[-1]))})


def _reads_gradients(ctx, call) -> bool:
    """`call` (a `.backward(...)`) backpropagates one selected output, not a loss: a subscript
    with several indices or of a subscript (`output[:, index]`, `out[0][c]`), or a name bound
    to one (`pred_class = output[:, index]`), or any output with an explicit `gradient=` (a
    one-hot vector: `model_output.backward(gradient=one_hot)`)."""
    if "gradient" in args_of(call)[1]:
        return True
    node = strip(method_call(call)[0])
    if node is not None and node.type == "identifier":
        b = ctx.facts.assignment_of(node)
        node = strip(b.value) if b is not None else None
    if node is None or node.type != "subscript":
        return False
    value = strip(node.child_by_field_id(F_VALUE))
    return len(node.children_by_field_id(F_SUBSCRIPT)) > 1 or (value is not None and value.type == "subscript")


_LAST_PASS = (re.compile(r"^\(?(\w+)\+1\)?==len\((.+)\)$"), re.compile(r"^(\w+)==len\((.+)\)-1$"))


def _on_last_pass(ctx, node, loop) -> bool:
    """`node` runs only on the last pass of `loop`, `for i, batch in enumerate(loader)`: it sits
    under `if i == len(loader) - 1:` (or `i + 1 == len(loader)`), so no step of this loop
    follows it (tqch/ddpm-torch's toy trainer)."""
    left, right = loop.child_by_field_id(F_LEFT), loop.child_by_field_id(F_RIGHT)
    inner, seen = unwrap_calls(right, WRAPPERS)
    if left is None or inner is None or not seen or seen[0] != "enumerate" or not left.named_children:
        return False
    counter, iterated = ctx.text(left.named_children[0]), ctx.text(inner)
    parent = node.parent
    while parent is not None and parent.start_byte > loop.start_byte:
        if parent.type == "if_statement":
            cond = re.sub(r"\s+", "", ctx.text(parent.child_by_field_id(F_CONDITION)))
            for pattern in _LAST_PASS:
                m = pattern.match(cond)
                if m and m.group(1) == counter and (m.group(2) == iterated or _wraps(ctx, loop, iterated, m.group(2))):
                    return True
        parent = parent.parent
    return False


def _wraps(ctx, loop, bar: str, loader: str) -> bool:
    """`with tqdm(loader, ...) as bar:` around `loop`: iterating `bar` is iterating `loader`."""
    node = loop.parent
    while node is not None:
        if node.type == "with_statement":
            head = ctx.text(node).split(":", 1)[0]
            if re.search(rf"\(\s*{re.escape(loader)}\s*[,)].*\bas\s+{re.escape(bar)}\b", head, re.S):
                return True
        node = node.parent
    return False


# Models that are evaluated but never trained by backpropagation: weight averages (EMA, SWA),
# teachers, target networks, models fetched for evaluation. Eval mode is where they belong.
_UNTRAINED_NAME = re.compile(r"(?i)(?:^|_)(?:ema|swa|averaged|avg|teacher|target|frozen|eval)(?:$|_)")
_AVERAGING_CLASS = re.compile(r"Ema|EMA|Averaged|SWA")


def _not_trained_by_design(ctx, name, obj) -> bool:
    """The model's name says it is not the one being trained (`model_ema`, `teacher`,
    `eval_model`), or it is built by a weight-averaging class (ModelEmaV3, AveragedModel)."""
    if _UNTRAINED_NAME.search(name.rsplit(".", 1)[-1]):
        return True
    if obj is None:
        return False
    qual, _ = ctx.values.instance(obj)
    return qual is not None and bool(_AVERAGING_CLASS.search(qual.rsplit(".", 1)[-1]))


def _only_run_without_grad(ctx, name) -> bool:
    """Every call of the model in the file (`encoder(x)`, `encoder.encode(x)`) sits inside a
    no_grad block, nothing reads its parameters (`encoder.parameters()`, `encoder.fc.parameters()`)
    and it is handed to no call out of sight: a frozen feature extractor, never trained, whose
    eval mode is the point. (Computed once per name.)"""
    memo = ctx.values.__dict__.setdefault("_only_run_without_grad", {})
    if name not in memo:
        memo[name] = name.isidentifier() and _frozen_extractor(ctx, name)
    return memo[name]


def _frozen_extractor(ctx, name) -> bool:
    facts = ctx.facts
    uses = [c.start_byte for c in facts.calls_named(name)]
    if not uses or _handed_over(ctx, name):
        return False
    escaped = re.escape(name.encode())
    if re.search(rb"(?<![\w.])" + escaped + rb"(?:\s*\.\s*\w+)*\s*\.\s*(?:named_)?parameters\b", ctx.doc.data):
        return False   # an optimizer (or parameter groups) over it or a part of it
    for m in re.finditer(rb"(?<![\w.])" + escaped + rb"\s*\.\s*(\w+)\s*\(", ctx.doc.data):
        if facts.in_comment(m.start()):
            continue
        if m.group(1).decode() not in _NOT_A_FORWARD:
            uses.append(m.start())   # `encoder.encode(x)`: a forward by another name
    # lexically under no_grad: a helper that runs it may also be called with gradients
    return all(facts.in_no_grad(p) for p in uses)


def _handed_over(ctx, name) -> bool:
    """`name` is passed to a call other than a function of the file whose parameter has the same
    name (whose uses the name search above sees): `Trainer(model)` may train it out of sight."""
    facts = ctx.facts
    for node in identifier_nodes(ctx, name):
        call = call_given(node)
        if call is None:
            continue
        fn = strip(call.child_by_field_id(F_FUNCTION))
        defs = facts.functions_named(ctx.text(fn)) if fn is not None and fn.type == "identifier" else []
        if not defs or not all(param_index(facts, d, name)[0] is not None for d in defs):
            return True
    return False


# Methods of a module that run no forward pass.
_NOT_A_FORWARD = frozenset({"eval", "train", "to", "cuda", "cpu", "half", "float", "double",
                            "requires_grad_", "state_dict", "load_state_dict", "zero_grad", "apply",
                            "modules", "children", "named_modules", "named_children", "buffers"})


def _not_stepped_in(ctx, evs, name, loop, steppers) -> bool:
    """Every optimizer stepped in `loop` is built in this file, over parameters that are not
    `name`'s (`optimizer = Adam(unet.parameters())` while `autoencoder` is switched to eval: a
    latent-diffusion stage 2 on the frozen stage-1 autoencoder). Steps in a function of the file
    called in the loop count with the optimizer it is given (`train(clf, loader, opt)`); one
    that steps only through another function is not followed."""
    facts = ctx.facts
    # (optimizer name, where to look it up)
    steps = [(e.target, e.pos) for e in evs if e.kind == "step" and loop.start_byte < e.pos < loop.end_byte]
    inside = [p for p in steppers if loop.start_byte <= p < loop.end_byte]
    if inside:
        for call in facts.calls_in(loop):
            if call.start_byte not in inside:
                continue
            fn = strip(call.child_by_field_id(F_FUNCTION))
            func = facts.definition_in_effect(ctx.text(fn), call.start_byte) \
                if fn is not None and fn.type == "identifier" else None
            own = [e for e in evs if e.kind == "step" and func is not None
                   and func.start_byte < e.pos < func.end_byte and facts.function_at(e.pos) == func]
            if not own:
                return False   # a method, or a function that steps through another one
            pos, kw = args_of(call)
            for e in own:
                index, keyword_only = param_index(facts, func, e.target) if e.target.isidentifier() else (None, False)
                if index is None:
                    steps.append((e.target, e.pos))   # a global optimizer
                    continue
                arg = kw.get(e.target) or (pos[index] if not keyword_only and index < len(pos) else None)
                arg = strip(arg)
                if arg is None or arg.type != "identifier":
                    return False
                steps.append((ctx.text(arg), call.start_byte))
    if not steps:
        return False
    for target, at in steps:
        b = facts.binding(target, at) if target.isidentifier() else None
        value = strip(b.value) if b is not None and b.kind == "assign" and b.value is not None else None
        if value is None or value.type != "call" or not _OPTIMIZERS.search(ctx.text(value.child_by_field_id(F_FUNCTION))):
            return False   # an optimizer we cannot see into
        given = ctx.text(value.child_by_field_id(F_ARGUMENTS))
        if re.search(r"(?<![\w.])" + re.escape(name) + r"\b", given):
            return False   # it trains this model (or part of it)
        if not _PARAMS.search(given.encode()):
            return False   # `SGD(parameters, ...)`: whose parameters is not said here
    return True


def _bound_by(ctx, name, loop) -> bool:
    """Each iteration has its own model: `for model in models:`, or one built in the loop's body
    (`layer = nn.BatchNorm1d(16)` at each pass of a gradient-check test), not a module-returning
    method of the same object (`model = model.to(device)`)."""
    for b in ctx.facts.bindings.get(name, ()):
        if b.kind == "for" and b.pos == loop.start_byte:
            return True
        value = strip(b.value) if b.kind == "assign" and b.value is not None else None
        if value is not None and value.type == "subscript":   # `meta.adapt(x, y)[0]`
            value = strip(value.child_by_field_id(F_VALUE))
        if value is not None and value.type == "call" and loop.start_byte < b.pos < loop.end_byte \
                and method_call(value)[1] not in (*MODULE_SELF_METHODS, "eval", "train") \
                and (b.index is None and ctx.values.instance(value)[0] is not None
                     or not _mentions(ctx, value, name)):
            return True
    return False


def _in_else_of(loop, node) -> bool:
    alt = loop.child_by_field_name("alternative")
    return alt is not None and alt.start_byte <= node.start_byte < alt.end_byte


def _eval_opens_training(ctx, switches, name, loop, backwards, trainers) -> bool:
    """In `loop`, `name.eval()` comes before a loop that trains with nothing in between that uses
    the model or calls a function of the file, and nothing switches it to train mode in `loop` or
    before it in its function: every pass trains it in eval mode on purpose (a linear probe
    keeps a frozen backbone's batch-norm statistics), so an evaluation later in the pass changes
    nothing. Not an eval() followed by a validation before the batches (the bug)."""
    # a train() in the loop, or before it in its function (`model.train()` once before the
    # epochs: train mode is what the author wants)
    fn = ctx.facts.function_at(loop.start_byte)
    start = fn.start_byte if fn is not None else 0
    if any(k == "train" and n == name and start < nd.start_byte < loop.end_byte
           for k, n, nd, _o in switches):
        return False
    for kind, n, node, _obj in switches:
        if kind != "eval" or n != name or not loop.start_byte < node.start_byte < loop.end_byte:
            continue
        recv, method = method_call(node)
        if method != "eval" or recv is None or ctx.text(recv) != name:
            continue   # an evaluation helper (`evaluate(val_loader)`), not the switch itself
        stmt = statement_of(node)
        if stmt is None or stmt.type != "expression_statement" or strip(stmt.named_children[0]) != node:
            continue
        # the statements up to the batch loop may set up counters, a progress bar, the loader,
        # but not use the model, nor call a function of the file (which may evaluate it)
        after = stmt.next_named_sibling
        while after is not None and (after.type == "comment" or (
                after.type not in ("for_statement", "while_statement") and not _mentions(ctx, after, name)
                and not _calls_a_local_function(ctx, after))):
            after = after.next_named_sibling
        if after is not None and after.type in ("for_statement", "while_statement") and (
                any_between(backwards, after.start_byte, after.end_byte)
                or any_between(trainers, after.start_byte - 1, after.end_byte)):
            return True
    return False


def _calls_a_local_function(ctx, node) -> bool:
    for call in ctx.facts.calls_in(node):
        fn = strip(call.child_by_field_id(F_FUNCTION))
        if fn is not None and fn.type == "identifier" and ctx.facts.functions_named(ctx.text(fn)):
            return True
    return False


def _mentions(ctx, node, name) -> bool:
    """`name` is a whole name in the node's code: `model = load(model, path)` hands back the
    object it was given, `local_model, opt = meta.adapt(x, y)` a new one."""
    return bool(re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", ctx.facts.code_in(node)))


def _leaves_loop(node) -> bool:
    """A `break` / `return` follows in the same block: a final evaluation (early stopping)."""
    stmt = statement_of(node)
    sib = stmt.next_named_sibling if stmt is not None else None
    while sib is not None:
        if sib.type in ("break_statement", "return_statement"):
            return True
        sib = sib.next_named_sibling
    return False


# the receiver's last name: `optimizer`, `opt_g`, `self.optim`, `scaler`, `amp`, `sam`
_STEPPER = re.compile(r"(?i)opt|scaler|^amp$|^sam$|solver")


_PARAMS = re.compile(rb"\.(?:named_)?parameters\(")
_NAME_BYTES = frozenset(bytes([c]) for c in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")
_OPTIMIZERS = re.compile(r"optim|Adam|SGD|RMSprop|Adagrad|LBFGS|Lion|Adafactor")


def _optimized_models(ctx):
    """Names whose parameters go to an optimizer built in this file; None when none is built here."""
    found = None
    root = ctx.doc.tree.root_node
    data = ctx.doc.data
    for m in ctx.facts.code_matches(_PARAMS):
        # the receiver, scanned backwards (a leading [\w.]* in the pattern makes the regex
        # engine retry at every identifier of the file)
        start = m.start()
        while start > 0 and data[start - 1:start] in _NAME_BYTES:
            start -= 1
        name = data[start:m.start()].decode("utf-8", "replace")
        if not name or not (name[0].isalpha() or name[0] == "_"):
            continue
        node = root.descendant_for_byte_range(start, start)
        # Any call around `x.parameters()` whose callee looks like an optimizer takes them.
        while node is not None and node.type not in ("block", "module"):
            if node.type == "call":
                fn = node.child_by_field_id(F_FUNCTION)
                args = node.child_by_field_id(F_ARGUMENTS)
                if fn is not None and args is not None \
                        and args.start_byte <= start and _OPTIMIZERS.search(ctx.text(fn)):
                    found = (found or set()) | {name}
                    break
            node = node.parent
    if found is None and _only_tensors_optimized(ctx):
        return set()   # `SGD([patch])`: an adversarial patch or input is trained, no model
    return found


_TORCH_OPTIMIZERS = re.compile(r"^torch\.optim\.[A-Z]\w*$")


def _only_tensors_optimized(ctx) -> bool:
    """Every torch optimizer built in the file takes a literal list of plain names (`[patch]`,
    `[delta, z]`), none of them a module's parameters: what is trained is those tensors."""
    facts = ctx.facts
    seen = False
    for call in facts.calls:
        qual = facts.callee_qual(call)
        if not qual or not _TORCH_OPTIMIZERS.match(qual) or ".lr_scheduler." in qual:
            continue
        pos, kw = args_of(call)
        params = pos[0] if pos else kw.get("params")
        if params is None or params.type not in ("list", "tuple") or not params.named_children \
                or any(c.type != "identifier" for c in params.named_children):
            return False
        seen = True
    return seen


def _trains_after_eval(ctx, evs, fm, param) -> bool:
    """The helper puts `param` in eval mode before it trains, outside the loops that train (at
    its top, as the linear-probe `train()` does), then runs a backward pass or a step. Not an
    eval() in the epoch loop before the batches (a validation first, then training in eval
    mode: the bug), nor one after the steps (an evaluation)."""
    start, end = fm.node.start_byte, fm.node.end_byte
    updates = [e.pos for e in evs if start < e.pos < end and e.kind in ("backward", "step")]
    first = next((e.pos for e in evs if start < e.pos < end and e.kind == "eval" and e.target == param), None)
    if first is None or not any(p > first for p in updates):
        return False
    return not any(lp.start_byte > start and any_between(updates, lp.start_byte, lp.end_byte)
                   for lp in ctx.facts.loops_containing(first))


def _switches_to_train(evs, fm, name) -> bool:
    return any(fm.node.start_byte < e.pos < fm.node.end_byte and e.target == name and e.kind == "train"
               for e in evs)


def _ends_in_train(evs, fm, param):
    last = None
    for e in evs:
        if fm.node.start_byte < e.pos < fm.node.end_byte and e.target == param and (
                e.kind in ("eval", "train") or _restores(e)):
            last = e.kind
    return last in ("train", "mode")


def _restores(e) -> bool:
    """`model.train(mode)` / `model.train(was_training)` after an evaluation puts back the mode
    saved before it (`mode = model.training`): train mode, in a training loop."""
    return e.kind == "mode" and method_call(e.call)[1] == "train"


RULE = Rule("eval-mode-not-restored", Severity.WARNING, "train-eval-mode",
            "model.eval() in a training loop without model.train()", check, needs=(b".eval(",))
