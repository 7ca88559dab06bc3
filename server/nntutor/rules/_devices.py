"""Where code puts tensors, and what tells that a file checks for or targets a GPU on purpose:
shared by hardcoded-cuda and accelerator-unchecked, which exempt the same files and scopes."""
from __future__ import annotations

import re

from ..parsing import F_ATTRIBUTE, F_CONDITION, F_CONSEQUENCE, F_FUNCTION, F_OBJECT
from ..values import args_of, assigned_name, follow, method_call, string_value

CUDA_DEVICE = re.compile(r"^cuda(:\d+)?$")
# Any of these means the file chooses the device itself, or targets GPUs on purpose (DDP/NCCL,
# DataParallel: a multi-GPU wrapper; a device mesh, torch's or Accelerate's `ParallelismConfig`:
# tensor / FSDP / context parallelism over several GPUs; a CUDA extension built from `.cu`
# sources: its kernels run on the GPU only).
GUARDS = (b"device_count", b"CUDA_VISIBLE_DEVICES", b"accelerator", b"set_device", b"nccl",
          b"DataParallel", b"data_parallel", b"distributed.", b"device_mesh", b"DeviceMesh", b"ParallelismConfig",
          b"CUDAExtension", b"cuda_sources", b'.cu"', b".cu'")
# An availability check guards the code of its own function, or everything when made at module
# level (the usual `device = ... is_available() ...` at the top of a script).
CHECKS = (b"is_available", b"get_device")


_HALF = re.compile(r"float16|bfloat16|\bhalf\b|fp16")


def half_precision_on_gpu(ctx, call) -> bool:
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
        if value is None or not CUDA_DEVICE.match(value):
            return False
    elif method != "cuda":
        # `torch.tensor(x, device="cuda")` then `model(x.half())`: half inputs made on the GPU;
        # so is `torch.rand(..., dtype=torch.float16, device="cuda")` or `...).half()` at once
        kw = args_of(call)[1]
        device = kw.get("device")
        value = string_value(follow(facts, device)) if device is not None else None
        if value is None or CUDA_DEVICE.match(value) is None:
            return False
        dtype = kw.get("dtype")
        if dtype is not None and _HALF.search(ctx.text(follow(facts, dtype) or dtype)):
            return True
        return _halved_in_the_chain(call) or _halved_later(ctx, _chain_top(call))
    if _halved_later(ctx, call) or _halved_in_the_chain(call):
        return True
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


def _halved_later(ctx, call) -> bool:
    """`model = Net().to("cuda")`, then `model.half()` in a later statement of the same block, run
    whenever the placement is (selimsef's DFDC inference: load, eval,
    `models.append(model.half())`); not a half copy made to be saved (`torch.save(model.half()
    .state_dict(), ...)`) nor one under a condition (`if fp16:`)."""
    parent, left = assigned_name(call)
    if parent is None:
        return False
    name, block = ctx.text(left), parent.parent.parent if parent.parent is not None else None
    for half, recv in ctx.facts.method_calls("half"):
        root = recv
        while root is not None and root.type in ("subscript", "attribute"):
            root = root.named_children[0] if root.named_children else None   # `x[:n].half()`
        if root is None or root.type != "identifier" or ctx.text(root) != name \
                or half.start_byte < parent.end_byte:
            continue
        stmt = half   # the statement holding the call, in the innermost block
        while stmt.parent is not None and stmt.parent.type not in ("block", "module"):
            stmt = stmt.parent
        if "save" in ctx.text(stmt) or "state_dict" in ctx.text(stmt) or not _runs_with(stmt, block):
            continue
        return True
    return False


def _halved_in_the_chain(call) -> bool:
    """`model.cuda().eval().half()`: a later method of the same chain makes it half precision."""
    node = call
    while node.parent is not None and node.parent.type == "attribute" and node.parent.parent is not None \
            and node.parent.parent.type == "call" and node.parent.child_by_field_id(F_OBJECT) == node:
        attr = node.parent.child_by_field_id(F_ATTRIBUTE)
        if attr is not None and attr.text.decode("utf-8", "replace") in ("half", "bfloat16"):
            return True
        node = node.parent.parent
    return False


def _chain_top(call):
    """The outermost call of a method chain starting at `call`: `torch.tensor(..).float()`."""
    node = call
    while node.parent is not None and node.parent.type == "attribute" and node.parent.parent is not None \
            and node.parent.parent.type == "call" and node.parent.child_by_field_id(F_OBJECT) == node:
        node = node.parent.parent
    return node


