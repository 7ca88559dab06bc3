"""`nntutor check --diff`: the certain fixes shown as a unified diff instead of applied.

A notebook's diff is of its cells' sources, one hunk group per changed cell (`path [cell N]`),
not of its JSON: that is what a reader wants to review.
"""
from __future__ import annotations

import difflib
import json
import re

from .notebook import cell_entries


def unified(path: str, old: bytes, new: bytes) -> str:
    """The diff from `old` to `new` (a .py file's or a notebook's bytes); "" when equal."""
    if old == new:
        return ""
    if path.endswith(".ipynb"):
        return _notebook(path, old, new)
    return _text(f"a/{path}", f"b/{path}", old.decode("utf-8"), new.decode("utf-8"))


def _text(before: str, after: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(_lines(old), _lines(new), fromfile=before, tofile=after)
    # An old-Mac line's \r is shown as a line break (a bare \r would overwrite the line on a terminal).
    return "".join(line if line.endswith("\n") else line[:-1] + "\n" if line.endswith("\r")
                   else line + "\n\\ No newline at end of file\n" for line in lines)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _lines(text: str) -> list[str]:
    """Lines with their endings, broken where Python breaks them (\n, \r\n, a lone \r) and not
    at form feeds or Unicode separators, as str.splitlines would."""
    return _LINE.findall(text)


def _notebook(path: str, old: bytes, new: bytes) -> str:
    def sources(raw: bytes) -> list[str]:
        out = []
        for cell, key in cell_entries(json.loads(raw)):   # nbformat 4 and 3 (`worksheets`)
            src = cell.get(key, "") if isinstance(cell, dict) else ""
            out.append("".join(src) if isinstance(src, list) else str(src))
        return out

    parts = []
    for i, (a, b) in enumerate(zip(sources(old), sources(new))):
        if a != b:
            parts.append(_text(f"a/{path} [cell {i + 1}]", f"b/{path} [cell {i + 1}]", a, b))
    return "".join(parts)
