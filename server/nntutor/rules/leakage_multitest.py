"""leakage-multitest: the test set used to choose between models, hyper-parameters or epochs."""
from __future__ import annotations

from bisect import bisect_left, bisect_right

from ..findings import Severity
from ..namescan import whole_name_matches
from ..parsing import (
    F_ARGUMENTS,
    F_ATTRIBUTE,
    F_BODY,
    F_CONSEQUENCE,
    F_FUNCTION,
    F_KEY,
    F_LEFT,
    F_NAME,
    F_OBJECT,
    F_RIGHT,
    F_SUPERCLASSES,
    F_VALUE,
)
from ..values import args_of, follow, literal_value, method_call, string_value, strip
from . import Rule
from ._modes import param_arguments
from ._splits import _walk, flow, is_literal, short, side_of_name, tokens
from ._training import events

_METRIC_SUFFIXES = ("_score", "_error", "_loss")
_METRIC_EXTRA = {"matthews_corrcoef", "hinge_loss", "zero_one_loss", "cohen_kappa_score"}
_EVAL_WORDS = {"evaluate", "eval", "test", "score", "accuracy", "validate", "validation", "precision"}
_SELECTORS = {"max", "min", "argmax", "argmin", "nanargmax", "nanargmin", "idxmax", "idxmin",
              "nlargest", "nsmallest"}
_CONTAINER_METHODS = {"append", "extend", "insert", "add", "update", "__setitem__"}
_SCALAR_METHODS = {"mean", "item", "numpy", "tolist", "cpu", "detach", "sum", "max", "min"}
_SCALAR_FUNCS = {"float", "round", "abs", "int"}


# The first words of the early-stopping findings (Keras / scikit-learn and Lightning).
_STOPPED_ON_TEST = ("Early stopping (or best-checkpoint saving) is driven by the test set, which is then "
                    "used again for the final evaluation: ")


def check(ctx):
    fl = flow(ctx)
    yield from _selection_loops(ctx, fl)
    yield from _early_stopping_on_test(ctx, fl)
    yield from _booster_early_stopping_on_test(ctx, fl)
    yield from _lightning_selection_on_test(ctx, fl)
    yield from _optuna_objectives(ctx, fl)
    yield from _tuner_searches_on_test(ctx, fl)
    yield from _best_kept_across_calls(ctx, fl)
    yield from _best_epoch_kept_inline(ctx, fl)


# -- what is a test score -------------------------------------------------------------------
def _score_args(ctx, call):
    """Arguments of a call that computes a score, or None when it is not a scoring call."""
    facts = ctx.facts
    q = facts.callee_qual(call)
    pos, kw = args_of(call)
    args = pos + list(kw.values())
    fn = strip(call.child_by_field_id(F_FUNCTION))
    if q is not None:
        s = short(q)
        if q.startswith("sklearn.metrics.") and (s.endswith(_METRIC_SUFFIXES) or s in _METRIC_EXTRA):
            return args
        if q.startswith("sklearn.") or fn is None or fn.type != "identifier":
            return None
        # `from training.metrics import mean_average_precision`: a helper of the project, by its name
    recv, m = method_call(call)
    if recv is not None:
        return args if m in ("score", "evaluate") and args else None
    if fn is not None and fn.type == "identifier" and set(tokens(ctx.text(fn))) & _EVAL_WORDS:
        return args
    return None


def test_score(ctx, fl, call):
    """(True, by_flow) when `call` scores on test data, else (False, False)."""
    args = _score_args(ctx, call)
    if args is None:
        return False, False
    found, flow_known, sided = False, False, False
    for a in args:
        side, by_flow, _k = fl.origin(a)
        if not by_flow and (_names_no_data(ctx, a) or _is_environment(ctx, a) or _is_number(ctx, a)):
            continue   # `test_writer` by its name only: where results go, not data
        if side is None and _side_through_call(ctx, fl, a) == "test":
            side = "test"
        sided = sided or side is not None
        if side == "test":
            found = True
            flow_known = flow_known or by_flow
        elif side in ("train", "val") and by_flow:
            return False, False
    if not sided:   # `prec1 = test()`, `acc = test(epoch)`: the data is the helper's own
        return _helper_scores_test(ctx, fl, call), False
    return found, flow_known


def _side_through_call(ctx, fl, arg) -> str | None:
    """The one split whose data a name was computed from by a call: `pred_boxes, true_boxes =
    get_bboxes(test_loader, model)` holds boxes of the test data, so `mean_average_precision(
    pred_boxes, true_boxes)` scores on it. None when unknown or several."""
    arg = strip(arg)
    b = fl.binding_of(arg) if arg is not None and arg.type == "identifier" else None
    made = strip(b.value) if b is not None and b.kind == "assign" else None
    if made is None or made.type != "call":
        return None
    pos, kw = args_of(made)
    sides = set()
    for a in [*pos, *kw.values()]:
        side, by_flow, _k = fl.origin(a)
        if side is not None and (by_flow or not (_names_no_data(ctx, a) or _is_environment(ctx, a)
                                                 or _is_number(ctx, a))):
            sides.add(side)
    return sides.pop() if len(sides) == 1 else None


def _counts(ctx, loop) -> bool:
    """`for _ in range(test_episodes):` counts episodes or steps; it does not go over data."""
    right = strip(loop.child_by_field_id(F_RIGHT)) if loop.type == "for_statement" else None
    fn = strip(right.child_by_field_id(F_FUNCTION)) if right is not None and right.type == "call" else None
    return fn is not None and ctx.text(fn) == "range"


def _helper_scores_test(ctx, fl, call) -> bool:
    """`prec1 = test()` (or `test(epoch)`: no data passed): a helper of the file whose body loops
    over test data (the module's `test_loader`) and over no validation or training data (loops
    over `range(...)` aside)."""
    fn = strip(call.child_by_field_id(F_FUNCTION))
    if fn is None or fn.type != "identifier":
        return False
    cache = ctx.values.__dict__.setdefault("_helper_scores_test", {})
    name = ctx.text(fn)
    if name not in cache:
        defs = ctx.facts.functions_named(name)
        sides = set()
        if len(defs) == 1:
            func = defs[0]
            sides = {_side_of_loop(ctx, fl, lp) for lp in ctx.facts.loops
                     if func.start_byte < lp.start_byte < func.end_byte and not _counts(ctx, lp)}
        cache[name] = "test" in sides and not sides & {"val", "train"}
    return cache[name]


# Where results go, not data: `test_writer` (a TensorBoard writer for the test curves),
# `val_logger`. (Not `log`, `file`, `path`: `X_test_log` and `test_file` are data.)
_NOT_DATA_WORDS = frozenset({"writer", "writers", "logger", "summary", "summaries", "tensorboard", "tb",
                             "callback", "callbacks"})


def _names_no_data(ctx, arg) -> bool:
    arg = strip(arg)
    return arg is not None and arg.type == "identifier" and bool(set(tokens(ctx.text(arg))) & _NOT_DATA_WORDS)


def _is_number(ctx, arg) -> bool:
    """`test_episodes` bound to `5`: a count (of episodes, steps, samples), not data."""
    value = strip(follow(ctx.facts, arg))
    if value is not None and value.type == "unary_operator":
        value = strip(value.named_children[-1]) if value.named_children else None
    return value is not None and value.type in ("integer", "float")


# A simulator, not data: `test_env = gym.make(...)` plays new episodes at every evaluation, so
# there is no fixed test set to be tuned to.
_ENV_WORDS = frozenset({"env", "envs", "environment", "environments"})
_ENV_MODULES = ("gym.", "gymnasium.")


