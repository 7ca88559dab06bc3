"""train-loader-not-shuffled: a training DataLoader left at its default `shuffle=False` (or a
tf.data pipeline batched without `.shuffle()`, which `model.fit` does not shuffle either).

`DataLoader` visits a map-style dataset in index order unless told otherwise, so every epoch
sees the same batches in the same order, and a dataset stored class by class (read folder by
folder, concatenated per label) gives batches of one class each. The rule reports a loader
that looks like the training one (its name or its dataset's says `train`; a neutral name such
as `loader` when a loop over it runs backward and an optimizer step), over a dataset
known to be map-style, with no `shuffle`, `sampler` or `batch_sampler` argument at all: an
explicit `shuffle=False` is a decision (stateful RNNs, curricula) and is left alone.
"""
from __future__ import annotations

import re

from ..findings import Fix, Severity, TextEdit
from ..parsing import (
    F_ARGUMENTS,
    F_BODY,
    F_DEFINITION,
    F_FUNCTION,
    F_LEFT,
    F_NAME,
    F_OBJECT,
    F_PARAMETERS,
    F_RIGHT,
    F_SUPERCLASSES,
    F_VALUE,
)
from ..values import args_of, follow, has_splat, method_call, string_value, strip
from . import Rule
from ._loaders import (
    LOADERS,
    key_name,
    loop_over,
    method_chain,
    returned_by,
    target_name,
    trains_over,
)
from ._splits import _walk
from ._testfiles import is_test_module
from ._training import variables_in
from ._uses import (
    call_given,
    identifier_nodes,
    returned_slot_discarded,
    target_of,
    used_beyond_a_peek,
)

# Map-style datasets (they have __getitem__ / __len__, so shuffle=True is allowed).
MAP_STYLE = frozenset({"torch.utils.data.TensorDataset", "torch.utils.data.Subset",
                       "torch.utils.data.ConcatDataset", "torch.utils.data.StackDataset",
                       "torch.utils.data.dataset.TensorDataset", "torch.utils.data.dataset.Subset"})
TF_SOURCES = frozenset({"tensorflow.data.Dataset.from_tensor_slices"})
SPLITS = frozenset({"torch.utils.data.random_split", "torch.utils.data.dataset.random_split"})
_TRAIN = re.compile(r"train", re.IGNORECASE)
_NOT_TRAIN = re.compile(r"val|test|eval|dev|infer|predict|calib", re.IGNORECASE)


def check(ctx):
    facts = ctx.facts
    if is_test_module(ctx):
        return  # tests keep their batches in a fixed order on purpose: to assert exact numbers
    for call in facts.calls_to(LOADERS):
        args = call.child_by_field_id(F_ARGUMENTS)
        if args is None or has_splat(call):
            continue  # `DataLoader(ds, **kwargs)`: shuffle may be in there
        pos, kw = args_of(call)
        if len(pos) > 2 or {"shuffle", "sampler", "batch_sampler"} & kw.keys():
            continue  # the order is chosen (positional args 3-5 are shuffle, sampler, batch_sampler)
        dataset = kw.get("dataset", pos[0] if pos else None)
        if dataset is None or not _is_training(ctx, call, dataset):
            continue
        if _one_batch(ctx, dataset, kw.get("batch_size", pos[1] if len(pos) > 1 else None)):
            continue  # full-batch: shuffling only reorders rows inside the one batch
        made = _map_style_source(ctx, dataset)
        if made is None or not used_beyond_a_peek(ctx, call):
            continue
        if _rows_in_random_order(ctx, made):
            continue   # a random_split part, or random tensors: no class-sorted batches
        if _only_looped_without_training(ctx, call):
            continue   # predictions over the training set (pseudo-labels, OOF maps): order kept
        if returned_slot_discarded(ctx, call):
            continue   # `_, cal_dl, val_dl = load_data()`: every caller drops the training loader
        target = target_name(ctx, call)
        if target is not None and _resampled_by_opacus(ctx, target):
            continue
        returned = returned_by(ctx, call)
        shown = (f"`{target}`" if target else f"The DataLoader that `{returned}()` returns" if returned
                 else f"`{ctx.text(dataset)}`")
        yield ctx.finding(
            call.child_by_field_id(F_FUNCTION),
            f"{shown} never shuffles: DataLoader's `shuffle` defaults to False, so every epoch "
            "visits the training set in the same order, the order it is stored in. Data stored "
            "class by class then gives batches of a single class, and the model drifts towards "
            "whichever class came last. Pass `shuffle=True` (or a sampler).",
            related=[ctx.related(made, "a map-style dataset: the loader can shuffle it")],
            fix=_add_shuffle(ctx, args))
    yield from _check_tf_data(ctx)


