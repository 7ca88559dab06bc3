"""hardcoded-cuda: "cuda" with no availability check crashes on CPU-only machines."""
from __future__ import annotations

import re
from bisect import bisect_left

from ..findings import Fix, Severity
from ..namescan import whole_name_matches
from ..parsing import (
    F_ALIAS,
    F_ARGUMENTS,
    F_ATTRIBUTE,
    F_BODY,
    F_CONDITION,
    F_CONSEQUENCE,
    F_DEFINITION,
    F_FUNCTION,
    F_LEFT,
    F_NAME,
    F_OBJECT,
    F_RIGHT,
    F_SUPERCLASSES,
)
from ..values import (
    args_of,
    assigned_name,
    class_of_method,
    follow,
    has_splat,
    is_callee,
    is_keyword_name,
    is_method,
    literal_value,
    method_call,
    param_index,
    string_value,
    strip,
)
from . import Rule
from ._devices import (
    CUDA_DEVICE,
    GUARDS,
    candidate_calls,
    checked_scopes,
    gpu_only_model,
    half_precision_on_gpu,
    outer_checked,
    targets_gpus,
    under_gpu_condition,
)
from ._testfiles import is_test_module
from ._training import statement_of

_DEVICE_KEYWORDS = ("device", "map_location")


def check(ctx):
    if any(ctx.facts.mentions(g) for g in GUARDS) or _gpu_env_magic(ctx):
        return  # the file decides the device somewhere: trust it
    if is_test_module(ctx):
        return  # GPU tests are chosen by markers and CI runners (skipif, conftest), not in the code
    facts = ctx.facts
    if not any(v == "torch" or v.startswith("torch.") for v in facts.imports.values()):
        return  # `.cuda()` of some other library
    if targets_gpus(ctx):
        return  # distributed / RPC training scripts target GPU clusters by design
    # The fix needs a name bound to the torch module; `import torch.nn as nn` alone has none.
    torch_name = next((k for k, v in facts.imports.items() if v == "torch"), None)
    checked = checked_scopes(ctx)
    if -1 in checked:
        return
    # a scope that first calls the file's own check that stops without a GPU (`check_gpu()`);
    # at module level that guards the module's code after it, not functions others may import
    checked |= _scopes_calling_a_gpu_check_that_stops(ctx)
    checked |= _methods_of_classes_asserting_cuda(ctx) | _functions_importing_gpu_only(ctx) \
        | _cuda_stream_code(ctx) | _functions_given_a_gpu(ctx)
    if _imports_a_gpu_only_library(ctx) or _quantized_for_the_gpu(ctx):
        return  # the file needs a GPU anyway (Triton kernels, `import unsloth` fails without one)
    calls = candidate_calls(facts)
    if any(half_precision_on_gpu(ctx, call) for call in calls) or gpu_only_model(ctx):
        return  # a float16 model put on the GPU: the file is GPU-only by design
    if any(_names_another_gpu(ctx, call) for call in calls):
        return  # `cuda:1`: written for a machine with several GPUs, like `device_count()`
    for call in calls:
        if facts.scope_id(call.start_byte) in checked or outer_checked(ctx, call, checked) \
                or _only_called_where_checked(ctx, call, checked):
            continue
        if call.parent is not None and call.parent.type == "comparison_operator":
            continue  # `device == torch.device("cuda")`: a test, nothing is placed
        if under_gpu_condition(ctx, call):
            continue  # `if use_cuda: model.cuda()`: the flag is the availability decision
        if _in_cuda_override(ctx, call):
            continue  # a module's own `def cuda(self, ...)`: runs when the caller asks for CUDA
        if _own_cuda_method(ctx, call):
            continue  # `self.cuda(*batch)`: the class's own helper, which uses no CUDA by name
        own = _project_class_cuda(ctx, call)
        if own:
            continue  # `framework.cuda()` of a trainer class of another file: its own method
        recv, method = method_call(call)
        q = facts.callee_qual(call)
        pos, kw = args_of(call)
        if method == "cuda" and q is None and recv is not None:
            if _chosen_gpu(ctx, call):
                continue  # `.cuda(gpu_id)` in a worker given its GPU: the caller picks the device
            fn = call.child_by_field_id(F_FUNCTION)
            args = call.child_by_field_id(F_ARGUMENTS)
            fix = None
            if not pos and not kw and args is not None and torch_name is not None and own is None:
                fix = Fix("Use the GPU only when it is available",
                          (ctx.edit(fn.child_by_field_id(F_ATTRIBUTE), "to"),
                           ctx.edit(args, f"({_guarded('cuda', torch_name)})")))
            advice = "pick the device once and use `.to(device)`." if own is None else \
                "pick the device once and have the class's own `cuda()` (which moves to the GPU) use it."
            yield ctx.finding(call, "`.cuda()` with no `torch.cuda.is_available()` check fails on "
                              f"machines without an NVIDIA GPU; {advice}", fix=fix)
            continue
        candidates = []
        if q == "torch.device" and pos and not _never_read(ctx, call) and not _read_nowhere(ctx, call) \
                and not _default_always_passed(ctx, call) and not _default_never_read(ctx, call):
            candidates.append(pos[0])
        if method == "to" and pos:
            candidates.append(pos[0])
        candidates.extend(v for k, v in kw.items() if k in _DEVICE_KEYWORDS)
        for node in candidates:
            node = follow(facts, node)  # device = "cuda"; model.to(device)
            if node is not None and node.type == "string" and under_gpu_condition(ctx, node):
                continue   # `if use_cuda: device = "cuda"`: the flag decides, as for `.cuda()`
            if node is not None and node.type == "attribute":
                value, where = _attribute_value(ctx, node)   # args.device = "cuda"; CFG.device
                if where is not None and (facts.scope_id(where.start_byte) in checked
                                          or under_gpu_condition(ctx, where)):
                    continue   # set where the availability is checked (`if is_available(): ...`)
                node = value or node
            value = string_value(node)
            if value is not None and CUDA_DEVICE.match(value):
                fix = None
                if torch_name is not None and _torch_bound_at(ctx, torch_name, node):
                    guarded = _guarded(value, torch_name)
                    # a conditional expression needs no parentheses as an argument, a keyword's
                    # value or an assignment's right side
                    bare = node.parent is not None and node.parent.type in _BARE_CONTEXTS
                    fix = Fix("Fall back to the CPU when CUDA is unavailable",
                              (ctx.edit(node, guarded if bare else f"({guarded})"),))
                yield ctx.finding(node, f'Hard-coded device "{value}" with no availability check '
                                  "crashes on CPU-only machines; fall back to the CPU.", fix=fix)


