"""What the engine returns: plain data, no LSP, no terminal."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Severity(IntEnum):
    # Same numbers as LSP's DiagnosticSeverity, so the server maps them one to one.
    ERROR = 1
    WARNING = 2
    INFO = 3
    HINT = 4

    @classmethod
    def parse(cls, name: str) -> "Severity":
        key = name.strip().lower()
        aliases = {"error": cls.ERROR, "warning": cls.WARNING, "warn": cls.WARNING,
                   "info": cls.INFO, "information": cls.INFO, "hint": cls.HINT}
        if key not in aliases:
            raise ValueError(f"unknown severity {name!r} (use error, warning, info or hint)")
        return aliases[key]

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Location:
    """A range in a document. Lines are 0-based; columns are given in characters and in UTF-16
    units (LSP). `cell`/`cell_line` are set for notebooks (line is then the virtual line)."""

    path: str
    start: int            # byte offsets in the (virtual) source
    end: int
    line: int
    column: int
    end_line: int
    end_column: int
    column16: int
    end_column16: int
    cell: int | None = None
    cell_line: int | None = None
    cell_end_line: int | None = None

    @classmethod
    def of(cls, doc, start: int, end: int) -> "Location":
        idx = doc.index
        line, col = idx.char_position(start)
        end_line, end_col = idx.char_position(end)
        _, col16 = idx.utf16_position(start)
        _, end_col16 = idx.utf16_position(end)
        cell = cell_line = cell_end = None
        if doc.cell_map is not None and doc.cell_map.cells:
            cell, cell_line = doc.cell_map.locate(line)
            end_cell, cell_end = doc.cell_map.locate(end_line)
            if end_cell != cell:  # never let a range spill into the next cell
                cell_end, end_col, end_col16 = cell_line, col + 1, col16 + 1
        return cls(doc.path, start, end, line, col, end_line, end_col, col16, end_col16,
                   cell, cell_line, cell_end)

    @classmethod
    def of_node(cls, doc, node) -> "Location":
        return cls.of(doc, node.start_byte, node.end_byte)


@dataclass(frozen=True, slots=True)
class TextEdit:
    start: int   # byte offsets in the document the finding belongs to
    end: int
    new_text: str


@dataclass(frozen=True, slots=True)
class Fix:
    title: str
    edits: tuple[TextEdit, ...]


@dataclass(frozen=True, slots=True)
class Related:
    location: Location
    message: str


@dataclass(slots=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    location: Location
    concept: str
    related: tuple[Related, ...] = ()
    fix: Fix | None = None
    confidence: float = 1.0   # rules lower it when they had to guess

    def sort_key(self):
        return (self.location.path, self.location.start, self.rule)


@dataclass
class Analysis:
    """The result of analysing one document."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)   # degraded input, bad config, rule crashes