# Words of a loop body that trains: a backward pass, an optimizer step, a fit, a training helper.
_TRAINS = re.compile(r"\.backward\(|\bstep\(|\bfit\w*\(|train\w*\(|update\w*\(|\.minimize\(")


def _only_looped_without_training(ctx, call) -> bool:
    """Every use of the loader is a `for` loop over it (directly or through enumerate / tqdm)
    whose body does not train: `for image in tqdm(DataLoader(train_dataset)):` collecting
    predictions after `model.eval()` (liaopeiyuan's TGS inference scripts)."""
    _parent, left = target_of(call)
    if left is None:
        uses = [call]
    elif left.type == "identifier":
        uses = [n for n in identifier_nodes(ctx, ctx.text(left), call.end_byte)
                if ctx.facts.scope_id(n.start_byte) == ctx.facts.scope_id(call.start_byte)]
    else:
        return False
    if not uses:
        return False
    for node in uses:
        loop = loop_over(node)
        if loop is None:
            return False
        body = ctx.facts.code_in(loop.child_by_field_id(F_BODY))
        if _TRAINS.search(body) or not _infers(ctx, loop, body):
            return False
    return True


# A random_split part lists its rows in a random permutation; these make their rows at random.
_RANDOM_MAKERS = frozenset({"torch.rand", "torch.randn", "torch.randint", "torch.rand_like",
                            "torch.randn_like", "torch.randint_like", "torch.normal", "torch.bernoulli"})
_KEEPS_ORDER = frozenset({"float", "long", "int", "double", "half", "bool", "to", "cuda", "cpu"})


def _rows_in_random_order(ctx, made) -> bool:
    """The dataset's rows are in random order already, as for tf.data below: a part of a
    `random_split` (a random permutation of the indices), or a `TensorDataset` each of whose
    tensors is drawn at random (`torch.randn(...)`, `torch.randint(...)`, NumPy's
    `np.random.*`): a smoke test's data, with no stored order to shuffle."""
    facts = ctx.facts
    qual = facts.callee_qual(made)
    if qual in SPLITS:
        return True
    if (qual is None or qual.endswith("TensorDataset")) and not has_splat(made):
        pos, kw = args_of(made)
        given = [*pos, *kw.values()]
        # a dataset class of the file over a shuffled frame (its other arguments: a vocabulary, a
        # tokenizer), or a TensorDataset all of whose tensors come from one
        if given and (any if qual is None else all)(_frame_in_random_order(ctx, a) for a in given):
            return True
    if qual is None and _examples_drawn_at_random(ctx, made):
        return True
    if qual not in MAP_STYLE or not qual.endswith("TensorDataset") or has_splat(made):
        return False
    pos, kw = args_of(made)
    return bool(pos) and not kw and all(_drawn_at_random(ctx, a) for a in pos)


# Python's `random` functions that draw (not `seed`, `shuffle` of a list kept in its groups).
_PY_DRAWS = frozenset({"random.random", "random.randint", "random.randrange", "random.choice",
                       "random.choices", "random.sample", "random.uniform", "random.gauss"})
_TORCH_DRAWS = _RANDOM_MAKERS | {"torch.randperm", "torch.multinomial"}
_GENERATORS = frozenset({"numpy.random.default_rng", "numpy.random.RandomState", "random.Random"})


