"""dataset-op-discarded: `ds.shuffle(...)`, `ds.batch(...)`, `ds.map(...)` ... on a tf.data or
Hugging Face dataset as a statement of its own.

tf.data datasets are immutable, and Hugging Face datasets return a new dataset from map,
filter, shuffle and the like: a transformation whose result is not kept does nothing. The rule
reports it only when the receiver is known to be such a dataset (its chain goes back to a
TensorFlow, Keras, TensorFlow Datasets or `datasets` call, also through the parameters of a
function every call of which passes one), never for Python's or NumPy's in-place `shuffle`.
"""
from __future__ import annotations

from ..findings import Fix, Severity, TextEdit
from ..parsing import F_ATTRIBUTE, F_BODY, F_FUNCTION, F_LEFT, F_OBJECT, F_VALUE
from ..values import args_of, method_call, returned_values, strip
from . import Rule
from ._discarded import discarding_statement, shown_by_notebook
from ._tfdata import DATASET_METHODS, HF_METHODS, origin

# Only speed is lost when these are dropped; the others change what the model is fed.
_PERFORMANCE_ONLY = frozenset({"prefetch", "cache", "snapshot"})
_WHAT_IS_LOST = {
    "shuffle": "this shuffle does not happen",
    "batch": "the data is not batched",
    "padded_batch": "the data is not batched",
    "filter": "nothing is filtered out",
    "repeat": "the data is not repeated",
    "take": "the dataset is not shortened",
    "skip": "nothing is skipped",
    "select": "no rows are selected",
    "remove_columns": "the columns are still there",
    "train_test_split": "it is not split",
    "sort": "it is not sorted",
    "with_options": "its options are not applied",
}
# The result is a different kind of object (a DatasetDict) or a part of the data: assigning it
# back to the same name could break later code or silently train on a sample.
_NO_FIX = frozenset({"train_test_split", "take", "skip", "shard", "select", "to_iterable_dataset"})
# Methods whose call for a side effect is what a map with a function returning None is.
_SIDE_EFFECTS = frozenset({"append", "extend", "add", "update", "write", "writerow", "save", "put",
                           "print", "log", "imwrite", "savefig", "insert", "increment"})
# A notebook cell's last line is displayed; for these, the display is the point (a peek).
_PEEKS = frozenset({"take", "select", "shard"})


def check(ctx):
    facts = ctx.facts
    for method in sorted(DATASET_METHODS | HF_METHODS):
        for call, recv in facts.method_calls(method):
            stmt = discarding_statement(call)
            if stmt is None or recv is None or (method in _PEEKS and shown_by_notebook(ctx, stmt)):
                continue
            kind, source = origin(ctx, recv)
            if not ((kind == "tf" and method in DATASET_METHODS) or (kind == "hf" and method in HF_METHODS)):
                continue
            if kind == "hf" and shown_by_notebook(ctx, stmt) and _only_looked_at_later(ctx, recv, stmt):
                continue   # Jupyter shows the mapped dataset's columns and rows: a look at the result
            if kind == "hf" and method == "map" and _for_side_effects(ctx, call):
                continue   # Dataset.map runs at once: `ds.map(save_image)` did its work
            if _expected_to_raise(ctx, stmt):
                continue   # `with pytest.raises(TypeError): ds.map(...)`: called to see it fail
            yield _finding(ctx, call, recv, method, stmt, source, kind)


