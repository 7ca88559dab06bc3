"""tensor-to-discarded: `x.to(device)` on a tensor as a statement of its own.

`Module.to()` moves a model in place, so `model.to(device)` on its own line works. `Tensor.to()`
returns a new tensor and leaves `x` where it was; the same holds for `.cuda()`, `.cpu()` and the
dtype casts (`.float()`, `.long()` ...). The rule reports such a call only when its receiver is
known to be a tensor: a part of a batch from a data loader (`for x, y in loader`,
`next(iter(loader))`, `batch[0]`), the result of a torch tensor factory (`torch.tensor`,
`torch.randn` ...), an item of a Hugging Face tokenizer's output with return_tensors="pt"
(`enc["input_ids"]`, `enc.input_ids`), or one of these through tensor-to-tensor methods
(`x.squeeze()`), or a parameter annotated as a tensor or passed one by every call of its
function in the file. Modules,
PyG `Data` / Hugging Face `BatchEncoding` batches (their `.to()` is in place) and unknown
objects are left alone.
"""
from __future__ import annotations

from ..findings import Fix, Severity, TextEdit
from ..parsing import F_ATTRIBUTE, F_FUNCTION, F_LEFT, F_OBJECT, F_RIGHT
from ..values import (
    PASSTHROUGH_METHODS,
    TENSOR_FACTORIES,
    args_of,
    follow,
    has_splat,
    is_assignment_target,
    method_call,
    param_index,
    string_value,
    strip,
    unwrap_calls,
)
from ..values import _callee_name as _called_as  # (this module has its own _callee_name)
from . import Rule
from ._discarded import discarding_statement, shown_by_notebook
from ._uses import is_loader

MOVES = ("to", "cuda", "cpu")
CASTS = ("float", "double", "half", "bfloat16", "long", "int", "bool")
_MODULE_CASTS = ("float", "double", "half", "bfloat16")  # nn.Module has these, in place

TENSOR_TYPES = frozenset({"torch.Tensor", *(f"torch.{t}Tensor" for t in (
    "Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool"))})
# Calls that hand the loader's batches through unchanged: `enumerate(tqdm(loader))`.
_WRAPPERS = frozenset({"enumerate", "tqdm", "notebook_tqdm", "track", "progress_bar", "iter", "list"})
# Fields of a Hugging Face BatchEncoding / BatchFeature read as attributes (`enc.input_ids`).
ENCODING_FIELDS = frozenset({"input_ids", "attention_mask", "token_type_ids", "position_ids",
                             "labels", "pixel_values", "input_features", "input_values",
                             "decoder_input_ids", "decoder_attention_mask", "special_tokens_mask"})
_MAX_DEPTH = 8


def check(ctx):
    for method in MOVES + CASTS:
        for call, recv in ctx.facts.method_calls(method):
            stmt = discarding_statement(call)
            if stmt is None or recv is None:
                continue
            if method in CASTS and shown_by_notebook(ctx, stmt):
                continue
            if _made_right_here(ctx, recv):
                continue  # `torch.zeros(2, 2).cuda()`: nothing named is left behind (a CUDA warm-up)
            source = _tensor_source(ctx, recv, 0)
            if source is None:
                continue
            yield _finding(ctx, call, recv, method, stmt, source)


def tensor_receiver(ctx, recv) -> bool:
    """For the hover: `recv` is known to be a tensor (what this rule needs to report a move)."""
    return recv is not None and _tensor_source(ctx, recv, 0) is not None


def discarded_move(ctx, call, recv) -> bool:
    """For the hover: this rule reports `call` (`x.to(device)` on a tensor, result thrown away)."""
    if recv is None or discarding_statement(call) is None or _made_right_here(ctx, recv):
        return False
    return _tensor_source(ctx, recv, 0) is not None


def _made_right_here(ctx, recv) -> bool:
    """The moved tensor is made in the statement itself (`torch.ones(1).to("cuda")`,
    `torch.zeros(2).float().cuda()`): no name, attribute or item stays on the old device."""
    node = strip(recv)
    while node is not None and node.type == "call":
        inner, _method = method_call(node)
        if inner is None or ctx.facts.callee_qual(node) is not None:
            return True   # a function at the root (`torch.zeros`), not a method of a stored tensor
        node = strip(inner)
    return False