def _is_environment(ctx, arg) -> bool:
    """`test_env`, `eval_env` by the name, or a name bound from `gym.make(...)` /
    `gymnasium.make(...)` (or a wrapper of theirs), `make_env(...)` or a `*Env` class."""
    arg = strip(arg)
    if arg is None or arg.type != "identifier":
        return False
    if set(tokens(ctx.text(arg))) & _ENV_WORDS:
        return True
    made = strip(follow(ctx.facts, arg))
    if made is None or made.type != "call":
        return False
    q = ctx.facts.callee_qual(made)
    if q is not None and q.startswith(_ENV_MODULES):
        return True
    fn = strip(made.child_by_field_id(F_FUNCTION))
    name = ctx.text(fn.child_by_field_id(F_ATTRIBUTE)) if fn is not None and fn.type == "attribute" \
        else ctx.text(fn) if fn is not None and fn.type == "identifier" else ""
    return name.endswith("Env") or bool(set(tokens(name)) & _ENV_WORDS)


# -- a helper that keeps the best across its calls -------------------------------------------
def _best_kept_across_calls(ctx, fl):
    """kuangliu/pytorch-cifar's `test(epoch)`: a function that loops over test data, compares
    what it computed with a `global best_acc` and keeps the better one (assigns it, saves a
    checkpoint), called once per epoch from a loop. The selection runs across the calls: the
    kept checkpoint and its score are the best of many test scores."""
    facts = ctx.facts
    for stmt in _global_statements(ctx):
        func = facts.function_at(stmt.start_byte)
        name_node = func.child_by_field_id(F_NAME) if func is not None else None
        if name_node is None:
            continue
        kept = {ctx.text(n) for n in stmt.named_children if n.type == "identifier"}
        data_loops = [(lp, _side_of_loop(ctx, fl, lp)) for lp in facts.loops
                      if func.start_byte < lp.start_byte < func.end_byte]
        test_loop = next((lp for lp, side in data_loops if side == "test"), None)
        if test_loop is None or any(side == "val" for _lp, side in data_loops):
            continue   # it also scores validation data: which score is compared is not known
        looped = [c for c in facts.calls_named(ctx.text(name_node)) if facts.loops_containing(c.start_byte)]
        if not looped:
            continue
        body = func.child_by_field_id(F_BODY)
        for cmp in _walk(body, ("comparison_operator",)):
            if cmp.start_byte < test_loop.end_byte:
                continue
            ops = {c.type for c in cmp.children if not c.is_named}
            operands = [strip(o) for o in cmp.named_children]
            if not ops & {"<", ">", "<=", ">="} or len(operands) != 2 \
                    or not all(o is not None and o.type == "identifier" for o in operands):
                continue
            names = [ctx.text(o) for o in operands]
            best = [n for n in names if n in kept]
            if len(best) != 1 or any(side_of_name(n) in ("val", "train") for n in names):
                continue   # `if val_acc > best_val_acc:` selects on validation data
            score = next(n for n in names if n not in kept)
            if not _computed_in(ctx, score, cmp.start_byte, test_loop):
                continue   # `epoch_loss < best_loss`: a training loss, not the test score
            stmt_if = cmp.parent
            cons = stmt_if.child_by_field_id(F_CONSEQUENCE) if stmt_if is not None \
                and stmt_if.type in ("if_statement", "elif_clause") else None
            if cons is None or not _assigns(ctx, cons, best[0]):
                continue
            yield ctx.finding(
                cmp,
                f"The test set is used to pick the best epoch: `{ctx.text(name_node)}()` scores the "
                f"model on test data at every call and keeps the best in `{best[0]}`, and it is "
                "called in a loop. The kept checkpoint and its score are the best of many test "
                "scores, so they are optimistic. Select on a validation split, and evaluate the "
                "chosen model on the test set once.",
                related=[ctx.related(looped[0], "called once per iteration here"),
                         ctx.related(test_loop, "the test data it scores on")],
                confidence=0.8)
            break


def _best_epoch_kept_inline(ctx, fl):
    """The same selection written out in the epoch loop: after the batches, a loop over the test
    data accumulates a score (`correct += ...`), and `if acc > best_acc:` keeps the checkpoint
    and the score. Not when the epoch also scores validation data (which score is compared is
    then not known), nor when the compared score is not the test loop's."""
    facts = ctx.facts
    sides = {lp.start_byte: _side_of_loop(ctx, fl, lp) for lp in facts.loops}
    epochs: dict = {}   # epoch loop start -> (epoch loop, its test loops in order)
    for test_loop in facts.loops:
        if sides[test_loop.start_byte] != "test":
            continue
        outer = facts.loops_containing(test_loop.start_byte)
        if outer:
            epochs.setdefault(outer[-1].start_byte, (outer[-1], []))[1].append(test_loop)
    if not epochs:
        return
    training = [e.pos for e in events(ctx) if e.kind in ("backward", "step")]
    for epoch, tests in epochs.values():
        inside = [p for p in training if epoch.start_byte < p < epoch.end_byte]
        if not any(not any(t.start_byte < p < t.end_byte for t in tests) for p in inside):
            continue   # the loop around it does not train: not a choice among epochs
        if any(side == "val" and epoch.start_byte < start < epoch.end_byte for start, side in sides.items()):
            continue
        ends = [t.end_byte for t in tests]
        body = epoch.child_by_field_id(F_BODY) or epoch
        for cmp in _walk(body, ("comparison_operator",)):
            i = bisect_right(ends, cmp.start_byte) - 1
            if i < 0:
                continue
            test_loop = tests[i]   # the last test loop before the comparison
            found = _keeps_best(ctx, cmp, test_loop)
            if found is None:
                continue
            yield ctx.finding(
                cmp,
                f"The test set is used to pick the best epoch: each epoch scores the model on test "
                f"data and `{found}` keeps the best one. The kept checkpoint and its score are the "
                "best of many test scores, so they are optimistic. Select on a validation split, "
                "and evaluate the chosen model on the test set once.",
                related=[ctx.related(test_loop, "the test data scored at every epoch")],
                confidence=0.8)
            break


def _keeps_best(ctx, cmp, test_loop) -> str | None:
    """`if acc > best_acc:` whose body assigns `best_acc` (or saves), with `acc` computed in
    `test_loop` or from what it updates: the name kept, else None."""
    ops = {c.type for c in cmp.children if not c.is_named}
    operands = [strip(o) for o in cmp.named_children]
    if not ops & {"<", ">", "<=", ">="} or len(operands) != 2 \
            or not all(o is not None and o.type == "identifier" for o in operands):
        return None
    stmt_if = cmp.parent
    cons = stmt_if.child_by_field_id(F_CONSEQUENCE) if stmt_if is not None \
        and stmt_if.type in ("if_statement", "elif_clause") else None
    if cons is None:
        return None
    names = [ctx.text(o) for o in operands]
    if any(side_of_name(n) in ("val", "train") for n in names):
        return None
    for score, best in (names, names[::-1]):
        if _assigns(ctx, cons, best) and _computed_in(ctx, score, cmp.start_byte, test_loop):
            return best
    return None


def _global_statements(ctx):
    """The `global ...` statements inside functions, found from the text (most files have none,
    and walking every function body to find the few is slower than the search)."""
    data, root = ctx.doc.data, ctx.doc.tree.root_node
    out = []
    at = data.find(b"global ")
    while at != -1:
        node = root.descendant_for_byte_range(at, at + 6)
        stmt = node.parent if node is not None and node.type == "global" else None
        if stmt is not None and stmt.type == "global_statement" and ctx.facts.function_at(at) is not None:
            out.append(stmt)
        at = data.find(b"global ", at + 7)
    return out


def _side_of_loop(ctx, fl, loop):
    """train / val / test for `for x, y in test_loader:` (by the data's flow, or its name)."""
    right = strip(loop.child_by_field_id(F_RIGHT)) if loop.type == "for_statement" else None
    while right is not None and right.type == "call":   # enumerate(test_loader), tqdm(...)
        pos = args_of(right)[0]
        if not pos:
            return None
        right = strip(pos[0])
    if right is None:
        return None
    if right.type == "identifier":
        # `def test(epoch, testloader, net)` called only as `test(epoch, valid_loader, net)`:
        # what the callers pass, not the parameter's name
        passed = param_arguments(ctx, ctx.text(right), right.start_byte)
        sides = {fl.origin(a)[0] for a in passed} if passed else set()
        if sides and sides <= {"val", "train"}:
            return "val" if "val" in sides else "train"
    return fl.origin(right)[0]


