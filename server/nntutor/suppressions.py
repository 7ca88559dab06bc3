"""Inline suppressions: `# nntutor: ignore[rule-a, rule-b]` or `# nntutor: ignore` on the
finding's first line; `# nntutor: ignore-file[...]` anywhere silences a whole file."""
from __future__ import annotations

import re

_PATTERN = re.compile(r"#\s*nntutor:\s*ignore(-file)?(?:\[([^\]]*)\])?")
ALL = "*"


def parse(facts) -> tuple[dict[int, set[str]], set[str]]:
    """(line -> suppressed rule ids, file-wide suppressed ids); '*' means every rule."""
    by_line: dict[int, set[str]] = {}
    file_wide: set[str] = set()
    index = facts.doc.index
    for comment in facts.comments:
        text = facts.text(comment)
        m = _PATTERN.search(text)
        if not m:
            continue
        ids = {s.strip() for s in m.group(2).split(",") if s.strip()} if m.group(2) else {ALL}
        if m.group(1):
            file_wide |= ids
        else:
            by_line.setdefault(index.line_of(comment.start_byte), set()).update(ids)
    return by_line, file_wide


def is_suppressed(rule: str, line: int, by_line, file_wide) -> bool:
    if ALL in file_wide or rule in file_wide:
        return True
    ids = by_line.get(line)
    return bool(ids) and (ALL in ids or rule in ids)
