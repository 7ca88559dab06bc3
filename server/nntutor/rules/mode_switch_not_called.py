"""mode-switch-not-called: `model.eval` / `model.train` without parentheses switch nothing."""
from __future__ import annotations

from ..findings import Severity
from . import Rule
from ._bare import bare_pattern, bare_references, call_fix, used_with
from ._training import is_torch_module_class

_BARE = bare_pattern("eval", "train")
# Calls that show a name holds a module (a torch model, a layer): `.eval()` on it elsewhere, ...
_MODULE_METHODS = ("eval", "train", "parameters", "named_parameters", "state_dict",
                   "load_state_dict", "to", "cuda", "cpu", "zero_grad", "forward", "modules")


def check(ctx):
    for attr, method, receiver in bare_references(ctx, _BARE):
        if not _looks_like_module(ctx, receiver):
            continue
        name = ctx.text(receiver)
        mode = "evaluation" if method == "eval" else "training"
        yield ctx.finding(
            attr, f"`{name}.{method}` without parentheses only looks the method up: `{name}` is not "
            f"switched to {mode} mode, so dropout and batch norm keep their current behaviour. "
            f"Call it: `{name}.{method}()`.",
            fix=call_fix(ctx, attr))


def _looks_like_module(ctx, receiver) -> bool:
    """The receiver holds a torch module: built from one, or used like one somewhere in the
    file (called, or given `.parameters()`, `.to(...)`, `.eval()` ...). A pandas frame or a
    dataset split (`mnist.train`, shown as the last line of a notebook cell) is none of these."""
    qual, _ = ctx.values.instance(receiver)
    if qual is not None:
        return is_torch_module_class(ctx, qual)
    if used_with(ctx, receiver, _MODULE_METHODS):
        return True
    return receiver.type == "identifier" and bool(ctx.facts.calls_named(ctx.text(receiver)))


RULE = Rule("mode-switch-not-called", Severity.WARNING, "train-eval-mode",
            "model.eval / model.train without parentheses", check, needs=(b"torch",))
