"""Inline suppressions: `# nntutor: ignore[rule-a, rule-b]` or `# nntutor: ignore` on the
finding's first line; `# nntutor: ignore-file[...]` anywhere silences a whole file.

Each directive is kept with the byte span of every rule id it names, so the engine can tell
which ones silenced a finding and report the others (rules/unused_suppression.py)."""
from __future__ import annotations

import re
from dataclasses import dataclass

# `# nntutor:` starts something meant as a directive; it is read only in one of these forms:
# `ignore[ids]` / `ignore-file[ids]` with at least one id, or `ignore` / `ignore-file` alone
# (at the end of the comment, before another `#`, or followed by a reason in words). Anything
# else (`ignore [x]`, `ignore: x`, `ignored`, an unclosed `[`, empty `[]`) is *malformed*: it
# silences nothing, and unused-suppression says so, rather than silencing every rule.
_PREFIX = re.compile(rb"#\s*nntutor\s*:")
_DIRECTIVE = re.compile(rb"#\s*nntutor:\s*ignore(-file)?(?:\[([^\]]*)\]|(?=\s*$|\s*#|\s+[^\[\s]))")
_ID = re.compile(rb"[^,\s]+")
ALL = "*"


@dataclass(frozen=True, slots=True)
class RuleId:
    name: str
    start: int      # bytes of the id in the document
    end: int


@dataclass(slots=True)
class Suppression:
    line: int                    # the line it silences (the comment's line)
    file_wide: bool
    start: int                   # bytes of the directive `# nntutor: ignore[...]`
    end: int
    comment_start: int           # bytes of the whole comment it is written in (no \r)
    comment_end: int
    ids: tuple[RuleId, ...]      # () = every rule

    def names(self) -> set[str]:
        return {i.name for i in self.ids} if self.ids else {ALL}


@dataclass(frozen=True, slots=True)
class Malformed:
    """`# nntutor: ...` that is no directive nntutor reads: the span to report."""
    line: int
    start: int
    end: int


def directives(facts) -> list[Suppression]:
    """Every suppression directive in the document's comments, in document order (a comment
    may hold several)."""
    return _scan(facts)[0]


def malformed(facts) -> list[Malformed]:
    return _scan(facts)[1]


def _scan(facts) -> tuple[list[Suppression], list[Malformed]]:
    cached = getattr(facts, "_directive_scan", None)
    if cached is not None:
        return cached
    found, bad = [], []
    data = facts.doc.data
    index = facts.doc.index
    for comment in facts.comments:
        start, end = comment.start_byte, comment.end_byte
        while end > start and data[end - 1:end] == b"\r":   # tree-sitter keeps a CRLF's \r
            end -= 1
        for p in _PREFIX.finditer(data, start, end):
            m = _DIRECTIVE.match(data, p.start(), end)
            ids = ()
            if m is not None and m.group(2) is not None:
                base = m.start(2)
                ids = tuple(RuleId(i.group().decode("utf-8", "replace"), base + i.start(), base + i.end())
                            for i in _ID.finditer(m.group(2)))
            line = index.line_of(p.start())
            if m is None or (m.group(2) is not None and not ids):
                stop = data.find(b"#", p.end(), end)
                bad.append(Malformed(line, p.start(), (stop if stop != -1 else end)))
                continue
            found.append(Suppression(line, bool(m.group(1)), m.start(), m.end(), start, end, ids))
    facts._directive_scan = (found, bad)
    return found, bad


class Silencer:
    """Answers "is this finding suppressed?" for one analysis, and remembers which directive
    ids did it. (The directives are cached with the version's facts, which several analyses
    may share, with other settings or another workspace: what was used is kept here.)"""

    def __init__(self, found: list[Suppression]):
        self.all = found
        self.by_line: dict[int, list[Suppression]] = {}
        self.file_wide: list[Suppression] = []
        self._used: dict[int, set[str]] = {}
        for s in found:
            if s.file_wide:
                self.file_wide.append(s)
            else:
                self.by_line.setdefault(s.line, []).append(s)

    def silences(self, rule: str, line: int) -> bool:
        hit = False
        for s in self.file_wide + self.by_line.get(line, []):
            names = s.names()
            for name in (rule, ALL):
                if name in names:
                    self._used.setdefault(id(s), set()).add(name)
                    hit = True
        return hit

    def used(self, s: Suppression) -> set[str]:
        """The ids of `s` (ALL for a bare one) that silenced a finding in this analysis."""
        return self._used.get(id(s), set())


def directive_edit(doc, line: int, rules) -> tuple[int, int, str] | None:
    """(start byte, end byte, new text): the edit that makes line `line` silence `rules` too,
    by extending its `# nntutor: ignore[...]` or by appending one at the end of the line. None
    when no directive can go there: the line ends inside a string (a multi-line string: the
    text would become part of it) or with a backslash continuation, or it holds a file-wide or
    a bare directive (a second directive in the same comment is not read)."""
    index, data = doc.index, doc.data
    start = index.starts[line]
    end = index.starts[line + 1] - 1 if line + 1 < len(index.starts) else len(data)
    if end > start and data[end - 1:end] == b"\r":
        end -= 1
    rules = list(dict.fromkeys(rules))
    for s in directives(doc.facts):
        if s.line != line:
            continue
        if s.file_wide or not s.ids:
            return None
        new = [r for r in rules if r not in s.names()]
        if not new:
            return None
        last = s.ids[-1].end
        return last, last, "".join(f", {r}" for r in new)
    code_end = len(data[start:end].rstrip()) + start
    if code_end > start and not doc.facts.in_comment(code_end - 1):
        if data[code_end - 1:code_end] == b"\\":
            return None
        node = doc.tree.root_node.descendant_for_byte_range(code_end - 1, code_end)
        while node is not None and node.type not in ("string", "concatenated_string"):
            node = node.parent
        if node is not None and node.end_byte > code_end:
            return None
    # after the line's last character: trailing blanks go, so the comment sits two spaces out
    return code_end, end, f"  # nntutor: ignore[{', '.join(rules)}]"