_ENV_MAGIC = re.compile(r"^[ \t]*%env\s+CUDA_VISIBLE_DEVICES", re.MULTILINE)


def _gpu_env_magic(ctx) -> bool:
    """A notebook cell sets `%env CUDA_VISIBLE_DEVICES=...` (IPython's way to set the variable;
    the analysis sees the line blanked to a comment): as `os.environ[...]` would."""
    cmap = ctx.doc.cell_map
    return cmap is not None and any(_ENV_MAGIC.search(c.source) for c in cmap.cells)


_OTHER_GPU = re.compile(r"^cuda:0*[1-9]\d*$")


def _names_another_gpu(ctx, call) -> bool:
    """`call` places something on a GPU other than the first: `.cuda(1)`, `.to("cuda:1")`,
    `torch.device("cuda:2")`, `torch.device("cuda", 1)`."""
    facts = ctx.facts
    _recv, method = method_call(call)
    pos, kw = args_of(call)
    if method == "cuda" or (facts.callee_qual(call) == "torch.device" and len(pos) > 1):
        index = pos[-1] if pos else kw.get("device")
        if index is not None and index.type == "integer" and ctx.text(index).isdigit() and int(ctx.text(index)) >= 1:
            return True
    for node in [*pos[:1], *(v for k, v in kw.items() if k in _DEVICE_KEYWORDS)]:
        value = string_value(follow(facts, node))
        if value is not None and _OTHER_GPU.match(value):
            return True
    return False


_DEVICE_NAME = re.compile(r"(?i)(?:^|_)dev(?:ice)?$")
_GPUS_ITERATED = re.compile(r"(?i)gpu|cuda|device|rank")


def _chosen_gpu(ctx, call) -> bool:
    """`.cuda(gpu_id)` whose GPU index is a parameter of the function (or lambda) around it or
    a loop's variable: a worker run once per GPU (`Process(target=worker, args=(..., g))` for
    `g in range(n_gpus)`), like `.to(device)` with a device given. Not `.cuda(0)` nor
    `.cuda(args.gpu)`, one fixed GPU, nor a name that says device (`.cuda(current_device)`):
    a device object may be the CPU's (`x.device`), which `.cuda()` refuses where `.to()` takes it."""
    facts = ctx.facts
    if facts.functions_named("cuda"):
        return False   # a class's own `cuda(self, *batch)` helper takes data, not a GPU index
    pos, kw = args_of(call)
    index = strip(pos[0] if pos else kw.get("device"))
    if index is None or index.type != "identifier" or _DEVICE_NAME.search(ctx.text(index)):
        return False
    name = ctx.text(index)
    b = facts.binding(name, call.start_byte)
    if b is not None and b.scope == facts.scope_id(call.start_byte):
        # a loop over the GPUs (`for g in range(n_gpus)`), not over batches (`for x, y in loader`)
        return b.kind == "param" or (b.kind == "for" and b.value is not None
                                     and _GPUS_ITERATED.search(ctx.text(b.value)) is not None)
    node = call.parent   # not bound in its own scope: a lambda's or an outer function's parameter
    while node is not None:
        if node.type in ("lambda", "function_definition") and param_index(facts, node, name)[0] is not None:
            return True
        node = node.parent
    return False


def _in_cuda_override(ctx, call) -> bool:
    """Inside a method `def cuda(self, ...)` of a class (not a module-level helper named cuda,
    which a script calls unconditionally)."""
    fn = ctx.facts.function_at(call.start_byte)
    name = fn.child_by_field_id(F_NAME) if fn is not None else None
    return name is not None and ctx.text(name) == "cuda" and is_method(fn)


