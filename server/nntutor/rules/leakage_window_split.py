"""leakage-window-split: overlapping windows of a series split at random.

Flags a random split of samples cut from a series with a sliding window whose stride is smaller
than the window: `X.append(data[i:i + seq_len])` (or `X[i] = ...`) in a loop over
`range(len(data) - seq_len)` (or over `range(0, n, step)`, or a `while` loop adding `step` to
`i`, with a step below the window), the same in a comprehension, a function of the file that
returns such windows, a Dataset class whose `__getitem__(idx)` returns `self.data[idx:idx + L]`,
`np.lib.stride_tricks.sliding_window_view` and a tensor's `.unfold(dim, size, step)` with
`step < size`, when those windows (followed as rows, `_holds_rows`, over the split events of
_splits.py) then go to `train_test_split` (shuffle left on), `random_split`,
cross-validation or `.split` with a shuffled splitter (`KFold(shuffle=True)`, `ShuffleSplit`,
`RepeatedKFold`, `LeaveOneOut`), or are shuffled (`shuffle(X, y)`, `np.random.permutation`,
`np.random.shuffle(idx)`) and then cut into parts. Neighbouring windows share most of their
time steps, so the held-out windows have near-copies in the training part.

Left alone: windows that do not overlap (`range(0, len(x), batch_size)` with `x[i:i + batch_size]`,
`x[i * L:(i + 1) * L]`, a stride the code does not show, windows kept under a condition);
time-ordered splits (`shuffle=False`,
`X[:n_train]`, `TimeSeriesSplit`, an unshuffled `KFold` or a `cv=5`, Keras' `validation_split`,
which takes the last rows); grouped splitters (`GroupKFold`, `GroupShuffleSplit`: windows of
many series split by series); windows cut after the split, inside each part (the split's input
then holds no windows); windows only learned from (a vocabulary) or merged into one sample
(the k-mers of a sequence joined into one text); crops and windows that never reach a split.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..findings import Fix, Severity, TextEdit
from ..parsing import (
    F_ARGUMENTS,
    F_ATTRIBUTE,
    F_BODY,
    F_CONDITION,
    F_FUNCTION,
    F_LEFT,
    F_NAME,
    F_OBJECT,
    F_OPERATOR,
    F_PARAMETERS,
    F_RIGHT,
    F_VALUE,
)
from ..values import (
    args_of,
    class_of_method,
    constant,
    literal_value,
    method_call,
    returned_values,
    strip,
)
from . import Rule
from ._splits import binding_key, call_key, flow, is_sklearn, short

_RANGES = ("range", "trange", "xrange")
_ITER_WRAPPERS = ("tqdm", "list")
# Calls and attributes that keep a window's rows: `np.array(data[i:i + L])`, `.values`, `.reshape`.
_KEEP_METHODS = frozenset({"values", "to_numpy", "reshape", "astype", "copy", "tolist", "flatten",
                           "ravel", "numpy", "squeeze", "T", "float", "double", "unsqueeze", "view",
                           "clone", "transpose", "to_list", "to"})
_KEEP_FUNCS = frozenset({"array", "asarray", "list", "tuple", "tensor", "from_numpy", "as_tensor",
                         "FloatTensor", "Tensor", "float32", "squeeze", "ravel", "transpose",
                         "expand_dims", "DataFrame", "reshape", "atleast_3d"})
# Calls whose result holds the rows of each array argument: a dataset of (X, y), stacked parts,
# the same rows shuffled together.
_ROWS_OF_ALL_ARGS = frozenset({"TensorDataset", "stack", "vstack", "concatenate", "concat", "cat",
                               "shuffle", "permutation", "zip"})
# Splitters that put scattered rows in each held-out part.
_SHUFFLING_SPLITTERS = {"ShuffleSplit", "StratifiedShuffleSplit", "RepeatedKFold",
                        "RepeatedStratifiedKFold", "LeaveOneOut", "LeavePOut"}
_SHUFFLE_OPTION = {"KFold", "StratifiedKFold"}
_SHUFFLE_CALLS = {"sklearn.utils.shuffle", "numpy.random.permutation", "torch.randperm",
                  "sklearn.utils._indexing.shuffle"}
_IN_PLACE_SHUFFLES = {"numpy.random.shuffle", "random.shuffle"}
_RNG_MAKERS = {"numpy.random.default_rng", "numpy.random.RandomState", "numpy.random.Generator"}


@dataclass
class Windows:
    site: object           # the window expression (`data[i:i + L]`) or call, for the message
    pos: int               # where the windows are made (their first use for a helper)
    length: str            # the window length: `60`, or as written (`` `seq_len` ``)
    stride: str            # the stride (a number)
    share: str             # what two neighbouring windows share, in words
    keys: set = field(default_factory=set)   # sources keys (bindings, calls) that hold them
    top: object = None     # a comprehension's outermost row-keeping wrapper (`np.array([...])`)


def check(ctx):
    fl = flow(ctx)
    windows = _windows(ctx, fl)   # (first: cheaper than asking how each split draws its parts)
    if not windows:
        return
    splits = [(s, how) for s in fl.split_events() if (how := _random(ctx, fl, s)) is not None]
    for split, how in splits:
        hit = None
        for x in split.inputs:
            rows = _rows_indexed(ctx, x)
            hit = next((w for w in windows if w.pos < split.call.start_byte and how.applies(w) and (
                _holds_rows(ctx, fl, x, w) or (rows is not None and _holds_rows(ctx, fl, rows, w)))), None)
            if hit is not None:
                break
        if hit is None:
            continue
        steps = "1 step" if hit.stride == "1" else f"{hit.stride} steps"
        yield ctx.finding(
            split.call,
            f"{how.what}, but the samples are overlapping windows of a series: "
            f"`{_short(ctx.text(hit.site))}` takes {hit.length} steps and moves on by {steps}, so "
            f"neighbouring windows share {hit.share}. Almost every held-out window then has "
            f"near-copies in the training part, and the model also trains on windows that come "
            f"after the ones it is scored on: the held-out score is optimistic. Split the series in "
            f"time first (a cut point, `shuffle=False`, `TimeSeriesSplit`), then cut the windows "
            f"inside each part.",
            related=[ctx.related(hit.site, "overlapping windows cut here")] + how.related,
            fix=how.fix)


# -- random splits -------------------------------------------------------------------------------
@dataclass
class _How:
    what: str
    related: list = field(default_factory=list)
    fix: Fix | None = None
    after: int = -1         # the shuffle (of a shuffled-then-cut split) must follow the windows

    def applies(self, w: Windows) -> bool:
        return w.pos < self.after or self.after < 0


def _random(ctx, fl, split) -> _How | None:
    """How `split` draws its parts at random, or None when it keeps the order (or may)."""
    call = split.call
    if split.kind == "split":
        if fl.is_train_test_split(call):
            _pos, kw = args_of(call)
            if "shuffle" in kw:
                return None if _flag(ctx, kw["shuffle"]) is not True else \
                    _How("`train_test_split(shuffle=True)` shuffles the rows before it splits them")
            return _How("`train_test_split` shuffles the rows before it splits them "
                        "(`shuffle=True` is its default)",
                        fix=None if "stratify" in kw or _has_splat(call) else _no_shuffle_fix(call))
        return _How("`random_split` deals the samples out at random")
    if split.kind in ("cv", "folds", "search"):
        if split.kind == "folds":
            recv, _m = method_call(call)
            splitter = recv
        else:
            holder = call
            if split.kind == "search":
                recv, _m = method_call(call)
                _q, holder = ctx.values.instance(recv) if recv is not None else (None, None)
                if holder is None:
                    return None
            splitter = args_of(holder)[1].get("cv")
        if splitter is None:
            return None
        q, ctor = ctx.values.instance(splitter)
        name = _shuffled_splitter(ctx, q, ctor)
        if name is None:
            return None
        if name.startswith("Leave"):
            what = f"`{name}` holds out a few samples at a time and trains on all the others"
        else:
            what = f"`{name}` picks the held-out samples of each fold at random"
        return _How(what, related=[ctx.related(ctor, "the splitter")] if ctor is not call else [])
    if split.kind == "slice":
        return _shuffled_then_cut(ctx, fl, split)
    return None


def _shuffled_splitter(ctx, q, ctor) -> str | None:
    if not is_sklearn(q, _SHUFFLING_SPLITTERS | _SHUFFLE_OPTION) or ctor is None:
        return None
    name = short(q)
    if name in _SHUFFLING_SPLITTERS:
        return name
    pos, kw = args_of(ctor)
    value = kw.get("shuffle", pos[1] if len(pos) > 1 else None)
    return f"{name}(shuffle=True)" if value is not None and _flag(ctx, value) is True else None


def _shuffled_then_cut(ctx, fl, split) -> _How | None:
    """`X, y = shuffle(X, y)` / `X = X[np.random.permutation(len(X))]` / `np.random.shuffle(idx)`
    and then `X[:n]`, `X[n:]` (or `idx[:n]`, `idx[n:]`): the cut takes rows in random order."""
    base = strip(split.inputs[0]) if split.inputs else None
    if base is None:
        return None
    src = fl.sources(base)
    for key in src:
        if key[0] != "c":
            continue
        node = ctx.doc.tree.root_node.descendant_for_byte_range(key[1], key[2])
        while node is not None and not (node.type == "call" and (node.start_byte, node.end_byte) == key[1:]):
            node = node.parent
        if node is not None and _shuffles(ctx, node):
            return _shuffled_by(ctx, node)
    if base.type != "identifier":
        return None
    key = fl.key_of(base)
    for call in _in_place_shuffles(ctx):
        pos, _kw = args_of(call)
        arg = strip(pos[0]) if pos else None
        if arg is not None and arg.type == "identifier" and ctx.text(arg) == ctx.text(base) \
                and call.start_byte < split.call.start_byte and fl.key_of(arg) == key:
            return _shuffled_by(ctx, call)
    return None


def _shuffled_by(ctx, call) -> _How:
    fn = _short(ctx.text(call.child_by_field_id(F_FUNCTION)))
    return _How(f"This cut takes the rows in the random order of `{fn}(...)`",
                related=[ctx.related(call, "the rows are put in random order here")], after=call.start_byte)


def _shuffles(ctx, call) -> bool:
    q = ctx.facts.callee_qual(call)
    if q in _SHUFFLE_CALLS:
        return True
    recv, m = method_call(call)
    return m == "permutation" and recv is not None and _rng(ctx, recv)


def _in_place_shuffles(ctx) -> list:
    out = [c for c in ctx.facts.calls_ending("shuffle") if ctx.facts.callee_qual(c) in _IN_PLACE_SHUFFLES]
    for call, recv in ctx.facts.method_calls("shuffle"):
        if recv is not None and ctx.facts.callee_qual(call) is None and _rng(ctx, recv):
            out.append(call)
    return out


def _rng(ctx, recv) -> bool:
    """`rng` made by `np.random.default_rng(...)` / `RandomState(...)`, or such a call itself."""
    q, _ctor = ctx.values.instance(recv)
    return q in _RNG_MAKERS


def _no_shuffle_fix(call) -> Fix | None:
    args = call.child_by_field_id(F_ARGUMENTS)
    if args is None or args.named_child_count == 0:
        return None
    last = args.named_children[-1]
    if last.type == "comment":
        return None
    return Fix("Split in time order (`shuffle=False`)",
               (TextEdit(last.end_byte, last.end_byte, ", shuffle=False"),))


def _has_splat(call) -> bool:
    args = call.child_by_field_id(F_ARGUMENTS)
    return args is not None and any(a.type in ("list_splat", "dictionary_splat") for a in args.named_children)


def _flag(ctx, node):
    value, _calls = constant(ctx.facts, node)
    return value if isinstance(value, bool) else None


# -- windows -------------------------------------------------------------------------------------
def _windows(ctx, fl) -> list[Windows]:
    found = _loop_windows(ctx) + _comprehension_windows(ctx) + _dataset_windows(ctx) + _call_windows(ctx)
    return _through_helpers(ctx, fl, found)


def _loop_windows(ctx) -> list[Windows]:
    """`X.append(data[i:i + L])` in a `for i in range(...)` loop with a stride below L (or a
    `while` loop that adds to `i`), and `X[i] = data[i:i + L]` into an array made before."""
    facts = ctx.facts
    out = []
    filled = [(call, strip(recv), args_of(call)) for call, recv in facts.method_calls("append")]
    for node in facts.assignments:
        left = node.child_by_field_id(F_LEFT)
        if left is not None and left.type == "subscript" and facts.innermost_loop(node.start_byte) is not None:
            item = node.child_by_field_id(F_RIGHT)
            filled.append((node, strip(left.child_by_field_id(F_VALUE)), ([item], {})))
    for call, recv, (pos, kw) in filled:
        if recv is None or recv.type != "identifier":
            continue
        if len(pos) != 1 or kw:
            continue
        loops = facts.loops_containing(call.start_byte)
        for loop in reversed(loops):
            found = None
            for var, step in _loop_steps(ctx, loop):
                if loop.type == "for_statement" and _rebound(ctx, var, loop):
                    continue   # `i = i * 10` in the body: another stride
                found = _window_item(ctx, pos[0], var, step, loop)
                if found is not None:
                    break
            if found is None:
                continue
            if _picked(ctx, call, loop, var):
                break   # `if counter == delay: X.append(...)`: the stride is not the loop's
            b = facts.binding(ctx.text(recv), call.start_byte)
            if b is not None:
                out.append(Windows(found[0], call.start_byte, *found[1:], keys={binding_key(b)}))
            break
    return out


def _loop_steps(ctx, loop) -> list:
    """[(variable, step node or None for 1)]: `for i in range(a, b, step)`; `while ...:` with
    `i += step` in its body (the one change of `i` there)."""
    if loop.type == "for_statement":
        var, step = _range_loop(ctx, loop.child_by_field_id(F_LEFT), loop.child_by_field_id(F_RIGHT))
        return [(var, step)] if var is not None else []
    out = []
    for aug in ctx.facts.aug_assigns:
        if not loop.start_byte < aug.start_byte < loop.end_byte:
            continue
        left, op = aug.child_by_field_id(F_LEFT), aug.child_by_field_id(F_OPERATOR)
        if left is None or left.type != "identifier" or op is None or op.type != "+=":
            continue
        name = ctx.text(left)
        changes = [b for b in ctx.facts.bindings.get(name, ()) if loop.start_byte < b.pos < loop.end_byte]
        if len(changes) == 1:
            out.append((name, aug.child_by_field_id(F_RIGHT)))
    return out


def _rebound(ctx, var: str, region) -> bool:
    """`var` is assigned inside `region` (a loop's or a method's body), besides the loop or the
    parameter that binds it."""
    return any(region.start_byte < b.pos < region.end_byte for b in ctx.facts.bindings.get(var, ()))


def _picked(ctx, call, loop, var: str) -> bool:
    """An `if` between the loop and `call` keeps some of the windows only: its condition does
    not test where the window ends (`i + L < len(x)`), it tests something else or thins the
    starts out (`i % 5 == 0`)."""
    node = call.parent
    while node is not None and node != loop:
        if node.type in ("if_statement", "elif_clause", "else_clause", "conditional_expression"):
            if node.type == "conditional_expression":
                return True
            owner = node.parent if node.type == "else_clause" else node
            cond = owner.child_by_field_id(F_CONDITION)
            if cond is None or var not in _names_in(ctx, cond) or "%" in ctx.text(cond):
                return True
        node = node.parent
    return False


def _comprehension_windows(ctx) -> list[Windows]:
    """`[data[i:i + L] for i in range(len(data) - L)]`."""
    out = []
    for name in _RANGES:
        for rng in ctx.facts.calls_named(name):
            clause = rng.parent
            while clause is not None and clause.type in ("argument_list", "call"):
                if clause.type == "call" and _callee_last(ctx, clause) not in _ITER_WRAPPERS:
                    clause = None
                    break
                clause = clause.parent
            if clause is None or clause.type != "for_in_clause":
                continue
            var, step = _range_loop(ctx, clause.child_by_field_id(F_LEFT), clause.child_by_field_id(F_RIGHT))
            comp = clause.parent
            if var is None or comp is None or comp.type not in ("list_comprehension", "generator_expression"):
                continue
            body = comp.child_by_field_id(F_BODY)
            found = _window_item(ctx, body, var, step, None) if body is not None else None
            if found is None:
                continue
            keys, top = _holders(ctx, comp)
            out.append(Windows(found[0], comp.start_byte, *found[1:], keys=keys, top=top))
    return out


def _holders(ctx, node):
    """(keys, top): the keys of what receives the value of `node`: the row-keeping calls around
    it (`np.array([...])`) and the assignment target (`X = ...`; in `X, y = a, b` the matching
    one); and the outermost of those calls (or `node`)."""
    keys = set()
    index = None
    top = node
    while node.parent is not None:
        parent = node.parent
        if parent.type == "argument_list":
            call = parent.parent
            if call is None or call.type != "call" or _callee_last(ctx, call) not in _KEEP_FUNCS:
                break
            keys.add(call_key(call))
            top = node = call
            continue
        if parent.type == "attribute":
            call = parent.parent
            if ctx.text(parent.child_by_field_id(F_ATTRIBUTE)) not in _KEEP_METHODS:
                break
            if call is not None and call.type == "call":
                keys.add(call_key(call))
                top = node = call
            else:
                top = node = parent
            continue
        if parent.type == "call":
            break
        elif parent.type in ("expression_list", "tuple") and index is None:
            index = [c.start_byte for c in parent.named_children].index(node.start_byte)
        elif parent.type == "assignment":
            if parent.child_by_field_id(F_RIGHT) != node:
                break
            left = parent.child_by_field_id(F_LEFT)
            if left is not None and left.type == "identifier":
                keys.add(("b", left.start_byte))
            elif left is not None and index is not None and index < left.named_child_count:
                target = left.named_children[index]
                if target.type == "identifier":
                    keys.add(("b", target.start_byte))
            break
        elif parent.type != "parenthesized_expression":
            break
        node = parent
    return keys, top


def _dataset_windows(ctx) -> list[Windows]:
    """A class whose `__getitem__(self, idx)` returns `self.data[idx:idx + L]`: its items are the
    windows starting at every position (stride 1); an instance is made by calling the class."""
    facts = ctx.facts
    out = []
    for func in facts.functions_named("__getitem__"):
        cls = class_of_method(func)
        params = func.child_by_field_id(F_PARAMETERS)
        names = [p for p in params.named_children if p.type == "identifier"] if params is not None else []
        if cls is None or len(names) < 2:
            continue
        var = ctx.text(names[1])
        found = None
        if _rebound(ctx, var, func):
            continue   # `idx = idx * self.stride`: another stride
        for sub in _subscripts(func.child_by_field_id(F_BODY)):
            found = _window_slice(ctx, sub, var, None, func)
            if found is not None:
                break
        name = cls.child_by_field_id(F_NAME)
        if found is None or name is None:
            continue
        calls = facts.calls_named(ctx.text(name))
        if calls:
            out.append(Windows(found[0], func.start_byte, *found[1:], keys={call_key(c) for c in calls}))
    return out


def _subscripts(node):
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if n.type == "subscript":
            yield n
        if n.type in ("function_definition", "class_definition", "lambda"):
            continue
        stack.extend(reversed(n.named_children))


def _call_windows(ctx) -> list[Windows]:
    """`sliding_window_view(x, L)` (stride 1) and `x.unfold(dim, size, step)` with step < size."""
    facts = ctx.facts
    out = []
    for call in facts.calls_ending("sliding_window_view"):
        if facts.callee_qual(call) not in ("numpy.lib.stride_tricks.sliding_window_view",
                                           "numpy.lib.stride_tricks._sliding_window_view.sliding_window_view"):
            continue
        pos, kw = args_of(call)
        shape = kw.get("window_shape", pos[1] if len(pos) > 1 else None)
        size = _int(ctx, shape)
        if shape is None or (size is not None and size <= 1) or shape.type in ("tuple", "list"):
            continue
        step = _strided_after(ctx, call)
        stride = 1 if step is None else _int(ctx, step)
        if stride is None or stride < 1 or stride >= (size if size is not None else 2):
            continue   # `sliding_window_view(x, L)[::L]`: side by side
        length = str(size) if size is not None else f"`{ctx.text(shape)}`"
        out.append(Windows(call, call.start_byte, length, str(stride), _share(size, stride),
                           keys={call_key(call)}))
    for call, recv in facts.method_calls("unfold"):
        pos, kw = args_of(call)
        if len(pos) != 3 or kw or recv is None or facts.callee_qual(call) is not None:
            continue   # (`F.unfold(x, 3, 1)`: image patches, its third argument a dilation)
        size, step = _int(ctx, pos[1]), _int(ctx, pos[2])
        if size is None or step is None or not 0 < step < size:
            continue
        out.append(Windows(call, call.start_byte, str(size), str(step), _share(size, step),
                           keys={call_key(call)}))
    return out


def _strided_after(ctx, call):
    """`sliding_window_view(x, L)[::k]`: the node of k, else None."""
    parent = call.parent
    if parent is None or parent.type != "subscript" or parent.child_by_field_id(F_VALUE) != call:
        return None
    first = next(iter(parent.children_by_field_name("subscript")), None)
    if first is None or first.type != "slice":
        return None
    parts = _slice_parts(first)
    return parts[2] if parts is not None else None


def _through_helpers(ctx, fl, found: list[Windows]) -> list[Windows]:
    """Add the calls of the file's functions that return windows (`X, y = create_sequences(data,
    60)`), through helpers of helpers, a few levels deep."""
    facts = ctx.facts
    out = list(found)
    todo = [(w, [w.site]) for w in found]
    seen_funcs = set()
    for _round in range(4):
        new = []
        for w, places in todo:
            for place in places:
                func = facts.function_at(place.start_byte)
                if func is None or func.start_byte in seen_funcs:
                    continue
                if not any(v is not None and v.type != "yield" and _holds_rows(ctx, fl, v, w)
                           for v in returned_values(func)):
                    continue
                seen_funcs.add(func.start_byte)
                name = ctx.text(func.child_by_field_id(F_NAME))
                if class_of_method(func) is not None:
                    calls = [c for c, r in facts.method_calls(name) if r is not None]
                else:
                    calls = list(facts.calls_named(name))
                if calls:
                    helper = Windows(w.site, min(c.start_byte for c in calls), w.length, w.stride, w.share,
                                     keys={call_key(c) for c in calls})
                    new.append((helper, calls))
        out += [h for h, _calls in new]
        todo = new
        if not todo:
            break
    return out


def _holds_rows(ctx, fl, expr, w: Windows, depth: int = 0) -> bool:
    """`expr` holds the windows `w`, one per row: followed through names, `np.array`, `.reshape`,
    a scaler's `transform`, `shuffle(X, y)`, `TensorDataset(X, y)`, stacking, a column pick, a
    tuple of results, a list filled in a loop. Not something computed from all of them together
    (`" ".join([seq[i:i + k] ...])`: the k-mers of one protein as one sample) or learned from
    them (a vocabulary fitted on windows, then applied to other rows)."""
    node = strip(expr)
    if node is None or depth > 16:
        return False
    t = node.type
    if w.top is not None and (node.start_byte, node.end_byte) == (w.top.start_byte, w.top.end_byte):
        return True
    if t in ("tuple", "expression_list", "list"):
        return any(_holds_rows(ctx, fl, c, w, depth + 1) for c in node.named_children)
    if t == "call":
        if call_key(node) in w.keys:
            return True
        recv, m = method_call(node)
        pos, _kw = args_of(node)
        if recv is not None and m in _KEEP_METHODS:
            return _holds_rows(ctx, fl, recv, w, depth + 1)
        if recv is not None and m in ("transform", "fit_transform") and pos:
            return _holds_rows(ctx, fl, pos[0], w, depth + 1)
        name = _callee_last(ctx, node)
        if name in _KEEP_FUNCS:
            return bool(pos) and _holds_rows(ctx, fl, pos[0], w, depth + 1)
        if name in _ROWS_OF_ALL_ARGS:
            return any(_holds_rows(ctx, fl, a, w, depth + 1) for a in pos)
        return False
    if t == "subscript":
        return _holds_rows(ctx, fl, node.child_by_field_id(F_VALUE), w, depth + 1)
    if t == "attribute":
        return ctx.text(node.child_by_field_id(F_ATTRIBUTE)) in _KEEP_METHODS and \
            _holds_rows(ctx, fl, node.child_by_field_id(F_OBJECT), w, depth + 1)
    if t == "identifier":
        b = fl.reaching(ctx.text(node), node.start_byte)
        if b is None:
            return False
        key = binding_key(b)
        if key in w.keys:
            return True
        filled = fl.fills().get(key)
        if filled:   # `X_all.append(X_s)` per series
            return any(_holds_rows(ctx, fl, item, w, depth + 1) for _pos, item in filled)
        if b.kind != "assign" or b.value is None:
            return False
        value = strip(b.value)
        if b.index is not None and value is not None and value.type in ("expression_list", "tuple") \
                and value.named_child_count == b.count:
            value = value.named_children[b.index]
        return _holds_rows(ctx, fl, value, w, depth + 1)
    return False


def _rows_indexed(ctx, expr):
    """`Z` when `expr` numbers the rows of Z: `np.arange(len(Z))`, `list(range(Z.shape[0]))`,
    `np.random.permutation(len(Z))`, `torch.randperm(len(Z))` (also through a name); else None."""
    node = strip(expr)
    for _ in range(8):
        if node is None:
            return None
        if node.type == "identifier":
            b = ctx.facts.binding(ctx.text(node), node.start_byte)
            if b is None or b.kind != "assign" or b.index is not None or b.value is None:
                return None
            node = strip(b.value)
            continue
        if node.type == "subscript":
            node = strip(node.child_by_field_id(F_VALUE))
            continue
        if node.type != "call":
            return None
        name = _callee_last(ctx, node)
        pos, _kw = args_of(node)
        if name in ("list", "array", "asarray", "tensor") and pos:
            node = strip(pos[0])
            continue
        if name in ("range", "arange", "permutation", "randperm") and len(pos) == 1:
            return _sized(ctx, pos[0])
        return None
    return None


def _sized(ctx, node):
    """`Z` of `len(Z)`, `Z.shape[0]`, `Z.size(0)`, `len(Z)` through a name (`n = len(Z)`)."""
    node = strip(node)
    if node is not None and node.type == "identifier":
        b = ctx.facts.binding(ctx.text(node), node.start_byte)
        node = strip(b.value) if b is not None and b.kind == "assign" and b.index is None else None
    if node is None:
        return None
    if node.type == "call":
        pos, _kw = args_of(node)
        if _callee_last(ctx, node) == "len" and len(pos) == 1 and method_call(node)[0] is None:
            return strip(pos[0])
        recv, m = method_call(node)
        if m == "size" and recv is not None and [ctx.text(p) for p in pos] == ["0"]:
            return strip(recv)
        return None
    if node.type == "subscript":
        value = strip(node.child_by_field_id(F_VALUE))
        index = [ctx.text(c) for c in node.children_by_field_name("subscript")]
        if value is not None and value.type == "attribute" and index == ["0"] \
                and ctx.text(value.child_by_field_id(F_ATTRIBUTE)) == "shape":
            return strip(value.child_by_field_id(F_OBJECT))
    return None


# -- window expressions ----------------------------------------------------------------------------
def _range_loop(ctx, left, right):
    """(loop variable, step node or None for 1) of `for i in range(a, b[, step])` (also through
    `tqdm(...)`), else (None, None)."""
    left, right = strip(left), strip(right)
    if left is None or left.type != "identifier" or right is None or right.type != "call":
        return None, None
    while right is not None and right.type == "call" and _callee_last(ctx, right) in _ITER_WRAPPERS:
        pos, _kw = args_of(right)
        right = strip(pos[0]) if pos else None
    if right is None or right.type != "call" or _callee_last(ctx, right) not in _RANGES:
        return None, None
    pos, kw = args_of(right)
    if kw or not pos or len(pos) > 3:
        return None, None
    return ctx.text(left), (pos[2] if len(pos) == 3 else None)


def _callee_last(ctx, call) -> str | None:
    fn = strip(call.child_by_field_id(F_FUNCTION))
    if fn is None:
        return None
    if fn.type == "attribute":
        fn = fn.child_by_field_id(F_ATTRIBUTE)
    return ctx.text(fn) if fn is not None and fn.type == "identifier" else None


def _window_item(ctx, item, var: str, step, loop):
    """(window node, length, stride, share) when `item` is (or keeps the rows of, or holds in a
    tuple) an overlapping window `x[var + a:var + b]` of the loop; else None. A name assigned in
    the loop body is followed to its value."""
    node = strip(item)
    for _ in range(8):
        if node is None:
            return None
        t = node.type
        if t == "subscript":
            found = _window_slice(ctx, node, var, step, loop)
            if found is not None:
                return found
            node = strip(node.child_by_field_id(F_VALUE))   # `data[i:i + L][:, 0]`
        elif t == "call":
            recv, m = method_call(node)
            pos, _kw = args_of(node)
            if recv is not None and m in _KEEP_METHODS:
                node = strip(recv)
            elif _callee_last(ctx, node) in _KEEP_FUNCS and pos:
                node = strip(pos[0])
            else:
                return None
        elif t == "attribute":
            if ctx.text(node.child_by_field_id(F_ATTRIBUTE)) not in _KEEP_METHODS:
                return None
            node = strip(node.child_by_field_id(F_OBJECT))
        elif t in ("tuple", "list") and node.named_child_count:
            for part in node.named_children:
                found = _window_item(ctx, part, var, step, loop)
                if found is not None:
                    return found
            return None
        elif t == "identifier" and loop is not None:
            b = ctx.facts.binding(ctx.text(node), node.start_byte)
            if b is None or b.kind != "assign" or b.value is None \
                    or not loop.start_byte < b.pos < loop.end_byte:
                return None
            value = strip(b.value)
            if b.index is not None:
                if value is None or value.type not in ("expression_list", "tuple") \
                        or value.named_child_count != b.count:
                    return None
                value = strip(value.named_children[b.index])
            node = value
        else:
            return None
    return None


def _slice_parts(sl):
    """(start, stop, step) nodes of a slice node (None where left out)."""
    parts = [None, None, None]
    i = 0
    for c in sl.children:
        if c.type == ":":
            i += 1
            if i > 2:
                return None
        elif c.is_named and c.type != "comment":
            parts[i] = c
    return tuple(parts)


def _window_slice(ctx, sub, var: str, step, region=None):
    """(sub, length, stride, share) when `sub` slices `[var + a:var + b]` (on its first axis, or
    after full `:` axes) with b - a above the stride; else None. A bound named in `region` (the
    loop, the method) is followed to its value there (`end = i + n_steps`)."""
    index = [c for c in sub.children_by_field_name("subscript")]
    sl = None
    for c in index:
        if c.type == "slice" and _slice_parts(c) is not None:
            parts = _slice_parts(c)
            if parts == (None, None, None):
                continue   # `X[:, i:i + L]`: a full axis first
            sl = parts
        break
    if sl is None or sl[2] is not None or sl[0] is None or sl[1] is None:
        return None
    lo, hi = _offsets(ctx, sl[0], var, region), _offsets(ctx, sl[1], var, region)
    if lo is None or hi is None:
        return None
    nodes = {**lo[1], **hi[1]}
    diff = dict(hi[0])
    for k, v in lo[0].items():
        diff[k] = diff.get(k, 0) - v
    diff = {k: v for k, v in diff.items() if v}
    const = diff.pop("", 0)
    value = const
    for text, coef in diff.items():
        known = _int(ctx, nodes[text])
        if known is None:
            value = None
            break
        value += coef * known
    if value is not None:
        length = value
        length_text = str(value)
    else:
        if len(diff) != 1:
            return None   # `i + a:i + b` with both unknown: no length to compare
        (text, coef), = diff.items()
        if coef != 1 or const < 0:
            return None
        length, length_text = None, f"`{text}" + (f" + {const}`" if const else "`")
    stride = 1 if step is None else _int(ctx, step)
    if length is not None and length <= 1:
        return None
    if stride is None:
        return None   # a stride the code does not show as a number (`range(0, n, step)`)
    if stride < 1 or (length is not None and stride >= length):
        return None
    if length is None and stride != 1:
        return None   # `range(0, n, 5)` with `x[i:i + L]`: is L above 5?
    return sub, length_text, str(stride), _share(length, stride)


