"""eval-loader-drop-last: a validation or test loader that drops its last, incomplete batch.

`DataLoader(val_set, batch_size=64, drop_last=True)` yields len(val_set) // 64 batches: up to 63
examples are never evaluated, the metric is that of a subset which changes with the batch size,
and a validation set smaller than one batch yields no batch at all. The same holds for a
tf.data pipeline batched with `drop_remainder=True`. The rule reports a literal `drop_last=True`
(`drop_remainder=True`) on a loader whose role is evaluation: the name it is bound to, stored
under or returned from (`val_loader`, `{"test": ...}`, `def val_dataloader`), or, where that
name is neutral, its dataset's (`test_dataset`, `TensorDataset(X_val, y_val)`), says val / test
/ eval / dev, and no name says train.

Left alone:
- a batch size of 1, None, or none at all (DataLoader's default is 1: nothing is left over);
  one measured from the data (`len(test_set)`: one whole batch); one not known to be above 1
  (a parameter or command-line option whose default is 1, `**kwargs` that cannot be followed
  to a `dict(batch_size=...)`); `n_way` / `k_shot` (episodic loaders: a batch is one task);
- `drop_last=flag`: decided elsewhere;
- code built for full batches: the batch size shapes a tensor (`h0 = torch.zeros(1,
  batch_size, 64)`, `x.view(batch_size, -1)`, `init_state(batch_size)`) or is given to a model
  class of the file; there dropping the last batch is what keeps it running;
- a loader that trains despite its name (a loop over it runs a backward pass and an optimizer
  step, or it is handed on as the training loader), and one never gone through (unused, or
  only peeked at with `next(iter(...))`: a test batch drawn now and then during training);
- samplers (`DistributedSampler(..., drop_last=True)` is another matter), test modules;
- tf.data in a file that mentions TPUs (one static batch shape is required there), and a
  pipeline this file does not evaluate (`model.evaluate`, `validation_data=`, a loop): in
  TensorFlow static shapes are the usual reason for `drop_remainder`, and code that consumes a
  returned dataset elsewhere may need them.
"""
from __future__ import annotations

import re

from ..findings import Severity
from ..parsing import (
    F_ARGUMENTS,
    F_ATTRIBUTE,
    F_FUNCTION,
    F_KEY,
    F_NAME,
    F_PARAMETERS,
    F_SUPERCLASSES,
    F_VALUE,
)
from ..values import (
    args_of,
    constant,
    is_method,
    literal_value,
    method_call,
    param_default,
    param_index,
    string_value,
    strip,
)
from . import Rule
from ._bare import remove_keyword_fix
from ._loaders import (
    LOADERS,
    key_name,
    loop_over,
    method_chain,
    returned_by,
    target_name,
    trains_over,
)
from ._testfiles import is_test_module
from ._tfdata import origin
from ._uses import PEEKS, _runs_once, call_given, identifier_nodes, target_of

_TRAIN = re.compile(r"train", re.IGNORECASE)
_EVAL = re.compile(r"val|test|eval|dev", re.IGNORECASE)
# Words that hold those letters and say nothing of a split.
_NOT_A_SPLIT = re.compile(r"interval|value|device|latest|contest|attest|protest|retriev", re.IGNORECASE)
# Batch sizes of episodic (meta-learning) loaders: a batch is one task of n ways, k shots.
_EPISODIC = re.compile(r"(?i)way|shot|episode")
_MEASURED = re.compile(r"\blen\(|\.shape\b|\.size\(|\bsize\(")
# `TPUStrategy`, `use_tpu`, `resolver(tpu=...)`; not `output`, `OUTPUT_DIR`.
_TPU = re.compile(rb"(?<![A-Za-z])(?:TPU|tpu)")