def _examples_drawn_at_random(ctx, made) -> bool:
    """A dataset class of the file whose `__getitem__(self, idx)` reads `self.<list>[idx]`, and
    each such list is filled in `__init__` only by appends in loops that just count (`for _ in
    range(n)`, `while ...`: no loop variable read), each append taking a value drawn in its loop
    (`a = np.random.randint(n_cls)`, and names computed from it): siamese pairs and triplets
    drawn at random, whose stored order is random already. A list built class by class or file
    by file (a loop variable read) keeps their order."""
    fn = made.child_by_field_id(F_FUNCTION)
    cls = ctx.facts.class_named(ctx.text(fn)) if fn is not None and fn.type == "identifier" else None
    body = cls.child_by_field_id(F_BODY) if cls is not None else None
    methods = {ctx.text(m.child_by_field_id(F_NAME)): m for m in _methods(body)}
    init, getitem = methods.get("__init__"), methods.get("__getitem__")
    if init is None or getitem is None:
        return False
    lists = _indexed_lists(ctx, getitem)
    if not lists:
        return False
    filled = {name: [] for name in lists}
    for node in _walk(init.child_by_field_id(F_BODY)):
        target = None
        if node.type == "call":
            recv, method = method_call(node)
            if method in ("append", "extend", "insert") and recv is not None:
                target = recv
        elif node.type in ("assignment", "augmented_assignment"):
            target = node.child_by_field_id(F_LEFT)
        text = ctx.text(target) if target is not None else ""
        if text.startswith("self.") and text[5:] in filled:
            if node.type == "assignment" and _empty(ctx, node.child_by_field_id(F_RIGHT)):
                continue   # `self.pairs = []`
            if node.type != "call":
                return False   # built some other way (`self.pairs = sorted(...)`, `+=`)
            filled[text[5:]].append(node)
    return all(calls and all(_appends_a_draw(ctx, c, init) for c in calls) for calls in filled.values())


def _indexed_lists(ctx, getitem) -> set:
    """The attributes `__getitem__(self, idx)` subscripts with its index: `self.pairs[idx]`."""
    params = getitem.child_by_field_id(F_PARAMETERS)
    names = [p for p in (params.named_children if params is not None else ())]
    if len(names) != 2:
        return set()
    ident = names[1] if names[1].type == "identifier" else (
        names[1].named_children[0] if names[1].type == "typed_parameter" and names[1].named_children else None)
    if ident is None or ident.type != "identifier":
        return set()
    index = ctx.text(ident)
    found = set()
    for node in _walk(getitem.child_by_field_id(F_BODY)):
        if node.type == "subscript" and node.named_child_count == 2 \
                and ctx.text(node.named_children[1]) == index:
            value = ctx.text(node.child_by_field_id(F_VALUE))
            if value.startswith("self.") and value[5:].isidentifier():
                found.add(value[5:])
    return found


def _empty(ctx, node) -> bool:
    """`[]` or `list()`."""
    node = strip(node)
    return node is not None and "".join(ctx.text(node).split()) in ("[]", "list()")


def _appends_a_draw(ctx, call, init) -> bool:
    """`call` (an append in `__init__`) sits in loops that only count, and what it appends reads
    a draw made in its innermost loop, or a name bound from one there."""
    loops = []
    node = call.parent
    while node is not None and node != init:
        if node.type in ("for_statement", "while_statement"):
            loops.append(node)
        elif node.type in ("function_definition", "lambda", "list_comprehension",
                           "generator_expression", "set_comprehension", "dictionary_comprehension"):
            return False
        node = node.parent
    if not loops:
        return False
    for loop in loops:
        if loop.type == "for_statement":
            variables = set(variables_in(ctx, loop.child_by_field_id(F_LEFT)))
            if variables & set(variables_in(ctx, loop.child_by_field_id(F_BODY))):
                return False   # `for c in classes:` read in its body: built class by class
    body = loops[0].child_by_field_id(F_BODY)
    drawn = set()
    for _ in range(3):   # names bound from a draw, then names computed from those
        for node in _walk(body):
            if node.type == "assignment" and node.start_byte < call.start_byte:
                left, right = node.child_by_field_id(F_LEFT), node.child_by_field_id(F_RIGHT)
                if left is not None and left.type == "identifier" and right is not None and (
                        _draws(ctx, right) or drawn & set(variables_in(ctx, right))):
                    drawn.add(ctx.text(left))
    args = call.child_by_field_id(F_ARGUMENTS)
    return args is not None and (_draws(ctx, args) or bool(drawn & set(variables_in(ctx, args))))


