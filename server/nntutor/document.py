"""A source document: UTF-8 bytes, its tree-sitter tree (re-parsed incrementally), line index,
and for notebooks the map from the virtual source back to cells.

Analysis results are cached on the document per version (see `facts`), so a hover after a
diagnostics pass costs a lookup, not a re-analysis.
"""
from __future__ import annotations

import threading
from pathlib import Path

from .notebook import Cell, CellMap, NotebookError, cells_from_ipynb, join_cells
from .parsing import parser
from .source import LineIndex, lone_cr_to_lf


class InputError(ValueError):
    """A file that cannot be analysed at all (binary, unreadable); the message says why."""


class Document:
    def __init__(self, data: bytes, path: str = "<string>", cell_map: CellMap | None = None,
                 version: int = 0, notice: str | None = None):
        self.path = path
        # The bytes as given (fixes apply to them, and a \r's meaning depends on the next byte);
        # the same object as `data` unless the text has a lone \r.
        self.raw = data
        self.data = lone_cr_to_lf(data)
        self.cell_map = cell_map
        self.version = version
        # A degraded-input note to surface to the user (e.g. "decoded with replacement").
        self.notice = notice
        self._facts = _Lazy()
        self._tree = self._facts.tree = parser().parse(self.data)
        self._index: LineIndex | None = None
        # Statements left out of the analysis (recovery.LeftOut): set on `analysable()` views.
        self.left_out = ()

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_text(cls, text: str, path: str = "<string>", version: int = 0) -> "Document":
        return cls(text.encode("utf-8", errors="surrogatepass"), path, version=version)

    @classmethod
    def from_cells(cls, cells: list[Cell], path: str = "<notebook>", version: int = 0,
                   previous: "Document | None" = None) -> "Document":
        """`previous`: this notebook's last version, if any: the joined text is then parsed
        incrementally from its tree (one edited cell re-parses in ~2 ms instead of ~40 ms for a
        3,000-line notebook); `previous` itself is left as it was."""
        data, cmap = join_cells(cells)
        notice = _left_out_notice(cmap)
        if previous is None or previous.path != path or previous.cell_map is None or data == previous.raw:
            # The same text (cells merged at a blank line, split there, a markdown cell added):
            # a new document all the same, whose bytes are another object, since the language
            # server knows a version by the identity of its bytes and the cells now differ.
            return cls(data, path, cell_map=cmap, version=version, notice=notice)
        doc = previous.snapshot()
        doc.notice = notice
        doc.replace(data, version)
        doc.cell_map = cmap
        return doc

    @classmethod
    def from_path(cls, path: str | Path) -> "Document":
        """Read a .py or .ipynb file; raises InputError / NotebookError with a clear reason."""
        p = Path(path)
        try:
            raw = p.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read file: {exc.strerror or exc}") from None
        return cls.from_bytes(raw, str(path))

    @classmethod
    def from_bytes(cls, raw: bytes, path: str) -> "Document":
        """A .py file's or a notebook's bytes (by the suffix of `path`), read as `from_path`
        reads a file: `nntutor check -` reads its source from stdin."""
        p = Path(path)
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
        raw = self.raw
        if raw is not self.data or b"\r" in new_text or raw[start - 1:start] == b"\r":
            # Whether a \r is a line break depends on the byte after it, so the normalised
            # bytes change from the byte before the edit to its end; the raw ones say what they were.
            new_raw = raw[:start] + new_text + raw[old_end:]
            lo = max(0, start - 1)
            hi = start + len(new_text)
            new_text = lone_cr_to_lf(new_raw[lo:hi + 1])[:hi - lo]
            start = lo
        else:
            new_raw = None
        index = self.index
        start_point = _point(index, start)
        old_end_point = _point(index, old_end)
        data = self.data[:start] + new_text + self.data[old_end:]
        new_end = start + len(new_text)
        new_index = index.edited(start, old_end, new_text, data)
        # Edit a copy (O(1) in tree-sitter): the old tree may still be read by a snapshot being
        # analysed in another thread, and `Tree.edit` changes a tree in place. The last version
        # not parsed yet (`tree` parses on first use): its edited tree takes this edit too.
        cell = self._facts
        edited = cell.edited   # read before `tree`: `parse_once` sets `tree`, then clears `edited`
        done = cell.tree
        old_tree = (done if done is not None else edited if edited is not None else self.tree).copy()
        old_tree.edit(start_byte=start, old_end_byte=old_end, new_end_byte=new_end,
                      start_point=start_point, old_end_point=old_end_point,
                      new_end_point=_point(new_index, new_end))
        self.data = data
        self.raw = data if new_raw is None or new_raw == data else new_raw
        self._index = new_index
        self._facts = _Lazy()
        self._facts.edited = old_tree
        self._tree = None
        if version is not None:
            self.version = version

    def replace(self, data: bytes, version: int | None = None) -> None:
        """Full-text update (what jupyterlab-lsp sends); still re-parses incrementally."""
        old = self.raw
        # Narrow the edit to the changed middle so tree-sitter can reuse the unchanged ends.
        prefix = _common_prefix(old, data)
        suffix = _common_suffix(old, data, min(len(old), len(data)) - prefix)
        self.edit(prefix, len(old) - suffix, data[prefix:len(data) - suffix], version)

    def snapshot(self) -> "Document":
        """This version, frozen: shares bytes, tree, line index and facts (no re-parse). Later
        edits of `self` never touch it, so it can be analysed in another thread; facts computed
        through either are computed once and seen by both."""
        snap = Document.__new__(Document)
        snap.path, snap.data, snap.raw, snap.cell_map, snap.version, snap.notice = (
            self.path, self.data, self.raw, self.cell_map, self.version, self.notice)
        snap._tree, snap._index, snap._facts = self._tree, self._index, self._facts
        snap.left_out = self.left_out
        return snap

    def adopt(self, snap: "Document") -> None:
        """Take over what a snapshot of this very version computed (its line index)."""
        if snap.data is self.data and self._index is None:
            self._index = snap._index

    # -- derived --------------------------------------------------------------------------
    @property
    def tree(self):
        """The tree-sitter tree, parsed on first use after an edit (incrementally, from the last
        parsed version's tree): a code edit that the language server answers from a slice of
        the text (nntutor.scoped) publishes before the whole text is re-parsed."""
        tree = self._tree
        if tree is None:
            tree = self._tree = self._facts.parse_once(self.data)
        return tree

    @tree.setter
    def tree(self, tree) -> None:
        self._tree = tree

    @property
    def parsed(self) -> bool:
        """Whether `tree` is ready (reading it costs nothing)."""
        return self._tree is not None or self._facts.tree is not None

    @property
    def index(self) -> LineIndex:
        if self._index is None:
            self._index = LineIndex(self.data)
        return self._index

    @property
    def facts(self):
        """The facts of `analysable()`: the text with unfinished statements left out."""
        cell = self._facts
        if cell.value is None:
            with cell.lock:  # another thread may be computing them for this very version
                if cell.value is None:
                    from .facts import Facts

                    cell.value = Facts(self.analysable()._source_view())
        return cell.value

    def analysable(self) -> "Document":
        """This version as the rules read it: itself, or, when a statement that does not parse
        swallows the code after it (a half-typed line), a view with that statement left out
        (`recovery.isolate`), and the bodies of `if False:` left out (`deadcode`): the same
        length, lines and columns, so findings need no mapping. The view shares this version's
        facts; `left_out` says what it left out."""
        cell = self._facts
        if cell.isolated is None:
            with cell.lock:
                if cell.isolated is None:
                    cell.isolated = self._isolate() if cell.isolate else False
        found = cell.isolated
        if not found:
            return self
        view = self.snapshot()
        view._index = self.index   # the text's own: columns of the left-out lines as written
        view.data, view.tree, view.left_out = found.data, found.tree, tuple(found.left_out)
        view.raw = found.data if self.raw is self.data else _splice(self.raw, found)
        broken = [s for s in found.left_out if not s.dead]   # dead code was written so on purpose
        if broken:
            where = "; ".join(self._line_label(s.start) for s in broken)
            note = (f"{where}: a statement that does not parse is left out of the analysis "
                    "(the code after it is analysed)" if len(broken) == 1 else
                    f"{where}: {len(broken)} statements that do not parse are left out of the "
                    "analysis (the code after them is analysed)")
            view.notice = f"{self.notice}; {note}" if self.notice else note
        return view

    def _isolate(self):
        from .deadcode import dead_blocks
        from .recovery import isolate, leave_out_dead

        tree = self.tree   # parsed first: parsing a text with an error sets `base`
        base, self._facts.base = self._facts.base, None
        found = isolate(self.data, tree, self.index.starts, base)
        data, tree = (found.data, found.tree) if found is not None else (self.data, self.tree)
        dead = dead_blocks(data, tree)
        if dead:
            found = leave_out_dead(data, tree, self.index.starts, dead, found)
        return found or False

    def _line_label(self, offset: int) -> str:
        cell, line, _ = self.location(offset)
        return f"line {line + 1}" if cell is None else f"cell {cell + 1} line {line + 1}"

    def as_written(self) -> "Document":
        """This version with nothing left out, with facts of its own (computed on first use):
        a hover on the very statement that `analysable()` leaves out."""
        if not self.analysable().left_out:
            return self
        cell = self._facts
        with cell.lock:
            if cell.plain is None:
                plain = self.snapshot()
                plain._tree = self.tree
                plain._facts = _Lazy(isolate=False)
                plain.left_out = ()
                cell.plain = plain
        return cell.plain

    def _source_view(self) -> "Document":
        """This version for Facts to keep: bytes, tree, line index, but not the facts cell.
        Facts holding the document that holds them would be a reference cycle, and a version's
        tree (tens of MB at 20,000 lines, invisible to the collector's thresholds) would then
        outlive its edit until the next full collection."""
        view = self.snapshot()
        _ = self.index  # computed once, shared with the view (findings need it anyway)
        view._index = self._index
        view._tree = self.tree
        view._facts = _Lazy(isolate=False)   # already the analysable text
        return view

    @property
    def facts_ready(self) -> bool:
        return self._facts.value is not None

    def text(self, node) -> str:
        return self.data[node.start_byte:node.end_byte].decode("utf-8", errors="replace")

    def location(self, offset: int) -> tuple[int | None, int, int]:
        """Byte offset -> (cell index or None, 0-based line, 0-based character column)."""
        line, col = self.index.char_position(offset)
        if self.cell_map is not None and self.cell_map.cells:
            cell, cell_line = self.cell_map.locate(line)
            return cell, cell_line, col
        return None, line, col


