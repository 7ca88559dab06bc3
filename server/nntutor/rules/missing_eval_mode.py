"""missing-eval-mode: evaluation (under no_grad, or in a loop named like evaluation) while
dropout / batch norm are in training mode."""
from __future__ import annotations

import re

from ..findings import Fix, Severity, TextEdit
from ..parsing import F_ATTRIBUTE, F_CONDITION, F_FUNCTION, F_LEFT, F_NAME, F_OBJECT, F_RIGHT
from ..values import MODULE_SELF_METHODS, args_of, method_call, strip
from . import Rule
from ._bare import bare_pattern, bare_references
from ._modes import function_called_under_no_grad, mode_at, param_arguments, param_calls
from ._testfiles import is_test_module
from ._training import EVAL_NAME, any_between, events, model_is_mode_dependent, statement_of

_BARE_EVAL = bare_pattern("eval")


def check(ctx):
    facts = ctx.facts
    # `model.eval` without parentheses in a scope: mode-switch-not-called reports that line, with
    # the fix that belongs there; a second finding at the evaluation would only repeat it.
    reported = {(ctx.text(receiver), facts.scope_id(attr.start_byte))
                for attr, _m, receiver in bare_references(ctx, _BARE_EVAL) if receiver.type == "identifier"}
    for call in facts.calls_in_no_grad():
        fn = strip(call.child_by_field_id(F_FUNCTION))
        if fn is None or fn.type != "identifier":
            continue
        name = ctx.text(fn)
        dependent = _mode_dependent(ctx, fn, name, call)
        if not dependent:
            continue
        if mode_at(ctx, name, call.start_byte) != "train":
            continue
        if _in_training_step(ctx, call) or _train_mode_on_purpose(ctx, name, call) \
                or _gan_preview(ctx, name, call):
            continue
        if _fresh_in_this_function(ctx, fn, call) or _only_its_shape_is_read(ctx, call) \
                or _warm_up_of_fresh_models(ctx, name, call):
            continue  # an untrained model built right here, or a look at the output's shape: no score
        scope = facts.scope_id(call.start_byte)
        if (name, scope) in reported:
            continue
        reported.add((name, scope))
        fix = _fix(ctx, call, name)
        yield ctx.finding(
            call, f"`{name}` is evaluated under no_grad but is still in training mode: dropout "
            f"stays active and batch norm uses batch statistics; call `{name}.eval()` first.",
            fix=fix)
    yield from _generate_in_training_mode(ctx, reported)
    yield from _evaluation_loops_in_training_mode(ctx, reported)


def _generate_in_training_mode(ctx, reported):
    """`model.generate(...)` (Hugging Face's, or a model class's own sampling method) runs under
    no_grad and leaves the mode as it is: after `model.train()` and a training loop, it samples
    with dropout on, like a forward pass under no_grad. Checked as those are; not when the
    model's own `generate` switches it to eval mode itself (an eval event at the call)."""
    facts = ctx.facts
    for call, recv in facts.method_calls("generate"):
        recv = strip(recv)
        if recv is None or recv.type != "identifier":
            continue
        name = ctx.text(recv)
        scope = facts.scope_id(call.start_byte)
        if (name, scope) in reported or not _mode_dependent(ctx, recv, name, call):
            continue
        if mode_at(ctx, name, call.start_byte) != "train":
            continue
        if any(e.pos == call.start_byte and e.kind in ("eval", "mode") for e in events(ctx)):
            continue   # its class's generate() calls self.eval() first
        if _in_training_step(ctx, call) or _train_mode_on_purpose(ctx, name, call) \
                or _gan_preview(ctx, name, call):
            continue
        if _fresh_in_this_function(ctx, recv, call) or _only_its_shape_is_read(ctx, call):
            continue
        if _given_to_a_trainer(ctx, name):
            continue   # the Trainer's evaluation strategy decides the mode it leaves
        reported.add((name, scope))
        fix = _fix(ctx, call, name)
        if fix is None and not facts.in_no_grad(call.start_byte):
            fix = _eval_around(ctx, statement_of(call), name)
        yield ctx.finding(
            call, f"`{name}.generate` runs while `{name}` is still in training mode: generate() "
            f"does not switch modes, so dropout stays active and the output is not the trained "
            f"model's; call `{name}.eval()` first.", fix=fix)