def check(ctx):
    if is_test_module(ctx):
        return  # a test pins exact batch counts on purpose
    facts = ctx.facts
    for call in facts.calls_to(LOADERS):
        pos, kw = args_of(call)
        flag = kw.get("drop_last")
        if flag is None or strip(flag).type != "true" or "batch_sampler" in kw:
            continue   # (with a batch_sampler, drop_last is an error DataLoader raises)
        dataset = kw.get("dataset", pos[0] if pos else None)
        size = kw.get("batch_size", pos[1] if len(pos) > 1 else None)
        if size is None:
            size = _splat_batch_size(ctx, call)
            if size is None:
                continue   # the default, 1, or a batch size we cannot see
        if not _above_one(ctx, size):
            continue
        name = _evaluation_name([target_name(ctx, call), returned_by(ctx, call), key_name(ctx, call)],
                                _data_names(ctx, dataset))
        if name is None or _trains(ctx, call) or _fixed_batch_shape(ctx, size):
            continue
        if _never_gone_through(ctx, call):
            continue   # unused, a batch peeked at, or batches drawn now and then
        yield _finding(ctx, flag, name, "drop_last")
    yield from _check_tf_data(ctx)


def _finding(ctx, flag, name: str, keyword: str):
    kwarg = flag.parent
    return ctx.finding(
        kwarg,
        f"`{name}` evaluates with `{keyword}=True`: the last, incomplete batch is thrown away, so up "
        "to batch_size - 1 examples are never scored, the metric is that of a subset that changes "
        "with the batch size (an accuracy divided by the dataset's length comes out too low), and a "
        "set smaller than one batch gives no batch at all. Keep every example: leave "
        f"`{keyword}` at its default, False, and weight each batch's mean by its size.",
        fix=remove_keyword_fix(ctx, kwarg, f"Remove `{ctx.text(kwarg)}`"))


def _says_eval(name: str) -> bool:
    return bool(_EVAL.search(_NOT_A_SPLIT.sub("", name)))


def _evaluation_name(loader_names, data_names) -> str | None:
    """The name that shows the loader evaluates: one of the loader's own names, or, when those
    say neither, one of its data's; None when any of them says train, or none says val/test."""
    loader_names = [n for n in loader_names if n]
    if any(_TRAIN.search(n) for n in (*loader_names, *data_names)):
        return None
    said = [n for n in loader_names if _says_eval(n)] or [n for n in data_names if _says_eval(n)]
    return said[0] if said else None


def _data_names(ctx, dataset) -> list[str]:
    """The names a dataset argument is spelled with: `test_set`, `self.val_ds`, the key of
    `dsets["val"]`, and for a call the names and strings it is given (`TensorDataset(X_val,
    y_val)`, `Speech(split="test")`), not its flags (`is_test=False`)."""
    node = strip(dataset)
    if node is None:
        return []
    if node.type in ("identifier", "attribute"):
        return [ctx.text(node)]
    if node.type == "subscript" and len(node.named_children) == 2:
        key = string_value(node.named_children[1])
        return [key] if key else []
    if node.type == "call":
        pos, kw = args_of(node)
        out = []
        for arg in (*pos, *kw.values()):
            arg = strip(arg)
            if arg is None:
                continue
            if arg.type in ("identifier", "attribute"):
                out.append(ctx.text(arg))
            elif arg.type == "string" and string_value(arg):
                out.append(string_value(arg))
        return out
    return []


def _splat_batch_size(ctx, call):
    """The batch size a `**loader_args` splat passes, when every splat of the call is a name
    bound in reach to `dict(...)` or a `{...}` literal: its `batch_size` value, else None (no
    batch size in there, the default 1, or a splat that cannot be followed)."""
    args = call.child_by_field_id(F_ARGUMENTS)
    found = None
    for a in (args.named_children if args is not None else ()):
        if a.type == "list_splat":
            return None
        if a.type != "dictionary_splat":
            continue
        inner = strip(a.named_children[0]) if a.named_children else None
        if inner is None or inner.type != "identifier":
            return None
        b = ctx.facts.assignment_of(inner)
        value = strip(b.value) if b is not None else None
        if value is None:
            return None
        if value.type == "call" and ctx.text(value.child_by_field_id(F_FUNCTION)) == "dict":
            pos, kw = args_of(value)
            if pos or any(c.type == "dictionary_splat" for c in value.child_by_field_id(F_ARGUMENTS).named_children):
                return None
            size = kw.get("batch_size")
        elif value.type == "dictionary":
            size = None
            for pair in value.named_children:
                if pair.type == "dictionary_splat":
                    return None
                if pair.type == "pair" and string_value(pair.child_by_field_id(F_KEY)) == "batch_size":
                    size = pair.child_by_field_id(F_VALUE)
        else:
            return None
        if size is not None:
            found = size
    return found


