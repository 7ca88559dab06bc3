"""hardcoded-cuda: "cuda" with no availability check crashes on CPU-only machines."""
from __future__ import annotations

import re

from ..findings import Fix, Severity
from ..parsing import F_ARGUMENTS, F_ATTRIBUTE, F_CONDITION, F_FUNCTION, F_LEFT, F_RIGHT
from ..values import args_of, follow, method_call, string_value, strip
from . import Rule
from ._testfiles import is_test_module
from ._training import statement_of

_CUDA = re.compile(r"^cuda(:\d+)?$")
# Any of these means the file chooses the device itself, or targets GPUs on purpose (DDP/NCCL,
# DataParallel: a multi-GPU wrapper).
_GUARDS = (b"device_count", b"CUDA_VISIBLE_DEVICES", b"accelerator", b"set_device", b"nccl",
           b"DataParallel")
# An availability check guards the code of its own function, or everything when made at module
# level (the usual `device = ... is_available() ...` at the top of a script).
_CHECKS = (b"is_available", b"get_device")
_DEVICE_KEYWORDS = ("device", "map_location")


def check(ctx):
    if any(ctx.facts.code_contains(g) for g in _GUARDS) or _gpu_env_magic(ctx):
        return  # the file decides the device somewhere: trust it
    if is_test_module(ctx):
        return  # GPU tests are chosen by markers and CI runners (skipif, conftest), not in the code
    facts = ctx.facts
    if not any(v == "torch" or v.startswith("torch.") for v in facts.imports.values()):
        return  # `.cuda()` of some other library
    if any(v.startswith("torch.distributed") for v in facts.imports.values()):
        return  # distributed / RPC training scripts target GPU clusters by design
    # The fix needs a name bound to the torch module; `import torch.nn as nn` alone has none.
    torch_name = next((k for k, v in facts.imports.items() if v == "torch"), None)
    checked = _checked_scopes(ctx)
    if -1 in checked:
        return
    if any(v == "triton" or v.startswith("triton.") for v in facts.imports.values()):
        return  # Triton kernels run on GPUs only: the file is GPU-only by design
    calls = _candidate_calls(facts)
    if any(_half_precision_on_gpu(ctx, call) for call in calls) or _gpu_only_model(ctx):
        return  # a float16 model put on the GPU: the file is GPU-only by design
    for call in calls:
        if facts.scope_id(call.start_byte) in checked or _outer_checked(ctx, call, checked):
            continue
        if _under_gpu_condition(ctx, call):
            continue  # `if use_cuda: model.cuda()`: the flag is the availability decision
        recv, method = method_call(call)
        q = facts.callee_qual(call)
        pos, kw = args_of(call)
        if method == "cuda" and q is None and recv is not None:
            fn = call.child_by_field_id(F_FUNCTION)
            args = call.child_by_field_id(F_ARGUMENTS)
            fix = None
            if not pos and not kw and args is not None and torch_name is not None:
                fix = Fix("Use the GPU only when it is available",
                          (ctx.edit(fn.child_by_field_id(F_ATTRIBUTE), "to"),
                           ctx.edit(args, f"({_guarded('cuda', torch_name)})")))
            yield ctx.finding(call, "`.cuda()` with no `torch.cuda.is_available()` check fails on "
                              "machines without an NVIDIA GPU; pick the device once and use `.to(device)`.",
                              fix=fix)
            continue
        candidates = []
        if q == "torch.device" and pos and not _never_read(ctx, call):
            candidates.append(pos[0])
        if method == "to" and pos:
            candidates.append(pos[0])
        candidates.extend(v for k, v in kw.items() if k in _DEVICE_KEYWORDS)
        for node in candidates:
            node = follow(facts, node)  # device = "cuda"; model.to(device)
            value = string_value(node)
            if value is not None and _CUDA.match(value):
                fix = None
                if torch_name is not None:
                    guarded = _guarded(value, torch_name)
                    # a conditional expression needs no parentheses as an argument, a keyword's
                    # value or an assignment's right side
                    bare = node.parent is not None and node.parent.type in _BARE_CONTEXTS
                    fix = Fix("Fall back to the CPU when CUDA is unavailable",
                              (ctx.edit(node, guarded if bare else f"({guarded})"),))
                yield ctx.finding(node, f'Hard-coded device "{value}" with no availability check '
                                  "crashes on CPU-only machines; fall back to the CPU.", fix=fix)