def _given_to_a_trainer(ctx, name: str) -> bool:
    """`name` is given to a transformers-style `Trainer` / `Seq2SeqTrainer` / `SFTTrainer` of
    the file (first argument or `model=`): after `trainer.train()` the model is in eval mode
    when the trainer evaluated last (`evaluation_strategy="epoch"`) and in train mode otherwise,
    which the code does not say (ethen's seq2seq notebook: generate after a Trainer that
    evaluates every epoch)."""
    for ctor in ctx.facts.calls_by_last_name().get("Trainer", []) + [
            c for last, calls in ctx.facts.calls_by_last_name().items()
            if last.endswith("Trainer") and last != "Trainer" for c in calls]:
        pos, kw = args_of(ctor)
        given = kw.get("model") or (pos[0] if pos else None)
        if given is not None and strip(given) is not None and ctx.text(strip(given)) == name:
            return True
    return False


def _evaluation_loops_in_training_mode(ctx, reported):
    """The same mistake without no_grad: a loop that evaluates (its iterable or its function is
    named like evaluation), never backpropagates, and calls a model with dropout / batch norm
    that is in training mode there. Neither eval() nor no_grad was used: the scores are those
    of a random subnetwork, and batch norm's running statistics learn from the test data."""
    facts = ctx.facts
    training = sorted(e.pos for e in events(ctx) if e.kind in ("backward", "step"))
    decided: dict = {}  # innermost loop -> the evaluation loop around it, or None
    for call in facts.plain_name_calls_in_order():
        loops = facts.loops_containing(call.start_byte)
        if not loops or facts.in_no_grad(call.start_byte):
            continue  # no loop: a single prediction; under no_grad: the check above
        key = loops[-1].start_byte
        if key not in decided:
            decided[key] = _evaluation_loop_around(ctx, loops, training)
        outer = decided[key]
        if outer is None:
            continue
        fn = strip(call.child_by_field_id(F_FUNCTION))
        name = ctx.text(fn)
        scope = facts.scope_id(call.start_byte)
        if (name, scope) in reported:
            continue
        if _mode_dependent(ctx, fn, name, call) is not True:
            continue
        if mode_at(ctx, name, call.start_byte) != "train" or _train_mode_on_purpose(ctx, name, call):
            continue
        if function_called_under_no_grad(ctx, call.start_byte):
            continue  # evaluate(model) called inside no_grad: the callers' business
        if _fresh_in_this_function(ctx, fn, call) or _only_its_shape_is_read(ctx, call) \
                or _warm_up_of_fresh_models(ctx, name, call):
            continue  # an untrained model built right here, or a look at the output's shape: no score
        reported.add((name, scope))
        fix = _eval_around(ctx, statement_of(outer), name)
        yield ctx.finding(
            call, f"`{name}` is evaluated while still in training mode: dropout stays active and "
            f"batch norm uses (and updates) batch statistics, so the scores are off; call "
            f"`{name}.eval()` before this loop.", fix=fix)


def _evaluation_loop_around(ctx, loops, training):
    """The loop, of `loops` around a call (outermost first), that evaluates, or None: all of
    them (`_evaluation_loop`), or the outermost of those that never train inside an epoch loop
    that does: `for x, y in val_loader:` after the batch loop, the usual per-epoch validation."""
    if _evaluation_loop(ctx, loops, training):
        return loops[0]
    facts = ctx.facts
    for k in range(1, len(loops)):
        lp = loops[k]
        if any_between(training, lp.start_byte, lp.end_byte):
            continue
        names = []
        for inner in loops[k:]:
            right = inner.child_by_field_id(F_RIGHT) if inner.type == "for_statement" else None
            if right is not None:
                names.extend(_IDENT.findall(facts.code_in(right)))
        own = _training_in_its_own_body(facts, loops[k - 1], training)
        if own:
            # Inside the training step itself: gradient accumulation before the backward pass,
            # metrics of the training batch, are training; a loop over held-out data after the
            # step (`if step % 100 == 0: for x, y in test_loader:`) evaluates.
            if lp.start_byte > max(own) and any(_HELD_OUT_NAME.search(n) for n in names):
                return lp
            return None
        return lp if any(EVAL_NAME.search(n) for n in names) else None
    return None