def _attribute_assignments(ctx) -> dict:
    """`a.b = value` assignments of the file by the text of their target, once per version."""
    found = getattr(ctx.values, "_attribute_assignments", None)
    if found is None:
        found = ctx.values._attribute_assignments = {}
        for a in ctx.facts.assignments:
            left = a.child_by_field_id(F_LEFT)
            if left is not None and left.type == "attribute":
                found.setdefault(ctx.text(left), []).append(a)
    return found


def _assignment_record(ctx, text, cls, assignments) -> tuple:
    """(start bytes, number of different right-hand sides) of the assignments of `text` (in
    the class `cls` for `self.` targets), once per target: a file reading `args.device`
    thousands of times works them out once."""
    cache = ctx.values.__dict__.setdefault("_attribute_records", {})
    key = (text, cls.start_byte if cls is not None else None)
    if key not in cache:
        cache[key] = ([a.start_byte for a in assignments],
                      len({ctx.text(a.child_by_field_id(F_RIGHT)) for a in assignments}))
    return cache[key]


def _attribute_value(ctx, attr):
    """(value, the assignment or class statement holding it) for an attribute read `obj.name`,
    when the file says it and every assignment of it agrees: the last `obj.name = value` before
    it in its scope or at module level, of the same `obj` (`args.device = "cuda"`), else the
    class's one `self.name = value`, else a class attribute `name = value` of the file's class
    `obj` is, or is an instance of (`class CFG: device = "cuda"`), never assigned from outside.
    (None, None) otherwise: an if/else choosing between devices, a setup() that changes it."""
    facts = ctx.facts
    text = ctx.text(attr)
    everywhere = _attribute_assignments(ctx).get(text, [])
    obj, name = attr.child_by_field_id(F_OBJECT), attr.child_by_field_id(F_ATTRIBUTE)
    root = obj
    while root is not None and root.type == "attribute":
        root = root.child_by_field_id(F_OBJECT)
    cls = None
    if root is not None and ctx.text(root) == "self":
        fn = facts.function_at(attr.start_byte)
        cls = class_of_method(fn) if fn is not None and is_method(fn) else None
        if cls is None:
            return None, None
        everywhere = [a for a in everywhere if cls.start_byte < a.start_byte < cls.end_byte]   # this class's self
    starts, distinct = _assignment_record(ctx, text, cls, everywhere)
    if distinct > 1:
        return None, None   # set to different values somewhere: chosen at run time
    scope = facts.scope_id(attr.start_byte)
    last = None
    # the latest assignment before the read (by position: one bisect, not a scan of them all)
    i = bisect_left(starts, attr.start_byte)
    for a in reversed(everywhere[max(0, i - 32):i]):   # the nearest ones (a bounded look back)
        if facts.scope_id(a.start_byte) not in (scope, -1):
            continue
        if root is not None and root.type == "identifier" and ctx.text(root) != "self" and \
                facts.binding(ctx.text(root), a.start_byte) is not facts.binding(ctx.text(root), attr.start_byte):
            continue   # `args` of a function is not the module's `args`
        last = a
        break
    if last is not None:
        return strip(last.child_by_field_id(F_RIGHT)), last
    if cls is not None:
        # `self.device = "cuda"` in __init__, read in another method: the class's one assignment
        return (strip(everywhere[0].child_by_field_id(F_RIGHT)), everywhere[0]) if len(everywhere) == 1 \
            else (None, None)
    owner = strip(follow(facts, obj)) if obj is not None else None
    if owner is not None and owner.type == "call" and not args_of(owner)[0] and not args_of(owner)[1]:
        owner = strip(owner.child_by_field_id(F_FUNCTION))   # cfg = CFG()
    if owner is None or owner.type != "identifier" or name is None:
        return None, None
    attr_name = ctx.text(name)
    if attr_name in _assigned_attribute_names(ctx):
        return None, None   # `CFG.device = "cpu"` / `cfg.device = ...` somewhere: set at run time
    return _class_attributes(ctx).get(ctx.text(owner), {}).get(attr_name, (None, None))


def _assigned_attribute_names(ctx) -> set:
    """The attribute names some `x.name = ...` of the file assigns (once per version)."""
    found = getattr(ctx.values, "_assigned_attribute_names", None)
    if found is None:
        found = ctx.values._assigned_attribute_names = {k.rsplit(".", 1)[-1] for k in _attribute_assignments(ctx)}
    return found


