"""rnn-dropout-single-layer: `nn.LSTM(..., dropout=p)` with one layer, where the dropout does nothing.

PyTorch's recurrent modules apply `dropout` between stacked layers only (on the outputs of every
layer but the last), so with `num_layers=1` (the default) there is nowhere to apply it: the
module trains exactly as without it, and PyTorch only warns at construction.
"""
from __future__ import annotations

from ..findings import Fix, Severity
from ..parsing import F_FUNCTION
from ..values import args_of, constant, has_splat
from . import Rule
from ._bare import remove_keyword_fix

# Positional index of (num_layers, dropout): nn.RNN has `nonlinearity` before `bias`.
POSITIONS = {"torch.nn.LSTM": (2, 5), "torch.nn.GRU": (2, 5), "torch.nn.RNN": (2, 6)}


def check(ctx):
    facts = ctx.facts
    for call in facts.calls_to(set(POSITIONS)):
        if has_splat(call):
            continue  # `nn.LSTM(*args, **cfg)`: num_layers may be in there
        layers_at, dropout_at = POSITIONS[facts.callee_qual(call)]
        pos, kw = args_of(call)
        dropout = kw.get("dropout", pos[dropout_at] if len(pos) > dropout_at else None)
        if dropout is None:
            continue
        p, p_calls = constant(facts, dropout)
        # p > 1 raises at construction; bools are not probabilities anyone writes on purpose
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 1:
            continue
        layers = kw.get("num_layers", pos[layers_at] if len(pos) > layers_at else None)
        n, n_calls = constant(facts, layers) if layers is not None else (1, ())
        if isinstance(n, bool) or n != 1:
            continue  # more layers, or a value only known at run time
        name = ctx.text(call.child_by_field_id(F_FUNCTION)).rsplit(".", 1)[-1]
        callers = {c.start_byte: c for c in p_calls + n_calls}
        if callers:
            first = min(callers.values(), key=lambda c: c.start_byte)
            owner = ctx.text(first.child_by_field_id(F_FUNCTION))
            where = f" in every `{owner}(...)` of this file (dropout={p}, num_layers=1)"
            related = [ctx.related(c, f"builds it with dropout={p} and num_layers=1")
                       for c in sorted(callers.values(), key=lambda c: c.start_byte)]
        else:
            where, related = "", []
        yield ctx.finding(
            dropout, f"`dropout={ctx.text(dropout)}` has no effect on this one-layer {name}{where}: "
            "PyTorch applies it only between stacked layers (to the outputs of all but the last), "
            "so the model trains as if it were not there. For dropout on a single layer, put an "
            "`nn.Dropout` on its output; or stack layers with `num_layers=2` or more.",
            related=related,
            # the value comes from the callers: this line is right for other arguments
            fix=None if callers else _remove_keyword(ctx, dropout))


def _remove_keyword(ctx, value) -> Fix | None:
    """Delete `dropout=...` (with its comma). Only for a keyword argument: deleting a positional
    one would shift `bidirectional` into its place."""
    kwarg = value.parent
    if kwarg is None or kwarg.type != "keyword_argument":
        return None
    return remove_keyword_fix(ctx, kwarg, f"Remove `{ctx.text(kwarg)}` (it does nothing with one layer)")


RULE = Rule("rnn-dropout-single-layer", Severity.WARNING, "lstm",
            "Recurrent dropout with one layer does nothing", check,
            needs=(b"LSTM", b"GRU", b"RNN"))