# Names of held-out data (not `acc`, `score` or `metrics`, which training steps compute too).
_HELD_OUT_NAME = re.compile(r"(?i)(?:^|_)(?:eval|evaluation|val|vali|valid|validation|test|testing|"
                            r"holdout|dev)(?:$|_)")


def _training_in_its_own_body(facts, loop, training) -> list:
    """Positions of backward passes and optimizer steps in `loop`'s body itself, not in a loop
    nested in it (the epoch loop's training is in its batch loop; the batch loop's is its own)."""
    return [pos for pos in training
            if loop.start_byte < pos < loop.end_byte and facts.innermost_loop(pos) == loop]


def _evaluation_loop(ctx, loops, training) -> bool:
    """The loops around a call form an evaluation: named so (an iterable or the enclosing
    function), and neither they nor that function run a backward pass or an optimizer step."""
    facts = ctx.facts
    outer = loops[0]
    func = facts.function_at(outer.start_byte)
    span = (func.start_byte, func.end_byte) if func is not None else (outer.start_byte, outer.end_byte)
    if any_between(training, span[0], span[1]):
        return False
    names = []
    for lp in loops:
        right = lp.child_by_field_id(F_RIGHT) if lp.type == "for_statement" else None
        if right is not None:
            names.extend(_IDENT.findall(facts.code_in(right)))
    if func is not None:
        fname = func.child_by_field_id(F_NAME)
        # (in a pytest module, `test_*` is a test: of shapes, say, not an evaluation)
        if fname is not None and not (ctx.text(fname).startswith("test") and is_test_module(ctx)):
            names.append(ctx.text(fname))
    return any(EVAL_NAME.search(n) for n in names)


_IDENT = re.compile(r"[A-Za-z_]\w*")
_LOADS = ("load_state_dict", "load_weights", "load", "load_checkpoint", "from_pretrained")


def _fresh_factory(ctx, value, callee) -> bool:
    """`build_model()`, a function of this file that builds a model class of the project or an
    `nn` module, loads nothing into it (no `load...`, `pretrained`, `weights=` in its code) and
    trains nothing (no backward pass, step, `fit` or optimizer)."""
    if callee.type != "identifier":
        return False
    func = ctx.facts.definition_in_effect(ctx.text(callee), value.start_byte)
    if func is None or _LOADING.search(ctx.facts.code_in(func)):
        return False
    qual, _ctor = ctx.values.instance(value)
    return qual is not None and (qual.startswith("torch.nn.") or ctx.values.local_class(qual) is not None)


# Loading weights, or training, inside the factory: what it returns is not fresh.
_LOADING = re.compile(r"load|pretrained|weights\s*=|checkpoint|from_|backward|\.step\(|\.fit\(|optim")


# What a shape check reads of an output: dropout and batch norm never change these.
_SHAPE_ATTRS = frozenset({"shape", "size", "dim", "ndim", "ndimension", "dtype", "device"})
_SHAPE_FUNCS = frozenset({"len", "type"})


def _only_its_shape_is_read(ctx, call) -> bool:
    """The model's output is only looked at for its shape: `model(x).shape`, or `out =
    model(x)` and every read of that value is `out.shape`, `out.size()`, `len(out)` ...
    (a cell that checks the sizes a fresh Transformer returns). The train-mode output has the
    same shape as the eval-mode one, so nothing is off."""
    parent = call.parent
    if parent is not None and parent.type == "attribute":
        return _shape_look(ctx, call)
    if parent is None or parent.type != "assignment" or parent.child_by_field_id(F_RIGHT) != call:
        return False
    target = parent.child_by_field_id(F_LEFT)
    if target is None or target.type != "identifier":
        return False
    facts, name = ctx.facts, ctx.text(target)
    mine = facts.binding(name, parent.end_byte)
    if mine is None or mine.target is None or mine.target.start_byte != target.start_byte:
        return False
    looks = 0
    for node in facts.identifiers_named(name):
        if node.start_byte == target.start_byte or _assigned(node):
            continue   # this assignment, or a new value bound to the name
        b = facts.binding(name, node.start_byte)
        if b is not None and b is not mine:
            continue   # another value under the same name (`output` is a common one)
        if b is None:
            if facts.scope_id(node.start_byte) == mine.scope:
                return False   # before it, or a loop's next turn: not known, count it as a read
            continue
        if not _shape_look(ctx, node) and not _inside_shape_function(ctx, node):
            return False
        looks += 1
    return looks > 0   # an output nobody reads yet is the start of an evaluation


