"""Engine data -> LSP types. Positions are UTF-16 (LSP's default encoding)."""
from __future__ import annotations

from lsprotocol import types as lsp

from ..findings import Finding, Location

UNUSED_SUPPRESSION = "unused-suppression"
DOCS_BASE = "https://github.com/nntutor/nntutor/blob/main/content"


def lsp_range(loc: Location, in_cell: bool = False) -> lsp.Range:
    if in_cell and loc.cell is not None:
        end_line = loc.cell_end_line if loc.cell_end_line is not None else loc.cell_line
        return lsp.Range(lsp.Position(loc.cell_line, loc.column16), lsp.Position(end_line, loc.end_column16))
    return lsp.Range(lsp.Position(loc.line, loc.column16), lsp.Position(loc.end_line, loc.end_column16))


def diagnostic(f: Finding, uri_of, in_cell: bool = False) -> lsp.Diagnostic:
    """`uri_of(location)` gives the URI a related location lives in."""
    related = [lsp.DiagnosticRelatedInformation(lsp.Location(uri_of(r.location), lsp_range(r.location, in_cell)),
                                                r.message) for r in f.related]
    return lsp.Diagnostic(
        range=lsp_range(f.location, in_cell),
        message=f"{f.message}\n(" + (f"concept: {f.concept} — " if f.concept else "") + f"`nntutor explain {f.rule}`)",
        severity=lsp.DiagnosticSeverity(int(f.severity)),
        code=f.rule,
        code_description=lsp.CodeDescription(href=f"{DOCS_BASE}/rules/{f.rule}.md"),
        source="nntutor",
        related_information=related or None,
        # A directive that silences nothing is dead text: editors fade it, as unused imports.
        tags=[lsp.DiagnosticTag.Unnecessary] if f.rule == UNUSED_SUPPRESSION else None,
        data={"rule": f.rule, "concept": f.concept, "start": f.location.start, "end": f.location.end},
    )


def diagnostic_json(f: Finding, uri_of, in_cell: bool = False) -> dict:
    """`diagnostic(f, ...)` as the plain dict that lsprotocol's converter makes of it: what a
    publishDiagnostics notification carries. Diagnostics are pushed after every edit, and this
    takes a fifth of the time of building the attrs objects and having cattrs take them apart
    again (tests/lsp/test_convert.py compares the two)."""
    out = {"range": _range_json(f.location, in_cell),
           "message": f"{f.message}\n(" + (f"concept: {f.concept} — " if f.concept else "") + f"`nntutor explain {f.rule}`)",
           "severity": int(f.severity), "code": f.rule,
           "codeDescription": {"href": f"{DOCS_BASE}/rules/{f.rule}.md"}, "source": "nntutor"}
    if f.related:
        out["relatedInformation"] = [{"location": {"uri": uri_of(r.location), "range": _range_json(r.location, in_cell)},
                                      "message": r.message} for r in f.related]
    if f.rule == UNUSED_SUPPRESSION:
        out["tags"] = [int(lsp.DiagnosticTag.Unnecessary)]
    out["data"] = {"rule": f.rule, "concept": f.concept, "start": f.location.start, "end": f.location.end}
    return out


def _range_json(loc: Location, in_cell: bool) -> dict:
    if in_cell and loc.cell is not None:
        end_line = loc.cell_end_line if loc.cell_end_line is not None else loc.cell_line
        return {"start": {"line": loc.cell_line, "character": loc.column16},
                "end": {"line": end_line, "character": loc.end_column16}}
    return {"start": {"line": loc.line, "character": loc.column16},
            "end": {"line": loc.end_line, "character": loc.end_column16}}


def byte_range_to_lsp(doc, start: int, end: int, in_cell: bool = False):
    """(cell index or None, lsp.Range) for a byte range of `doc`."""
    loc = Location.of(doc, start, end)
    return loc.cell, lsp_range(loc, in_cell)