_ENV_MAGIC = re.compile(r"^[ \t]*%env\s+CUDA_VISIBLE_DEVICES", re.M)


def _gpu_env_magic(ctx) -> bool:
    """A notebook cell sets `%env CUDA_VISIBLE_DEVICES=...` (IPython's way to set the variable;
    the analysis sees the line blanked to a comment): as `os.environ[...]` would."""
    cmap = ctx.doc.cell_map
    return cmap is not None and any(_ENV_MAGIC.search(c.source) for c in cmap.cells)


def _never_read(ctx, call) -> bool:
    """`device = torch.device("cuda")` whose value nothing reads: the name is bound again in the
    same scope before any use (bentrevett/pytorch-rl sets `device = torch.device('cpu')` a few
    cells later), and building a device object does not touch the GPU. A read from a function
    that does not bind the name itself may run at any time, so it counts as a read."""
    parent = call.parent
    if parent is None or parent.type != "assignment" or strip(parent.child_by_field_id(F_RIGHT)) != call:
        return False
    left = parent.child_by_field_id(F_LEFT)
    if left is None or left.type != "identifier":
        return False
    facts, name = ctx.facts, ctx.text(left)
    scope = facts.scope_id(parent.start_byte)
    targets = {b.target.start_byte: b for b in facts.bindings.get(name, ()) if b.target is not None}
    pattern = re.compile(rb"(?<![\w.])" + re.escape(name.encode()) + rb"(?!\w)")
    for m in pattern.finditer(ctx.doc.data, parent.end_byte):
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


_HALF = re.compile(r"float16|bfloat16|\bhalf\b|fp16")


def _half_precision_on_gpu(ctx, call) -> bool:
    """`call` puts a half-precision model or tensor on the GPU: `.cuda()` or `.to(<cuda>)` on
    `X.from_pretrained(..., torch_dtype=torch.float16)` (diffusers' and transformers'
    documentation; also through names: `pipe = ...; pipe.to(device)`), on `model.half()`, or
    `x.to("cuda", dtype=torch.float16)`. Half-precision inference is meant for a GPU (on a CPU
    it is far slower, or unsupported in older versions), so a CPU fallback is no fix there."""
    facts = ctx.facts
    recv, method = method_call(call)
    if method == "to":
        pos, kw = args_of(call)
        device = follow(facts, pos[0] if pos else kw.get("device"))
        value = string_value(device) if device is not None else None
        if value is None and device is not None and device.type == "call" and facts.callee_qual(device) == "torch.device":
            inner = args_of(device)[0]
            value = string_value(follow(facts, inner[0])) if inner else None
        if value is None or not _CUDA.match(value):
            return False
    elif method != "cuda":
        return False
    node = call
    for _ in range(8):
        node = follow(facts, node)
        if node is None or node.type != "call":
            return False
        pos, kw = args_of(node)
        if any(_HALF.search(ctx.text(follow(facts, kw[k]) or kw[k])) for k in ("torch_dtype", "dtype", "variant") if k in kw):
            return True
        recv, method = method_call(node)
        if method in ("half", "bfloat16") or (method == "to" and any(_HALF.search(ctx.text(a)) for a in pos[1:])):
            return True
        if recv is None:
            return False
        node = recv
    return False


_FLASH = re.compile(r"^flash_attention_\d$")
_MODEL_KEYWORDS = re.compile(rb"(?:attn_implementation|device_map)\s*=(?!=)")


# diffusers' offloading keeps a pipeline's parts on the CPU and moves each to the GPU when it
# runs: it exists for GPUs with little memory, and needs one.
_OFFLOAD = ("enable_model_cpu_offload", "enable_sequential_cpu_offload")


