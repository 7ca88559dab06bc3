"""stale-batch: a loop over a data loader that never reads the batch it is given, and feeds
the model (or a loss, a metric) a batch left over from an earlier loop instead.

`for data in test_loader: outputs = net(images)`, the training loop's body copied without the
line that unpacks `data`, scores the last training batch once per test batch: the loader is
read, the numbers look plausible, and none of them are about the test set. The rule reports a
`for` loop over a data loader (`DataLoader(...)`, or a name such as `val_loader` / `test_dl`)
whose batch names are never read in its body, when a call in that body is handed a name that an
*earlier* loop over a loader bound (its loop variable, or a name assigned inside it), directly
or through one assignment in this loop (`images, labels = data`).

Silent on purpose: a batch named `_` or `_batch` (not reading it is said out loud); loops that
take their data some other way (`next(it)` in the body); loops whose calls read only fresh
names, such as `z = torch.randn(...)` in a GAN step that only uses the loader to count
iterations; printing and logging calls.
"""
from __future__ import annotations

from ..findings import Severity
from ..parsing import F_ARGUMENTS, F_BODY, F_FUNCTION, F_LEFT, F_RIGHT
from ..values import unwrap_calls
from . import Rule
from ._training import identifiers_in, variables_in
from ._uses import WRAPPERS, is_loader

# Calls that only show or record a value: a stale name there is a log line, not a result.
_SHOWS = frozenset({"print", "len", "display", "str", "repr", "type", "isinstance", "format",
                    "log", "info", "debug", "warning", "write", "set_description", "set_postfix",
                    "add_scalar", "append"})
# Ways a loop body can take its data from elsewhere than the loop variable.
# (builtins only as plain calls: `model.eval()` is not `eval(...)`)
_OTHER_SOURCES = frozenset({"__next__", "get_batch", "sample", "next_batch"})
_OTHER_BUILTINS = frozenset({"next", "locals", "vars", "eval", "exec"})


def check(ctx):
    facts = ctx.facts
    loops = [loop for loop in facts.loops if loop.type == "for_statement"]
    loader_loops = [(loop, src) for loop in loops if (src := _loader(ctx, loop)) is not None]
    if len(loader_loops) < 2:
        return   # the leftover batch has to come from an earlier loop over a loader
    for loop, loader in loader_loops:
        names = _batch_names(ctx, loop)
        body = loop.child_by_field_id(F_BODY)
        if not names or body is None:
            continue
        if any(body.start_byte <= i.start_byte < body.end_byte
               for n in names for i in facts.identifiers_named(n)):
            continue   # the batch is read
        calls = facts.calls_in(body)
        if any(_callee(ctx, c) in _OTHER_SOURCES or ctx.text(c.child_by_field_id(F_FUNCTION)) in _OTHER_BUILTINS
               for c in calls):
            continue
        for call in calls:
            if _callee(ctx, call) in _SHOWS:
                continue
            hit = _stale_argument(ctx, call, loop, loader_loops)
            if hit is not None:
                yield _finding(ctx, loop, loader, names, call, *hit)
                break


def _loader(ctx, loop):
    """The loader a `for` loop goes over (through enumerate / tqdm), or None."""
    node, seen = unwrap_calls(loop.child_by_field_id(F_RIGHT), WRAPPERS | {"iter"})
    if node is None or "zip" in seen or "cycle" in seen or not is_loader(ctx, node):
        return None
    return node


def _batch_names(ctx, loop) -> frozenset:
    """The names the loop binds to the batch (not enumerate's counter, not `_`-names)."""
    left = loop.child_by_field_id(F_LEFT)
    if left is None:
        return frozenset()
    _node, seen = unwrap_calls(loop.child_by_field_id(F_RIGHT), WRAPPERS | {"iter"})
    if seen and seen[0] == "enumerate":
        parts = left.named_children if left.type in ("pattern_list", "tuple_pattern", "tuple") else []
        if len(parts) != 2:
            return frozenset()
        left = parts[1]
    return frozenset(n for n in identifiers_in(ctx, left) if not n.startswith("_"))


def _callee(ctx, call) -> str:
    fn = call.child_by_field_id(F_FUNCTION)
    return ctx.text(fn).rsplit(".", 1)[-1] if fn is not None else ""


def _stale_argument(ctx, call, loop, loader_loops):
    """(name, its binding, the earlier loop's loader) for an argument of `call` that holds a leftover of
    an earlier loop over a loader, or None."""
    args = call.child_by_field_id(F_ARGUMENTS)
    if args is None:
        return None
    for name in dict.fromkeys(variables_in(ctx, args)):
        hit = _stale(ctx, name, loop, loader_loops, depth=0)
        if hit is not None:
            return (name, *hit)
    return None


def _stale(ctx, name, loop, loader_loops, depth, statement=None):
    """(binding, the earlier loop's loader) when `name`, read in `loop`, holds a leftover of an earlier loop
    over a loader; `statement` is the position of the in-loop assignment reading it
    (`image = image.cuda()` reads the value from before the loop on the first pass)."""
    facts = ctx.facts
    inside = [b for b in facts.bindings.get(name, ())
              if loop.start_byte <= b.pos < loop.end_byte and b.pos != statement]
    if inside:
        # Bound in this loop: stale only if every binding here reads a stale name itself
        # (`images, labels = data`, `data` being the training loop's batch).
        if depth > 0 or any(b.value is None for b in inside):
            return None
        found = None
        for b in inside:
            for other in dict.fromkeys(variables_in(ctx, b.value)):
                found = _stale(ctx, other, loop, loader_loops, depth + 1, b.pos)
                if found is not None:
                    break
            if found is None:
                return None
        return found
    b = facts.binding(name, loop.start_byte)
    if b is None:
        return None
    for earlier, source in loader_loops:
        if earlier.start_byte <= b.pos < earlier.end_byte and not (
                earlier.start_byte <= loop.start_byte < earlier.end_byte):
            return b, source
    return None


def _finding(ctx, loop, loader, names, call, name, binding, earlier_loader):
    shown = ", ".join(f"`{n}`" for n in sorted(names))
    call_text = ctx.text(call)
    if len(call_text) > 60:
        call_text = call_text[:57] + "..."
    message = (f"This loop over `{ctx.text(loader)}` never reads its batch ({shown}): `{call_text}` "
               f"is given `{name}`, left over from the loop over "
               f"`{ctx.text(earlier_loader)}`, so every pass works on that "
               f"same last batch and the results say nothing about `{ctx.text(loader)}`. Unpack "
               f"this loop's batch into the names the body uses.")
    return ctx.finding(loop.child_by_field_id(F_LEFT), message,
                       related=[ctx.related(binding.target, f"`{name}` is bound here, in the earlier loop")])


RULE = Rule("stale-batch", Severity.ERROR, "epochs-batches-iterations",
            "A loop over a data loader ignores its batch and reuses one from an earlier loop", check,
            needs=(b"oader", b"dl"))
