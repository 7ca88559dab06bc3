"""Code that never runs: the body of `if False:` or `if 0:`.

Scripts and notebooks switch experiments off that way (`if False:  # old scaler`); what is
inside cannot leak, crash or train, so the rules should not read it, and a `model.eval()` in
it does not put a model in eval mode. `dead_blocks` finds those bodies; `Document.analysable()`
leaves them out as it leaves out a statement that does not parse (same length, `pass` and
comments), without a notice: the user wrote them so on purpose. An `else:` or `elif` branch is
live and kept.
"""
from __future__ import annotations

from .namescan import whole_name_matches
from .parsing import F_CONDITION, F_CONSEQUENCE

# A cheap test on the bytes first: almost no file has one.
_TAIL = rb"[ \t]+(?:False|0)[ \t]*:"


def dead_blocks(data: bytes, tree) -> list[tuple[int, int]]:
    """(first, last) 0-based lines of each `if False:` / `if 0:` body that starts on the line
    after its header (a one-line `if False: x()` is left alone), outermost only."""
    found: list[tuple[int, int]] = []
    root = tree.root_node
    for m in whole_name_matches(data, b"if", tail=_TAIL):   # not `elif False:`
        node = root.descendant_for_byte_range(m.start(), m.start() + 2)
        while node is not None and node.type != "if_statement":
            node = node.parent
        if node is None or node.start_byte != m.start():
            continue   # `if` in a string, a comment or a comprehension
        cond = node.child_by_field_id(F_CONDITION)
        body = node.child_by_field_id(F_CONSEQUENCE)
        if cond is None or body is None or cond.type not in ("false", "integer"):
            continue
        if cond.type == "integer" and data[cond.start_byte:cond.end_byte] != b"0":
            continue
        first, last = body.start_point.row, body.end_point.row
        if first == node.start_point.row or body.has_error:
            continue
        if found and found[-1][0] <= first <= found[-1][1]:
            continue   # inside a dead body already left out
        found.append((first, last))
    return found
