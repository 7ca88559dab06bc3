"""accelerator-unchecked: `torch.accelerator.current_accelerator()` taken as "the device" with
no check that an accelerator is there.

It returns the accelerator PyTorch was *built* for (unless `check_available=True`): None on a
CPU-only build, so `current_accelerator().type` raises AttributeError, and `cuda` on a CUDA
build running on a machine without a GPU, where the first tensor moved there fails. The
device-agnostic idiom of PEFT's examples,
`torch.accelerator.current_accelerator().type if hasattr(torch, "accelerator") else "cuda"`,
does both. The same exemptions as hardcoded-cuda apply (a check in the function or at module
level, a GPU flag around the call, test modules, distributed and multi-GPU code, files that are
GPU-only by design), except that the word `accelerator` (Hugging Face Accelerate's object, for
hardcoded-cuda) is this rule's own subject.
"""
from __future__ import annotations

from ..findings import Fix, Severity
from ..parsing import F_ATTRIBUTE, F_OBJECT
from ..values import args_of, literal_value
from . import Rule
from ._devices import (
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

CURRENT = frozenset({"torch.accelerator.current_accelerator"})


def check(ctx):
    facts = ctx.facts
    calls = facts.calls_to(CURRENT)
    if not calls or is_test_module(ctx):
        return
    if targets_gpus(ctx) or any(facts.mentions(g) for g in GUARDS if g != b"accelerator"):
        return  # multi-GPU / distributed code (DDP, NCCL, device_count ...) targets GPUs by design
    if any(v == "triton" or v.startswith("triton.") for v in facts.imports.values()):
        return  # GPU kernels
    checked = checked_scopes(ctx)
    if -1 in checked:
        return  # an availability check at module level decides for the whole file
    if gpu_only_model(ctx) or any(half_precision_on_gpu(ctx, c) for c in candidate_calls(facts)):
        return
    torch_name = next((k for k, v in facts.imports.items() if v == "torch"), None)
    for call in calls:
        if facts.scope_id(call.start_byte) in checked or outer_checked(ctx, call, checked):
            continue
        if under_gpu_condition(ctx, call):
            continue  # `if use_accel:` / `... if torch.accelerator.is_available() else cpu`
        _, kw = args_of(call)
        attr = _attribute_taken(ctx, call)
        checks = "check_available" in kw and literal_value(kw["check_available"]) is True
        if checks and attr is None:
            continue  # None when there is none: `.to(None)` leaves tensors where they are
        fix = None
        if torch_name is not None and ctx.text(call).startswith(f"{torch_name}.accelerator."):
            guarded = (f"({torch_name}.accelerator.current_accelerator() if "
                       f"{torch_name}.accelerator.is_available() else {torch_name}.device(\"cpu\"))")
            fix = Fix("Fall back to the CPU when no accelerator is available", (ctx.edit(call, guarded),))
        crash = (f"None on a CPU-only build, where `.{attr}` raises AttributeError" if attr
                 else "None on a CPU-only build")
        yield ctx.finding(
            call, "`current_accelerator()` does not check that an accelerator is present: it "
            f"returns the one PyTorch was built for, {crash}, and `cuda` on a CUDA build running "
            "without a GPU, where the first tensor moved there fails. Check "
            "`torch.accelerator.is_available()` and fall back to the CPU.", fix=fix)


def _attribute_taken(ctx, call) -> str | None:
    """`current_accelerator().type`: the attribute read straight off the result."""
    parent = call.parent
    if parent is not None and parent.type == "attribute" and parent.child_by_field_id(F_OBJECT) == call:
        return ctx.text(parent.child_by_field_id(F_ATTRIBUTE))
    return None


RULE = Rule("accelerator-unchecked", Severity.WARNING, "device-placement",
            "torch.accelerator.current_accelerator() used without an availability check", check,
            needs=(b"current_accelerator",))