def _draws(ctx, node) -> bool:
    """`node` calls a random draw: NumPy's `np.random.*`, Python's `random.*`, torch's
    `randint` / `randperm` ..., or a generator's method (`rng.integers(...)`)."""
    for call in ctx.facts.calls_in(node):
        qual = ctx.facts.callee_qual(call) or ""
        if qual in _PY_DRAWS or qual in _TORCH_DRAWS or (
                qual.startswith("numpy.random.") and qual.count(".") == 2
                and qual.rsplit(".", 1)[-1] not in _NOT_DRAWS):
            return True
        recv, _method = method_call(call)
        made = strip(follow(ctx.facts, recv)) if recv is not None and recv.type == "identifier" else None
        if made is not None and made.type == "call" and ctx.facts.callee_qual(made) in _GENERATORS:
            return True
    return False


# What keeps the order of a frame's rows (not `sort_values`, `sort_index`, `groupby`).
_FRAME_ORDER_KEEPING = frozenset({"reset_index", "copy", "dropna", "drop", "fillna", "astype", "head",
                                  "tail", "query", "rename", "assign", "set_index", "to_numpy",
                                  "tolist", "float", "long", "to"})


def _frame_in_random_order(ctx, expr) -> bool:
    """`expr` holds rows of a DataFrame put in random order (`df.sample(frac=1)`,
    `sklearn.utils.shuffle(df)`, `df.iloc[np.random.permutation(len(df))]`), then sliced,
    re-indexed or converted, nothing that sorts them again."""
    facts = ctx.facts
    node = strip(expr)
    for _ in range(16):
        if node is None:
            return False
        if node.type == "identifier":
            b = facts.binding(ctx.text(node), node.start_byte)
            if b is None or b.kind != "assign" or b.index is not None or b.value is None:
                return False
            node = strip(b.value)
        elif node.type == "call":
            recv, m = method_call(node)
            qual = facts.callee_qual(node)
            pos, kw = args_of(node)
            if qual is not None and qual.startswith("sklearn.") and qual.endswith(".shuffle"):
                return True
            if qual is None and m == "sample" and recv is not None and ("frac" in kw or "n" in kw):
                return True   # pandas' `df.sample(frac=1)`: every row, in random order
            if qual is None and recv is not None and m in _FRAME_ORDER_KEEPING:
                node = strip(recv)
            elif qual in _ARRAY_FUNCS and pos:
                node = strip(pos[0])
            else:
                return False
        elif node.type == "subscript":
            if _random_index(ctx, node):
                return True
            node = strip(node.child_by_field_id(F_VALUE))
        elif node.type == "attribute":
            node = strip(node.child_by_field_id(F_OBJECT))
        else:
            return False
    return False


_ARRAY_TO_TENSOR = frozenset({"torch.tensor", "torch.from_numpy", "torch.as_tensor",
                              "torch.FloatTensor", "torch.LongTensor", "torch.Tensor"})
_ARRAY_FUNCS = _ARRAY_TO_TENSOR | {"numpy.array", "numpy.asarray"}   # conversions keep the row order


