"""Applying every certain fix of a document at once (`nntutor check --fix`, the editor's
"fix all" source action).

A rule attaches a fix only where it is certain. Several fixes can still touch the same text
(two findings on one line, an insertion where another edit starts), so a pass applies the fixes
whose edits do not overlap or meet any edit taken before it, in document order, and leaves the
others for the next pass, on the re-analysed text. A pass whose result has more syntax errors
than its input, or more findings of some rule, is thrown away (`fix_document`).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .document import Document
from .engine import analyze
from .findings import Finding, Fix

MAX_PASSES = 10


def non_overlapping(findings: list[Finding]) -> list[Fix]:
    """The fixes of `findings` that can be applied together: in document order, each one whose
    edits neither overlap nor meet an edit already taken."""
    taken: list[tuple[int, int]] = []
    fixes = []
    seen = set()
    for f in sorted((f for f in findings if f.fix is not None and f.fix.edits),
                    key=lambda f: min(e.start for e in f.fix.edits)):
        if f.fix in seen:
            continue  # two findings, one fix (both ends of the same bug)
        spans = [(e.start, e.end) for e in f.fix.edits]
        if any(a <= d and c <= b for a, b in spans for c, d in taken):
            continue  # overlaps or touches: the next pass decides on the new text
        taken.extend(spans)
        seen.add(f.fix)
        fixes.append(f.fix)
    return fixes


def apply(data: bytes, fixes: list[Fix]) -> bytes:
    """`data` with the edits of `fixes` (which must not overlap) applied; inserted line breaks
    follow the file's (a fix's `\n` becomes `\r\n` in a CRLF file, `\r` in an old-Mac one)."""
    eol = "\r\n" if b"\r\n" in data else "\r" if b"\r" in data and b"\n" not in data else "\n"
    edits = sorted((e for fix in fixes for e in fix.edits), key=lambda e: (e.start, e.end), reverse=True)
    for e in edits:
        text = e.new_text.replace("\r\n", "\n").replace("\n", eol) if eol != "\n" else e.new_text
        data = data[:e.start] + text.encode("utf-8") + data[e.end:]
    return data


def fix_file(path, config=None, workspace=None, write: bool = True) -> Fixed | None:
    """Fix a .py file or a notebook in place (written atomically, its mode kept, only when
    something changed; with `write=False` nothing is written and `Fixed.data` says what would
    be). None when it is not a file this can fix: unreadable, not UTF-8, binary, another kind
    of file. A notebook that cannot be written back in its own layout raises
    nbfix.LayoutUnknown, a broken one notebook.NotebookError."""
    from .atomic import write_atomic

    read = read_source_file(path)
    if read is None:
        return None
    p, data = read
    fixed = fix_bytes(data, str(p), config, workspace)
    if fixed is None:
        return None
    if fixed.data != data:
        if write:
            write_atomic(p, fixed.data, mode=p.stat().st_mode & 0o7777)
        if workspace is not None:  # what other files see of its model classes, as fixed
            from .models import file_summary, index_classes
            from .notebook import cells_from_ipynb

            doc = Document.from_cells(cells_from_ipynb(fixed.data), str(p)) if p.suffix == ".ipynb" \
                else Document(fixed.data, str(p))
            workspace.add_file(str(p), index_classes(doc.facts), file_summary(doc))
    return fixed


def read_source_file(path):
    """(Path, bytes) of a .py file or a notebook; None for another kind of file or one that
    cannot be read."""
    from pathlib import Path

    p = Path(path)
    if p.suffix not in (".py", ".ipynb"):
        return None
    try:
        return p, p.read_bytes()
    except OSError:
        return None


def fix_bytes(data: bytes, path: str, config=None, workspace=None) -> Fixed | None:
    """The certain fixes of a .py file's or (by the suffix of `path`) a notebook's bytes; None
    when they cannot be fixed (not UTF-8, binary). Raises as `fix_file` does for notebooks."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if b"\x00" in data[:8192]:
        return None
    if path.endswith(".ipynb"):
        from .nbfix import fix_notebook_bytes

        fixed, _ = fix_notebook_bytes(data, path, config, workspace)
        return fixed
    return fix_document(data, path, config, workspace)


@dataclass
class Fixed:
    data: bytes | None    # the fixed bytes (a .py file; None from fix_source)
    applied: int          # fixes applied, over all passes
    passes: int
    stopped: str | None   # why it stopped before running out of fixes, if it did


class Source:
    """What the fix passes work on: a .py file's bytes. (nbfix.NotebookSource: a notebook's
    cells, where the analysed text is the cells joined and fixes land in the cells.)"""

    def __init__(self, data: bytes, path: str):
        self.data, self.path = data, path

    def document(self) -> Document:
        return Document(self.data, self.path)

    def applicable(self, doc: Document, fix: Fix) -> bool:
        return True

    def applied(self, doc: Document, fixes: list[Fix]) -> "Source":
        return Source(apply(self.data, fixes), self.path)


def fix_document(data: bytes, path: str, config=None, workspace=None) -> Fixed:
    """Apply the certain fixes of a .py file's bytes; see `fix_source`."""
    fixed, source = fix_source(Source(data, path), config, workspace)
    fixed.data = source.data
    return fixed


def fix_source(source, config=None, workspace=None) -> tuple[Fixed, object]:
    """Apply fixes pass after pass until none is left (or MAX_PASSES). A pass is kept only if
    it breaks no syntax and no rule reports more than before it: a fix that makes another rule
    fire (an `eval()` that leaves training in eval mode) is not a fix. When a whole pass fails
    that test, its fixes are tried one by one and the first that passes it is kept. Returns the
    outcome and the fixed source."""
    applied = 0
    doc = source.document()
    findings = analyze(doc, config, workspace).findings
    for n in range(1, MAX_PASSES + 1):
        fixes = non_overlapping([f for f in findings if f.fix is not None and source.applicable(doc, f.fix)])
        if not fixes:
            return Fixed(None, applied, n - 1, None), source
        step = _attempt(source, doc, findings, fixes, config, workspace)
        if step is None:
            step = next((s for s in (_attempt(source, doc, findings, [fix], config, workspace)
                                     for fix in fixes) if s is not None), None)
        if step is None:
            return Fixed(None, applied, n - 1, "the fixes left would break the syntax or make other "
                         "rules fire; they are left for you to apply"), source
        source, doc, findings, count = step
        applied += count
    return Fixed(None, applied, MAX_PASSES, f"still fixable after {MAX_PASSES} passes"), source


def _attempt(source, doc, findings, fixes, config, workspace):
    """(new source, its document, its findings, fixes applied) or None when these fixes break
    the syntax or raise any rule's count."""
    new = source.applied(doc, fixes)
    new_doc = new.document()
    if _syntax_errors(new_doc) > _syntax_errors(doc):
        return None
    new_findings = analyze(new_doc, config, workspace).findings
    before, after = Counter(f.rule for f in findings), Counter(f.rule for f in new_findings)
    if any(after[rule] > before[rule] for rule in after):
        return None
    return new, new_doc, new_findings, len(fixes)


def _syntax_errors(doc: Document) -> int:
    from .recovery import error_count

    return error_count(doc.tree.root_node)