def _left_out_notice(cmap) -> str | None:
    if not cmap.left_out:
        return None
    cells = ", ".join(str(i + 1) for i in cmap.left_out)   # numbered from 1, as notebook UIs do
    return (f"cell{'s' if len(cmap.left_out) > 1 else ''} {cells}: the last statement is not analysed: "
            "a bracket, string or backslash is left open at its end, so the cell does not parse")


class _Lazy:
    """The facts of one document version, shared by the document and its snapshots; and what
    `analysable()` leaves out of it (None: not computed yet; False: nothing)."""

    __slots__ = ("base", "edited", "isolate", "isolated", "lock", "plain", "tree", "value")

    def __init__(self, isolate: bool = True):
        self.lock = threading.RLock()
        self.value = None
        self.isolate = isolate
        self.isolated = None
        self.plain = None
        self.base = None
        self.tree = None      # the version's tree, once parsed
        self.edited = None    # until then: the last parsed tree, edited into this version

    def parse_once(self, data: bytes):
        """The version's tree (of `data`, its bytes), parsed once for all its snapshots."""
        if self.tree is None:
            with self.lock:
                if self.tree is None:
                    old_tree = self.edited
                    tree = parser().parse(data, old_tree)
                    if tree.root_node.has_error:
                        # For `analysable()`: the last version's tree, which a text with the
                        # statement being typed left out re-parses from in a few ms (this one
                        # may be one ERROR node).
                        self.base = old_tree
                    self.tree = tree
                    self.edited = None   # after `tree`: `Document.edit` reads them the other way
        return self.tree


