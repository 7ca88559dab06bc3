"""A source document: UTF-8 bytes, its tree-sitter tree (re-parsed incrementally), line index,
and for notebooks the map from the virtual source back to cells.

Analysis results are cached on the document per version (see `facts`), so a hover after a
diagnostics pass costs a lookup, not a re-analysis.
"""
from __future__ import annotations

from pathlib import Path

from .notebook import Cell, CellMap, NotebookError, cells_from_ipynb, join_cells
from .parsing import parser
from .source import LineIndex


class InputError(ValueError):
    """A file that cannot be analysed at all (binary, unreadable); the message says why."""


class Document:
    def __init__(self, data: bytes, path: str = "<string>", cell_map: CellMap | None = None,
                 version: int = 0, notice: str | None = None):
        self.path = path
        self.data = data
        self.cell_map = cell_map
        self.version = version
        # A degraded-input note to surface to the user (e.g. "decoded with replacement").
        self.notice = notice
        self.tree = parser().parse(data)
        self._index: LineIndex | None = None
        self._facts = None

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_text(cls, text: str, path: str = "<string>", version: int = 0) -> "Document":
        return cls(text.encode("utf-8", errors="surrogatepass"), path, version=version)

    @classmethod
    def from_cells(cls, cells: list[Cell], path: str = "<notebook>", version: int = 0) -> "Document":
        data, cmap = join_cells(cells)
        return cls(data, path, cell_map=cmap, version=version)

    @classmethod
    def from_path(cls, path: str | Path) -> "Document":
        """Read a .py or .ipynb file; raises InputError / NotebookError with a clear reason."""
        p = Path(path)
        try:
            raw = p.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read file: {exc.strerror or exc}") from None
        if p.suffix == ".ipynb":
            try:
                cells = cells_from_ipynb(raw)
            except NotebookError:
                raise
            return cls.from_cells(cells, str(path))
        if b"\x00" in raw[:8192]:
            raise InputError("binary file (contains NUL bytes), not Python source")
        notice = None
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            notice = f"not valid UTF-8 at byte {exc.start}; undecodable bytes were replaced"
            raw = raw.decode("utf-8", errors="replace").encode("utf-8")
        return cls(raw, str(path), notice=notice)

    # -- editing --------------------------------------------------------------------------
    def edit(self, start: int, old_end: int, new_text: bytes, version: int | None = None) -> None:
        """Replace bytes [start, old_end) and re-parse incrementally (tree-sitter reuses the rest)."""
        start = max(0, min(start, len(self.data)))
        old_end = max(start, min(old_end, len(self.data)))
        index = self.index
        start_point = _point(index, start)
        old_end_point = _point(index, old_end)
        data = self.data[:start] + new_text + self.data[old_end:]
        new_end = start + len(new_text)
        new_index = LineIndex(data)
        self.tree.edit(start_byte=start, old_end_byte=old_end, new_end_byte=new_end,
                       start_point=start_point, old_end_point=old_end_point,
                       new_end_point=_point(new_index, new_end))
        self.tree = parser().parse(data, self.tree)
        self.data = data
        self._index = new_index
        self._facts = None
        if version is not None:
            self.version = version

    def replace(self, data: bytes, version: int | None = None) -> None:
        """Full-text update (what jupyterlab-lsp sends); still re-parses incrementally."""
        old = self.data
        # Narrow the edit to the changed middle so tree-sitter can reuse the unchanged ends.
        prefix = 0
        limit = min(len(old), len(data))
        while prefix < limit and old[prefix] == data[prefix]:
            prefix += 1
        suffix = 0
        while (suffix < limit - prefix and old[len(old) - 1 - suffix] == data[len(data) - 1 - suffix]):
            suffix += 1
        self.edit(prefix, len(old) - suffix, data[prefix:len(data) - suffix], version)

    # -- derived --------------------------------------------------------------------------
    @property
    def index(self) -> LineIndex:
        if self._index is None:
            self._index = LineIndex(self.data)
        return self._index

    @property
    def facts(self):
        if self._facts is None:
            from .facts import Facts

            self._facts = Facts(self)
        return self._facts

    def text(self, node) -> str:
        return self.data[node.start_byte:node.end_byte].decode("utf-8", errors="replace")

    def location(self, offset: int) -> tuple[int | None, int, int]:
        """Byte offset -> (cell index or None, 0-based line, 0-based character column)."""
        line, col = self.index.char_position(offset)
        if self.cell_map is not None and self.cell_map.cells:
            cell, cell_line = self.cell_map.locate(line)
            return cell, cell_line, col
        return None, line, col


def _point(index: LineIndex, offset: int) -> tuple[int, int]:
    line = index.line_of(offset)
    return line, offset - index.starts[line]