def _computed_in(ctx, name: str, pos: int, loop) -> bool:
    """The value of `name` at `pos` is computed in `loop` (`correct += ...` inside it), or from
    names updated there (`acc = 100 * correct / total` after it)."""
    facts = ctx.facts
    b = facts.binding(name, pos)
    if b is None:
        return False
    if loop.start_byte < b.pos < loop.end_byte:
        return True
    updated = set()
    for stmt in _walk(loop, ("assignment", "augmented_assignment")):
        left = stmt.child_by_field_id(F_LEFT)
        if left is not None and left.type == "identifier":
            updated.add(ctx.text(left))
    value = b.value
    return value is not None and b.pos > loop.end_byte and any(
        ctx.text(i) in updated for i in _walk(value, ("identifier",)))


def _assigns(ctx, block, name: str) -> bool:
    for a in _walk(block, ("assignment",)):
        left = a.child_by_field_id(F_LEFT)
        if left is not None and left.type == "identifier" and ctx.text(left) == name:
            return True
    return False


# -- loops that keep the best -------------------------------------------------------------
def _selection_loops(ctx, fl):
    facts = ctx.facts
    reported_loops = set()
    if not facts.loops:
        return
    for call, name in fl.calls_where(lambda name: name in ("score", "evaluate")
                                     or name.endswith(_METRIC_SUFFIXES) or name in _METRIC_EXTRA
                                     or bool(set(tokens(name)) & _EVAL_WORDS)):
        loops = facts.loops_containing(call.start_byte)
        if not loops:
            continue
        is_test, by_flow = test_score(ctx, fl, call)
        if not is_test:
            continue
        for loop in reversed(loops):
            if loop.start_byte in reported_loops:
                break
            sel = _selection(ctx, fl, loop, call)
            if sel is None:
                continue
            reported_loops.add(loop.start_byte)
            node, how = sel
            yield ctx.finding(
                call,
                "The test set is used to pick the best candidate: this loop scores every "
                f"candidate on test data and {how}. The chosen model is then tuned to this test "
                "set, so its test score is optimistic. Select on a validation split or with "
                "cross-validation, and evaluate the winner on the test set once.",
                related=[ctx.related(node, "the best candidate is chosen here")],
                confidence=1.0 if by_flow else 0.6)
            break


def _ordering_comparisons(ctx, body):
    """The `<`, `>`, `<=`, `>=` comparisons in `body`, in text order, and their start bytes:
    walked once per loop body (a loop scoring hundreds of candidates asks once per score)."""
    cache = ctx.values.__dict__.setdefault("_ordering_comparisons", {})
    key = (body.start_byte, body.end_byte)
    if key not in cache:
        found = [c for c in _walk(body, ("comparison_operator",))
                 if {k.type for k in c.children if not k.is_named} & {"<", ">", "<=", ">="}]
        found.sort(key=lambda c: c.start_byte)
        cache[key] = found, [c.start_byte for c in found]
    return cache[key]


def _fixed_parameter(ctx, node, loop) -> bool:
    """`if acc >= target_acc: needed = seen; break` with `target_acc` a parameter of the function
    that the loop never rebinds: a threshold given by the caller, like a literal (time to reach a
    target accuracy). A parameter the loop assigns (`best_acc = acc`) is a kept best score."""
    node = strip(node)
    if node is None or node.type != "identifier":
        return False
    facts, name = ctx.facts, ctx.text(node)
    b = facts.binding(name, node.start_byte)
    return b is not None and b.kind == "param" and facts.binding(name, loop.end_byte) is b


def _best_of_one_example(call, score) -> bool:
    """`max(f1_score(pred, ref1), f1_score(pred, ref2))`: the score is computed inside the max,
    among other freshly computed scores only (several references of one example), with no kept
    best among them (`max(best, model.score(...))` keeps one across the loop)."""
    if not (call.start_byte <= score.start_byte and score.end_byte <= call.end_byte):
        return False
    pos, _kw = args_of(call)
    return len(pos) > 1 and all(strip(a) is not None and strip(a).type == "call" for a in pos)


def _condition_of(node):
    """The statement or expression that `node` (a comparison, a name) is the condition of,
    through `and` / `or` / `not` and parentheses; else the first other node above it."""
    stmt = node.parent
    while stmt is not None and stmt.type in ("boolean_operator", "parenthesized_expression", "not_operator"):
        stmt = stmt.parent
    return stmt


def _branch_keeps(ctx, stmt) -> bool:
    """The `if` branch assigns something or saves."""
    cons = stmt.child_by_field_id(F_CONSEQUENCE)
    return cons is not None and (any(True for _ in _walk(cons, ("assignment", "augmented_assignment")))
                                 or "save" in ctx.text(cons))


def _flag_tests(ctx, assign, body):
    """`is_best = acc > best_acc` then `if is_best:` in `body`: the `if` statements that test
    the flag assigned by `assign` (the whole comparison, to one name) before it is rebound."""
    left = assign.child_by_field_id(F_LEFT)
    if left is None or left.type != "identifier":
        return
    name, facts = ctx.text(left), ctx.facts
    for ident in facts.identifiers_named(name):
        if not assign.end_byte <= ident.start_byte < body.end_byte:
            continue
        b = facts.binding(name, ident.start_byte)
        if b is None or not assign.start_byte <= b.pos < assign.end_byte:
            break   # rebound: later tests are of another value
        stmt = _condition_of(ident)
        if stmt is not None and stmt.type in ("if_statement", "elif_clause") \
                and stmt.child_by_field_id(F_CONSEQUENCE).start_byte > ident.start_byte:
            yield stmt


def _best_of_calls(ctx, body) -> list:
    """The `max(...)` / `min(...)` calls in `body` (once per loop body)."""
    cache = ctx.values.__dict__.setdefault("_best_of_calls", {})
    key = (body.start_byte, body.end_byte)
    if key not in cache:
        found = []
        for call in ctx.facts.calls_in(body):
            fn = strip(call.child_by_field_id(F_FUNCTION))
            if fn is not None and fn.type == "identifier" and ctx.text(fn) in ("max", "min"):
                found.append(call)
        cache[key] = found
    return cache[key]


def _selection(ctx, fl, loop, score):
    """(node, description) of the place where the loop keeps the best test score, or None."""
    names, containers = _score_targets(ctx, fl, loop, score)
    body = loop.child_by_field_id(F_BODY) or loop

    idents = ctx.values.__dict__.setdefault("_identifier_texts", {})

    def mentions(node):
        if node is None:
            return False
        if node.start_byte <= score.start_byte and score.end_byte <= node.end_byte:
            return True
        key = (node.start_byte, node.end_byte, node.type)
        found = idents.get(key)
        if found is None:   # asked again for every score of the loop: read each node once
            found = idents[key] = frozenset(ctx.text(i) for i in _walk(node, ("identifier",)))
        return not found.isdisjoint(names)

    comparisons, starts = _ordering_comparisons(ctx, body)
    for cmp in comparisons[bisect_left(starts, score.start_byte):]:
        operands = cmp.named_children
        if not any(mentions(o) for o in operands) \
                or all(is_literal(o) or mentions(o) or _fixed_parameter(ctx, o, loop) for o in operands):
            continue
        stmt = _condition_of(cmp)
        if stmt is not None and stmt.type in ("if_statement", "elif_clause"):
            if _branch_keeps(ctx, stmt):
                return cmp, "keeps the one with the best test score"
        elif stmt is not None and stmt.type == "conditional_expression":
            return cmp, "keeps the one with the best test score"
        elif stmt is not None and stmt.type == "assignment" and any(
                _branch_keeps(ctx, test) for test in _flag_tests(ctx, stmt, body)):
            return cmp, "keeps the one with the best test score"
    for call in _best_of_calls(ctx, body):
        if call.end_byte < score.start_byte or _best_of_one_example(call, score):
            continue
        if any(mentions(a) for a in args_of(call)[0]) and not _only_compared(ctx, call) \
                and not _range_shown(ctx, call, ctx.text(call.child_by_field_id(F_FUNCTION))) \
                and not _plotted(ctx, call):
            fn = strip(call.child_by_field_id(F_FUNCTION))
            return call, f"keeps the best with `{ctx.text(fn)}(...)`"
    if not containers:
        return None
    for call in ctx.facts.calls:
        if call.start_byte < loop.end_byte:
            continue
        fn = strip(call.child_by_field_id(F_FUNCTION))
        name = ctx.text(fn.child_by_field_id(F_ATTRIBUTE)) if fn is not None and fn.type == "attribute" \
            else (ctx.text(fn) if fn is not None else "")
        if name not in _SELECTORS or _plotted(ctx, call) or _range_shown(ctx, call, name):
            continue
        if fl.sources(call) & containers and _reaches_scores(ctx, fl, call, containers, False, 0):
            return call, f"collects the test scores, then picks the best with `{name}`"
    return None