def _finding(ctx, call, recv, method, stmt, source):
    name = ctx.text(recv)
    call_text = ctx.text(call)
    # A cell's last statement is displayed: deleting it, or assigning it, changes what the
    # notebook shows (and a moved `m` breaks a later `m.numpy()`), so the fix is the reader's.
    shown = shown_by_notebook(ctx, stmt)
    later = _reassigned_next(ctx, stmt, name, method)
    if later is not None:
        # (No line number in the message: an edit above would change it, not the finding.)
        return ctx.finding(
            call, f"`{call_text}` has no effect: Tensor.{method}() returns a copy, which is thrown "
            f"away here; the assignment after it does the conversion. Delete this line.",
            related=[ctx.related(later, "the assignment that does it")],
            severity=Severity.WARNING, fix=None if shown else _delete_fix(ctx, stmt))
    if method in MOVES and _only_sized_later(ctx, stmt, recv):
        # `feat.to(device)` then only `feat.size(0)`: the unmoved tensor never meets the model
        # (the batch it came from is moved elsewhere): a line that does nothing, not a crash
        return ctx.finding(
            call, f"`{call_text}` has no effect: Tensor.{method}() returns a copy, which is thrown "
            f"away here, and `{name}` is only read for its size after it. Delete this line (or "
            f"assign the result, `{name} = {call_text}`, if it was meant to be used).",
            related=[ctx.related(source[0], source[1])],
            severity=Severity.WARNING, fix=None if shown else _delete_fix(ctx, stmt))
    if method in MOVES:
        where = "on the CPU" if method == "cpu" else "on its old device"
        what = (f"`{call_text}` returns a copy of the tensor and the copy is thrown away: `{name}` "
                f"stays {where}. Tensor.{method}() is not in place, unlike Module.{method}(), "
                "so the model and this tensor end up on different devices.")
    else:
        unlike = f", unlike Module.{method}()" if method in _MODULE_CASTS else ""
        what = (f"`{call_text}` returns a converted copy and the copy is thrown away: `{name}` "
                f"keeps its dtype. Tensor.{method}() is not in place{unlike}.")
    return ctx.finding(call, what + f" Assign the result: `{name} = {call_text}`.",
                       related=[ctx.related(source[0], source[1])],
                       fix=None if shown else _fix(ctx, stmt))


def _reassigned_next(ctx, stmt, name, method):
    """The next statement of the block that mentions `name`, when it is an assignment to `name`
    from `name.<method>(...)` (the bare line is then only redundant), else None."""
    node = stmt.next_named_sibling
    while node is not None:
        if node.type != "comment" and _mentions(ctx, node, name):
            inner = node.named_children[0] if node.type == "expression_statement" and node.named_children else None
            if inner is not None and inner.type == "assignment":
                left = inner.child_by_field_id(F_LEFT)
                right = inner.child_by_field_id(F_RIGHT)
                if left is not None and right is not None and _mentions(ctx, left, name) \
                        and f"{name}.{method}(" in ctx.text(right):
                    return node
            return None
        node = node.next_named_sibling
    return None


# Reads of a tensor that do not depend on its device: its size and type.
_SIZE_ATTRIBUTES = frozenset({"shape", "dtype", "ndim"})
_SIZE_METHODS = frozenset({"size", "dim", "numel", "nelement", "ndimension"})


def _only_sized_later(ctx, stmt, recv) -> bool:
    """`recv` is a plain name that is read after `stmt` (in its scope, up to a new binding) and
    only for its size (`x.size(0)`, `x.shape`, `len(x)`); inside a loop, its reads earlier in
    the loop body count too (the next iteration)."""
    recv = strip(recv)
    if recv is None or recv.type != "identifier":
        return False
    facts = ctx.facts
    name = ctx.text(recv)
    scope = facts.scope_id(stmt.start_byte)
    loop = facts.innermost_loop(stmt.start_byte)
    start = loop.start_byte if loop is not None and facts.scope_id(loop.start_byte) == scope else stmt.end_byte
    reads = 0
    for ident in facts.identifiers_named(name):
        if ident.start_byte < start or stmt.start_byte <= ident.start_byte < stmt.end_byte \
                or facts.scope_id(ident.start_byte) != scope:
            continue
        if is_assignment_target(ident):
            if ident.start_byte > stmt.end_byte:
                break     # a new value from here on
            continue      # (the loop's own rebinding before the statement)
        if not _size_read(ctx, ident):
            return False
        reads += 1
    return reads > 0