def _drawn_at_random(ctx, expr, depth: int = 0) -> bool:
    value = strip(follow(ctx.facts, expr))
    while value is not None and value.type == "call" and method_call(value)[1] in _KEEPS_ORDER:
        value = strip(follow(ctx.facts, method_call(value)[0]))   # `torch.randint(...).long()`
    if value is None or value.type != "call":
        return False
    qual = ctx.facts.callee_qual(value) or ""
    if qual in _ARRAY_TO_TENSOR:   # `torch.from_numpy(np.random.randn(64, 8))`
        pos = args_of(value)[0]
        return depth < 2 and len(pos) == 1 and _drawn_at_random(ctx, pos[0], depth + 1)
    return qual in _RANDOM_MAKERS or (qual.startswith("numpy.random.") and qual.count(".") == 2
                                      and qual.rsplit(".", 1)[-1] not in _NOT_DRAWS)


_NOT_DRAWS = frozenset({"seed", "shuffle", "RandomState", "default_rng", "Generator", "get_state", "set_state"})


_COLLECTS = frozenset({"append", "extend", "print", "len", "add", "update"})


def _infers(ctx, loop, body: str) -> bool:
    """The loop predicts or only collects: it runs without gradients, after an `eval()` of
    its scope, or calls nothing but list appends (`file_list.append(name)`)."""
    facts = ctx.facts
    if facts.in_no_grad(loop.start_byte) or "no_grad()" in body or "inference_mode()" in body:
        return True
    fn = facts.function_at(loop.start_byte)
    start = fn.start_byte if fn is not None else 0

    def last(method):
        return max((c.start_byte for c, _r in facts.method_calls(method)
                    if start <= c.start_byte < loop.start_byte), default=-1)

    if last("eval") > last("train"):
        return True   # `model.eval()` before the loop, in its scope, and no train() since
    calls = facts.calls_in(loop.child_by_field_id(F_BODY))
    return bool(calls) and all(_last_name(c.child_by_field_id(F_FUNCTION)) in _COLLECTS
                               for c in calls if c.child_by_field_id(F_FUNCTION) is not None)


def _last_name(fn) -> str:
    return fn.text.decode("utf-8", "replace").rsplit(".", 1)[-1]


def _resampled_by_opacus(ctx, name: str) -> bool:
    """The loader goes through opacus' `privacy_engine.make_private(...)` (or
    `make_private_with_epsilon`), which returns a loader with Poisson sampling (its default,
    `poisson_sampling=True`): each step samples its own batch, so the order is not the stored one."""
    for call in ctx.facts.calls_ending("make_private", "make_private_with_epsilon"):
        pos, kw = args_of(call)
        if any(ctx.text(a) == name for a in [*pos, *kw.values()]):
            flag = kw.get("poisson_sampling")
            if flag is None or ctx.text(flag) != "False":
                return True
    return False


def _check_tf_data(ctx):
    """`tf.data.Dataset.from_tensor_slices((X_train, y_train)).batch(32)` with no `.shuffle(...)`:
    the examples come in array order, and `model.fit` does not shuffle a tf.data dataset (its
    `shuffle=True` is for NumPy inputs)."""
    facts = ctx.facts
    for source in facts.calls_to(TF_SOURCES):
        chain, methods = method_chain(ctx, source)
        if "shuffle" in methods or not {"batch", "padded_batch"} & set(methods):
            continue
        pos, _ = args_of(source)
        if not pos or not _is_training(ctx, chain, pos[0]) or not used_beyond_a_peek(ctx, chain):
            continue
        if _in_random_order(ctx, pos[0], source.start_byte):
            continue   # rows already shuffled, or picked by random indices: no class-sorted batches
        name = target_name(ctx, chain)
        if name is not None and _shuffled_later(ctx, chain, name):
            continue
        if name is not None and _only_predicted_on(ctx, chain, name):
            continue   # features extracted in order, to line up with y_train
        shown = name or "this dataset"
        yield ctx.finding(
            source.child_by_field_id(F_FUNCTION),
            f"`{shown}` is never shuffled: a tf.data pipeline yields the examples in the order of "
            "the arrays, the same order every epoch, and `model.fit` does not shuffle a tf.data "
            "dataset (its `shuffle=True` only applies to NumPy inputs). Data stored class by "
            "class then gives batches of a single class. Add `.shuffle(buffer_size)` before "
            "`.batch(...)`; a buffer as large as the training set shuffles fully, anew every epoch.",
            fix=_add_tf_shuffle(ctx, source, pos[0]))