# A model's outputs, not its scores: `chosen.predict(X)` where `chosen` was taken from the
# container of the scores (`results[alpha] = {"rmse": ..., "model": model}`); also any method
# named for predicting (`monte_carlo_predict`, `predict_with_uncertainty`).
_PREDICTIONS = frozenset({"predict", "predict_proba", "predict_log_proba", "predict_classes",
                          "decision_function", "forward"})


def _reaches_scores(ctx, fl, node, containers, scored: bool, depth: int) -> bool:
    """`node` gets its values from the score `containers` other than through the predictions
    of a model taken out of them: `np.max(preds.std(0))` of `chosen = results[0.1]["model"]`
    is a spread of that model's outputs, no choice among the scores. (A prediction scored
    again, `accuracy_score(y_test, m.predict(X_test))`, is a score. Not known: reaches.)"""
    node = strip(node)
    if node is None:
        return False
    if depth > 24:
        return True
    if not fl.sources(node) & containers:
        return False
    t = node.type
    if t == "identifier":
        b = fl.binding_of(node)
        if b is None or fl.key_of(node) in containers or b.kind != "assign" or b.value is None:
            return True
        v = strip(b.value)
        part = fl._unpacked_part(b, v) if b.index is not None else v
        if not fl.sources(part) & containers:
            return True   # through a mutation or a fill of the name: not followed here
        return _reaches_scores(ctx, fl, part, containers, scored, depth + 1)
    if t == "call":
        scored = scored or _score_args(ctx, node) is not None
        recv, m = method_call(node)
        if recv is not None and m is not None and (m in _PREDICTIONS or "predict" in m) and not scored:
            pos, kw = args_of(node)
            return any(_reaches_scores(ctx, fl, a, containers, scored, depth + 1) for a in [*pos, *kw.values()])
    if t == "attribute":
        return _reaches_scores(ctx, fl, node.child_by_field_id(F_OBJECT), containers, scored, depth + 1)
    return any(_reaches_scores(ctx, fl, c, containers, scored, depth + 1) for c in node.named_children)


_ONLY_SHOWS = frozenset({"print", "display", "pprint", "info", "debug", "warning", "log", "write", "echo"})


def _only_compared(ctx, call) -> bool:
    """`if stacked_score > max(scores): print(i)`: the best score is only compared with another
    number, and the branch only prints (no assignment, no `break`/`return`, no other call: an
    `append`, a `dump` keeps something)."""
    node = call.parent
    while node is not None and node.type in ("parenthesized_expression", "argument_list"):
        node = node.parent
    if node is None or node.type != "comparison_operator":
        return False
    stmt = node.parent
    while stmt is not None and stmt.type in ("boolean_operator", "parenthesized_expression", "not_operator"):
        stmt = stmt.parent
    if stmt is None or stmt.type not in ("if_statement", "elif_clause"):
        return False
    cons = stmt.child_by_field_id(F_CONSEQUENCE)
    if cons is None:
        return False
    for s in cons.named_children:
        if s.type == "comment":
            continue
        value = s.named_children[0] if s.type == "expression_statement" and s.named_children else None
        if value is None or value.type != "call":
            return False   # an assignment, break, return, if ...
        fn = strip(value.child_by_field_id(F_FUNCTION))
        name = ctx.text(fn).rsplit(".", 1)[-1] if fn is not None else ""
        if name not in _ONLY_SHOWS:
            return False
    return True


_OPPOSITE = {"max": "min", "argmax": "argmin", "nanargmax": "nanargmin", "idxmax": "idxmin",
             "nlargest": "nsmallest"}
_OPPOSITE.update({v: k for k, v in list(_OPPOSITE.items())})
# What a shown value may pass through on its way into a `print` / `logging.info`: an f-string's
# `{...}`, `%` formatting, `"...".format(...)`, a rounding, a dict of a log call
# (`wandb.log({"max_test": np.max(s), "min_test": np.min(s)})`).
_INTO_TEXT = frozenset({"interpolation", "string", "concatenated_string", "argument_list", "binary_operator",
                        "parenthesized_expression", "tuple", "list", "keyword_argument", "pair", "dictionary"})
_TEXT_CALLS = frozenset({"format", "round", "float", "int", "str"})


def _range_shown(ctx, call, name: str) -> bool:
    """`print(f"Range: [{min(scores):.3f}, {max(scores):.3f}]")`: the selector `call` goes only
    into a print or a log line, which shows its opposite (`min` with `max`) of the same scores
    too: the spread of the test scores across seeds, reported, and nothing picked. A best score
    printed alone (`print("best", max(scores))`) is still the best of many test scores."""
    node, shown = call, None
    while node.parent is not None:
        parent = node.parent
        if parent.type == "call":
            fn = strip(parent.child_by_field_id(F_FUNCTION))
            last = ctx.text(fn).rsplit(".", 1)[-1] if fn is not None else ""
            if last in _ONLY_SHOWS:
                shown = parent
                break
            if last not in _TEXT_CALLS:
                return False
        elif parent.type not in _INTO_TEXT:
            return False
        node = parent
    opposite = _OPPOSITE.get(name.rsplit(".", 1)[-1])
    if shown is None or opposite is None:
        return False
    want = _without_name(ctx, call)
    for other in ctx.facts.calls_in(shown):
        fn = strip(other.child_by_field_id(F_FUNCTION))
        if fn is not None and ctx.text(fn).rsplit(".", 1)[-1] == opposite and _without_name(ctx, other) == want:
            return True
    return False


def _without_name(ctx, call) -> str:
    """`np.max(scores)` -> `np.(scores)`, `scores.max(0)` -> `scores.(0)`: what a selector is
    applied to, to match `min` and `max` of the same scores."""
    fn = strip(call.child_by_field_id(F_FUNCTION))
    head = ctx.text(fn).rsplit(".", 1)[0] + "." if fn is not None and fn.type == "attribute" else ""
    return head + ctx.text(call.child_by_field_id(F_ARGUMENTS))


# Drawing calls: `ax.fill_between(x, scores.min(0).values, scores.max(0).values)` shades the
# spread of the test scores across runs (bentrevett/pytorch-rl); nothing is chosen.
_PLOTS = frozenset({"plot", "fill_between", "fill_betweenx", "errorbar", "scatter", "bar", "barh",
                    "hist", "boxplot", "violinplot", "axhline", "axvline", "hlines", "vlines", "step",
                    "semilogy", "semilogx", "loglog", "imshow", "annotate", "text"})