def _size_read(ctx, ident) -> bool:
    parent = ident.parent
    if parent is None:
        return False
    if parent.type == "attribute" and parent.child_by_field_id(F_OBJECT) == ident:
        attr = ctx.text(parent.child_by_field_id(F_ATTRIBUTE))
        if attr in _SIZE_ATTRIBUTES:
            return True
        call = parent.parent
        return attr in _SIZE_METHODS and call is not None and call.type == "call"
    if parent.type == "argument_list" and parent.parent is not None and parent.parent.type == "call":
        return _callee_name(ctx, parent.parent) == "len" and len(parent.named_children) == 1
    return False


def _mentions(ctx, node, name) -> bool:
    """`node` reads or writes `name` (`x`, or `batch[0]` as a whole), comments aside."""
    if ctx.text(node) == name:
        return True
    if name not in ctx.text(node):
        return False
    stack = list(node.named_children)
    while stack:
        n = stack.pop()
        if n.type == "comment":
            continue
        if n.type in ("identifier", "subscript", "attribute") and ctx.text(n) == name:
            return True
        stack.extend(n.named_children)
    return False


def _delete_fix(ctx, stmt):
    """Delete the statement's line, when the statement is alone on it."""
    lines = ctx.own_lines(stmt)
    if lines is None or ctx.doc.index.line_of(stmt.start_byte) != ctx.doc.index.line_of(stmt.end_byte):
        return None  # something else on the line (`a.to(d); b = 1`), or several lines
    return Fix("Delete the line", (TextEdit(lines[0], lines[1], ""),))


def _fix(ctx, stmt):
    """`x.to(d)` -> `x = x.to(d)`; `a.to(d), b.to(d)` -> `a, b = a.to(d), b.to(d)`: only when
    every value of the statement is such a call on a plain name (another value's target would
    be unknown)."""
    values = [strip(v) for v in stmt.named_children]
    if len(values) == 1 and values[0].type == "tuple":
        return None  # `(a.to(d), b.to(d))`: rare, and the parentheses would need rewriting
    names = []
    for value in values:
        if value is None or value.type != "call":
            return None
        recv, method = method_call(value)
        recv = strip(recv)
        if method not in MOVES + CASTS or recv is None or recv.type != "identifier":
            return None
        names.append(ctx.text(recv))
    if len(set(names)) != len(names):
        return None
    target = ", ".join(names)
    return Fix(f"Assign the result: `{target} = ...`",
               (TextEdit(stmt.start_byte, stmt.start_byte, f"{target} = "),))


# -- is it a tensor? ---------------------------------------------------------------------------
def _tensor_source(ctx, expr, depth):
    """(node, message) saying where the tensor `expr` comes from, or None when `expr` is not
    known to be a tensor."""
    expr = strip(expr)
    if expr is None or depth > _MAX_DEPTH:
        return None
    if expr.type == "identifier":
        return _name_source(ctx, expr, depth)
    if expr.type == "call":
        qual = ctx.facts.callee_qual(expr)
        if qual in TENSOR_FACTORIES:
            return expr, f"a tensor made by `{qual}`"
        recv, method = method_call(expr)
        if method == "encode" and _returns_torch(ctx, expr):  # `tokenizer.encode(s, return_tensors="pt")`
            return expr, "a tensor made by `encode(..., return_tensors=\"pt\")`"
        if recv is not None and method in PASSTHROUGH_METHODS:
            return _tensor_source(ctx, recv, depth + 1)
        return None
    if expr.type == "attribute":
        # `enc.input_ids` of a tokenizer's / processor's output with return_tensors="pt"
        obj, attr = expr.named_children[0], expr.named_children[-1]
        if ctx.text(attr) in ENCODING_FIELDS and _is_encoding(ctx, obj):
            return expr, f"`{ctx.text(obj)}` holds torch tensors (return_tensors=\"pt\")"
        return None
    if expr.type == "subscript":
        # `batch[0]`, `batch["input_ids"]`: an item of a loader's batch is a tensor.
        base = strip(expr.named_children[0]) if expr.named_children else None
        key = expr.named_children[1] if len(expr.named_children) == 2 else None
        if base is not None and key is not None and key.type == "string" and _is_encoding(ctx, base):
            # `enc["input_ids"]` (an int index would give a tokenizers `Encoding`, not a tensor)
            return expr, f"`{ctx.text(base)}` holds torch tensors (return_tensors=\"pt\")"
        if base is not None and base.type == "identifier":
            b = ctx.facts.binding(ctx.text(base), base.start_byte)
            batch = _batch_of(ctx, b) if b is not None else None
            if batch is not None and batch[0] == "whole":
                return b.target, f"`{b.name}` is a batch from `{ctx.text(batch[1])}`"
        return _tensor_source(ctx, base, depth + 1) if base is not None else None
    return None