def _class_attributes(ctx) -> dict:
    """class name -> {attribute: (value, statement)} of the plain `name = value` statements of
    its body (the last one of each), for the file's classes defined once (once per version)."""
    found = getattr(ctx.values, "_class_attributes", None)
    if found is not None:
        return found
    found = ctx.values._class_attributes = {}
    seen = set()
    for c in ctx.facts.classes_nodes:
        cname = c.child_by_field_id(F_NAME)
        if cname is None:
            continue
        key = ctx.text(cname)
        if key in seen:
            found.pop(key, None)   # defined twice: which one runs is unknown
            continue
        seen.add(key)
        attrs = found[key] = {}
        body = c.child_by_field_id(F_BODY)
        for stmt in body.named_children if body is not None else ():
            inner = stmt.named_children[0] if stmt.type == "expression_statement" and stmt.named_children else None
            if inner is not None and inner.type == "assignment":
                left = inner.child_by_field_id(F_LEFT)
                if left is not None and left.type == "identifier":
                    attrs[ctx.text(left)] = strip(inner.child_by_field_id(F_RIGHT)), inner
    return found


def _project_class_cuda(ctx, call) -> bool | None:
    """`x.cuda()` where `x` is an instance of a class of another file of the project that is not
    a model and defines `cuda()` itself (a trainer that moves its model): True when that method
    is more than a plain move to one GPU (it names no CUDA, or its file targets GPUs on
    purpose, DataParallel ...: judged in its own file, with that file's guards), False when it
    is one (reported here, with no fix: the object has no `.to()`), None for other receivers."""
    recv, method = method_call(call)
    workspace = ctx.values.workspace
    if method != "cuda" or recv is None or workspace is None or not getattr(workspace, "summaries", None):
        return None
    qual, _ctor = ctx.values.instance(recv)
    return workspace.own_cuda(qual) if qual is not None else None


def _own_cuda_method(ctx, call) -> bool:
    """`self.cuda(...)` in a class that is not a module (a trainer) and defines its own `cuda`
    method, whose code names no CUDA and moves to no device the file sets to "cuda" (`def
    cuda(self, *args): return (a.to(self.device) for a in args)` with a device passed in)."""
    recv, method = method_call(call)
    if method != "cuda" or recv is None or ctx.text(recv) != "self":
        return False
    fn = ctx.facts.function_at(call.start_byte)
    cls = class_of_method(fn) if fn is not None and is_method(fn) else None
    body = cls.child_by_field_id(F_BODY) if cls is not None else None
    supers = cls.child_by_field_id(F_SUPERCLASSES) if cls is not None else None
    if body is None or (supers is not None and re.search(r"\b(?:Module|LightningModule|Model|Layer|Sequential)\b",
                                                          ctx.text(supers).replace(".", " "))):
        return False   # nn.Module.cuda, overridden: `super().cuda()` / `.to(0)` moves to the GPU
    for d in body.named_children:
        if d.type == "decorated_definition":
            d = d.child_by_field_id(F_DEFINITION)
        name = d.child_by_field_id(F_NAME) if d is not None and d.type == "function_definition" else None
        if name is None or ctx.text(name) != "cuda":
            continue
        if "cuda" in ctx.facts.code_in(d.child_by_field_id(F_BODY)).lower():
            return False
        for inner in ctx.facts.calls_in(d):
            _r, m = method_call(inner)
            pos, _kw = args_of(inner)
            if m == "to" and pos:
                target = strip(follow(ctx.facts, pos[0]))
                if target is not None and target.type == "attribute":
                    target = _attribute_value(ctx, target)[0]
                value = string_value(target) if target is not None else None
                if value is not None and CUDA_DEVICE.match(value):
                    return False   # `.to(self.device)` with `self.device = "cuda"`
        return True
    return False


def _never_read(ctx, call) -> bool:
    """`device = torch.device("cuda")` whose value nothing reads: the name is bound again in the
    same scope before any use (bentrevett/pytorch-rl sets `device = torch.device('cpu')` a few
    cells later), and building a device object does not touch the GPU. A read from a function
    that does not bind the name itself may run at any time, so it counts as a read."""
    parent, left = assigned_name(call)
    if parent is None:
        return False
    facts, name = ctx.facts, ctx.text(left)
    scope = facts.scope_id(parent.start_byte)
    targets = {b.target.start_byte: b for b in facts.bindings.get(name, ()) if b.target is not None}
    for m in whole_name_matches(ctx.doc.data, name.encode(), parent.end_byte):
        at = m.start()
        node = ctx.doc.tree.root_node.named_descendant_for_byte_range(at, m.end())
        if node is None or node.type != "identifier" or facts.in_comment(at):
            continue
        bound = targets.get(at)
        if bound is not None:
            if bound.scope == scope:
                # bound again before any read: dead only if that always happens (same block)
                return statement_of(node).parent == statement_of(parent).parent
            continue          # a parameter or a local of another function
        reached = facts.binding(name, at)
        if reached is None or reached.scope != facts.scope_id(at):
            return False      # a global read from a function, or unknown
        if reached.target is not None and reached.target.start_byte == left.start_byte:
            return False      # reads this very value
    return False


_MAIN_GUARD = re.compile(r"""^__name__\s*==\s*['"]__main__['"]$""")
_READS_BY_NAME = re.compile(r"(?<![\w.])(?:locals|vars|globals|eval|exec)\s*\(")