def _plotted(ctx, call) -> bool:
    """`call` (an argmax, a .min(0) ...) is, as it is or through attributes / subscripts of its
    result, an argument of a drawing call; or it goes into a name that is only ever drawn with
    (`maxcheck = max(np.max(mse_train), np.max(mse_test))`, then `plt.vlines(5, 0, maxcheck)`,
    `plt.ylim([0, maxcheck])`: the height of a plot)."""
    if _drawing_call(ctx, call):
        return True
    holder = call
    while holder.parent is not None and holder.parent.type in (
            "argument_list", "call", "binary_operator", "parenthesized_expression", "list", "tuple"):
        holder = holder.parent
    assign = holder.parent
    if assign is None or assign.type != "assignment" or assign.child_by_field_id(F_RIGHT) != holder:
        return False
    left = assign.child_by_field_id(F_LEFT)
    if left is None or left.type != "identifier":
        return False
    name = ctx.text(left)
    uses = [m.start() for m in whole_name_matches(ctx.doc.data, name.encode(), assign.end_byte)
            if not ctx.facts.in_comment(m.start()) and _reads_binding_of(ctx, name, m.start(), left)]
    root = ctx.doc.tree.root_node
    return bool(uses) and all(_drawn(ctx, root.named_descendant_for_byte_range(u, u)) for u in uses)


def _reads_binding_of(ctx, name: str, pos: int, target) -> bool:
    """The name at `pos` reads the value bound at `target` (or one not known): `max_c = 0` again
    before a second figure, and what it is then used for, is another value."""
    node = ctx.doc.tree.root_node.named_descendant_for_byte_range(pos, pos)
    parent = node.parent if node is not None else None
    if parent is not None and parent.type == "assignment" and parent.child_by_field_id(F_LEFT) == node:
        return False   # bound again here, not read
    b = ctx.facts.binding(name, pos)
    return b is None or b.target.start_byte == target.start_byte


_LIMITS = frozenset({"ylim", "xlim", "set_ylim", "set_xlim", "axis"})


def _drawn(ctx, node) -> bool:
    """`node` sits in the arguments of a drawing or axis-limit call (`plt.ylim([0, top])`)."""
    while node is not None and node.type not in ("block", "module", "expression_statement"):
        if node.type == "call":
            fn = strip(node.child_by_field_id(F_FUNCTION))
            last = ctx.text(fn.child_by_field_id(F_ATTRIBUTE)) if fn is not None and fn.type == "attribute" \
                else (ctx.text(fn) if fn is not None else "")
            if last in _PLOTS or last in _LIMITS:
                return True
        node = node.parent
    return False


def _drawing_call(ctx, call) -> bool:
    node = call
    while node.parent is not None and node.parent.type in ("attribute", "subscript", "parenthesized_expression") \
            and node.parent.child_by_field_id(F_OBJECT if node.parent.type == "attribute" else F_VALUE) == node:
        node = node.parent
    parent = node.parent
    if parent is not None and parent.type == "keyword_argument":
        parent = parent.parent
    if parent is None or parent.type != "argument_list" or parent.parent is None:
        return False
    fn = strip(parent.parent.child_by_field_id(F_FUNCTION))
    last = ctx.text(fn.child_by_field_id(F_ATTRIBUTE)) if fn is not None and fn.type == "attribute" \
        else (ctx.text(fn) if fn is not None else "")
    return last in _PLOTS


def _score_targets(ctx, fl, loop, score):
    """Names the score is assigned to, and binding keys of containers it is stored in."""
    names: set = set()
    containers: set = set()
    node = score
    while node is not None and node.start_byte > loop.start_byte:
        parent = node.parent
        if parent is None:
            break
        if parent.type == "assignment" and parent.child_by_field_id(F_RIGHT) == node:
            left = parent.child_by_field_id(F_LEFT)
            if left is not None and left.type in ("subscript", "attribute"):
                _add_container(fl, left, containers)
            elif left is not None:
                found = [ctx.text(i) for i in _walk(left, ("identifier",))]
                # `val_acc, test_acc = evaluate(model, ..., val_idx, test_idx)`: a call given
                # validation data too returns its score in the validation slot, not a test
                # score (selecting on it and recording the test score beside it is the protocol)
                tested = [n for n in found if side_of_name(n) == "test"] or \
                    [n for n in found if side_of_name(n) not in ("val", "train")]
                if len(found) > 1 and tested and _scores_validation_too(fl, score):
                    found = tested   # (`eval_acc, test_acc, pred = evaluate(..., val_nid, test_nid)`)
                names |= set(found)
            break
        if parent.type == "argument_list":
            call = parent.parent
            recv, m = method_call(call) if call is not None else (None, None)
            if m in _CONTAINER_METHODS and recv is not None:
                _add_container(fl, recv, containers)
                break
        if parent.type in ("expression_statement", "block", "if_statement", "for_statement",
                           "while_statement", "return_statement"):
            break
        node = parent
    # Containers that later receive the score variable: scores.append(acc), results[k] = acc.
    body = loop.child_by_field_id(F_BODY) or loop
    if names:
        for call in ctx.facts.calls_in(body):
            recv, m = method_call(call)
            if m in _CONTAINER_METHODS and recv is not None and call.start_byte > score.start_byte \
                    and any(ctx.text(i) in names
                            for i in _walk(call.child_by_field_id(F_ARGUMENTS), ("identifier",))):
                _add_container(fl, recv, containers)
        for asg in _walk(body, ("assignment",)):
            left = asg.child_by_field_id(F_LEFT)
            right = asg.child_by_field_id(F_RIGHT)
            if left is None or right is None or left.type != "subscript" or asg.start_byte < score.start_byte:
                continue
            if any(ctx.text(i) in names for i in _walk(right, ("identifier",))):
                _add_container(fl, left, containers)
    return names, containers


def _scores_validation_too(fl, score) -> bool:
    node = score
    while node is not None and node.type != "call":
        node = node.parent
    if node is None:
        return False
    pos, kw = args_of(node)
    return any(fl.origin(a)[0] == "val" for a in [*pos, *kw.values()])


def _add_container(fl, node, containers):
    node = strip(node)
    while node is not None and node.type in ("subscript", "attribute"):
        node = strip(node.child_by_field_id(F_VALUE) if node.type == "subscript"
                     else node.child_by_field_id(F_OBJECT))
    if node is not None and node.type == "identifier":
        key = fl.key_of(node)
        if key is not None:
            containers.add(key)


# -- early stopping / checkpoints driven by the test set ---------------------------------
def _early_stopping_on_test(ctx, fl):
    for call in fl.calls_named({"fit"}):
        recv, _m = method_call(call)
        if recv is None:
            continue
        kw = _keywords(ctx, call)
        node = kw.get("validation_data") or kw.get("eval_set")
        if node is None:
            continue
        pairs = _pairs(ctx, node)
        test_x = None
        for pair in pairs:
            side, by_flow, keys = fl.origin(pair)
            if side == "test":
                test_x, flow_known, test_keys = pair, by_flow, set(keys)
                break
        if test_x is None:
            continue
        stopper = _stopper(ctx, call, recv, kw)
        if stopper is None:
            continue
        final = _later_evaluation(ctx, fl, call, test_keys, ctx.text(strip(recv)))
        if final is None:
            continue
        if _rebuilt_between(ctx, strip(recv), call, final):
            continue   # `model = create_model()` again: the final score is another model's
        if _checkpoint_only(ctx, stopper):
            final = _evaluation_after_a_load(ctx, fl, call, test_keys)
            if final is None:
                continue   # the best epoch is saved to a file nobody loads: the score is the last epoch's
        yield ctx.finding(
            node,
            _STOPPED_ON_TEST + "the epoch or round count was chosen to do well "
            "on exactly these rows, so the final score is optimistic. Stop on a separate "
            "validation split.",
            related=[ctx.related(stopper, "stops or checkpoints on the test score"),
                     ctx.related(final, "the same test data used for the final score")],
            confidence=1.0 if flow_known else 0.6)


# The booster APIs: `lgb.train(params, dtrain, valid_sets=[dvalid], callbacks=[lgb.early_stopping(50)])`,
# `xgb.train(params, dtrain, evals=[(dvalid, "valid")], early_stopping_rounds=50)`.
_BOOSTER_TRAIN = {"lightgbm.train": "valid_sets", "xgboost.train": "evals"}
_BOOSTER_DATA = ("lightgbm.Dataset", "xgboost.DMatrix")