_PREDICTS = frozenset({"predict", "predict_on_batch", "evaluate"})
# What a TensorFlow loop body (or a function of the file it calls) trains with.
_TF_TRAINS = re.compile(r"GradientTape|apply_gradients|\.minimize\(|\bfit\w*\(|train\w*\(|\.backward\(|\bstep\(")


def _only_predicted_on(ctx, chain, name: str) -> bool:
    """Every later use of the dataset `name` is as the input of `.predict(...)` /
    `.evaluate(...)`, or a `for` loop over it that trains nothing: nothing is fitted on it
    (liamcarew's CNN feature extractor; a loop running a frozen model to save features)."""
    if not name.isidentifier():
        return False
    # up to the next binding of the name: `training_data = model.predict(x=training_data)`
    # makes it another object
    scope = ctx.facts.scope_id(chain.start_byte)
    rebound = min((b.pos for b in ctx.facts.bindings.get(name, ())
                   if b.scope == scope and b.pos > chain.end_byte), default=None)
    uses = [n for n in identifier_nodes(ctx, name, chain.end_byte)
            if rebound is None or n.start_byte < rebound or _reads_in_rebinding(n, rebound)]
    if not uses:
        return False
    for node in uses:
        call = call_given(node)
        if call is not None and method_call(call)[1] in _PREDICTS:
            continue
        loop = loop_over(node)
        if loop is None or _trains_in(ctx, loop.child_by_field_id(F_BODY)):
            return False
    return True


def _trains_in(ctx, body, depth: int = 0) -> bool:
    """The loop body records gradients, applies them or fits (a GradientTape, apply_gradients,
    minimize, fit, train_on_batch, a `train_step(...)`), itself or in a function of the file it
    calls (two levels down; deeper counts as training)."""
    if body is None or _TF_TRAINS.search(ctx.facts.code_in(body)):
        return True
    for call in ctx.facts.calls_in(body):
        fn = strip(call.child_by_field_id(F_FUNCTION))
        name = _last_name(fn) if fn is not None else ""
        for func in ctx.facts.functions_named(name):
            if func.start_byte <= body.start_byte < func.end_byte:
                continue   # (recursion)
            if depth >= 2 or _trains_in(ctx, func.child_by_field_id(F_BODY), depth + 1):
                return True
    return False


_RANDOM_ORDER = re.compile(r"(?i)shuffle|permutation|random\.choice|\.choice\(|randperm|sample\(")


def _in_random_order(ctx, data, pos: int) -> bool:
    """The arrays `from_tensor_slices` gets are in random order already: indexed by random
    indices (`x[np.random.choice(n, k, replace=False)]`, a name bound to one), or bound from a
    shuffling call (`x, y = shuffle(x, y)`, `shuffle_data(...)`), or shuffled in place before
    (`np.random.shuffle(x)`) (Aydinhamedi's learning-rate range tests)."""
    facts = ctx.facts
    data = strip(data)
    first = data.named_children[0] if data is not None and data.type in ("tuple", "list") and data.named_children else data
    first = strip(first)
    if first is None:
        return False
    if first.type == "subscript":
        return _random_index(ctx, first)
    if first.type != "identifier":
        return False
    name = ctx.text(first)
    b = facts.binding(name, pos)
    value = strip(b.value) if b is not None and b.kind == "assign" and b.value is not None else None
    if value is not None and b.index is not None and value.type in ("expression_list", "tuple") \
            and len(value.named_children) == b.count:
        value = strip(value.named_children[b.index])   # `x, y = x[idx], y[idx]`
    if value is not None and value.type == "call" \
            and _RANDOM_ORDER.search(ctx.text(value.child_by_field_id(F_FUNCTION))):
        return True   # `x, y = shuffle(x, y)`
    if value is not None and value.type == "subscript" and _random_index(ctx, value):
        return True   # `x = x[np.random.permutation(len(x))]`
    start = b.pos if b is not None else 0
    for call, _recv in facts.method_calls("shuffle"):
        args = call.child_by_field_id(F_ARGUMENTS)
        if start <= call.start_byte < pos and args is not None \
                and any(ctx.text(a) == name for a in args.named_children):
            return True
    return False