def _above_one(ctx, size) -> bool:
    """The batch size is, as far as the file shows, more than 1 and less than the whole set: a
    literal above 1, or an expression that is neither 1 nor None, nor measured from the data
    (`len(test_set)`, `x_test.shape[0]`), nor an episodic task size (`n_way`)."""
    node = strip(size)
    if node is None or node.type == "none":
        return False
    if _EPISODIC.search(ctx.text(node)):
        return False
    value, _calls = constant(ctx.facts, node)
    if value is not None:
        return not isinstance(value, bool) and value > 1
    if node.type == "identifier":
        b = ctx.facts.binding(ctx.text(node), node.start_byte)
        if b is not None and b.kind == "param":
            func = ctx.facts.function_at(node.start_byte)
            default = param_default(ctx.facts, func, ctx.text(node)) if func is not None else None
            if default is not None and (strip(default).type == "none" or literal_value(default) in (0, 1)) \
                    and not _some_caller_passes_more(ctx, func, ctx.text(node)):
                return False   # `def make_loader(ds, batch_size=1)`: callers that pass none get 1
        elif b is not None and b.kind == "assign" and b.index is None and b.value is not None:
            node = strip(b.value)
            if node is None or node.type == "none" or _EPISODIC.search(ctx.text(node)):
                return False
    if node.type == "attribute" and _option_default(ctx, node) in (None, 0, 1):
        return False   # `args.test_batch_size` of `add_argument("--test-batch-size", default=1)`
    return not _measured(ctx, node)


def _option_default(ctx, attr):
    """The default of the command-line option `args.<name>` reads, when this file declares it
    with `add_argument("--<name>", default=<literal>)` (or `dest="<name>"`): the literal, None
    for `default=None` or no default; "unknown" when the file declares no such option."""
    name = ctx.text(attr.child_by_field_id(F_ATTRIBUTE))
    spellings = {f"--{name}", f"--{name.replace('_', '-')}"}
    for call in ctx.facts.calls_ending("add_argument"):
        pos, kw = args_of(call)
        if not any(string_value(a) in spellings for a in pos) and string_value(kw.get("dest")) != name:
            continue
        default = strip(kw.get("default"))
        if default is None or default.type == "none":
            return None
        value = literal_value(default)
        return value if value is not None else "unknown"
    return "unknown"


def _some_caller_passes_more(ctx, func, name: str) -> bool:
    """A call of the plain function `func` in this file passes its parameter `name` something
    other than a literal 1 or None (`train_model(..., batch_size=args.batch_size)`)."""
    ident = func.child_by_field_id(F_NAME)
    index, keyword_only = param_index(ctx.facts, func, name)
    if ident is None or index is None or is_method(func):
        return False
    for call in ctx.facts.calls_named(ctx.text(ident)):
        pos, kw = args_of(call)
        arg = kw.get(name) if name in kw or keyword_only else (pos[index] if index < len(pos) else None)
        arg = strip(arg)
        if arg is not None and arg.type != "none" and literal_value(arg) not in (0, 1):
            return True
    return False


def _measured(ctx, node) -> bool:
    """`len(x)`, `x.shape[0]`, `x.size(0)`, `min(64, len(x))`...: a size taken from the data, which
    is (or may be) the whole set in one batch."""
    return bool(_MEASURED.search(ctx.text(node)))


# Calls whose arguments give a shape: a batch size among them fixes the batch dimension (a
# recurrent state made once for `batch_size` rows, `x.view(batch_size, -1)`).
_SHAPES = ("zeros", "ones", "empty", "full", "randn", "rand", "normal", "view", "reshape", "expand",
           "broadcast_to", "tile", "init_state", "init_hidden", "initHidden", "init_hidden_state",
           "initialize_hidden_state", "initial_state", "Input")