def _shape_look(ctx, node) -> bool:
    """`node.shape`, `node.size()`, `node.dim()` ..."""
    parent = node.parent
    if parent is None or parent.type != "attribute" or parent.child_by_field_id(F_OBJECT) != node:
        return False
    attr = parent.child_by_field_id(F_ATTRIBUTE)
    return attr is not None and ctx.text(attr) in _SHAPE_ATTRS


def _assigned(node) -> bool:
    parent = node.parent
    return parent is not None and parent.type == "assignment" and parent.child_by_field_id(F_LEFT) == node


def _inside_shape_function(ctx, node) -> bool:
    """`node` is the only argument of `len(...)` / `type(...)`."""
    args = node.parent
    call = args.parent if args is not None and args.type == "argument_list" else None
    if call is None or call.type != "call" or len(args.named_children) != 1:
        return False
    fn = call.child_by_field_id(F_FUNCTION)
    return fn is not None and fn.type == "identifier" and ctx.text(fn) in _SHAPE_FUNCS


# Module methods that leave the weights as they are.
_LEAVES_WEIGHTS = frozenset({"to", "cuda", "cpu", "half", "float", "double", "bfloat16", "eval", "train",
                             "requires_grad_", "state_dict", "zero_grad", "apply", "modules", "children",
                             "named_modules", "named_children", "buffers", "named_buffers", "extra_repr",
                             "register_buffer", "register_forward_hook", "register_forward_pre_hook"})


def _in_main_block(ctx, node) -> bool:
    """Inside `if __name__ == "__main__":`, a script's smoke test of what it defines."""
    parent = node.parent
    while parent is not None:
        if parent.type == "if_statement":
            cond = parent.child_by_field_id(F_CONDITION)
            if cond is not None and "__name__" in ctx.text(cond) and "__main__" in ctx.text(cond):
                return True
        parent = parent.parent
    return False