def _offsets(ctx, node, var: str, region=None):
    """({term text: coefficient, "": constant}, {term text: node}) for `var + a - b + 3`
    (exactly one `+var`), else None. A name assigned in `region` (a node) stands for its value."""
    terms: dict = {}
    nodes: dict = {}
    seen_var = 0
    steps = 0

    def add(n, sign):
        nonlocal seen_var, steps
        n = strip(n)
        if n is None:
            return False
        if n.type == "identifier" and ctx.text(n) != var and region is not None and steps < 8:
            b = ctx.facts.binding(ctx.text(n), n.start_byte)
            if b is not None and b.kind == "assign" and b.index is None and b.value is not None \
                    and region.start_byte < b.pos < region.end_byte:
                steps += 1
                return add(b.value, sign)
        if n.type == "binary_operator":
            op = n.child_by_field_id(F_OPERATOR).type
            if op in ("+", "-"):
                return add(n.children[0], sign) and add(n.children[2], sign if op == "+" else -sign)
        if n.type == "identifier" and ctx.text(n) == var:
            if sign != 1:
                return False
            seen_var += 1
            return True
        if var in _names_in(ctx, n):
            return False   # `i * L`, `2 * i`: another stride
        v = literal_value(n)
        if isinstance(v, int) and not isinstance(v, bool):
            terms[""] = terms.get("", 0) + sign * v
            return True
        text = ctx.text(n).replace(" ", "")
        terms[text] = terms.get(text, 0) + sign
        nodes.setdefault(text, n)
        return True

    if not add(node, 1) or seen_var != 1:
        return None
    return terms, nodes


def _names_in(ctx, node) -> set:
    out = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "identifier":
            out.add(ctx.text(n))
        stack.extend(n.named_children)
    return out


def _int(ctx, node) -> int | None:
    if node is None:
        return None
    value, _calls = constant(ctx.facts, node)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _share(length, stride) -> str:
    if length is not None and stride is not None:
        return f"{length - stride} of their {length} steps"
    if stride == 1:
        return "all but one of their steps"
    return "most of their steps"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:37] + "..."


RULE = Rule("leakage-window-split", Severity.WARNING, "data-leakage",
            "Overlapping windows of a series split at random into train and test", check,
            needs=(b"train_test_split", b"random_split", b"shuffle", b"ShuffleSplit", b"Repeated",
                   b"LeaveOneOut", b"LeavePOut", b"permutation", b"randperm"))