def _fixed_batch_shape(ctx, size) -> bool:
    """The code shapes tensors with the loader's batch size (`tf.zeros([batchsz, units])`,
    `out.view(batch_size, -1)`, `encoder.init_state(batch_size)`): it only runs on full batches,
    and dropping the last one is what keeps it running (a design to change, not one argument)."""
    node = strip(size)
    if node is None or node.type not in ("identifier", "attribute"):
        return False
    pattern = re.compile(r"(?<![\w.])" + re.escape(ctx.text(node)) + r"(?!\w)")
    for call in ctx.facts.calls_ending(*_SHAPES):
        args = call.child_by_field_id(F_ARGUMENTS)
        if args is not None and pattern.search(ctx.facts.code_in(args)):
            return True
    return _model_given(ctx, ctx.text(node))


_MODEL_BASES = re.compile(r"Module|Model|Layer")


def _model_given(ctx, size: str) -> bool:
    """A model class of this file is built with the batch size (`BarlowTwins(...,
    batch_size=batch_size)`, whose loss divides by it): it is made for full batches."""
    for cls in ctx.facts.classes_nodes:
        ident, bases = cls.child_by_field_id(F_NAME), cls.child_by_field_id(F_SUPERCLASSES)
        if ident is None or bases is None or not _MODEL_BASES.search(ctx.text(bases)):
            continue
        for made in ctx.facts.calls_named(ctx.text(ident)):
            if any(ctx.text(strip(v)) == size for v in args_of(made)[1].values()) \
                    or any(ctx.text(strip(v)) == size for v in args_of(made)[0]):
                return True
    return False


def _never_gone_through(ctx, call) -> bool:
    """The loader, bound to a plain name, is never used after it is made, or only inside
    `iter(...)`, `next(...)`, `len(...)`, `print(...)`: never evaluated on (a notebook's spare
    loader), or batches drawn one at a time now and then (`test_iter = iter(test_loader)` for a
    test loss logged during training, examples to explain), not an evaluation that goes
    through the set."""
    _parent, left = target_of(call)
    if left is None or left.type != "identifier":
        return False
    for node in identifier_nodes(ctx, ctx.text(left), call.end_byte):
        loop = loop_over(node)
        if loop is not None and _runs_once(loop):
            continue   # `for batch in val_loader: ...; break`: one batch to look at
        outer = call_given(node)
        fn = outer.child_by_field_id(F_FUNCTION) if outer is not None else None
        if fn is None or fn.type != "identifier" or ctx.text(fn) not in PEEKS:
            return False
    return True


def _trains(ctx, call) -> bool:
    """The loader trains despite its name: a loop over it runs `.backward()` and an optimizer
    step, or it is handed on as the training loader (`trainer.fit(model, train_dataloaders=
    val_loader)`, `fit(model, loader)` into a parameter named for training)."""
    if trains_over(ctx, call):
        return True
    _parent, left = target_of(call)
    if left is None or left.type != "identifier":
        return False
    scope = ctx.facts.scope_id(call.start_byte)
    for node in identifier_nodes(ctx, ctx.text(left), call.end_byte):
        if ctx.facts.scope_id(node.start_byte) != scope:
            continue
        if _given_as_training(ctx, node):
            return True
    return False


def _given_as_training(ctx, node) -> bool:
    """`node` (a use of the loader's name) is passed as a training loader: a keyword that says
    train, the data of a Keras / Lightning `fit`, or a parameter of the file's function whose
    name says train."""
    parent = node.parent
    if parent is not None and parent.type == "keyword_argument" and parent.child_by_field_id(F_VALUE) == node:
        keyword = parent.child_by_field_id(F_NAME)
        return keyword is not None and bool(_TRAIN.search(ctx.text(keyword)))
    if parent is None or parent.type != "argument_list" or parent.parent is None or parent.parent.type != "call":
        return False
    call = parent.parent
    pos, _kw = args_of(call)
    index = next((i for i, a in enumerate(pos) if a == node), None)
    if index is None:
        return False
    recv, method = method_call(call)
    if method == "fit":
        # Keras' fit(x, ...), Lightning's fit(model, train_dataloaders, val_dataloaders)
        return index == 0 or (index == 1 and "trainer" in ctx.text(recv).lower())
    fn = call.child_by_field_id(F_FUNCTION)
    if fn is None or fn.type != "identifier":
        return False
    func = ctx.facts.definition_in_effect(ctx.text(fn), call.start_byte)
    params = func.child_by_field_id(F_PARAMETERS) if func is not None else None
    for p in (params.named_children if params is not None else ()):
        ident = p if p.type == "identifier" else p.child_by_field_id(F_NAME) or (
            p.named_children[0] if p.named_children else None)
        if ident is not None and ident.type == "identifier" \
                and param_index(ctx.facts, func, ctx.text(ident)) == (index, False):
            return bool(_TRAIN.search(ctx.text(ident)))   # `def fit(model, train_loader, ...)`
    return False