def _fresh_in_this_function(ctx, fn, call) -> bool:
    """`name` is built by its class's constructor (`decoder = Decoder()`, a class of this file
    or an `nn` layer) in the function (or `__main__` block) that evaluates it, and between the two nothing loads
    weights into it, is handed it (`train(model, ...)` may train it) or trains it (an optimizer
    over its parameters, a backward pass): its parameters are the random initial ones, so nothing it computes is a score to be off (hunkim's seq2seq `test()`
    prints tensor sizes). Pretrained factories (`resnet18(weights=...)`, `from_pretrained`) are
    not fresh. In a unit test (`test_*` of a test module) training it there keeps it fresh: a
    model trained from random weights inside the test checks the training code (the loss goes
    down), it is no trained model being scored; loading weights into it still does not."""
    facts = ctx.facts
    unit_test = _in_unit_test(ctx, call)
    module_level = facts.function_at(call.start_byte) is None
    if module_level and not _in_main_block(ctx, call):
        return False   # a notebook's or script's model: trained or loaded out of sight, maybe
    b = facts.assignment_of(fn)
    if b is None or b.scope != facts.scope_id(call.start_byte):
        return False
    value = strip(b.value)
    for _ in range(4):
        while value is not None and value.type == "call":   # `Net().cuda()`, `Net().to(device)`
            recv, method = method_call(value)
            if method not in MODULE_SELF_METHODS or method in ("train", "eval") or recv is None:
                break
            value = strip(recv)
        if value is None or value.type != "identifier" or ctx.text(value) != ctx.text(fn):
            break
        # `model = model.to(device)`: the same module, built where the name was bound before
        b = facts.assignment_of(value)
        if b is None or b.scope != facts.scope_id(call.start_byte):
            return False
        value = strip(b.value)
    if value is None or value.type != "call":
        return False
    qual = facts.callee_qual(value)
    callee = strip(value.child_by_field_id(F_FUNCTION))
    if callee is None or callee.type not in ("identifier", "attribute"):
        return False
    # A model class of the project (this file or another module: `sm.AttnDecoderRNN(...)`) or
    # an `nn` layer; not a pretrained factory.
    model_class = ctx.values.local_class(qual or ctx.text(callee)) is not None
    if not model_class and not (qual or "").startswith("torch.nn.") and not _fresh_factory(ctx, value, callee):
        return False
    name = ctx.text(fn)
    for c in facts.calls:
        if c.start_byte >= call.start_byte:
            break
        if c.start_byte <= b.pos:
            continue
        pos, kw = args_of(c)
        callee_last = ctx.text(c.child_by_field_id(F_FUNCTION)).rsplit(".", 1)[-1]
        if any(a is not None and ctx.text(strip(a)) == name for a in [*pos, *kw.values()]) \
                and not _INSPECTS.search(callee_last) and not (unit_test and not _LOADER.search(callee_last)):
            return False   # handed to a helper that may train or load it
        recv, method = method_call(c)
        if method in _LOADS and recv is not None and ctx.text(recv) == name:
            return False
        if unit_test:
            continue   # trained inside the unit test: still no trained model's score
        if method in ("parameters", "named_parameters") and _counts_parameters(ctx, c):
            continue   # `sum(p.numel() for p in model.parameters())`
        if recv is not None and ctx.text(recv) == name and method not in _LEAVES_WEIGHTS:
            return False   # `model.fit(loader)`: a method of its own that may train it
        if method in ("parameters", "named_parameters") and recv is not None and ctx.text(recv) == name:
            return False   # an optimizer over it: trained here first
        callee_fn = strip(c.child_by_field_id(F_FUNCTION))
        if module_level and recv is None and callee_fn is not None and callee_fn.type == "identifier" \
                and facts.functions_named(ctx.text(callee_fn)):
            return False   # at module level a function of the file may train the global model
    if not unit_test and any(b.pos < e.pos < call.start_byte and e.kind in ("backward", "step") for e in events(ctx)):
        return False       # a backward pass or an optimizer step (not `env.step`) before
    return True


_LOADER = re.compile(r"(?i)load|restore|from_pretrained|checkpoint")


def _in_unit_test(ctx, node) -> bool:
    """Inside a `test_*` function (or method) of a test module: pytest runs it, the file does not."""
    func = ctx.facts.function_at(node.start_byte)
    name = func.child_by_field_id(F_NAME) if func is not None else None
    return name is not None and ctx.text(name).startswith("test_") and is_test_module(ctx)


def _warm_up_of_fresh_models(ctx, name, call) -> bool:
    """`model(x)` as a statement of its own, its output thrown away (a timing warm-up), in a
    helper whose every call in the file passes a model built fresh in the calling function (as
    `_fresh_in_this_function` sees it), from no loop around that call that might train it
    between two calls (another call given the model, a backward pass or an optimizer step).
    Nothing is scored, and the batch-norm statistics it updates are those of random weights."""
    parent = call.parent
    if parent is None or parent.type != "expression_statement":
        return False
    pairs = param_calls(ctx, name, call.start_byte)
    if not pairs:
        return False
    facts = ctx.facts
    for caller, arg in pairs:
        arg = strip(arg)
        if arg is None or arg.type != "identifier" or not _fresh_in_this_function(ctx, arg, caller):
            return False
        built = facts.assignment_of(arg)
        given = ctx.text(arg)
        for loop in facts.loops_containing(caller.start_byte):
            if built is not None and loop.start_byte <= built.pos < loop.end_byte:
                continue   # a model built anew on each turn
            if any(loop.start_byte < e.pos < loop.end_byte and e.kind in ("backward", "step")
                   for e in events(ctx)):
                return False
            for c in facts.calls:
                if c.start_byte >= loop.end_byte:
                    break
                if c.start_byte < loop.start_byte or c is caller or c.start_byte == caller.start_byte:
                    continue
                pos, kw = args_of(c)
                if any(a is not None and ctx.text(strip(a)) == given for a in [*pos, *kw.values()]):
                    return False
                recv, method = method_call(c)
                if recv is not None and ctx.text(recv) == given and method not in _LEAVES_WEIGHTS:
                    return False
    return True


