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


def byte_range_to_lsp(doc, start: int, end: int, in_cell: bool = False):
    """(cell index or None, lsp.Range) for a byte range of `doc`."""
    loc = Location.of(doc, start, end)
    return loc.cell, lsp_range(loc, in_cell)