def _only_looked_at_later(ctx, recv, stmt) -> bool:
    """After `stmt`, the dataset `recv` names is not handed on: it is only read, printed or
    transformed again from its raw state. A dataset handed on (`Trainer(train_dataset=
    ds["train"])`, a function's argument, `ds.set_format(...)`) was meant to be transformed: the
    lost map is a bug, not a look."""
    recv = strip(recv)
    while recv is not None and recv.type == "subscript":
        recv = strip(recv.child_by_field_id(F_VALUE))
    if recv is None or recv.type != "identifier":
        return False
    later = [i for i in ctx.facts.identifiers_named(ctx.text(recv)) if i.start_byte >= stmt.end_byte]
    if len(later) > 200:
        return False   # read too often to tell: take it as handed on
    for ident in later:
        if ident.parent is not None and ident.parent.type == "assignment" \
                and ident.parent.child_by_field_id(F_LEFT) == ident:
            return True   # bound again (`ds = ds.map(...)`): what came before was a look
        node = ident
        while node.parent is not None and node.parent.type == "subscript" and node.parent.child_by_field_id(F_VALUE) == node:
            node = node.parent   # `ds["train"]`
        parent = node.parent
        if parent is not None and parent.type == "argument_list":
            call = parent.parent
            fn = strip(call.child_by_field_id(F_FUNCTION)) if call is not None else None
            shown = ctx.text(fn).rsplit(".", 1)[-1] if fn is not None else ""
            if shown not in ("print", "display", "len", "DataFrame") and not shown.startswith("show"):
                return False   # handed to a Trainer, a DataLoader, a function of the file
        elif parent is not None and parent.type == "keyword_argument":
            return False       # `Trainer(train_dataset=ds["train"])`
        elif parent is not None and parent.type == "attribute" and parent.child_by_field_id(F_OBJECT) == node \
                and ctx.text(parent.child_by_field_id(F_ATTRIBUTE)) in _FORMATTERS:
            return False       # `ds.set_format("torch", columns=["input_ids", ...])`
    return True


# In-place setters that prepare the dataset for training: reaching them, it was meant to change.
_FORMATTERS = frozenset({"set_format", "set_transform", "with_format", "to_tf_dataset", "save_to_disk"})


_RAISES = ("raises(", "assertRaises(", "assertRaisesRegex(")


def _expected_to_raise(ctx, stmt) -> bool:
    """`stmt` is in the body of `with pytest.raises(...)` / `self.assertRaises(...)`."""
    node = stmt.parent
    while node is not None and node.type not in ("function_definition", "module"):
        if node.type == "with_statement":
            head = ctx.text(node)[:ctx.text(node).find(":")]
            if any(r in head for r in _RAISES):
                return True
        node = node.parent
    return False


def _for_side_effects(ctx, call) -> bool:
    """The function handed to an eager map returns nothing: a lambda calling a mutating method
    (`lambda ex: counts.append(...)`) or a function of the file without a `return` value."""
    pos, kw = args_of(call)
    fn = strip(pos[0] if pos else kw.get("function"))
    if fn is None:
        return False
    if fn.type == "lambda":
        body = strip(fn.child_by_field_id(F_BODY))
        if body is None or body.type != "call":
            return False
        callee = body.child_by_field_id(F_FUNCTION)
        name = ctx.text(callee).rsplit(".", 1)[-1] if callee is not None else ""
        return name in _SIDE_EFFECTS
    if fn.type == "identifier":
        defs = ctx.facts.functions_named(ctx.text(fn))
        return len(defs) == 1 and not any(v is not None for v in returned_values(defs[0]))
    return False


