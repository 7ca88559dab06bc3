"""`nntutor check --add-suppressions`: silence every finding in place, with a
`# nntutor: ignore[rule]` on its first line (ruff's `--add-noqa`).

For adopting nntutor in CI on an existing code base: the build goes green at once, each old
finding is marked where it is, and unused-suppression reports a directive once its finding is
fixed. A line that already has a directive gets the new ids added to it. Findings of
unused-suppression itself are left for `--fix`, which removes such directives. A finding whose first
line cannot hold a comment (it ends inside a multi-line string or with a backslash) is left as
it is and said so. Notebooks get the directives in their cells, written back in their own JSON
layout (nbfix), or are left alone when that layout cannot be reproduced.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .document import Document
from .engine import analyze
from .findings import Fix, TextEdit
from .rules.unused_suppression import ID as UNUSED
from .suppressions import directive_edit


@dataclass
class Added:
    data: bytes                     # the new file bytes (the old ones when nothing changed)
    added: int = 0                  # findings silenced
    skipped: list[str] = field(default_factory=list)   # "line N: rule (why)"


def add_to_bytes(raw: bytes, path: str, config=None, workspace=None) -> Added:
    """The file's bytes with a directive for each finding. Raises NotebookError for a broken
    notebook, nbfix.LayoutUnknown for one whose layout cannot be written back."""
    if path.endswith(".ipynb"):
        return _notebook(raw, path, config, workspace)
    doc = Document.from_bytes(raw, path)
    if doc.notice:  # not valid UTF-8: rewriting would replace bytes the user has
        return Added(raw, 0, [f"not changed: {doc.notice}"])
    fixes, added, skipped = _fixes(doc, config, workspace)
    if not fixes:
        return Added(raw, 0, skipped)
    from .fixall import apply

    return Added(apply(raw, fixes), added, skipped)


def _fixes(doc: Document, config, workspace, applicable=lambda fix: True):
    by_line: dict[int, list[str]] = {}
    for f in analyze(doc, config, workspace).findings:
        if f.rule == UNUSED:
            continue  # a directive that silences nothing is removed (--fix), not silenced in turn
        by_line.setdefault(f.location.line, []).append(f.rule)
    fixes, added, skipped = [], 0, []
    for line, rules in sorted(by_line.items()):
        where = _where(doc, line)
        found = directive_edit(doc, line, rules)
        if found is None:
            skipped.append(f"{where}: {', '.join(sorted(set(rules)))} (no directive can go on this line: "
                           "it ends inside a string or with a backslash, or holds a bare or file-wide one)")
            continue
        fix = Fix("add suppression", (TextEdit(*found),))
        if not applicable(fix):
            skipped.append(f"{where}: {', '.join(sorted(set(rules)))} (an IPython line)")
            continue
        fixes.append(fix)
        added += len(rules)
    return fixes, added, skipped


def _where(doc: Document, line: int) -> str:
    if doc.cell_map is not None and doc.cell_map.cells:
        cell, cell_line = doc.cell_map.locate(line)
        return f"cell {cell + 1}:{cell_line + 1}"
    return f"line {line + 1}"


def _notebook(raw: bytes, path: str, config, workspace) -> Added:
    import json

    from .nbfix import NotebookSource, write_cells
    from .notebook import NotebookError, cells_from_ipynb

    try:
        text = raw.decode("utf-8")
        nb = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotebookError(f"not valid notebook JSON ({exc})") from None
    source = NotebookSource(cells_from_ipynb(text), path)
    doc = source.document()
    fixes, added, skipped = _fixes(doc, config, workspace, lambda fix: source.applicable(doc, fix))
    if not fixes:
        return Added(raw, 0, skipped)
    return Added(write_cells(text, nb, source.applied(doc, fixes).cells), added, skipped)


def add_to_file(path, config=None, workspace=None) -> Added | None:
    """Add the directives to a .py file or a notebook in place (atomically, mode kept); None
    for a file of another kind or one that cannot be read."""
    from .atomic import write_atomic
    from .fixall import read_source_file

    read = read_source_file(path)
    if read is None:
        return None
    p, raw = read
    if b"\x00" in raw[:8192]:
        return None
    result = add_to_bytes(raw, str(p), config, workspace)
    if result.data != raw:
        write_atomic(p, result.data, mode=p.stat().st_mode & 0o7777)
    return result