def _read_nowhere(ctx, call) -> bool:
    """`device = torch.device("cuda:0")` that nothing reads at all (retinanet_pytorch's
    `if __name__ == "__main__":` demo, every `.to(device)` commented out): building a device
    object does not touch the GPU. Only a local of a function, or a name set under `if __name__
    == "__main__":` or in a notebook, which no other module imports; any other use of the name
    where this binding may reach it counts as a read (a function's default, a global read in
    another function, an f-string), and so does a scope that reads its names by string
    (`locals()`, `vars()`, `globals()`, `eval`)."""
    parent, left = assigned_name(call)
    if parent is None:
        return False
    facts, name = ctx.facts, ctx.text(left)
    scope = facts.scope_id(parent.start_byte)
    region = facts.function_at(parent.start_byte) if scope != -1 else ctx.doc.tree.root_node
    node, main = parent.parent, False
    while node is not None and node != region:
        if node.type == "class_definition":
            return False   # a class attribute, read as `Config.device`
        if node.type == "if_statement":
            cond = node.child_by_field_id(F_CONDITION)
            main = main or (cond is not None and _MAIN_GUARD.match(ctx.text(cond)) is not None)
        node = node.parent
    if region is None or (scope == -1 and not main and ctx.doc.cell_map is None):
        return False   # a module's global: another module may import it
    code = facts.code_in(region)
    if _READS_BY_NAME.search(code) or (scope != -1 and re.search(
            r"\b(?:global|nonlocal)\b[^\n;]*(?<![\w.])" + re.escape(name) + r"(?!\w)", code)):
        return False
    targets = {b.target.start_byte: b for b in facts.bindings.get(name, ()) if b.target is not None}
    for ident in facts.identifiers_named(name):
        at = ident.start_byte
        if at < region.start_byte or at >= region.end_byte or ident == left:
            continue
        bound = targets.get(at)
        if bound is not None:
            if bound.scope == scope:
                return False   # bound again in this scope: which value a use reads is not followed
            continue           # a parameter or a local of another function
        reached = facts.binding(name, at)
        if reached is not None and reached.scope != scope and reached.scope == facts.scope_id(at):
            continue           # another function's own local of that name
        return False
    return True


def _default_never_read(ctx, call) -> bool:
    """`def __init__(self, ..., device=torch.device("cuda:0"))` whose body never reads `device`
    (Informer2020's model): the default only builds a device object, which does not touch the
    GPU. A body that may read its locals by name (`locals()`, `vars()`, `eval`) reads it."""
    param = call.parent
    if param is None or param.type not in ("default_parameter", "typed_default_parameter"):
        return False
    func = param.parent.parent if param.parent is not None else None
    name = param.child_by_field_id(F_NAME)
    if func is None or func.type not in ("function_definition", "lambda") or name is None:
        return False
    body = func.child_by_field_id(F_BODY)
    if body is None:
        return False
    code = ctx.facts.code_in(body)   # comments blanked: what a comment says changes nothing
    if re.search(r"(?<![\w.])(?:locals|vars|eval|exec)\s*\(", code):
        return False
    root = ctx.doc.tree.root_node
    for m in re.finditer(r"(?<![\w.])" + re.escape(ctx.text(name)) + r"(?!\w)", code):
        at = body.start_byte + len(code[:m.start()].encode("utf-8", "surrogatepass"))
        node = root.named_descendant_for_byte_range(at, at + len(m.group().encode("utf-8", "surrogatepass")))
        if node is None or node.type != "identifier":
            continue
        if not is_keyword_name(node):
            return False   # read (or rebound: then the default is never used either way)
    return True


def _default_always_passed(ctx, call) -> bool:
    """`def train(..., device=torch.device("cuda"))` where every call of `train` in the file
    passes `device` (timm's train.py): the default is never used, and building a device object
    does not touch the GPU. A function the file never calls keeps its report: its callers are
    elsewhere, and those that leave the default out get the GPU."""
    param = call.parent
    if param is None or param.type not in ("default_parameter", "typed_default_parameter"):
        return False
    params = param.parent
    func = params.parent if params is not None else None
    if func is None or func.type != "function_definition" or is_method(func):
        return False
    name, fname = param.child_by_field_id(F_NAME), func.child_by_field_id(F_NAME)
    if name is None or fname is None:
        return False
    facts = ctx.facts
    index, keyword_only = param_index(facts, func, ctx.text(name))
    calls = facts.calls_named(ctx.text(fname))
    if index is None or not calls or _used_as_a_value(ctx, ctx.text(fname), fname):
        return False
    for c in calls:
        if has_splat(c):
            return False
        pos, kw = args_of(c)
        if ctx.text(name) not in kw and (keyword_only or index >= len(pos)):
            return False
    return True


# Libraries that need an NVIDIA GPU to run at all: importing them is choosing the GPU (unsloth
# raises at import without one; bitsandbytes' 4/8-bit layers and NVIDIA apex are CUDA code;
# TensorRT and the converters to it, torch2trt and Torch-TensorRT, build engines for NVIDIA GPUs).
_GPU_ONLY_LIBRARIES = frozenset({"unsloth", "bitsandbytes", "flash_attn", "apex", "tensorrt", "torch2trt",
                                 "torch_tensorrt"})