# Helpers that only look at a model: counting its parameters, printing a summary.
_INSPECTS = re.compile(r"(?i)^(print|len|str|repr|type|id|isinstance|summary|"
                       r"count_param\w*|num_param\w*|n_param\w*|param_count|get_n_params|"
                       r"get_num_params|parameter_count|model_size|show)$")


def _counts_parameters(ctx, call) -> bool:
    """`sum(p.numel() for p in model.parameters())`: the parameters are counted, not optimized."""
    node = call.parent
    while node is not None and node.type not in ("expression_statement", "assignment", "block", "module"):
        if node.type in ("generator_expression", "list_comprehension") and ".numel()" in ctx.text(node):
            return True
        node = node.parent
    return False


def _in_training_step(ctx, call):
    """The call shares its innermost loop with a backward pass, or, outside any loop, its
    function runs one: a no_grad forward inside a training step (GAN samples for monitoring, RL
    targets, a GAN's fakes for the discriminator step) is often in training mode on purpose."""
    facts = ctx.facts
    loop = facts.innermost_loop(call.start_byte)
    if loop is None:
        # a step function with no loop of its own (`def discriminator_step(...)`: fakes from the
        # generator under no_grad, then backward): the same, one step per call
        fn = facts.function_at(call.start_byte)
        return fn is not None and any(
            e.kind == "backward" and e.pos > call.end_byte and facts.function_at(e.pos) == fn
            and facts.innermost_loop(e.pos) is None
            for e in events(ctx))
    return any(e.kind == "backward" and facts.innermost_loop(e.pos) == loop
               for e in events(ctx))


# A GAN's generator by its name (`generator`, `netG`, `G`, `gen`, `g_model`), in a file that
# has a discriminator (`netD`, `disc`): a `text_generator` of a language model is no GAN's, and
# a transformer's `d_model` or an actor-critic's `critic` is no discriminator.
_GENERATOR_NAME = re.compile(r"(?i)^(g|gen|net_?g|g_?net|g_?model|generator|gan_?generator)$")
_DISCRIMINATOR = re.compile(rb"(?i)discriminator|\bnet_?d\b|\bdisc\b")
_CRITIC = re.compile(rb"(?i)\bcritic\b")   # a WGAN's discriminator ...
_ACTOR = re.compile(rb"(?i)\bactor\b|\bpolicy\b")   # ... unless this is actor-critic RL


def _gan_preview(ctx, name, call) -> bool:
    """Samples from a GAN generator under no_grad in a loop that trains (a backward pass in it,
    in a nested batch loop too): the end-of-epoch preview of DCGAN-style code, made in training
    mode on purpose, as the generator always runs. A classifier validated there is still
    reported (its name says nothing of a generator)."""
    facts = ctx.facts
    if not _GENERATOR_NAME.match(name) or not (
            facts.code_matches(_DISCRIMINATOR)
            or (facts.code_matches(_CRITIC) and not facts.code_matches(_ACTOR))):
        return False
    loops = facts.loops_containing(call.start_byte)
    if not loops:
        return False
    outer = loops[-1]
    return any(e.kind == "backward" and outer.start_byte < e.pos < outer.end_byte for e in events(ctx))