def _returns_torch(ctx, call) -> bool:
    _, kw = args_of(call)
    value = kw.get("return_tensors")
    return value is not None and string_value(value) == "pt"


def _is_encoding(ctx, expr) -> bool:
    """`expr` is what a Hugging Face tokenizer or processor returned with return_tensors="pt"
    (a BatchEncoding / BatchFeature of torch tensors): the call itself or a name bound to it."""
    value = follow(ctx.facts, expr)
    if value is None or value.type != "call" or not _returns_torch(ctx, value):
        return False
    _, method = method_call(value)
    return method not in ("encode", "apply_chat_template")  # these return a tensor (or a dict)


def _name_source(ctx, ident, depth):
    b = ctx.facts.binding(ctx.text(ident), ident.start_byte)
    if b is not None and b.kind == "param":
        return _param_source(ctx, ident, b, depth)
    if b is None or b.value is None:
        return None
    value = strip(b.value)
    if b.kind == "for":
        batch = _batch_of(ctx, b)
        if batch is not None and batch[0] == "part":
            return b.target, f"`{b.name}` is part of a batch from `{ctx.text(batch[1])}`"
        return None
    if b.kind != "assign":
        return None
    if b.index is None:
        return _tensor_source(ctx, value, depth + 1)
    if value.type == "identifier":  # `inputs, labels = data`, data a whole batch from a loader
        whole = ctx.facts.binding(ctx.text(value), value.start_byte)
        batch = _batch_of(ctx, whole) if whole is not None else None
        if batch is not None and batch[0] == "whole":
            return b.target, f"`{b.name}` is part of a batch from `{ctx.text(batch[1])}`"
        return None
    if value.type in ("expression_list", "tuple"):  # `x, y = x.squeeze(), y.squeeze()`
        items = [c for c in value.named_children if c.type != "comment"]
        if len(items) == b.count:
            return _tensor_source(ctx, items[b.index], depth + 1)
        return None
    if value.type == "call" and _callee_name(ctx, value) == "next":  # `x, y = next(iter(loader))`
        pos, _ = args_of(value)
        loader, enumerated = _loader_of(ctx, pos[0]) if len(pos) == 1 else (None, False)
        if loader is not None and not enumerated:
            return b.target, f"`{b.name}` is part of a batch from `{ctx.text(loader)}`"
    return None


def _param_source(ctx, ident, b, depth):
    """A parameter is a tensor when it is annotated as one (`x: torch.Tensor`), or when every
    call of its function in this file passes a known tensor for it (`train_step(model, xb, yb)`
    inside `for xb, yb in loader`). A method's callers (`obj.step(x)`) cannot be matched by
    name, except `__init__`'s (`Holder(t)`); a call with `*args` / `**kwargs`, or one that
    leaves the parameter to its default, leaves it unknown."""
    func = ctx.facts.function_at(ident.start_byte)
    if func is None or b.scope != func.start_byte:
        return None
    annotation = _tensor_annotation(ctx, b.target)
    if annotation is not None:
        return annotation, f"`{b.name}` is annotated as a tensor"
    callee, skip = _called_as(ctx.facts, func)
    index, keyword_only = param_index(ctx.facts, func, b.name)
    if callee is None or index is None or index < skip:
        return None
    first = None
    for call in ctx.facts.calls_named(callee):
        if has_splat(call):
            return None
        pos, kw = args_of(call)
        arg = kw.get(b.name) if b.name in kw or keyword_only else (
            pos[index - skip] if index - skip < len(pos) else None)
        source = _tensor_source(ctx, arg, depth + 1) if arg is not None else None
        if source is None:
            return None
        if first is None:
            first = (arg, source[1])
    if first is None:
        return None
    arg, why = first
    said = f"`{ctx.text(arg)}` is "
    why = why.removeprefix(said)
    return arg, f"`{b.name}` is a tensor: `{callee}(...)` is called with `{ctx.text(arg)}` ({why})"