def _check_tf_data(ctx):
    """`val_ds.batch(64, drop_remainder=True)` on a tf.data pipeline whose name says val/test."""
    facts = ctx.facts
    calls = [c for m in ("batch", "padded_batch") for c, _r in facts.method_calls(m)]
    if not calls or facts.code_matches(_TPU):
        return   # TPUs compile for one static batch shape: drop_remainder is required there
    for call in calls:
        recv, _method = method_call(call)
        pos, kw = args_of(call)
        flag = kw.get("drop_remainder")
        if recv is None or flag is None or strip(flag).type != "true":
            continue
        size = kw.get("batch_size", pos[0] if pos else None)
        if size is None or not _above_one(ctx, size):
            continue
        kind, source = origin(ctx, recv)
        if kind != "tf":
            continue
        chain, _methods = method_chain(ctx, call)
        loader_names = [target_name(ctx, chain), returned_by(ctx, chain), key_name(ctx, chain)]
        data_names = _chain_names(ctx, recv, source)
        name = _evaluation_name(loader_names, data_names)
        if name is None or _trains(ctx, chain) or _fixed_batch_shape(ctx, size) \
                or not _evaluated_here(ctx, chain):
            continue
        yield _finding(ctx, flag, name, "drop_remainder")


_EVALUATES = frozenset({"evaluate", "predict", "evaluate_generator", "predict_generator"})


def _evaluated_here(ctx, chain) -> bool:
    """The batched tf.data dataset, bound to a name, is evaluated in this file: given to
    `model.evaluate` / `predict`, to `fit(validation_data=...)`, or looped over. Static batch
    shapes are what `drop_remainder` is for in TensorFlow (TPUs, distribution strategies, a
    recurrent state made for `batch_sz` rows), so a dataset returned to code this file does not
    show is left alone."""
    while chain.parent is not None and chain.parent.type == "parenthesized_expression":
        chain = chain.parent   # `test_ds = (test_ds.map(f).batch(8, drop_remainder=True))`
    _parent, left = target_of(chain)
    if left is None or left.type != "identifier":
        return False
    for node in identifier_nodes(ctx, ctx.text(left), chain.end_byte):
        parent = node.parent
        if parent is not None and parent.type == "keyword_argument":
            keyword = parent.child_by_field_id(F_NAME)
            if keyword is not None and ctx.text(keyword) == "validation_data":
                return True
        outer = call_given(node)
        if outer is not None and method_call(outer)[1] in _EVALUATES:
            return True
        loop = loop_over(node)
        if loop is not None:
            return True
    return False


def _chain_names(ctx, recv, source) -> list[str]:
    """The names along the receiver chain `recv` down to its root: `val_ds` of `val_ds.map(f)`,
    and the data the source call is given (`from_tensor_slices((x_test, y_test))`)."""
    node = strip(recv)
    names = []
    while node is not None and node.type == "call":
        inner, _method = method_call(node)
        if inner is None:
            break
        node = strip(inner)
    if node is not None and node.type in ("identifier", "attribute"):
        names.append(ctx.text(node))
    if source is not None and source.type == "call":
        for arg in args_of(source)[0][:1]:
            arg = strip(arg)
            items = arg.named_children if arg is not None and arg.type in ("tuple", "list") else [arg]
            names.extend(ctx.text(i) for i in items if i is not None and i.type in ("identifier", "attribute"))
    return names


RULE = Rule("eval-loader-drop-last", Severity.WARNING, "epochs-batches-iterations",
            "Evaluation loader drops its last batch", check,
            needs=(b"drop_last", b"drop_remainder"))