def _booster_early_stopping_on_test(ctx, fl):
    facts = ctx.facts
    for call in facts.calls_to(set(_BOOSTER_TRAIN)):
        kw = _keywords(ctx, call)
        node = kw.get(_BOOSTER_TRAIN[facts.callee_qual(call)])
        stopper = _stopper(ctx, call, None, kw)   # early_stopping_rounds=, or lgb.early_stopping() in callbacks
        if node is None or stopper is None:
            continue
        test_x = None
        items = _items(ctx, node)
        if facts.callee_qual(call) == "xgboost.train":
            items = items[-1:]   # XGBoost stops on the last of its evals; LightGBM on any
        for item in items:
            x = _booster_data_rows(ctx, item)
            side, by_flow, keys = fl.origin(x) if x is not None else (None, False, [])
            if side == "test":
                # the rows, and the Dataset / DMatrix wrapping them (`bst.predict(dtest)`)
                test_x, flow_known, test_keys = x, by_flow, set(keys) | set(fl.origin(item)[2])
                break
        if test_x is None:
            continue
        parent = call.parent
        left = parent.child_by_field_id(F_LEFT) if parent is not None and parent.type == "assignment" else None
        model = ctx.text(left) if left is not None and left.type == "identifier" else ""
        final = _later_evaluation(ctx, fl, call, test_keys, model)
        if final is None:
            continue
        yield ctx.finding(
            node,
            "Early stopping is driven by the test set, which is then used again for the final "
            "evaluation: the number of boosting rounds was chosen to do well on exactly these "
            "rows, so the final score is optimistic. Stop on a separate validation split.",
            related=[ctx.related(stopper, "stops on the test score"),
                     ctx.related(final, "the same test data used for the final score")],
            confidence=1.0 if flow_known else 0.6)


# PyTorch Lightning: `trainer.fit(model, train_loader, val_loader)` validates on its third
# argument every epoch; a `ModelCheckpoint(monitor="val_acc")` keeps the best epoch, an
# `EarlyStopping(monitor="val_loss")` stops at it.
_LIGHTNING = ("pytorch_lightning", "lightning")


def _lightning_selection_on_test(ctx, fl):
    for call in fl.calls_named({"fit"}):
        recv, _m = method_call(call)
        q, ctor = ctx.values.instance(recv) if recv is not None else (None, None)
        if ctor is None or not _is_lightning(q, "Trainer"):
            continue
        pos, kw = args_of(call)
        loader = kw.get("val_dataloaders", kw.get("val_dataloader", pos[2] if len(pos) > 2 else None))
        side, by_flow, keys = fl.origin(loader) if loader is not None else (None, False, [])
        if side != "test":
            continue
        stopper, checkpoint = _lightning_selectors(ctx, ctor)
        test_keys = set(keys)
        final = None
        if stopper is not None:   # the model in memory is the stopped one, and so is any checkpoint
            model = strip(kw.get("model", pos[0] if pos else None))
            final = _lightning_evaluation(ctx, fl, call, test_keys, recv, any_weights=True) \
                or _later_evaluation(ctx, fl, call, test_keys, ctx.text(model) if model is not None else "")
        elif checkpoint is not None:   # only the saved best epoch was chosen: it must be reloaded
            stopper = checkpoint
            final = _lightning_evaluation(ctx, fl, call, test_keys, recv, any_weights=False)
        if final is None:
            continue
        yield ctx.finding(
            loader,
            _STOPPED_ON_TEST + "Lightning validates on this loader every epoch "
            "and the epoch was chosen to do well on exactly these rows, so the final score is "
            "optimistic. Validate on a separate validation split.",
            related=[ctx.related(stopper, "stops or checkpoints on the score of that loader"),
                     ctx.related(final, "the same test data used for the final score")],
            confidence=1.0 if by_flow else 0.6)


def _is_lightning(qual, name: str) -> bool:
    return qual is not None and short(qual) == name and qual.split(".", 1)[0] in _LIGHTNING


def _lightning_selectors(ctx, trainer):
    """(an EarlyStopping, a ModelCheckpoint) of the Trainer's callbacks that watch a validation
    metric (`monitor="val_acc"`), either None. No monitor: the checkpoint keeps the last epoch."""
    _p, kw = args_of(trainer)
    items = []
    cbs = kw.get("callbacks")
    if cbs is not None:
        lst = strip(follow(ctx.facts, cbs))
        items = list(lst.named_children) if lst is not None and lst.type in ("list", "tuple") else [cbs]
    if "checkpoint_callback" in kw:   # Lightning < 1.5
        items.append(kw["checkpoint_callback"])
    stopper = checkpoint = None
    for item in items:
        q, c = ctx.values.instance(item)
        if c is None or not (_is_lightning(q, "EarlyStopping") or _is_lightning(q, "ModelCheckpoint")):
            continue
        monitor = args_of(c)[1].get("monitor")
        metric = string_value(monitor) if monitor is not None else None
        if metric is None or side_of_name(metric.replace("/", "_").replace("-", "_")) not in ("val", "test"):
            continue   # no monitor, a training metric, or one we cannot read
        if short(q) == "EarlyStopping":
            stopper = stopper or item
        else:
            checkpoint = checkpoint or item
    return stopper, checkpoint


def _lightning_evaluation(ctx, fl, fit_call, test_keys, trainer, any_weights: bool):
    """A later `trainer.test(...)` / `trainer.validate(...)` on the same test data that scores the
    selected epoch: any weights when early stopping chose them; else the best checkpoint reloaded
    (`ckpt_path="best"`, no model given to the trainer that fitted, or a model loaded with
    `load_from_checkpoint(...best_model_path)`), also scored with a helper or `.evaluate`."""
    trainer_name = ctx.text(strip(trainer))
    loaded = set()   # the load_from_checkpoint calls of the best checkpoint
    for load, _r in ctx.facts.method_calls("load_from_checkpoint"):
        parent = load.parent
        left = parent.child_by_field_id(F_LEFT) if parent is not None and parent.type == "assignment" else None
        pos, kw = args_of(load)
        path = pos[0] if pos else kw.get("checkpoint_path")
        if load.start_byte < fit_call.end_byte or left is None or left.type != "identifier" \
                or path is None or "best" not in ctx.text(strip(follow(ctx.facts, path))):
            continue
        loaded.add(load.start_byte)
        found = _later_evaluation(ctx, fl, load, test_keys, ctx.text(left))
        if found is not None:
            return found
    for call in fl.calls_named({"test", "validate"}):
        recv, _m = method_call(call)
        if call.start_byte < fit_call.end_byte or recv is None:
            continue
        pos, kw = args_of(call)
        if not any(set(fl.origin(a)[2]) & test_keys for a in [*pos, *kw.values()]):
            continue
        model = kw.get("model", pos[0] if pos else None)
        if model is not None and set(fl.origin(model)[2]) & test_keys:
            model = None   # `trainer.test(test_loader)`: the loader, no model
        ckpt = kw.get("ckpt_path")
        ckpt_text = ctx.text(strip(follow(ctx.facts, ckpt))) if ckpt is not None else ""
        if any_weights or "best" in ckpt_text:
            pass
        elif ckpt is None and model is None:
            if ctx.text(strip(recv)) != trainer_name:
                continue   # another trainer: its own (no) checkpoint
        elif not (ckpt is None and _bound_to(ctx, model, loaded)):
            continue   # the weights in memory (the last epoch), or another file
        q, _c = ctx.values.instance(recv)
        if q is not None and not _is_lightning(q, "Trainer"):
            continue
        return call
    return None


def _bound_to(ctx, node, calls: set) -> bool:
    """`node` is a name whose value there is one of the `calls` (by start byte)."""
    node = strip(node)
    if node is None or node.type != "identifier":
        return False
    b = ctx.facts.binding(ctx.text(node), node.start_byte)
    value = strip(b.value) if b is not None and b.kind == "assign" and b.index is None else None
    return value is not None and value.start_byte in calls


def _items(ctx, node):
    """The elements of a list or tuple literal (through a name), or the node itself."""
    n = strip(follow(ctx.facts, node))
    if n is not None and n.type in ("list", "tuple"):
        out = []
        for c in n.named_children:
            c = strip(c)
            # xgboost's `evals=[(dvalid, "valid")]`: the data is the pair's first element
            out.append(strip(c.named_children[0]) if c is not None and c.type == "tuple" and c.named_children else c)
        return out
    return [n] if n is not None else []


