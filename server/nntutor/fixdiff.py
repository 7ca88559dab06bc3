"""`nntutor check --diff`: the certain fixes shown as a unified diff instead of applied.

A notebook's diff is of its cells' sources, one hunk group per changed cell (`path [cell N]`),
not of its JSON: that is what a reader wants to review.
"""
from __future__ import annotations

import difflib
import json


def unified(path: str, old: bytes, new: bytes) -> str:
    """The diff from `old` to `new` (a .py file's or a notebook's bytes); "" when equal."""
    if old == new:
        return ""
    if path.endswith(".ipynb"):
        return _notebook(path, old, new)
    return _text(f"a/{path}", f"b/{path}", old.decode("utf-8"), new.decode("utf-8"))


def _text(before: str, after: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=before, tofile=after)
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)


def _notebook(path: str, old: bytes, new: bytes) -> str:
    def sources(raw: bytes) -> list[str]:
        out = []
        for cell in json.loads(raw).get("cells", []):
            src = cell.get("source", "") if isinstance(cell, dict) else ""
            out.append("".join(src) if isinstance(src, list) else str(src))
        return out

    parts = []
    for i, (a, b) in enumerate(zip(sources(old), sources(new))):
        if a != b:
            parts.append(_text(f"a/{path} [cell {i + 1}]", f"b/{path} [cell {i + 1}]", a, b))
    return "".join(parts)