def _splice(raw: bytes, found) -> bytes:
    """The raw bytes with the left-out spans of the normalised ones (same offsets: only a lone
    \r differs between the two, one byte for one)."""
    parts, at = [], 0
    for span in found.left_out:
        parts += [raw[at:span.start], found.data[span.start:span.end]]
        at = span.end
    parts.append(raw[at:])
    return b"".join(parts)


def _common_prefix(a: bytes, b: bytes) -> int:
    """Length of the longest common prefix: a bisection of comparisons done by memcmp in C
    instead of a Python loop over bytes (a full-text change of a big notebook every keystroke).
    `startswith` of a memoryview: no copy, and ~30x faster than comparing two memoryviews,
    which CPython unpacks item by item."""
    n = min(len(a), len(b))
    mb = memoryview(b)
    if a.startswith(mb[:n]):
        return n
    lo, hi = 0, n   # a[:lo] == b[:lo] and a[:hi] != b[:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a.startswith(mb[lo:mid], lo):
            lo = mid
        else:
            hi = mid
    return lo


def _common_suffix(a: bytes, b: bytes, limit: int) -> int:
    """Length of the longest common suffix, at most `limit`."""
    la, lb = len(a), len(b)
    mb = memoryview(b)
    if limit <= 0:
        return 0
    if a.endswith(mb[lb - limit:]):
        return limit
    lo, hi = 0, limit   # the last lo bytes match, the last hi do not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a.endswith(mb[lb - mid:lb - lo], 0, la - lo):
            lo = mid
        else:
            hi = mid
    return lo


def _point(index: LineIndex, offset: int) -> tuple[int, int]:
    line = index.line_of(offset)
    return line, offset - index.starts[line]