def _gpu_only_model(ctx) -> bool:
    """A model loaded for the GPU only: FlashAttention (`attn_implementation="flash_attention_2"`
    runs on CUDA GPUs alone), half precision placed by `device_map="cuda"` in the call that
    loads it (`from_pretrained(..., torch_dtype=torch.bfloat16, device_map="cuda")`), or a
    diffusers pipeline with CPU offloading (`pipe.enable_model_cpu_offload()`)."""
    facts = ctx.facts
    if any(facts.method_calls(m) for m in _OFFLOAD):
        return True
    for call in facts.calls_at_text(_MODEL_KEYWORDS):
        _, kw = args_of(call)
        attn = kw.get("attn_implementation")
        if attn is not None and _FLASH.match(string_value(follow(facts, attn) or attn) or ""):
            return True
        where = kw.get("device_map")
        value = string_value(follow(facts, where) or where) if where is not None else None
        if value is not None and _CUDA.match(value) and any(
                _HALF.search(ctx.text(follow(facts, kw[k]) or kw[k])) for k in ("torch_dtype", "dtype") if k in kw):
            return True
    return False


_DEVICE_KEYWORD = re.compile(rb"(?:device|map_location)\s*=(?!=)")


def _candidate_calls(facts) -> list:
    """The only calls that can place something on a device: `.cuda()`, `.to(...)`,
    `torch.device(...)` and calls with a `device=` / `map_location=` argument."""
    # `a.to(x).cuda()`: two calls start together; keep both, outer first.
    calls = [c for c, _r in facts.method_calls("cuda")] + [c for c, _r in facts.method_calls("to")]
    calls += facts.calls_to({"torch.device"}) + facts.calls_at_text(_DEVICE_KEYWORD)
    unique = {(c.start_byte, c.end_byte): c for c in calls}
    return [unique[k] for k in sorted(unique, key=lambda k: (k[0], -k[1]))]


def _checked_scopes(ctx) -> set:
    """Scope ids (function start bytes, -1 for module level) that check CUDA availability."""
    data = ctx.doc.data
    scopes = set()
    for token in _CHECKS:
        start = data.find(token)
        while start != -1:
            if not ctx.facts.in_comment(start):  # `# TODO: check is_available()` checks nothing
                scopes.add(ctx.facts.scope_id(start))
            start = data.find(token, start + 1)
    return scopes


def _outer_checked(ctx, call, checked) -> bool:
    """A nested function inherits the check of a function around it."""
    fn = ctx.facts.function_at(call.start_byte)
    while fn is not None:
        fn = ctx.facts.function_at(fn.start_byte)
        if fn is not None and fn.start_byte in checked:
            return True
    return False


_GPU_FLAG = re.compile(r"cuda|gpu|(?:\b|_)accel\b", re.I)  # `use_accel`, `args.accel`: not "accelerator"


def _under_gpu_condition(ctx, node) -> bool:
    """Inside `if <something about cuda/gpu>:` or `x.cuda() if use_gpu else x`."""
    child, parent = node, node.parent
    while parent is not None:
        if parent.type in ("if_statement", "elif_clause") and child != parent.child_by_field_id(F_CONDITION):
            cond = parent.child_by_field_id(F_CONDITION)
            if cond is not None and _GPU_FLAG.search(ctx.text(cond)):
                return True
        if parent.type == "conditional_expression" and len(parent.named_children) == 3 \
                and child != parent.named_children[1] and _GPU_FLAG.search(ctx.text(parent.named_children[1])):
            return True
        child, parent = parent, parent.parent
    return False


_BARE_CONTEXTS = frozenset({"argument_list", "keyword_argument", "assignment", "parenthesized_expression"})


def _guarded(value: str, torch_name: str) -> str:
    return f'"{value}" if {torch_name}.cuda.is_available() else "cpu"'


RULE = Rule("hardcoded-cuda", Severity.WARNING, "device-placement",
            "Hard-coded CUDA device without an availability check", check, needs=(b"cuda",))
