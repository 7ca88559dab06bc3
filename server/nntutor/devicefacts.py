"""Facts about device calls, for the hover: `torch.device(...)` (which device this argument
names, and whether the choice depends on the machine) and `.to(device)` / `.cuda()` / `.cpu()`
(in place on a module, a copy on a tensor, and a warning where a tensor's copy is thrown away,
as the rule tensor-to-discarded reports)."""
from __future__ import annotations

import re

from .values import Values, args_of, method_call, string_value, strip

_CUDA_INDEX = re.compile(r"^cuda:(\d+)$")


def device_facts(doc, call, q):
    pos, kw = args_of(call)
    arg = pos[0] if pos else kw.get("type")
    if arg is None:
        return []
    arg = strip(arg)
    if arg.type == "conditional_expression":
        if "is_available()" in doc.text(arg):
            return ["Chooses by what this machine has (`is_available()`): the same code runs on a GPU "
                    "machine and on a CPU-only one. Create it once and pass it to every `.to(device)`."]
        return []
    name = string_value(arg)
    if name is None:
        return []
    index = pos[1] if len(pos) > 1 else kw.get("index")
    m = _CUDA_INDEX.match(name)
    if name == "cuda" and index is None:
        return ["The current CUDA GPU (number 0 unless `torch.cuda.set_device` chose another). Making "
                "this object touches no GPU, but moving a model or tensor to it fails on a machine "
                "without an NVIDIA GPU: choose with `\"cuda\" if torch.cuda.is_available() else \"cpu\"` "
                "(see the rule hardcoded-cuda)."]
    if m or name == "cuda":
        n = m.group(1) if m else doc.text(index)
        return [f"CUDA GPU number {n} among the visible ones (`CUDA_VISIBLE_DEVICES` renumbers them): "
                "code written for a machine with that many GPUs."]
    if name == "mps":
        return ["Apple-silicon GPU (Metal). Check `torch.backends.mps.is_available()` first; a few "
                "operations are missing there (`PYTORCH_ENABLE_MPS_FALLBACK=1` runs them on the CPU)."]
    if name == "cpu":
        return ["The CPU: available everywhere; large models train much more slowly than on a GPU."]
    return []


def move_facts(doc, target, workspace=None) -> list[str]:
    """`x.to(device)`, `x.cuda()`, `x.cpu()`: in place on a module, a copy on a tensor."""
    from .hover import torch_module_class
    from .rules import RuleContext
    from .rules.tensor_to_discarded import RULE, discarded_move, tensor_receiver

    call = target.call
    recv, method = method_call(call)
    if recv is None:
        return []
    recv = strip(recv)
    name = doc.text(recv)
    values = Values(doc.facts, workspace)
    qual, _ = values.instance(recv)
    module_line = (f"On a module it moves the parameters and buffers **in place** and returns the "
                   f"module itself: `{name}.{method}(...)` alone is enough.")
    tensor_line = (f"On a tensor it returns a **moved copy** and leaves `{name}` where it was: assign "
                   f"it, `{name} = {name}.{method}(...)`.")
    if qual is not None and torch_module_class(values, qual):
        return [module_line]
    ctx = RuleContext(doc, RULE, values)
    if discarded_move(ctx, call, recv):
        return [tensor_line, f"⚠ Here the copy is thrown away, so `{name}` stays on its old device "
                "(see the rule tensor-to-discarded)."]
    if tensor_receiver(ctx, recv):
        return [tensor_line]
    return [module_line, tensor_line]