def _random_index(ctx, subscript) -> bool:
    """`x[idx]` where `idx` is (or is bound to) a random choice or permutation of indices."""
    if subscript.named_child_count < 2:
        return False
    index = strip(follow(ctx.facts, subscript.named_children[-1]))
    return index is not None and bool(_RANDOM_ORDER.search(ctx.text(index)))


def _reads_in_rebinding(node, rebound: int) -> bool:
    """`node` is read on the right of the statement at `rebound` (`x = f(x)`), not its target."""
    stmt = node.parent
    while stmt is not None and not (stmt.type == "assignment" and stmt.start_byte == rebound):
        if stmt.start_byte < rebound:
            return False
        stmt = stmt.parent
    if stmt is None:
        return False
    right = stmt.child_by_field_id(F_RIGHT)
    return right is not None and right.start_byte <= node.start_byte < right.end_byte


def _shuffled_later(ctx, chain, name: str) -> bool:
    """`train_ds = train_ds.shuffle(1000)` (or any `train_ds.shuffle(`) after the assignment."""
    return f"{name}.shuffle(".encode() in ctx.doc.data[chain.end_byte:]


def _add_tf_shuffle(ctx, source, first) -> Fix | None:
    """Insert `.shuffle(len(X_train))` right after `from_tensor_slices(...)` when its input is a
    tuple or list that starts with a plain name (the length of the training set is then known)."""
    first = strip(first)
    if first is None or first.type not in ("tuple", "list") or not first.named_children:
        return None
    head = first.named_children[0]
    if head.type != "identifier":
        return None
    return Fix(f"Shuffle with a buffer of len({ctx.text(head)})",
               (TextEdit(source.end_byte, source.end_byte, f".shuffle(len({ctx.text(head)}))"),))


def _one_batch(ctx, dataset, batch_size) -> bool:
    """`batch_size=len(ds)` for the dataset itself, or for what its constructor is given
    (`DataLoader(MyDataset(rows), batch_size=len(rows))`): every epoch is one batch."""
    size = strip(batch_size)
    if size is None or size.type != "call" or ctx.text(size.child_by_field_id(F_FUNCTION)) != "len":
        return False
    pos, kw = args_of(size)
    if len(pos) != 1 or kw:
        return False
    measured = ctx.text(strip(pos[0]))
    node = strip(dataset)
    if ctx.text(node) == measured:
        return True
    made = follow(ctx.facts, node)
    if made is None or made.type != "call":
        return False
    made_pos, made_kw = args_of(made)
    return any(ctx.text(strip(a)) == measured for a in (*made_pos, *made_kw.values()))


def _is_training(ctx, call, dataset) -> bool:
    """The loader's name, or else its dataset's, says train (and not val / test ...); or, when
    neither says either (`loader`, `dl`, `ds`), a loop over the loader trains: it runs a
    backward pass and an optimizer step."""
    names = [n for n in (target_name(ctx, call), returned_by(ctx, call), key_name(ctx, call),
                         _dataset_name(ctx, dataset)) if n]
    if any(_NOT_TRAIN.search(n) for n in names):
        return False
    return any(_TRAIN.search(n) for n in names) or trains_over(ctx, call)