def _tensor_annotation(ctx, target):
    """The annotation of parameter `target` when it names a torch tensor class, else None."""
    param = target.parent
    if param is None or param.type not in ("typed_parameter", "typed_default_parameter"):
        return None
    annotation = param.child_by_field_name("type")
    node = annotation.named_children[0] if annotation is not None and annotation.named_children else annotation
    if node is None:
        return None
    if node.type == "string":  # `x: "torch.Tensor"`
        text = string_value(node) or ""
        head, _, rest = text.partition(".")
        base = ctx.facts.imports.get(head)
        qual = (f"{base}.{rest}" if rest else base) if base else None
    else:
        qual = ctx.facts.qual(node)
    return annotation if qual in TENSOR_TYPES else None


def _batch_of(ctx, b):
    """("whole" | "part", loader) when the loop variable of binding `b` is a loader's batch
    (`for batch in loader`, `for i, batch in enumerate(loader)`) or a part of one (`for x, y in
    loader`, `for i, (x, y) in enumerate(loader)`: a nested pattern, no index), else None.
    A whole batch may be a BatchEncoding or a PyG batch, whose .to() is in place: only its
    items count as tensors."""
    if b.kind != "for" or b.value is None:
        return None
    loader, enumerated = _loader_of(ctx, b.value)
    graphs = _graph_loader(ctx, loader) if loader is not None else None
    if loader is None or graphs == "pyg":
        return None
    if enumerated:
        kind = "whole" if b.index == 1 and b.count == 2 else "part" if b.index is None and b.count == 0 else None
    else:
        kind = "whole" if b.index is None and b.count == 1 else "part" if b.index is not None and b.count >= 2 else None
    if kind == "whole" and graphs == "maybe":
        return None   # its items may be PyG graphs; parts unpacked by the loop are tensors all the same
    return (kind, loader) if kind is not None else None


def _graph_loader(ctx, loader) -> str | None:
    """"pyg" for a PyTorch Geometric loader: its batches, their parts and their items (`batch[0]`
    of a pair of graphs) are graphs, whose `.to()` moves them in place; "maybe" for a loader of
    unknown type in a file that imports PyTorch Geometric (its batches' items may be graphs);
    else None. (DGL's `DGLGraph.to()` returns a copy, like a tensor's.)"""
    if loader.type == "call":
        qual = ctx.facts.callee_qual(loader)
    else:
        qual = ctx.values.instance(loader)[0]
    if qual is None:   # a loader handed in (`def get_embeddings(self, loader)`)
        return "maybe" if any(v.split(".", 1)[0] == "torch_geometric" for v in ctx.facts.imports.values()) else None
    return "pyg" if qual.startswith("torch_geometric.") else None


def _callee_name(ctx, call) -> str:
    fn = call.child_by_field_id(F_FUNCTION)
    return ctx.text(fn).rsplit(".", 1)[-1] if fn is not None else ""


def _loader_of(ctx, iterable):
    """(the data loader `iterable` goes over through tqdm / iter / enumerate, whether enumerate
    was one of them), or (None, False)."""
    node, seen = unwrap_calls(iterable, _WRAPPERS)
    if node is None or seen.count("enumerate") > 1 or not is_loader(ctx, node):
        return None, False
    return node, "enumerate" in seen


RULE = Rule("tensor-to-discarded", Severity.ERROR, "device-placement",
            "Tensor .to()/.cuda()/.float() result thrown away", check,
            needs=(b".to(", b".cuda(", b".cpu(", b".float(", b".double(", b".half(", b".long(",
                   b".int(", b".bool(", b".bfloat16("))
