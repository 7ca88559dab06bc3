"""Methods named but not called: `model.eval`, `loss.backward` written as a statement; and the
fix helpers for a call's arguments (adding parentheses, removing a keyword argument)."""
from __future__ import annotations

import re
from bisect import bisect_left

from ..findings import Fix, TextEdit
from ..parsing import F_ATTRIBUTE, F_OBJECT


def bare_pattern(*methods: str) -> re.Pattern:
    """`.method` ending a line (a comment may follow), for `bare_references`. Matched outside
    comments only, and whatever a comment after it says: a comment edit cannot change what it
    finds (so its words need no place in incremental.SENSITIVE_WORDS)."""
    return re.compile(rb"\.(?:" + b"|".join(m.encode() for m in methods) + rb")[ \t]*(?:#[^\n]*)?$", re.M)


def bare_references(ctx, pattern: re.Pattern, start: int = 0, end: int | None = None):
    """(attribute node, method name, receiver node) of each statement that is only `x.method`,
    found by `pattern` (from `bare_pattern`) outside comments, between `start` and `end`.
    An assignment or an argument (`f = model.eval`, `callback(loss.backward)`) is a reference
    kept for later, not one of these."""
    root = ctx.doc.tree.root_node
    matches = ctx.facts.code_matches(pattern)
    first = bisect_left(matches, start, key=_start) if start else 0  # per loop: no scan from the top
    for m in matches[first:]:
        if end is not None and m.start() >= end:
            break
        name = root.descendant_for_byte_range(m.start() + 1, m.start() + 2)
        attr = name.parent if name is not None else None
        stmt = attr.parent if attr is not None else None
        if (attr is None or attr.type != "attribute" or attr.child_by_field_id(F_ATTRIBUTE) != name
                or stmt is None or stmt.type != "expression_statement" or stmt.named_child_count != 1):
            continue
        receiver = attr.child_by_field_id(F_OBJECT)
        if receiver is not None:
            yield attr, ctx.text(name), receiver


def _start(match) -> int:
    return match.start()


def call_fix(ctx, attr):
    """The quick fix: add the parentheses (`model.eval` -> `model.eval()`)."""
    return Fix(f"Call `{ctx.text(attr)}()`", (TextEdit(attr.end_byte, attr.end_byte, "()"),))


def used_with(ctx, receiver, methods) -> bool:
    """Some `<same text as receiver>.method(...)` call exists in the file, for one of `methods`:
    how a name of unknown type shows what it holds (`.parameters()`: a module)."""
    text = ctx.text(receiver)
    return any(r is not None and ctx.text(r) == text
               for method in methods for _call, r in ctx.facts.method_calls(method))


def remove_keyword_fix(ctx, kwarg, title: str) -> Fix | None:
    """Delete the keyword argument `kwarg` together with the comma before it (or after it, when
    it comes first); None when it stands alone among comments, or a comment lies in the span
    (it would be deleted with it)."""
    prev, nxt = kwarg.prev_named_sibling, kwarg.next_named_sibling
    if prev is not None and prev.type != "comment":
        start, end = prev.end_byte, kwarg.end_byte
    elif nxt is not None and nxt.type != "comment":
        start, end = kwarg.start_byte, nxt.start_byte
    else:
        return None  # its own line among comments: leave the layout to the author
    if ctx.facts.in_comment(start) or b"#" in ctx.doc.data[start:end]:
        return None  # a comment between the arguments would be deleted with it
    return Fix(title, (TextEdit(start, end, ""),))