_QUANTIZED = (re.compile(rb"load_in_4bit\s*=\s*True"), re.compile(rb"load_in_8bit\s*=\s*True"))


def _imports_a_gpu_only_library(ctx) -> bool:
    """Triton imported anywhere (its kernels run on GPUs only, however the import is guarded), or
    one of the other libraries imported for good: at the top of the module, or in a `try` whose
    `except ImportError` raises again. One in a `try` that goes on without it, under an `if`, or
    in a function is optional: the file also runs without it."""
    if any(v == "triton" or v.startswith("triton.") for v in ctx.facts.imports.values()):
        return True
    for stmt in _module_statements(ctx):
        for imp in _mandatory_imports(stmt):
            names = [ctx.text(n) for n in imp.named_children if n.type in ("dotted_name", "aliased_import",
                                                                         "relative_import")]
            if imp.type == "import_from_statement":
                names = names[:1]   # the module, not what is imported from it
            if any(n.lstrip(".").split(".", 1)[0].split(" ", 1)[0] in _GPU_ONLY_LIBRARIES for n in names):
                return True
    return False


def _module_statements(ctx):
    """The module's statements, and in a marimo notebook (`@app.cell` functions) the statements
    of its cells: marimo runs each cell once and shares what it defines, as a module would."""
    for stmt in ctx.doc.tree.root_node.named_children:
        yield stmt
        if stmt.type == "decorated_definition" and any(
                ctx.text(d).startswith("@app.cell") for d in stmt.named_children if d.type == "decorator"):
            fn = stmt.child_by_field_id(F_DEFINITION)
            body = fn.child_by_field_id(F_BODY) if fn is not None else None
            yield from (body.named_children if body is not None else ())


def _functions_importing_gpu_only(ctx) -> set:
    """Functions (start bytes) that import a GPU-only library themselves (litgpt's LoRA merge
    imports bitsandbytes to dequantize 4-bit weights, then `.cuda()`s them): that code runs
    only where the library does. A module-level optional import guards nothing."""
    facts, found = ctx.facts, set()
    for stmt in facts.import_statements:
        scope = facts.scope_id(stmt.start_byte)
        if scope == -1:
            continue
        names = [ctx.text(n) for n in stmt.named_children if n.type in ("dotted_name", "aliased_import")]
        if stmt.type == "import_from_statement":
            names = names[:1]
        if any(n.split(".", 1)[0].split(" ", 1)[0] in _GPU_ONLY_LIBRARIES for n in names):
            found.add(scope)
    return found


def _mandatory_imports(stmt):
    """The import statements of a module-level statement that always run or stop the program:
    the statement itself, or the imports of a `try` whose every handler raises."""
    if stmt.type in ("import_statement", "import_from_statement"):
        yield stmt
    elif stmt.type == "try_statement":
        handlers = [c for c in stmt.named_children if c.type == "except_clause"]
        if handlers and all(any(s.type == "raise_statement" for s in (h.named_children[-1].named_children
                                                                      if h.named_children else ()))
                            for h in handlers):
            body = stmt.child_by_field_id(F_BODY)
            yield from (s for s in (body.named_children if body is not None else ())
                        if s.type in ("import_statement", "import_from_statement"))


def _quantized_for_the_gpu(ctx) -> bool:
    """A transformers model loaded in 4 or 8 bits through bitsandbytes (`BitsAndBytesConfig(
    load_in_4bit=True)`, `from_pretrained(..., load_in_8bit=True)`): those layers run on CUDA
    GPUs only (QLoRA). `load_in_4bit=False` quantizes nothing."""
    return bool(ctx.facts.calls_at_text(*_QUANTIZED))


def _functions_given_a_gpu(ctx) -> set:
    """The functions (start bytes) whose decorator asks a job runner for a GPU: Modal's
    `@app.function(gpu="A100")`, Ray's `@ray.remote(num_gpus=1)`: they only ever run on a
    machine that has one."""
    found = set()
    for fn in ctx.facts.functions:
        parent = fn.parent
        if parent is None or parent.type != "decorated_definition":
            continue
        for dec in parent.named_children:
            call = strip(dec.named_children[0]) if dec.type == "decorator" and dec.named_children else None
            if call is None or call.type != "call":
                continue
            _pos, kw = args_of(call)
            value = kw.get("gpu", kw.get("num_gpus"))
            if value is not None and value.type != "none" and literal_value(value) not in (0, 0.0, False):
                found.add(fn.start_byte)
    return found