# Statements whose body runs whenever the code around them does (or repeatedly): not a condition.
_UNCONDITIONAL = frozenset({"for_statement", "while_statement", "with_statement", "block", "module"})


def _runs_with(stmt, block) -> bool:
    """`stmt` is a statement of `block`, or nested in it only through loops and `with` blocks."""
    node = stmt.parent
    while node is not None and node != block:
        if node.type not in _UNCONDITIONAL:
            return False
        node = node.parent
    return node is not None


_FLASH = re.compile(r"^flash_attention_\d$")
# Two patterns, not one alternation: see namescan.py.
_MODEL_KEYWORDS = (re.compile(rb"attn_implementation\s*=(?!=)"), re.compile(rb"device_map\s*=(?!=)"))


# diffusers' offloading keeps a pipeline's parts on the CPU and moves each to the GPU when it
# runs: it exists for GPUs with little memory, and needs one.
_OFFLOAD = ("enable_model_cpu_offload", "enable_sequential_cpu_offload")


def gpu_only_model(ctx) -> bool:
    """A model loaded for the GPU only: FlashAttention (`attn_implementation="flash_attention_2"`
    runs on CUDA GPUs alone), half precision placed by `device_map="cuda"` in the call that
    loads it (`from_pretrained(..., torch_dtype=torch.bfloat16, device_map="cuda")`), or a
    diffusers pipeline with CPU offloading (`pipe.enable_model_cpu_offload()`)."""
    facts = ctx.facts
    if any(facts.method_calls(m) for m in _OFFLOAD):
        return True
    for call in facts.calls_at_text(*_MODEL_KEYWORDS):
        _, kw = args_of(call)
        attn = kw.get("attn_implementation")
        if attn is not None and _FLASH.match(string_value(follow(facts, attn) or attn) or ""):
            return True
        where = kw.get("device_map")
        value = string_value(follow(facts, where) or where) if where is not None else None
        if value is not None and CUDA_DEVICE.match(value) and any(
                _HALF.search(ctx.text(follow(facts, kw[k]) or kw[k])) for k in ("torch_dtype", "dtype") if k in kw):
            return True
    return False


_DEVICE_KEYWORDS = (re.compile(rb"device\s*=(?!=)"), re.compile(rb"map_location\s*=(?!=)"))


_GPUS_KEYWORD = re.compile(rb"gpus\s*=(?!=)")


def targets_gpus(ctx) -> bool:
    """Distributed or multi-GPU code not caught by GUARDS' words: `import torch.distributed`
    (bound as `torch`), a Lightning `Trainer(gpus=...)` (`calls_at_text` skips `synced_gpus=`)."""
    facts = ctx.facts
    if any(v.startswith("torch.distributed") for v in facts.imports.values()) or any(
            "torch.distributed" in ctx.text(s) for s in facts.import_statements):
        return True
    if _distributed_through_star_import(ctx):
        return True
    if any(_SHARDED.search(name) or _SHARDED.search(qual) for name, qual in facts.imports.items()):
        return True   # FSDP helpers, also a project's own wrappers (`from dinov2.fsdp import ...`)
    return any((facts.callee_qual(c) or ctx.text(c.child_by_field_id(F_FUNCTION))).endswith("Trainer")
               for c in facts.calls_at_text(_GPUS_KEYWORD))


def _distributed_through_star_import(ctx) -> bool:
    """`from helper.comm import *` brings `dist` (torch.distributed) in: a name `dist` bound
    nowhere in the file whose calls are torch.distributed's collectives (`dist.get_rank()`,
    `dist.all_to_all(...)`)."""
    facts = ctx.facts
    if "dist" in facts.imports or not any(ctx.text(s).rstrip().endswith("*") for s in facts.import_statements):
        return False
    for last in _COLLECTIVES:
        for call in facts.calls_by_last_name().get(last, ()):
            fn = call.child_by_field_id(F_FUNCTION)
            obj = fn.child_by_field_id(F_OBJECT) if fn is not None and fn.type == "attribute" else None
            if obj is not None and obj.type == "identifier" and ctx.text(obj) == "dist" \
                    and facts.binding("dist", call.start_byte) is None:
                return True
    return False