def _finding(ctx, call, recv, method, stmt, source, kind):
    name = ctx.text(recv)
    plain = strip(recv) is not None and strip(recv).type == "identifier"
    if method == "map":
        lost = ("the function is never applied to the data" if kind == "tf" else
                "the mapped data is lost (the function runs over every row, but the new columns "
                "live only in the returned dataset)")
    else:
        lost = _WHAT_IS_LOST.get(method, "it has no effect")
    if method in _PERFORMANCE_ONLY:
        lost = "the pipeline runs without it (slower, nothing else changes)"
    why = ("tf.data datasets are immutable" if kind == "tf" else
           f"a Hugging Face dataset's `{method}` does not change it in place")
    what = f"`{name}` is unchanged" if plain else "the dataset is unchanged"
    b = ctx.facts.binding(name, call.start_byte) if plain else None
    if b is not None and b.kind == "param":
        advice = (f"Assign the result and return it (`{name} = {ctx.text(call)}` ... `return {name}`): "
                  "the caller's dataset cannot be changed in place")
    elif ctx.facts.loops_containing(stmt.start_byte) and not _made_in_the_loop(ctx, b, stmt):
        advice = "Build the dataset with this step once, where it is made, rather than in the loop"
    elif plain:
        advice = f"Assign the result (`{name} = {ctx.text(call)}`) or chain it where the dataset is built"
    else:
        advice = "Keep the result in a name and use that, or chain the call where the dataset is built"
    message = (f"`{ctx.text(call)}` returns a new dataset and the result is thrown away: {why}, "
               f"so {what} and {lost}. {advice}.")
    split = method == "shuffle" and kind == "tf" and _split_later(ctx, recv, stmt)
    if split:
        # Assigned back, this shuffle would reshuffle every pass under a take/skip split.
        message += (" The dataset is split with take/skip later: pass reshuffle_each_iteration=False "
                    "too, or the parts will overlap.")
    severity = Severity.WARNING if method in _PERFORMANCE_ONLY else None
    fix = None if split or method in _NO_FIX or (method == "shuffle" and _split_in_file(ctx)) \
        else _fix(ctx, stmt, call, recv, b)
    return ctx.finding(call, message, related=[ctx.related(source, "the dataset, made here")],
                       fix=fix, severity=severity)


def _made_in_the_loop(ctx, binding, stmt) -> bool:
    loop = ctx.facts.innermost_loop(stmt.start_byte)
    return binding is not None and loop is not None and loop.start_byte < binding.pos < stmt.start_byte


def _split_later(ctx, recv, stmt) -> bool:
    """`recv` is the receiver of both a take() and a skip() after `stmt`, in the same function
    (a `take(1)` alone is a peek, not a split)."""
    recv = strip(recv)
    if recv is None or recv.type != "identifier":
        return False
    name = ctx.text(recv)
    facts = ctx.facts
    scope = facts.scope_id(stmt.start_byte)

    def later(method):
        for call, other in facts.method_calls(method):
            other = strip(other)
            if (call.start_byte > stmt.end_byte and other is not None and other.type == "identifier"
                    and ctx.text(other) == name and facts.scope_id(call.start_byte) == scope):
                return True
        return False

    return later("take") and later("skip")


def _split_in_file(ctx) -> bool:
    """The file splits some dataset with take and skip (maybe in a helper this one is passed
    to): a shuffle made effective there could make the split reshuffle, so no automatic fix."""
    facts = ctx.facts
    return bool(facts.method_calls("take")) and bool(facts.method_calls("skip"))


def _fix(ctx, stmt, call, recv, binding):
    """`ds.shuffle(n)` -> `ds = ds.shuffle(n)`, for a plain name alone in its statement, bound
    in the same function (not a parameter: the caller's dataset stays as it was; not a global
    read from a function: the assignment would make it local) and, in a notebook, in the same
    cell; not in a loop, where the assignment would stack one more transformation every time
    round (so would re-running a cell that does not build the dataset)."""
    recv = strip(recv)
    facts = ctx.facts
    loop = facts.innermost_loop(stmt.start_byte)
    if loop is not None and (binding is None or not loop.start_byte < binding.pos < stmt.start_byte):
        return None   # made before the loop: assigning would add a step every time round
    if recv is None or recv.type != "identifier" or stmt.named_child_count != 1 or strip(stmt.named_children[0]) != call:
        return None
    inner, _method = method_call(call)
    if strip(inner) != recv:
        return None
    if binding is None or binding.kind != "assign" or binding.scope != facts.scope_id(stmt.start_byte):
        return None
    if ctx.doc.cell_map is not None and ctx.doc.location(binding.pos)[0] != ctx.doc.location(stmt.start_byte)[0]:
        return None
    name = ctx.text(recv)
    return Fix(f"Assign the result to `{name}`", (TextEdit(stmt.start_byte, stmt.start_byte, f"{name} = "),))


RULE = Rule("dataset-op-discarded", Severity.ERROR, "epochs-batches-iterations",
            "A tf.data or Hugging Face dataset transformation whose result is thrown away", check,
            needs=(b"tensorflow", b"keras", b"datasets"))