def _methods_of_classes_asserting_cuda(ctx) -> set:
    """The methods (start bytes) of a class whose `__init__` asserts that CUDA is available
    (`assert torch.cuda.is_available()`, or `if not ...is_available(): raise`): every other
    method runs on an object that got past it (SentEval's `RelatednessPytorch`)."""
    facts, data = ctx.facts, ctx.doc.data
    found = set()
    start = data.find(b"is_available")
    while start != -1:
        node = ctx.doc.tree.root_node.descendant_for_byte_range(start, start)
        stmt = statement_of(node)
        func = facts.function_at(start)
        body = func.child_by_field_id(F_BODY) if func is not None else None
        if stmt is not None and func is not None and is_method(func) and _asserts(stmt) \
                and stmt.parent == body and ctx.text(func.child_by_field_id(F_NAME)) == "__init__":
            # a statement of __init__'s own body: not one under `if use_gpu:`
            cls = func.parent
            while cls is not None and cls.type != "class_definition":
                cls = cls.parent
            if cls is not None:
                found |= {f.start_byte for f in facts.functions if cls.start_byte < f.start_byte < cls.end_byte}
        start = data.find(b"is_available", start + 1)
    return found


# CUDA-only contexts: entering one (or creating a stream) fails without a GPU.
_STREAMS = ("torch.cuda.Stream", "torch.cuda.stream", "torch.cuda.device")


def _cuda_stream_code(ctx) -> set:
    """The functions (start bytes) that use CUDA streams or enter `with torch.cuda.device(i):`,
    and every method of a class that creates a stream: a prefetcher that overlaps host-to-device copies with compute
    (`with torch.cuda.stream(self.stream): x = x.cuda(non_blocking=True)`) is CUDA-only by
    design; `torch.cuda.Stream()` itself fails on a CPU-only machine, so asking for a fallback
    on the `.cuda()` next to it is noise."""
    facts = ctx.facts
    found = set()
    for call in facts.calls_to(_STREAMS):
        func = facts.function_at(call.start_byte)
        if func is None or _conditional_in(call, func):
            continue   # `if use_cuda: self.stream = torch.cuda.Stream()`: meant to run on a CPU too
        found.add(func.start_byte)
        if facts.callee_qual(call) == "torch.cuda.Stream" and is_method(func):
            cls = func.parent
            while cls is not None and cls.type != "class_definition":
                cls = cls.parent
            if cls is not None:
                found |= {f.start_byte for f in facts.functions if cls.start_byte < f.start_byte < cls.end_byte}
    return found


_CONDITIONS = frozenset({"if_statement", "elif_clause", "else_clause", "conditional_expression",
                         "try_statement", "except_clause", "boolean_operator"})


def _conditional_in(node, func) -> bool:
    """`node` runs only under a condition of `func` (an `if`, a ternary, a `try`)."""
    node = node.parent
    while node is not None and node != func:
        if node.type in _CONDITIONS:
            return True
        node = node.parent
    return False


def _asserts(stmt) -> bool:
    """An `assert`, or an `if` whose body raises: the code after it runs only if it holds."""
    if stmt.type == "assert_statement":
        return True
    body = stmt.child_by_field_id(F_CONSEQUENCE) if stmt.type == "if_statement" else None
    return body is not None and any(c.type == "raise_statement" for c in body.named_children)


_EXITS = frozenset({"exit", "quit", "sys.exit", "os._exit"})
_NEGATED = re.compile(r"\bnot\b|==\s*False\b|\bis\s+False\b")


def _stops_without_gpu(ctx, stmt, at: int) -> bool:
    """`stmt`, holding the availability check at byte `at`, stops the program when there is no
    GPU: `assert torch.cuda.is_available()`, or `if not torch.cuda.is_available():` whose body
    raises or exits (`sys.exit(1)`, `exit()`), printing a message first or not."""
    if stmt.type == "assert_statement":
        return True
    cond = stmt.child_by_field_id(F_CONDITION) if stmt.type == "if_statement" else None
    body = stmt.child_by_field_id(F_CONSEQUENCE) if cond is not None else None
    if body is None or not cond.start_byte <= at < cond.end_byte or not _NEGATED.search(ctx.text(cond)):
        return False
    for s in body.named_children:
        if s.type == "raise_statement":
            return True
        inner = s.named_children[0] if s.type == "expression_statement" and s.named_children else None
        if inner is not None and inner.type == "call" and (
                ctx.text(inner.child_by_field_id(F_FUNCTION)) in _EXITS or ctx.facts.callee_qual(inner) in _EXITS):
            return True
    return False


def _scopes_calling_a_gpu_check_that_stops(ctx) -> set:
    """Scopes (function start bytes, -1 for module level) that call, unconditionally and before
    any placement of their own, a plain function of the file whose own body stops the program
    when there is no GPU (`def check_gpu(): if not torch.cuda.is_available(): sys.exit(1)`, then
    `check_gpu()` first thing in `main()`): the code after the call runs only with a GPU, as
    after the same check written inline. A helper that only prints a warning stops nothing."""
    facts, data = ctx.facts, ctx.doc.data
    helpers = {}
    start = data.find(b"is_available")
    while start != -1:
        func = facts.function_at(start)
        body = func.child_by_field_id(F_BODY) if func is not None else None
        name = func.child_by_field_id(F_NAME) if func is not None else None
        if body is not None and name is not None and not is_method(func) and not facts.in_comment(start):
            stmt = statement_of(ctx.doc.tree.root_node.descendant_for_byte_range(start, start))
            if stmt is not None and stmt.parent == body and _stops_without_gpu(ctx, stmt, start):
                helpers[func.start_byte] = ctx.text(name)
        start = data.find(b"is_available", start + 1)
    if not helpers:
        return set()
    first = {}   # scope -> where its first unconditional call of such a helper starts
    for fname in set(helpers.values()):
        for c in facts.calls_named(fname):
            d = facts.definition_in_effect(fname, c.start_byte)
            if d is None or d.start_byte not in helpers or not _runs_unconditionally(ctx, c):
                continue
            scope = facts.scope_id(c.start_byte)
            first[scope] = min(first.get(scope, c.start_byte), c.start_byte)
    if not first:
        return set()
    placed = {}   # scope -> where its first possible placement starts
    for c in candidate_calls(facts):
        placed.setdefault(facts.scope_id(c.start_byte), c.start_byte)
    return {scope for scope, at in first.items() if at < placed.get(scope, at + 1)}