def _booster_data_rows(ctx, expr):
    """The rows a `lgb.Dataset(X, label=y)` / `xgb.DMatrix(X, label=y)` holds, or None."""
    made = strip(follow(ctx.facts, expr))
    if made is None or made.type != "call" or ctx.facts.callee_qual(made) not in _BOOSTER_DATA:
        return None
    pos, kw = args_of(made)
    return pos[0] if pos else kw.get("data")


def _keywords(ctx, call) -> dict:
    """The call's keyword arguments, with those of a `**fit_params` whose name holds a dict
    literal (`fit_params = {"eval_set": [(X_test, y_test)], ...}`); written ones win."""
    _pos, kw = args_of(call)
    args = call.child_by_field_id(F_ARGUMENTS)
    for splat in (a for a in (args.named_children if args is not None else ()) if a.type == "dictionary_splat"):
        d = strip(follow(ctx.facts, splat.named_children[0] if splat.named_children else None))
        if d is None or d.type != "dictionary":
            continue
        for pair in d.named_children:
            if pair.type != "pair":
                continue
            key = string_value(pair.child_by_field_id(F_KEY))
            value = pair.child_by_field_id(F_VALUE)
            if key is not None and value is not None:
                kw.setdefault(key, value)
    return kw


def _pairs(ctx, node):
    """First elements (the X) of validation_data=(X, y) / eval_set=[(X, y), ...], or the one
    object given (`validation_data=test_ds`: a tf.data dataset or a generator)."""
    n = strip(follow(ctx.facts, node))
    if n is None:
        return []
    if n.type not in ("tuple", "list"):
        return [node]
    kids = [strip(c) for c in n.named_children]
    if kids and all(k is not None and k.type in ("tuple", "list") for k in kids):
        return [k.named_children[0] for k in kids if k.named_children]
    return kids[:1]


def _stopper(ctx, call, recv, kw):
    """The early-stopping / best-checkpoint configuration of this fit, or None."""
    facts = ctx.facts
    if "early_stopping_rounds" in kw:
        return kw["early_stopping_rounds"]
    _cq, ctor = ctx.values.instance(recv) if recv is not None else (None, None)
    if ctor is not None:
        _p, ckw = args_of(ctor)
        if "early_stopping_rounds" in ckw:
            return ckw["early_stopping_rounds"]
    cbs = kw.get("callbacks")
    if cbs is None:
        return None
    lst = strip(follow(facts, cbs))
    items = lst.named_children if lst is not None and lst.type in ("list", "tuple") else [cbs]
    checkpoint = None
    for item in items:   # early stopping first, whatever the order of the list
        q, c = ctx.values.instance(item)
        if q is None:
            continue
        s = short(q)
        if s in ("EarlyStopping", "ModelCheckpoint") and c is not None and _monitors_training(c):
            continue   # `monitor="accuracy"`: stops on the training metric, the test data only logs
        if s in ("EarlyStopping", "early_stopping"):
            return item
        if s == "ModelCheckpoint" and c is not None and checkpoint is None:
            _p, ckw = args_of(c)
            sb = ckw.get("save_best_only")
            if sb is not None and ctx.text(sb) == "True":
                checkpoint = item
    return checkpoint


def _rebuilt_between(ctx, recv, fit_call, final) -> bool:
    """The model's name is bound to a new model between the fit and the final evaluation (a
    constructor or factory call, not a method of the model itself such as sklearn's `model =
    model.fit(...)`, and nothing loaded: a saved checkpoint is this fit's)."""
    if recv is None or recv.type != "identifier":
        return False
    facts, name = ctx.facts, ctx.text(recv)
    before = facts.binding(name, fit_call.start_byte)
    after = facts.binding(name, final.start_byte)
    if after is None or after is before or after.kind != "assign" or after.value is None:
        return False
    if not fit_call.end_byte <= after.pos < final.start_byte:
        return False
    value = strip(after.value)
    if value is None or value.type != "call" or "load" in ctx.text(value):
        return False
    receiver, _m = method_call(value)
    if receiver is not None and ctx.text(strip(receiver)).split(".")[0] == name:
        return False
    # The stopped fit's history or callbacks read later (`epochs = len(history.epoch)`,
    # `es.stopped_epoch`: retraining for the epoch count the test set chose) carry the selection
    # over to the new model; a checkpoint loaded into it (`model.load_weights("best.h5")`) is
    # the stopped fit's own model.
    parent = fit_call.parent
    left = parent.child_by_field_id(F_LEFT) if parent is not None and parent.type == "assignment" else None
    carriers = [left] if left is not None and left.type == "identifier" else []
    cbs = _keywords(ctx, fit_call).get("callbacks")
    carriers += [i for i in _walk(cbs, ("identifier",))] if cbs is not None else []
    if any(i.start_byte > fit_call.end_byte for c in carriers for i in facts.identifiers_named(ctx.text(c))):
        return False
    loads = [c for m in _LOADS_WEIGHTS for c, r in facts.method_calls(m)
             if r is not None and ctx.text(strip(r)) == name and after.pos < c.start_byte < final.start_byte]
    return not loads


def _checkpoint_only(ctx, stopper) -> bool:
    """The selection is a `ModelCheckpoint(save_best_only=True)`, no early stopping: the model in
    memory trains every epoch; only the saved file holds the test-chosen epoch."""
    q, _c = ctx.values.instance(stopper)
    return q is not None and short(q) == "ModelCheckpoint"


def _evaluation_after_a_load(ctx, fl, fit_call, test_keys):
    """A score on the same test data of a model loaded after the fit (the saved checkpoint:
    `best = load_model(path)`, `model.load_weights(path)`), else None."""
    facts = ctx.facts
    for method in ("load_weights", "load_model", "load_state_dict", "load"):
        for load in facts.calls_by_last_name().get(method, ()):
            if load.start_byte < fit_call.end_byte:
                continue
            recv, _m = method_call(load)
            parent = load.parent
            if parent is not None and parent.type == "attribute" and parent.parent is not None \
                    and parent.parent.type == "call" and method_call(parent.parent)[1] in _PREDICTING:
                scored = parent.parent   # `load_model(path).evaluate(X_test, y_test)`
                if any(set(fl.origin(a)[2]) & test_keys for a in args_of(scored)[0]):
                    return scored
                continue
            if method in ("load_weights", "load_state_dict") and recv is not None:
                name = ctx.text(strip(recv))
            elif parent is not None and parent.type == "assignment" and parent.child_by_field_id(F_LEFT) is not None:
                name = ctx.text(parent.child_by_field_id(F_LEFT))
            else:
                continue
            found = _later_evaluation(ctx, fl, load, test_keys, name)
            if found is not None:
                return found
    return None


def _monitors_training(ctor) -> bool:
    """A Keras callback watching a training metric (`monitor="accuracy"` / `"loss"`); the
    default, `val_loss`, and any `val_*` watch the validation data."""
    _p, kw = args_of(ctor)
    monitor = string_value(kw["monitor"]) if "monitor" in kw else None
    return monitor is not None and not monitor.startswith("val_")


def _later_evaluation(ctx, fl, fit_call, test_keys, model: str):
    """A later score or prediction on the same test data, of this model (or of one loaded from
    a file, the saved best checkpoint): another model's final evaluation is not this one's."""
    for call in ctx.facts.calls:
        if call.start_byte <= fit_call.end_byte:
            continue
        _recv, m = method_call(call)
        args = _score_args(ctx, call)
        if args is None and m in ("predict", "predict_proba", "predict_classes") and not _explains(call):
            args = args_of(call)[0]
        for a in args or ():
            _s, _f, keys = fl.origin(a)
            if set(keys) & test_keys and not _of_another_model(ctx, call, model):
                return call
    return None