def _train_mode_on_purpose(ctx, name, call):
    """`net.train()` and then, with no training in between, sampling under no_grad: training
    mode was asked for to keep dropout on at inference (Monte Carlo dropout). After a backward
    pass, an optimizer step or a call to a local function that trains, train() was for training."""
    facts = ctx.facts
    scope = facts.scope_id(call.start_byte)
    last = None
    for e in events(ctx):
        if e.pos >= call.start_byte:
            break
        if e.kind in ("eval", "train", "mode") and e.target == name and facts.scope_id(e.pos) == scope:
            last = e
    if last is None or last.kind != "train":
        return False
    trainers = set()
    for e in events(ctx):
        if e.kind not in ("backward", "step"):
            continue
        if last.pos < e.pos < call.start_byte:
            return False
        fn = facts.function_at(e.pos)
        while fn is not None:  # a helper that trains, and the functions around it
            fname = fn.child_by_field_id(F_NAME)
            if fname is not None:
                trainers.add(ctx.text(fname))
            fn = facts.function_at(fn.start_byte)
    for fname in trainers:
        if any(last.pos < c.start_byte < call.start_byte for c in facts.calls_named(fname)):
            return False
    # `model.train(); fit(model, loader)` with fit from another module may train it too.
    region = min((w.start_byte for w in facts.withs
                  if w.start_byte < call.start_byte < w.end_byte and facts._is_no_grad_with(w)),
                 default=call.start_byte)
    for c in facts.calls:
        if c.start_byte <= last.pos:
            continue
        if c.start_byte >= region:
            break
        pos, kw = args_of(c)
        if any(ctx.text(strip(a)) == name for a in list(pos) + list(kw.values())):
            return False
    return True


def _mode_dependent(ctx, fn, name, call):
    dep = model_is_mode_dependent(ctx, fn)
    if dep is not None:
        return dep
    args = param_arguments(ctx, name, call.start_byte)  # test(model, loader): ask the callers
    return args is not None and any(model_is_mode_dependent(ctx, a) is True for a in args)


def _fix(ctx, call, name):
    """Insert `name.eval()` before the `with torch.no_grad():` block that holds the call. When
    training goes on after this evaluation (the block is in a loop that trains, or in a function
    called from one), leaving the model in eval mode would train it without dropout from then
    on: the fix then also inserts `name.train()` right after the block, and offers nothing when
    the block can be left early (return, break, raise ...), where that line would not run."""
    for w in ctx.facts.withs:
        if w.start_byte < call.start_byte < w.end_byte and ctx.facts._is_no_grad_with(w):
            return _eval_around(ctx, statement_of(w), name)
    return None


def _eval_around(ctx, stmt, name):
    """`name.eval()` before `stmt` (the evaluation), and `name.train()` after it when training
    goes on afterwards; None when that second line could be skipped."""
    indent = ctx.line_indent(stmt)
    before = TextEdit(ctx.line_start(stmt), ctx.line_start(stmt), f"{indent}{name}.eval()\n")
    if not _training_follows(ctx, stmt):
        return Fix(f"Call `{name}.eval()` before evaluating", (before,))
    if _leaves_early(stmt) or ctx.own_lines(stmt) is None:
        return None
    end = ctx.own_lines(stmt)[1]
    newline = "" if ctx.doc.data[:end].endswith(b"\n") else "\n"
    return Fix(f"Call `{name}.eval()` before evaluating and `{name}.train()` after",
               (before, TextEdit(end, end, f"{newline}{indent}{name}.train()\n")))


def _training_follows(ctx, stmt) -> bool:
    """`stmt` sits in a loop that also runs a backward pass, or in a plain function called from
    inside such a loop."""
    backwards = [c.start_byte for c in ctx.facts.calls_ending("backward")]
    if not backwards:
        return False

    def in_training_loop(node) -> bool:
        parent = node.parent
        while parent is not None:
            if parent.type in ("for_statement", "while_statement") and \
                    any(parent.start_byte <= b < parent.end_byte for b in backwards):
                return True
            parent = parent.parent
        return False

    if in_training_loop(stmt):
        return True
    fn = ctx.facts.function_at(stmt.start_byte)
    ident = fn.child_by_field_id(F_NAME) if fn is not None else None
    return ident is not None and any(in_training_loop(c) for c in ctx.facts.calls_named(ctx.text(ident)))


_EXITS = frozenset({"return_statement", "break_statement", "continue_statement", "raise_statement", "yield"})
_SCOPES = frozenset({"function_definition", "lambda", "class_definition"})


def _leaves_early(stmt) -> bool:
    """The statement can be left other than by falling off its end (nested functions aside)."""
    stack = list(stmt.named_children)
    while stack:
        node = stack.pop()
        if node.type in _EXITS:
            return True
        if node.type not in _SCOPES:
            stack.extend(node.named_children)
    return False


RULE = Rule("missing-eval-mode", Severity.WARNING, "train-eval-mode",
            "Inference without model.eval()", check, needs=(b"torch",))