def _dataset_name(ctx, dataset) -> str | None:
    node = strip(dataset)
    if node is None:
        return None
    if node.type in ("identifier", "attribute"):
        return ctx.text(node)
    if node.type == "call":  # `Pairs(train_rows)`, `TensorDataset(X_train, y_train)`
        node = node.child_by_field_id(F_ARGUMENTS)
    if node is not None and node.type in ("argument_list", "tuple", "list"):  # `(x_train, y_train)`
        return ctx.text(node) if node.end_byte - node.start_byte < 120 else None
    if node.type == "subscript":  # `datasets["train"]`
        key = node.named_children[1] if len(node.named_children) == 2 else None
        return string_value(key) if key is not None else None
    return None


def _map_style_source(ctx, dataset, depth: int = 0):
    """The node that makes `dataset` a map-style dataset (its constructor call, or the
    random_split it comes from), or None when that is not known."""
    facts = ctx.facts
    node = strip(dataset)
    if node is not None and node.type == "identifier":
        b = facts.binding(ctx.text(node), node.start_byte)
        if b is not None and b.kind == "assign" and b.index is not None and b.value is not None:
            value = strip(b.value)  # `train_ds, val_ds = random_split(ds, [0.8, 0.2])`
            if value is not None and value.type == "call" and facts.callee_qual(value) in SPLITS:
                return value
            return None
    value = follow(facts, node)
    if value is None or value.type != "call" or depth > 4:
        return None
    qual = facts.callee_qual(value)
    if qual is not None:
        if qual in MAP_STYLE or qual.startswith("torchvision.datasets."):
            return value
        return None
    fn = value.child_by_field_id(F_FUNCTION)
    if fn is not None and fn.type == "identifier" and _is_map_style_class(ctx, ctx.text(fn)):
        return value
    return None


def _is_map_style_class(ctx, name: str) -> bool:
    """A class of this file with `__getitem__` and no `__iter__`, not an IterableDataset."""
    facts = ctx.facts
    found = False
    for node in facts.classes_nodes:
        ident = node.child_by_field_id(F_NAME)
        if ident is None or ctx.text(ident) != name:
            continue
        if found:
            return False  # defined twice (a notebook redefining it): unknown
        found = True
        bases = node.child_by_field_id(F_SUPERCLASSES)
        for base in (bases.named_children if bases is not None else ()):
            if "IterableDataset" in (facts.qual(base) or ctx.text(base)):
                return False
        body = node.child_by_field_id(F_BODY)
        methods = {ctx.text(fn.child_by_field_id(F_NAME)): fn for fn in _methods(body)}
        if "__getitem__" not in methods or "__iter__" in methods:
            return False
        if _ignores_its_index(ctx, methods["__getitem__"]):
            return False  # a new random sample on every call: there is no stored order
    return found


def _ignores_its_index(ctx, getitem) -> bool:
    """`def __getitem__(self, idx)` whose body never reads `idx` (labml's arithmetic dataset
    builds a new random sample on each call)."""
    params = getitem.child_by_field_id(F_PARAMETERS)
    names = []
    for p in params.named_children if params is not None else ():
        ident = p if p.type == "identifier" else (
            p.named_children[0] if p.type == "typed_parameter" and p.named_children else None)
        if ident is None or ident.type != "identifier":
            return False   # a default, *args: not the plain (self, index) signature
        names.append(ident)
    body = getitem.child_by_field_id(F_BODY)
    if len(names) != 2 or body is None:
        return False
    index = ctx.text(names[1])
    return re.search(r"\b" + re.escape(index) + r"\b", ctx.facts.code_in(body)) is None


def _methods(body):
    for child in (body.named_children if body is not None else ()):
        if child.type == "decorated_definition":
            child = child.child_by_field_id(F_DEFINITION)
        if child is not None and child.type == "function_definition":
            yield child


def _add_shuffle(ctx, args) -> Fix | None:
    last = None
    for a in args.named_children:
        if a.type != "comment":
            last = a
    if last is None:
        return None
    return Fix("Pass shuffle=True", (TextEdit(last.end_byte, last.end_byte, ", shuffle=True"),))


RULE = Rule("train-loader-not-shuffled", Severity.WARNING, "epochs-batches-iterations",
            "Training data loader never shuffles", check,
            needs=(b"DataLoader", b"from_tensor_slices"))