_SHARDED = re.compile(r"fsdp|fullysharded|shardedgradscaler", re.IGNORECASE)
# torch.distributed calls that only a process group answers.
_COLLECTIVES = ("get_rank", "get_world_size", "init_process_group", "all_reduce", "all_gather",
                "all_to_all", "broadcast", "barrier", "isend", "irecv", "reduce_scatter")


def candidate_calls(facts) -> list:
    """The only calls that can place something on a device: `.cuda()`, `.to(...)`,
    `torch.device(...)` and calls with a `device=` / `map_location=` argument."""
    # `a.to(x).cuda()`: two calls start together; keep both, outer first.
    calls = [c for c, _r in facts.method_calls("cuda")] + [c for c, _r in facts.method_calls("to")]
    calls += facts.calls_to({"torch.device"}) + facts.calls_at_text(*_DEVICE_KEYWORDS)
    unique = {(c.start_byte, c.end_byte): c for c in calls}
    return [unique[k] for k in sorted(unique, key=lambda k: (k[0], -k[1]))]


def checked_scopes(ctx) -> set:
    """Scope ids (function start bytes, -1 for module level) that check CUDA availability."""
    data = ctx.doc.data
    scopes = set()
    for token in CHECKS:
        start = data.find(token)
        while start != -1:
            # `# TODO: check is_available()` or a docstring that says so checks nothing
            if not ctx.facts.in_comment(start) and not ctx.facts.in_prose(start) \
                    and not _inline_in_a_move(ctx, start):
                scopes.add(ctx.facts.scope_id(start))
            start = data.find(token, start + 1)
    return scopes


def _inline_in_a_move(ctx, pos: int) -> bool:
    """The check at `pos` sits in the arguments of one `.to(...)` / `.cuda(...)` call
    (`model.to("cuda" if torch.cuda.is_available() else "cpu")`, what the quick fix writes): it
    places that one object and decides nothing for the other `.cuda()` calls of its scope."""
    node = ctx.doc.tree.root_node.descendant_for_byte_range(pos, pos + 1)
    while node is not None and node.type not in _STATEMENTS:
        if node.type == "argument_list":
            call = node.parent
            _recv, method = method_call(call) if call is not None and call.type == "call" else (None, None)
            if method in ("to", "cuda"):
                return True
        node = node.parent
    return False


_STATEMENTS = frozenset({"expression_statement", "return_statement", "if_statement", "for_statement",
                         "while_statement", "with_statement", "function_definition", "module"})


def outer_checked(ctx, call, checked) -> bool:
    """A nested function inherits the check of a function around it."""
    fn = ctx.facts.function_at(call.start_byte)
    while fn is not None:
        fn = ctx.facts.function_at(fn.start_byte)
        if fn is not None and fn.start_byte in checked:
            return True
    return False


_GPU_FLAG = re.compile(r"cuda|gpu|(?:\b|_)accel\b", re.I)  # `use_accel`, `args.accel`: not "accelerator"
# `x.device == torch.device("cpu")`, `device.type == "cpu"`: the branch for "not the CPU" runs
# only for data already on a GPU (the `else` of `==`, the body of `!=`).
_CPU_TEST = re.compile(r"device\b.*\bcpu\b|\bcpu\b.*\bdevice", re.I)


def under_gpu_condition(ctx, node) -> bool:
    """Inside `if <something about cuda/gpu>:` or `x.cuda() if use_gpu else x`."""
    child, parent = node, node.parent
    while parent is not None:
        if parent.type in ("if_statement", "elif_clause") and child != parent.child_by_field_id(F_CONDITION):
            cond = parent.child_by_field_id(F_CONDITION)
            if cond is not None and _GPU_FLAG.search(ctx.text(cond)):
                return True
            if cond is not None and _CPU_TEST.search(ctx.text(cond)):
                negated = "!=" in ctx.text(cond) or re.search(r"\bnot\b", ctx.text(cond)) is not None
                in_body = child == parent.child_by_field_id(F_CONSEQUENCE)
                if in_body == negated:
                    return True   # the branch where the data is not on the CPU
        if parent.type == "conditional_expression":
            # `a if cond \` / `else b`: a line continuation is a named child too
            parts = [c for c in parent.named_children if c.type not in ("line_continuation", "comment")]
            if len(parts) == 3 and child != parts[1] and _GPU_FLAG.search(ctx.text(parts[1])):
                return True
        child, parent = parent, parent.parent
    return False
