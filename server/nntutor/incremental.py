"""Reusing an analysis across an edit that only touches comments and blank space.

Typing a comment, adding or removing blank lines, or editing a comment line does not change
what the rules see, except where a rule looks at the raw text. `reuse(old, new, analysis)`
decides whether the difference between two versions of a document is such a *trivia* edit
and, if so, returns the old analysis with every byte offset moved through the edit and every
location recomputed on the new version, which is what a from-scratch analysis of the new
text gives. Whenever that cannot be established it returns None (analyse again).

The edit is the single changed span between the two texts (common prefix and suffix), so
several changes in one didChange, a full-text update or a rebuilt notebook are all one span.
It is trivia only if all of this holds:

* every byte of the span, in the old and in the new text, is blank space (space, tab, newline)
  or lies in a `comment` token of that version's tree (so never in a string or docstring, and
  `#` typed before code makes that code a comment: not trivia);
* the span sits between statements: the smallest node around it is a module, a block or a
  compound statement, in both trees, without ERROR or MISSING nodes; tree-sitter's changed
  ranges between the (edited) old tree and the new one stay inside the touched lines;
* the code tokens on either side keep their layout: still on one line or still on different
  lines, and the code line after the span keeps its indentation;
* no comment on a touched line contains `nntutor` (suppressions), and no comment touched
  contains a word some rule searches the raw text for (`SENSITIVE_WORDS`: `no_grad`,
  `Dropout`, `cuda` ...: a rule's needs, guards and regexes see comments too);
* no finding's range overlaps the span (a message or fix may quote that text), no fix edit
  even touches it, and no range is empty at its edge (is it before or after an insertion?);
* notebooks: the same cells, and the span inside one cell.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, replace
from pathlib import Path

from .document import Document, _common_prefix, _common_suffix, _point
from .findings import Analysis, Finding, Fix, Location, Related, TextEdit

# Blank space between tokens. A trivia edit itself may only add or remove spaces, tabs and
# newlines outside comments (no \r, \f, \v, no backslash continuation: not worth the corner cases).
_SPACE = frozenset(b" \t\r\n\f\v")

# Nodes a comment may sit in between statements (or between a header and its body).
CONTAINERS = frozenset({
    "module", "block", "function_definition", "class_definition", "decorated_definition",
    "if_statement", "elif_clause", "else_clause", "for_statement", "while_statement",
    "with_statement", "try_statement", "except_clause", "except_group_clause", "finally_clause",
    "match_statement", "case_clause",
})

# Words (lower case) that the analysis looks for in the raw text, comments included: the
# bytes literals of the rules and of facts/values/models (guards such as `device_count`,
# regexes such as `requires_grad...=False` or `.grad = None`) and the hints models.py searches
# class bodies for. A comment that contains one of these, before or after the edit, can change
# findings. tests/test_incremental.py re-derives the list from the sources (`raw_text_words`)
# and fails when a rule adds a raw-text search whose words are missing here.
SENSITIVE_WORDS = frozenset({
    "accelerator", "alphadropout", "attn_implementation", "device_map", "batch_norm", "batchnorm", "cuda_visible_devices", "dataparallel",
    "dataset", "device", "device_mesh", "devicemesh", "parallelismconfig", "cudaextension",
    "cuda_sources", "cu",
    "device_count", "dropout", "false", "get_device", "grad", "inplace", "is_available",
    "map_location", "named_", "nccl", "none", "parameters", "requires_grad", "set_device",
    "transform", "transformer", "transforms", "true", "zeros_like", "load_in_4bit", "load_in_8bit", "data_parallel", "distributed", "gpus",
    "global",
    "nntutor",   # suppression comments (`# nntutor: ignore[...]`, `ignore-file`)
})
# Words of bytes literals that are only compared with the text of one expression node (never
# a statement-level comment, which is all a trivia edit can touch): `b"Loss"` in a binding's value
# (rules/_losses.py).
NODE_TEXT_ONLY = frozenset({"loss",
                            # rules/leakage_fit_on_test.py: test labels (`y_test`), searched
                            # with facts.code_matches, outside comments
                            "y_", "test", "tst", "labels", "targets",
                            # rules/functional_dropout_always_on.py: a match counts only where an
                            # identifier node is (never in a comment)
                            "training",
                            # rules/_tfdata.py: `from .datasets import`, searched outside comments
                            # (Facts.code_matches)
                            "from", "datasets",
                            # rules/missing_eval_mode.py: a discriminator in the file (code_matches)
                            "disc", "discriminator", "net_", "critic", "actor", "policy",
                            # rules/accelerator_check_not_called.py: the availability checks'
                            # names, searched with facts.code_matches and kept only on an
                            # identifier node
                            "is_built", "is_bf16_supported", "is_initialized", "is_gpu_available",
                            "is_built_with_cuda",
                            # rules/eval_loader_drop_last.py: a TPU in the file (TPUStrategy,
                            # use_tpu), searched with facts.code_matches, outside comments
                            "tpu",
                            })
# Words of the suppression directive's pattern (suppressions.py) besides `nntutor`: a comment
# can only match it if it also holds `nntutor`, which is sensitive on its own.
DIRECTIVE_ONLY = frozenset({"ignore", "file"})
# A rule's `needs` (bytes that must occur somewhere for it to run at all) is a gate on the
# whole text: a comment holding one is fine as long as the text still has it, or still lacks
# it, after the edit (checked in `_gates`).


@dataclass(frozen=True)
class Edit:
    """Bytes [start, old_end) of the old text became [start, new_end) of the new one."""

    start: int
    old_end: int
    new_end: int
    # The blank space and comments around the span in the old text: from the end of the code
    # before it to the start of the code after it. Offsets there other than these two ends
    # (a line start, say) have no single image in the new text.
    gap_start: int = -1
    gap_end: int = -1

    @property
    def delta(self) -> int:
        return self.new_end - self.old_end


def diff(old: bytes, new: bytes) -> Edit:
    """The one span that differs between two texts (empty at the end when they are equal)."""
    prefix = _common_prefix(old, new)
    suffix = _common_suffix(old, new, min(len(old), len(new)) - prefix)
    return Edit(prefix, len(old) - suffix, len(new) - suffix)


class NotTrivia(Exception):
    """Why an edit does not qualify (the message is for logs and tests)."""


def trivia_edit(old: Document, new: Document) -> Edit:
    """The edit from `old` to `new` if it is trivia-only; raises NotTrivia otherwise."""
    if old.path != new.path:
        raise NotTrivia("another document")
    edit = diff(old.data, new.data)
    if edit.start == edit.old_end == edit.new_end:
        _same_cells(old, new, edit)
        return replace(edit, gap_start=edit.start, gap_end=edit.start)
    s, oe, ne = edit.start, edit.old_end, edit.new_end
    for data, end in ((old.data, oe), (new.data, ne)):
        changed = data[s:end]
        if any(c in changed for c in (b"\r", b"\f", b"\v", b"\\", b"\x00")):
            raise NotTrivia("line continuation or unusual blank")
        if _plainly_code(data, s, end):
            # decided from the bytes: a code edit is answered without its tree (which the
            # language server parses later when a slice of the text is enough: nntutor.scoped)
            raise NotTrivia("code in the edited span")
    old_comments = _trivia_span(old, s, oe)
    new_comments = _trivia_span(new, s, ne)
    _container(old, s, oe)
    _container(new, s, ne)
    edit = _layout(old, new, edit)
    _same_cells(old, new, edit)
    # Whole touched lines: a suppression applies to its line, and splitting a line can move it
    # away from the code it silences.
    if b"nntutor" in _lines(old, s, oe).lower() or b"nntutor" in _lines(new, s, ne).lower():
        raise NotTrivia("suppression comment on an edited line")
    # The comments touched by the edit and those on the touched lines (not the code on them).
    comments = [old.data[c.start_byte:c.end_byte] for c in old_comments + _line_comments(old, s, oe)]
    comments += [new.data[c.start_byte:c.end_byte] for c in new_comments + _line_comments(new, s, ne)]
    for text in comments:
        low = text.decode("utf-8", "replace").lower()
        hit = next((w for w in SENSITIVE_WORDS if w in low), None)
        if hit is not None:
            raise NotTrivia(f"comment mentions {hit!r}, which a rule searches the raw text for")
    _gates(old, new, comments)
    _changed_ranges(old, new, edit)
    return edit


def _plainly_code(data: bytes, a: int, b: int) -> bool:
    """Whether the first non-blank byte of [a, b) is code for certain: not `#`, and no `#`
    before it on its line, so no comment can hold it (where the bytes cannot tell, the trees
    decide: `_trivia_span`)."""
    stripped = data[a:b].lstrip(b" \t\n")
    if not stripped or stripped[:1] == b"#":
        return False
    q = b - len(stripped)
    return data.find(b"#", data.rfind(b"\n", 0, q) + 1, q) < 0


def why_not(old: Document, new: Document) -> str | None:
    """None when the edit from `old` to `new` is trivia-only, else the reason it is not."""
    try:
        trivia_edit(old, new)
    except NotTrivia as exc:
        return str(exc)
    return None


def reuse(old: Document, new: Document, analysis: Analysis, classes=None) -> Analysis | None:
    """`analysis` (of `old`) carried over to `new`, or None when `new` must be analysed again.
    `classes`: model class summaries of `old` (models.Workspace), whose locations are moved onto
    `new` in place when the analysis is carried over (what else they hold, a trivia edit
    cannot change: class-body hints are SENSITIVE_WORDS)."""
    try:
        edit = trivia_edit(old, new)
        findings = [_map_finding(f, new, edit, analysis.path) for f in analysis.findings]
        moved = [_map_location(c.output_location, new, edit, analysis.path)
                 if c.output_location is not None else None for c in classes or ()]
    except NotTrivia:
        return None
    for cls, loc in zip(classes or (), moved):
        cls.output_location = loc
    # The document's own notice is the new version's (it names lines: a statement left out of
    # the analysis, engine.analyze); a rule's internal error carries over with its findings.
    view = new.analysable()
    notices = [f"{view.path}: {view.notice}"] if view.notice else []
    notices += [n for n in analysis.notices if ": internal error in rule " in n]
    return Analysis(analysis.path, findings, notices)


# -- the checks ----------------------------------------------------------------------------------
def _node_at(doc: Document, a: int, b: int):
    return doc.tree.root_node.descendant_for_byte_range(a, b)


def _comment_at(doc: Document, pos: int):
    """The comment node holding byte `pos`, or None."""
    node = _node_at(doc, pos, pos + 1)
    while node is not None and node.type != "comment" and node.start_byte == pos and node.end_byte == pos + 1:
        node = node.parent
    return node if node is not None and node.type == "comment" else None


def _trivia_span(doc: Document, a: int, b: int) -> list:
    """The comments making up [a, b); NotTrivia when a byte there is neither blank space nor in
    a comment. An empty span must not lie inside a token (a string, a name)."""
    data = doc.data
    comments = []
    if a == b:
        node = _node_at(doc, a, a)
        if node is not None and node.type == "comment":
            if node.start_byte < a:
                comments.append(node)
        elif node is not None and node.start_byte < a < node.end_byte and node.type not in CONTAINERS:
            raise NotTrivia(f"inside {node.type}")
        return comments
    q = a
    while q < b:
        if data[q] in _SPACE:
            q += 1
            continue
        c = _comment_at(doc, q)
        if c is None:
            node = _node_at(doc, q, q + 1)
            raise NotTrivia(f"code in the edited span ({node.type if node is not None else '?'})")
        comments.append(c)
        q = c.end_byte
    return comments


def _container(doc: Document, a: int, b: int) -> None:
    """The smallest non-comment node strictly around [a, b) is a statement container."""
    root = doc.tree.root_node
    node = root.descendant_for_byte_range(a, b)
    while node is not None and node != root and (
            node.type == "comment" or not (node.start_byte < a and b < node.end_byte)):
        node = node.parent
    if node is None:
        raise NotTrivia("no enclosing node")
    if node.type not in CONTAINERS:
        raise NotTrivia(f"inside {node.type}")
    if node.has_error or node.is_missing:
        raise NotTrivia("syntax error around the edit")


def _code_before(doc: Document, pos: int) -> int:
    """End of the last code byte before `pos` (0 if none): blank space and comments skipped."""
    data = doc.data
    q = pos - 1
    while q >= 0:
        if data[q] in _SPACE:
            q -= 1
            continue
        c = _comment_at(doc, q)
        if c is None:
            return q + 1
        q = c.start_byte - 1
    return 0


def _code_after(doc: Document, pos: int) -> int:
    """Start of the first code byte at or after `pos` (len(data) if none)."""
    data = doc.data
    q, n = pos, len(data)
    while q < n:
        if data[q] in _SPACE:
            q += 1
            continue
        c = _comment_at(doc, q)
        if c is None:
            return q
        q = c.end_byte
    return n


def _layout(old: Document, new: Document, edit: Edit) -> Edit:
    """The code before and after the span stays on one line / on different lines, and the line
    of the code after keeps its indentation."""
    p = _code_before(old, edit.start)
    if p != _code_before(new, edit.start):
        raise NotTrivia("code before the edit moved")
    n0, n1 = _code_after(old, edit.old_end), _code_after(new, edit.new_end)
    if n0 - edit.old_end != n1 - edit.new_end:
        raise NotTrivia("code after the edit moved")
    gap0, gap1 = old.data[p:n0], new.data[p:n1]
    nl0, nl1 = gap0.rfind(b"\n"), gap1.rfind(b"\n")
    code_after = n0 < len(old.data)
    if p > 0 and code_after:  # code on both sides (p == 0: none before)
        if (nl0 < 0) != (nl1 < 0):
            raise NotTrivia("joins or splits lines of code")
        if nl0 < 0:
            raise NotTrivia("blank space between tokens on one line")
    if code_after and gap0[nl0 + 1:] != gap1[nl1 + 1:]:
        raise NotTrivia("changes the indentation of code")
    return replace(edit, gap_start=p, gap_end=n0)


def _lines(doc: Document, a: int, b: int) -> bytes:
    """The whole lines touched by [a, b]."""
    data = doc.data
    ls = data.rfind(b"\n", 0, a) + 1
    le = data.find(b"\n", b)
    return data[ls:len(data) if le < 0 else le]


def _line_comments(doc: Document, a: int, b: int) -> list:
    """The comments on the lines touched by [a, b]."""
    data = doc.data
    ls = data.rfind(b"\n", 0, a) + 1
    le = data.find(b"\n", b)
    le = len(data) if le < 0 else le
    out = []
    q = data.find(b"#", ls, le)
    while q >= 0:
        c = _comment_at(doc, q)
        if c is not None:
            out.append(c)
            q = data.find(b"#", c.end_byte, le)
        else:
            q = data.find(b"#", q + 1, le)
    return out


_NEEDLES: tuple[bytes, ...] | None = None


def _needles() -> tuple[bytes, ...]:
    global _NEEDLES
    if _NEEDLES is None:
        from .rules import all_rules

        _NEEDLES = tuple(sorted({n for r in all_rules().values() for n in r.needs}))
    return _NEEDLES


def _gates(old: Document, new: Document, comments: list[bytes]) -> None:
    """Every rule still runs, or still does not, after the edit (`Rule.needs`)."""
    for needle in _needles():
        if any(needle in c for c in comments) or any(ch in _SPACE for ch in needle):
            if (needle in old.data) != (needle in new.data):
                raise NotTrivia(f"a comment decides whether the rules needing {needle!r} run")


def _changed_ranges(old: Document, new: Document, edit: Edit) -> None:
    """tree-sitter's changed ranges stay inside the lines the edit touched (else the parse of
    the rest moved: an indentation or error-recovery effect)."""
    tree = old.tree.copy()
    tree.edit(start_byte=edit.start, old_end_byte=edit.old_end, new_end_byte=edit.new_end,
              start_point=_point(old.index, edit.start), old_end_point=_point(old.index, edit.old_end),
              new_end_point=_point(new.index, edit.new_end))
    data = new.data
    lo = data.rfind(b"\n", 0, edit.start) + 1
    hi = data.find(b"\n", edit.new_end)
    hi = len(data) if hi < 0 else hi
    for r in tree.changed_ranges(new.tree):
        if r.start_byte < lo or r.end_byte > hi + 1:
            raise NotTrivia("the parse changed outside the edited lines")


def _same_cells(old: Document, new: Document, edit: Edit) -> None:
    a, b = old.cell_map, new.cell_map
    if (a is None or not a.cells) and (b is None or not b.cells):
        return
    if a is None or b is None or len(a.cells) != len(b.cells):
        raise NotTrivia("notebook cells changed")
    if [c.index for c in a.cells] != [c.index for c in b.cells]:
        raise NotTrivia("notebook cells changed")
    line0 = old.index.line_of(edit.start)
    slot_a = a.locate(line0)[0], a.locate(old.index.line_of(edit.old_end))[0]
    slot_b = b.locate(new.index.line_of(edit.start))[0], b.locate(new.index.line_of(edit.new_end))[0]
    if len({*slot_a, *slot_b}) != 1:
        raise NotTrivia("crosses a notebook cell boundary")
    shift = new.index.line_of(edit.new_end) - old.index.line_of(edit.old_end)
    for k, (fa, fb) in enumerate(zip(a.first_lines, b.first_lines)):
        expected = fa if fa <= line0 else fa + shift
        if fb != expected:
            raise NotTrivia("notebook cells moved")
    for k, fa in enumerate(a.first_lines):
        # the blank separator line before a cell is no cell's text
        if k and (fa - 1 == line0 or fa - 1 == old.index.line_of(edit.old_end)):
            raise NotTrivia("edits a notebook cell separator")


# -- moving the results ---------------------------------------------------------------------------
def _map_range(start: int, end: int, edit: Edit, strict: bool) -> tuple[int, int]:
    """A range of the old text in the new one. Only offsets outside the gap around the span, or
    at its two ends (where code ends / starts), move unambiguously."""
    p, n, d = edit.gap_start, edit.gap_end, edit.delta
    if strict:  # fix edits: their text may be built from the text around them
        if end < p:
            return start, end
        if start > n:
            return start + d, end + d
        raise NotTrivia("a fix edit touches the edited span")
    if start == end and p <= start <= n:
        raise NotTrivia("an empty range at the edited span")
    if end < p or end == p:
        return start, end
    if start > n or start == n:
        return start + d, end + d
    raise NotTrivia("a finding's range overlaps the edited span")


def _map_location(loc: Location, doc: Document, edit: Edit, path: str) -> Location:
    if loc.path != path:
        return loc  # another file (a model class defined elsewhere)
    start, end = _map_range(loc.start, loc.end, edit, strict=False)
    return Location.of(doc, start, end)


def _map_finding(f: Finding, doc: Document, edit: Edit, path: str) -> Finding:
    loc = _map_location(f.location, doc, edit, path)
    related = tuple(Related(_map_location(r.location, doc, edit, path), r.message) for r in f.related)
    fix = f.fix
    if fix is not None:
        edits = []
        for e in fix.edits:
            start, end = _map_range(e.start, e.end, edit, strict=True)
            edits.append(TextEdit(start, end, e.new_text))
        fix = Fix(fix.title, tuple(edits))
    return replace(f, location=loc, related=related, fix=fix)


# -- keeping SENSITIVE_WORDS honest -------------------------------------------------------------------
ANALYSIS_SOURCES = ("rules/*.py", "facts.py", "values.py", "models.py", "rates.py", "symbols.py",
                    "suppressions.py", "engine.py")


def raw_text_words(package_dir: Path | None = None) -> set[str]:
    """The words of every bytes literal in the analysis code (what it can look for in the raw
    text, comments included) and of models.py's class-body hints. Slow (parses the sources):
    for the test that checks SENSITIVE_WORDS, not for the server."""
    from .models import STOCHASTIC_HINTS

    base = package_dir or Path(__file__).resolve().parent
    words: set[str] = set()

    def add(text: str) -> None:
        text = re.sub(r"\[[^\]]*\]", " ", text)      # regex character classes
        text = re.sub(r"\\[A-Za-z]", " ", text)      # regex escapes (\b, \s, \w)
        for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]+", text):
            if len(w) <= 40:                          # not a table of identifier characters
                words.add(w.lower())

    for pattern in ANALYSIS_SOURCES:
        for path in sorted(base.glob(pattern)):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            gates = {id(c) for kw in ast.walk(tree) if isinstance(kw, ast.keyword) and kw.arg == "needs"
                     for c in ast.walk(kw.value)}   # a rule's `needs`: checked by presence instead
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, bytes) and id(node) not in gates:
                    add(node.value.decode("latin-1"))
    for hint in STOCHASTIC_HINTS:
        add(hint)
    return words