# XGBoost / LightGBM predictions that explain the model rather than score it: SHAP values,
# interaction values, leaf indices.
_EXPLAINING = frozenset({"pred_contribs", "pred_interactions", "pred_leaf", "pred_contrib", "approx_contribs"})


def _explains(call) -> bool:
    """`booster.predict(dtest, pred_contribs=True)`: feature contributions for a plot."""
    _pos, kw = args_of(call)
    return any(k in _EXPLAINING and literal_value(v) is True for k, v in kw.items())


_PREDICTING = frozenset({"predict", "predict_proba", "predict_classes", "evaluate", "score", "__call__"})


def _of_another_model(ctx, call, model: str) -> bool:
    """Every model the evaluation `call` predicts with (`other.predict(x_test)`, in it or in its
    arguments) is a name other than `model`, and none of them is loaded from a file."""
    others = set()
    for c in [call, *ctx.facts.calls_in(call)]:
        recv, m = method_call(c)
        if recv is None or m not in _PREDICTING:
            continue
        recv = strip(recv)
        if recv is None or recv.type != "identifier":
            return False
        name = ctx.text(recv)
        if name == model:
            return False
        b = ctx.facts.binding(name, recv.start_byte)
        if b is None or b.value is None or "load" in ctx.text(b.value):
            return False   # unknown, or loaded (the checkpoint saved by this fit?)
        value = strip(b.value)
        if value is not None and value.type == "identifier" and ctx.text(value) == model:
            return False   # `final_model = model`: the same model
        if any(r is not None and ctx.text(r) == name and b.pos < c.start_byte < call.start_byte
               for m in _LOADS_WEIGHTS for c, r in ctx.facts.method_calls(m)):
            return False   # `best = create_model(); best.load_weights(path)`: the checkpoint
        others.add(name)
    return bool(others)


_LOADS_WEIGHTS = ("load_weights", "load_state_dict", "load")


# -- optuna objectives returning a test score ---------------------------------------------
def _optuna_objectives(ctx, fl):
    facts = ctx.facts
    has_optuna = "optuna" in " ".join(facts.imports.values())
    for call in fl.calls_named({"optimize"}):
        recv, _m = method_call(call)
        if recv is None:
            continue
        if not has_optuna and "study" not in ctx.text(recv).lower():
            continue
        pos, kw = args_of(call)
        obj = pos[0] if pos else kw.get("func")
        obj = strip(obj)
        if obj is None or obj.type != "identifier":
            continue
        name = ctx.text(obj)
        for func in facts.functions:
            fname = func.child_by_field_id(F_NAME)
            if fname is None or ctx.text(fname) != name:
                continue
            body = func.child_by_field_id(F_BODY)
            for ret in _walk(body, ("return_statement",), skip_defs=True):
                value = ret.named_children[0] if ret.named_children else None
                hit = _test_score_in(ctx, fl, value, 0)
                if hit is None:
                    continue
                score, by_flow = hit
                yield ctx.finding(
                    score,
                    "This optuna objective returns a test-set score, so every trial is chosen by "
                    "its test performance and the best trial's test score is optimistic. Return a "
                    "validation or cross-validation score and keep the test set for the end.",
                    related=[ctx.related(call, "the study maximises the test score here")],
                    confidence=1.0 if by_flow else 0.6)
                break


# -- keras-tuner searches scored on the test set --------------------------------------------
_TUNER_MODULES = ("keras_tuner.", "kerastuner.")
_TUNERS = {"RandomSearch", "BayesianOptimization", "Hyperband", "GridSearch"}


def _tuner_searches_on_test(ctx, fl):
    """`tuner.search(..., validation_data=(X_test, y_test))` with a `val_*` objective: every
    trial is ranked by its test score, so the best hyper-parameters are fitted to the test set."""
    for call in fl.calls_named({"search"}):
        recv, _m = method_call(call)
        q, ctor = ctx.values.instance(recv) if recv is not None else (None, None)
        if q is None and recv is not None:   # a class of the file that is no model: by its name
            made = strip(follow(ctx.facts, recv))
            fn = made.child_by_field_id(F_FUNCTION) if made is not None and made.type == "call" else None
            if fn is not None and fn.type == "identifier":
                q, ctor = ctx.text(fn), made
        if q is None or ctor is None or not _is_tuner(ctx, q):
            continue
        objective = _tuner_objective(ctx, ctor)
        if objective is None or not objective.startswith("val_"):
            continue   # a training metric (or one we cannot read): the validation data only reports
        node = _keywords(ctx, call).get("validation_data")
        if node is None:
            continue
        for pair in _pairs(ctx, node):
            side, by_flow, _keys = fl.origin(pair)
            if side != "test":
                continue
            yield ctx.finding(
                node,
                f"The tuner ranks every trial by `{objective}` on this data, which is the test set: "
                "the hyper-parameters are chosen to do well on exactly these rows, so the best "
                "trial's score, and any later test score of its model, is optimistic. Search with a "
                "separate validation split and keep the test set for the end.",
                related=[ctx.related(ctor, f"the tuner's objective is {objective}")],
                confidence=1.0 if by_flow else 0.6)
            break


def _is_tuner(ctx, qual: str, depth: int = 0) -> bool:
    """A keras-tuner tuner class, or a class of the file derived from one (`class
    MyTuner(kt.RandomSearch)` overriding run_trial)."""
    if qual.startswith(_TUNER_MODULES):
        return short(qual) in _TUNERS
    if depth > 3:
        return False
    for node in ctx.facts.classes_nodes:
        name, supers = node.child_by_field_id(F_NAME), node.child_by_field_id(F_SUPERCLASSES)
        if name is None or supers is None or ctx.text(name) != qual:
            continue
        for base in supers.named_children:
            q = ctx.facts.qual(base) or ctx.text(base)
            if _is_tuner(ctx, q, depth + 1):
                return True
    return False


def _tuner_objective(ctx, ctor):
    """The metric name of a tuner's `objective=` ("val_accuracy", or
    `keras_tuner.Objective("val_loss", direction="min")`), or None."""
    pos, kw = args_of(ctor)
    obj = kw.get("objective")
    if obj is None and len(pos) > 1:
        obj = pos[1]   # (hypermodel, objective, ...)
    obj = strip(follow(ctx.facts, obj))
    if obj is not None and obj.type == "call":
        p, k = args_of(obj)
        obj = p[0] if p else k.get("name")
    return string_value(obj) if obj is not None else None


def _test_score_in(ctx, fl, node, depth):
    node = strip(node)
    if node is None or depth > 8:
        return None
    if node.type == "identifier":
        b = fl.binding_of(node)
        if b is None or b.kind != "assign" or b.value is None:
            return None
        v = strip(b.value)
        if b.index is not None:
            v = fl._unpacked_part(b, v)
            if v is strip(b.value) and v.type == "call":
                ok, by_flow = test_score(ctx, fl, v)
                return (v, by_flow) if ok else None
        return _test_score_in(ctx, fl, v, depth + 1)
    if node.type == "call":
        ok, by_flow = test_score(ctx, fl, node)
        if ok:
            return node, by_flow
        recv, m = method_call(node)
        if recv is not None and m in _SCALAR_METHODS:
            return _test_score_in(ctx, fl, recv, depth + 1)
        fn = strip(node.child_by_field_id(F_FUNCTION))
        pos, _kw = args_of(node)
        if fn is not None and (ctx.text(fn) in _SCALAR_FUNCS or ctx.text(fn).startswith("np.")) and pos:
            return _test_score_in(ctx, fl, pos[0], depth + 1)
        return None
    if node.type == "binary_operator":
        return (_test_score_in(ctx, fl, node.child_by_field_id(F_LEFT), depth + 1)
                or _test_score_in(ctx, fl, node.child_by_field_id(F_RIGHT), depth + 1))
    if node.type == "subscript":
        return _test_score_in(ctx, fl, node.child_by_field_id(F_VALUE), depth + 1)
    return None


RULE = Rule("leakage-multitest", Severity.WARNING, "model-evaluation-metrics",
            "The test set is used to select models, hyper-parameters or epochs", check,
            needs=(b"test", b"Test"))
