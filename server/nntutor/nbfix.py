"""`nntutor check --fix` for Jupyter notebooks: the certain fixes written into the cells.

The rules see a notebook as its code cells joined (notebook.join_cells), so a fix is an edit of
that virtual text. It is applied to the cell it falls in, on the cell's own text, and only when
it stays inside one cell (the newline ending the cell's last line counts as the cell's, so
moving or deleting that line, or inserting lines after it, is fine) and touches no line that
IPython blanking changed (a `%magic`, a `!shell` line): there the analysed text is not the
cell's text.

A notebook is rewritten only when it can be written back exactly as it was apart from the fixed
cells: its JSON must come out of `json.dumps` byte for byte with some usual set of options
(nbformat's indent=1, sorted keys, no ASCII escaping, final newline; or another common one).
Outputs, metadata, ids and markdown cells are kept as they are. A notebook saved in any other
layout is left alone, and the caller says so, rather than reformatted behind the user's back.
"""
from __future__ import annotations

import json
from itertools import product

from .document import Document
from .findings import Fix, TextEdit
from .fixall import Fixed, apply, fix_source
from .notebook import Cell, NotebookError, cell_entries, cells_from_ipynb
from .source import lone_cr_to_lf

# (indent, sort_keys, ensure_ascii) as nbformat writes (first), then other layouts tools use.
_LAYOUTS = list(product((1, 2, 4, None), (True, False), (False, True)))


class LayoutUnknown(ValueError):
    """The notebook's JSON layout cannot be reproduced, so it is not rewritten."""


def json_layout(raw: str, nb) -> dict:
    """The json.dumps options (and final newline) that reproduce `raw` exactly from `nb`."""
    for indent, sort_keys, ensure_ascii in _LAYOUTS:
        options = {"indent": indent, "sort_keys": sort_keys, "ensure_ascii": ensure_ascii,
                   "separators": (",", ": ") if indent is not None else (", ", ": ")}
        text = json.dumps(nb, **options)
        for end in ("\n", ""):
            if text + end == raw:
                return {"options": options, "end": end}
    raise LayoutUnknown("its JSON layout is not one nntutor can write back unchanged")


class NotebookSource:
    """A notebook's code cells, for fixall.fix_source: analysed joined, fixed cell by cell."""

    def __init__(self, cells: list[Cell], path: str):
        self.cells, self.path = cells, path

    def document(self) -> Document:
        return Document.from_cells(self.cells, self.path)

    def applicable(self, doc: Document, fix: Fix) -> bool:
        return all(self._place(doc, e.start, e.end) is not None for e in fix.edits)

    def applied(self, doc: Document, fixes: list[Fix]) -> "NotebookSource":
        by_slot: dict[int, list] = {}
        for fix in fixes:
            for e in fix.edits:
                slot, start, end = self._place(doc, e.start, e.end)
                by_slot.setdefault(slot, []).append(TextEdit(start, end, e.new_text))
        cells = list(self.cells)
        code = doc.cell_map.cells
        for slot, edits in by_slot.items():
            cell = code[slot]
            data = cell.source.encode("utf-8")
            # Edited as if the cell ended with a newline (as its text does in the joined
            # source); one the cell did not have is taken off again.
            added = not data.endswith(b"\n")
            new = apply(data + b"\n" if added else data, [Fix("", tuple(edits))])
            if added and new.endswith(b"\n"):
                new = new[:-1]
            at = next(i for i, c in enumerate(cells) if c.index == cell.index)
            cells[at] = Cell(cell.index, new.decode("utf-8"), cell.kind, cell.cell_id)
        return NotebookSource(cells, self.path)

    @staticmethod
    def _place(doc: Document, start: int, end: int):
        """(code cell slot, start, end in the cell's own bytes, as if they ended with a newline)
        or None: the edit crosses a cell boundary or touches a line that blanking changed (or
        the cell is not valid UTF-8). The joined source holds each cell without its final
        newline, then a newline ending the cell's last line, then a blank separator line: an
        edit may reach that newline (the cell's last line moved or deleted) or insert lines
        right after it (at the start of the separator line); both are the cell's."""
        cmap = doc.cell_map
        for slot, (lo, hi) in enumerate(cmap.spans):
            if lo <= start and end <= hi + 1:
                break
        else:
            return None
        try:
            # As analysed: a lone \r read as a newline (one byte for one, so offsets still hold).
            own = lone_cr_to_lf(cmap.cells[slot].source.encode("utf-8"))
        except UnicodeEncodeError:
            return None
        analysed = doc.data[lo:hi]
        s, e = start - lo, min(end, hi) - lo
        first = analysed.rfind(b"\n", 0, s) + 1
        last = analysed.find(b"\n", e)
        last = len(analysed) if last < 0 else last
        if own[first:last] != analysed[first:last]:
            return None  # an IPython line (blanked for the analysis) is in the way
        return slot, s, end - lo


def fix_cells(cells: list[Cell], path: str, config=None, workspace=None) -> tuple[Fixed, list[Cell]]:
    """The certain fixes of a notebook's code cells: (outcome, the cells after them)."""
    fixed, source = fix_source(NotebookSource(cells, path), config, workspace)
    return fixed, source.cells


def fix_notebook_bytes(raw: bytes, path: str, config=None, workspace=None) -> tuple[Fixed, bytes]:
    """(outcome, new file bytes) for a notebook file's bytes; the bytes are `raw` itself when
    nothing was fixed. Raises NotebookError (not a notebook) or LayoutUnknown."""
    try:
        text = raw.decode("utf-8")
        nb = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotebookError(f"not valid notebook JSON ({exc})") from None
    cells = cells_from_ipynb(text)
    fixed, source = fix_source(NotebookSource(cells, path), config, workspace)
    if not fixed.applied:
        fixed.data = raw
        return fixed, raw
    new = write_cells(text, nb, source.cells)
    fixed.data = new
    return fixed, new


def write_cells(text: str, nb: dict, cells: list[Cell]) -> bytes:
    """The notebook file `text` (parsed: `nb`, changed in place) with these code cells' sources,
    in its own JSON layout; everything else as it was. Raises LayoutUnknown."""
    layout = json_layout(text, nb)  # (only now: a notebook with big outputs is dumped up to 32 times)
    entries = cell_entries(nb)
    for cell in cells:
        entry, key = entries[cell.index]
        old = entry.get(key, "")
        if cell.source != ("".join(old) if isinstance(old, list) else old):
            entry[key] = cell.source.splitlines(keepends=True) if isinstance(old, list) else cell.source
    return (json.dumps(nb, **layout["options"]) + layout["end"]).encode("utf-8")