def _runs_unconditionally(ctx, call) -> bool:
    """`call` is a statement of its function's body (or of the module, or of its `if __name__ ==
    "__main__":` block), not under another condition, a loop or a `try`."""
    stmt = call.parent
    if stmt is None or stmt.type != "expression_statement":
        return False
    block = stmt.parent
    if block is not None and block.type == "module":
        return True
    owner = block.parent if block is not None and block.type == "block" else None
    if owner is not None and owner.type == "function_definition":
        return True
    if owner is not None and owner.type == "if_statement" and owner.parent is not None \
            and owner.parent.type == "module" and block == owner.child_by_field_id(F_CONSEQUENCE):
        cond = owner.child_by_field_id(F_CONDITION)
        return cond is not None and _MAIN_GUARD.match(ctx.text(cond)) is not None
    return False


def _only_called_where_checked(ctx, call, checked) -> bool:
    """`call` is in a plain function that this file calls (or in a method of a class that it
    builds), and only from functions that check CUDA themselves (a `collect_stats(model, loader)`
    helper whose one caller starts with `assert torch.cuda.is_available()`), and never hands
    over as a value (nor subclasses)."""
    func = ctx.facts.function_at(call.start_byte)
    name = func.child_by_field_id(F_NAME) if func is not None else None
    if name is not None and is_method(func):
        # a method of a class built only where CUDA is checked (keon/seq2seq's `main()` asserts
        # it, then builds the model whose forward() calls .cuda())
        cls = class_of_method(func)
        name = cls.child_by_field_id(F_NAME) if cls is not None and ctx.facts.function_at(cls.start_byte) is None else None
    if name is None:
        return False
    callers = ctx.facts.calls_named(ctx.text(name))
    if not callers or _used_as_a_value(ctx, ctx.text(name), name):
        return False
    return all(ctx.facts.scope_id(c.start_byte) in checked or outer_checked(ctx, c, checked)
               for c in callers)


def _used_as_a_value(ctx, name: str, def_name) -> bool:
    """`name` appears other than as its definition or a callee: handed over (`partial(f, m)`,
    `map(f, loaders)`, `Process(target=f)`), where the default may be used."""
    root = ctx.doc.tree.root_node
    for m in whole_name_matches(ctx.doc.data, name.encode()):
        node = root.named_descendant_for_byte_range(m.start(), m.end())
        if node is None or node.type != "identifier" or node == def_name or ctx.facts.in_comment(m.start()):
            continue
        if not is_keyword_name(node) and not is_callee(node):
            return True
    return False


_BARE_CONTEXTS = frozenset({"argument_list", "keyword_argument", "assignment", "parenthesized_expression"})


def _torch_bound_at(ctx, torch_name: str, node) -> bool:
    """`torch_name` is bound where the fix writes `torch_name.cuda.is_available()`: imported at
    module level (`import torch`, `import os, torch`, `import torch.optim`, in a module-level
    `try`) before `node` when `node` runs at import time (module level, a class body), or
    anywhere at module level when it is in a function (run after the imports); not when the
    file imports torch only inside another function."""
    facts = ctx.facts
    in_function = facts.scope_id(node.start_byte) != -1
    for stmt in facts.import_statements:
        if stmt.type != "import_statement" or facts.scope_id(stmt.start_byte) != -1:
            continue
        if not in_function and stmt.start_byte > node.start_byte:
            continue
        for child in stmt.named_children:
            if child.type == "dotted_name" and ctx.text(child).split(".", 1)[0] == torch_name == "torch":
                return True
            if child.type == "aliased_import":
                alias = child.child_by_field_id(F_ALIAS)
                target = child.child_by_field_id(F_NAME)
                if alias is not None and target is not None and ctx.text(alias) == torch_name \
                        and ctx.text(target) == "torch":
                    return True
    return False


def _guarded(value: str, torch_name: str) -> str:
    return f'"{value}" if {torch_name}.cuda.is_available() else "cpu"'


RULE = Rule("hardcoded-cuda", Severity.WARNING, "device-placement",
            "Hard-coded CUDA device without an availability check", check, needs=(b"cuda",))
