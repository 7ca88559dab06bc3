"""Jupyter notebooks as one virtual Python source.

Code cells are joined (one blank line apart) so flows across cells are seen (scaler fitted in
cell 3, split in cell 5). IPython syntax that is not Python (`%magic`, `!shell`, `%%cell` magics,
`x = !cmd`, `obj?`) is blanked to a comment of the same length, so columns stay true.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache

from .source import lone_cr_to_lf

_MAGIC_LINE = re.compile(rb"^(\s*)([%!?])")
_SHELL_ASSIGN = re.compile(rb"^(\s*[\w.,\s]+=\s*)([!%])")
_HELP_SUFFIX = re.compile(rb"^(\s*[\w.]+)(\?\??)\s*$")
# Automagic: with IPython's automagic on (the default), a line magic runs without its `%`
# (`cd /content/data/`, `pip install x`). Only lines that start with such a name and are not
# Python on their own (`compile` says so; nothing runs) are taken for one: `ls = []` stays.
_AUTOMAGIC = re.compile(rb"^[ \t]*(?:cd|ls|pwd|pip|conda|mkdir|env|who|whos|load_ext|reload_ext"
                        rb"|matplotlib|pylab|pinfo|run|bookmark|dhist|pushd|popd)(?:[ \t]|$)")


class NotebookError(ValueError):
    """The file is not a readable notebook (corrupt JSON, wrong shape)."""


@dataclass
class Cell:
    index: int          # index among all cells of the notebook (markdown included)
    source: str
    kind: str = "code"  # only code cells are analysed
    cell_id: str | None = None


@dataclass
class CellMap:
    """Where each code cell lives in the virtual source (0-based virtual line of its first line)."""

    cells: list[Cell] = field(default_factory=list)
    first_lines: list[int] = field(default_factory=list)
    # Lines of each code cell as its editor counts them (a trailing newline opens one more).
    line_counts: list[int] = field(default_factory=list)
    # Byte range of each code cell's body in the virtual source (its final newline excluded).
    spans: list[tuple[int, int]] = field(default_factory=list)
    # Cells whose last statement is left out of the analysis (their index): unfinished, it ends
    # inside a bracket, a string or after a backslash, and the cell does not parse.
    left_out: list[int] = field(default_factory=list)

    def locate(self, virtual_line: int) -> tuple[int, int]:
        """Virtual line -> (cell index in the notebook, 0-based line inside the cell)."""
        from bisect import bisect_right

        slot = max(0, bisect_right(self.first_lines, virtual_line) - 1)
        return self.cells[slot].index, virtual_line - self.first_lines[slot]

    def virtual_line(self, cell_index: int, line: int) -> int | None:
        """(cell index, line in the cell) -> virtual line; None past the cell's last line, so a
        position never lands in the next cell."""
        for slot, (cell, first) in enumerate(zip(self.cells, self.first_lines)):
            if cell.index == cell_index:
                count = self.line_counts[slot] if slot < len(self.line_counts) else None
                if line < 0 or (count is not None and line >= count):
                    return None
                return first + line
        return None


# The caches hold the key and the result: both bounded, so a keystroke per entry in a huge cell
# cannot grow them past ~CACHE_ENTRIES x 2 x CACHED_TEXT_MAX (~32 MB). Longer texts are blanked
# each time (a few ms for a 3,000-line cell).
CACHED_TEXT_MAX = 16 * 1024
CACHE_ENTRIES = 1024
_MAYBE_IPYTHON = re.compile(rb"[%!?]")
_PYTHON_BODY_MAGICS = (b"%%time", b"%%timeit", b"%%capture", b"%%prun")


def blank_ipython(source: bytes, joined: bool = False) -> bytes:
    """Turn IPython-only lines into same-length comments; leave Python untouched.

    `source` is one cell, or with `joined` a whole notebook as jupyterlab-lsp sends it (code
    cells joined by blank lines): there a `%%magic` line at column 0 starts a cell whose body
    runs to the next two consecutive blank lines (jupyterlab-lsp's cell separator)."""
    if not joined:
        return _blank(source, False)
    # jupyterlab-lsp sends the whole notebook on every keystroke. After two blank lines the scan
    # below is back in its first state (no magic cell, no open bracket or string), so the text
    # is blanked piece by piece from there, and the pieces no keystroke touched come from a cache
    # (~30 ms -> ~1 ms for a 3,000-line notebook; tests check it equals one whole scan).
    return b"\n".join([_blank_piece(piece) if len(piece) <= CACHED_TEXT_MAX else _blank(piece, True)
                       for piece in _pieces(source)])


# Two blank lines (only spaces, tabs, \r, \v, \f: what bytes.strip() removes) and the newline
# that ends the second: the next byte starts a piece.
_PIECE_BREAK = re.compile(rb"\n[ \t\r\x0b\x0c]*\n[ \t\r\x0b\x0c]*\n")


def _pieces(source: bytes) -> list[bytes]:
    """`source` cut after each break, without the newline there (joined back with b"\\n")."""
    out, start = [], 0
    for m in _PIECE_BREAK.finditer(source):
        out.append(source[start:m.end() - 1])
        start = m.end()
    out.append(source[start:])
    return out


@lru_cache(maxsize=CACHE_ENTRIES)
def _blank_piece(piece: bytes) -> bytes:
    return _blank(piece, True)


def _blank(source: bytes, joined: bool) -> bytes:
    lines = source.split(b"\n")
    if not joined and lines and lines[0].lstrip().startswith(b"%%"):
        # A cell magic (%%bash, %%time, %%writefile ...): the body may not be Python at all.
        magic = lines[0].strip().split()[0]
        if magic in _PYTHON_BODY_MAGICS:
            # IPython transforms the body as a cell of its own: its `!shell` and `%magic` lines
            # are blanked the same way.
            if len(lines) == 1:
                return _comment(lines[0])
            return _comment(lines[0]) + b"\n" + _blank(b"\n".join(lines[1:]), False)
        return b"\n".join(_comment(line) for line in lines)
    out = []
    in_magic_cell = False   # inside the non-Python body of a cell magic (joined sources only)
    blanks = 0
    python = LogicalLines()
    # Past the last line holding `%`, `!` or `?` nothing is IPython: no need to scan further.
    last = len(lines) - 1
    while last >= 0 and not _MAYBE_IPYTHON.search(lines[last]) and not _AUTOMAGIC.match(lines[last]):
        last -= 1
    escape_continues = False   # the IPython line before ended in `\`: this one is part of it
    for i, line in enumerate(lines):
        if escape_continues:
            # `!pip install \` / `    a b c \` ...: IPython joins the lines before running the
            # escape, so its continuation lines are not Python either, whatever their indent.
            out.append(_comment(line) if line.strip() else line)
            escape_continues = line.rstrip(b"\r").endswith(b"\\")
            continue
        if i > last and not in_magic_cell:
            out.extend(lines[i:])
            break
        if in_magic_cell:
            if not line.strip():
                blanks += 1
                if blanks >= 2:
                    in_magic_cell = False
                out.append(line)
                continue
            blanks = 0
            out.append(_comment(line))
            continue
        if joined and not line.strip() and i and not lines[i - 1].strip():
            python = LogicalLines()   # jupyterlab-lsp's cell separator: a new cell starts
        if python.continued:
            # Inside brackets, a string or after a backslash: `%(a, b)` there is Python (the
            # `%` operator), not a magic; IPython only reads escapes at a logical line's start.
            python.scan(line)
            out.append(line)
            continue
        if joined and line.startswith(b"%%") and (i == 0 or not lines[i - 1].strip()):
            magic = line.split()[0]
            out.append(_comment(line))
            in_magic_cell, blanks = magic not in _PYTHON_BODY_MAGICS, 0
            continue
        if _MAGIC_LINE.match(line) or (_AUTOMAGIC.match(line) and not _is_python(line)):
            out.append(_comment(line))
            escape_continues = line.rstrip(b"\r").endswith(b"\\")
            continue
        m = _SHELL_ASSIGN.match(line)
        if m and not line.rstrip().endswith(b"="):
            head = m.group(1)
            out.append((head + b"0#" + line[len(head) + 2:]).replace(b"nntutor:", b"nntutor;")
                       if len(line) > len(head) + 1 else head + b"0")
            escape_continues = line.rstrip(b"\r").endswith(b"\\")
            continue
        m = _HELP_SUFFIX.match(line)
        if m and not line.strip().startswith(b"#"):
            out.append(_comment(line))
            continue
        python.scan(line)
        out.append(line)
    return b"\n".join(out)


def _is_python(line: bytes) -> bool:
    """The line parses as Python on its own (compiled, not run)."""
    try:
        compile(line.decode("utf-8", "replace").strip(), "<cell>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


class LogicalLines:
    """Tracks, line by line, whether the next physical line continues a logical line (open
    brackets, an open triple-quoted string, a trailing backslash). A light scan, not a
    tokenizer: enough to tell `%` and `!` at a line's start from an operator inside an
    expression."""

    __slots__ = ("depth", "triple", "backslash")

    def __init__(self):
        self.depth, self.triple, self.backslash = 0, None, False

    @property
    def continued(self) -> bool:
        return self.depth > 0 or self.triple is not None or self.backslash

    def scan(self, line: bytes) -> None:
        if self.triple is None and b'"' not in line and b"'" not in line and b"#" not in line:
            # No string or comment on the line (most lines): counting brackets is enough.
            count = line.count
            self.depth = max(0, self.depth + count(b"(") + count(b"[") + count(b"{")
                             - count(b")") - count(b"]") - count(b"}"))
            self.backslash = line.rstrip(b"\r").endswith(b"\\")
            return
        pos = 0
        if self.triple is not None:
            end = line.find(self.triple)
            if end < 0:
                return
            pos, self.triple = end + 3, None
        commented = False
        for m in _TOKEN.finditer(line, pos):
            kind = m.lastgroup
            if self.triple is not None:
                if m.group() == self.triple:
                    self.triple = None
                continue
            if kind == "comment":
                commented = True
                break
            if kind == "triple":
                self.triple = m.group()
            elif kind == "open":
                self.depth += 1
            elif kind == "close":
                self.depth = max(0, self.depth - 1)
        self.backslash = not commented and self.triple is None and line.rstrip(b"\r").endswith(b"\\")


def _comment(line: bytes) -> bytes:
    """A same-length comment in place of an IPython line. `nntutor:` in it becomes `nntutor;`:
    text in a `!echo ...` line or a `%%writefile` body is not a suppression directive of the
    notebook."""
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    return (indent + b"#" + stripped[1:]).replace(b"nntutor:", b"nntutor;") if stripped else line


def cells_from_ipynb(raw: str | bytes) -> list[Cell]:
    """Parse .ipynb JSON into cells; raises NotebookError with a clear reason."""
    head = raw[:64] if isinstance(raw, bytes) else raw[:64].encode("utf-8", "replace")
    if not head.strip() and not raw.strip():
        raise NotebookError("empty file, not a notebook")
    if head.startswith(b"version https://git-lfs"):
        raise NotebookError("a Git LFS pointer, not the notebook itself (run `git lfs pull`)")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotebookError(f"not valid notebook JSON ({exc})") from None
    cells = []
    for index, (cell, key) in enumerate(cell_entries(data)):
        if not isinstance(cell, dict):
            continue
        source = cell.get(key, "")
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        if not isinstance(source, str):
            source = ""
        cells.append(Cell(index=index, source=source, kind=str(cell.get("cell_type", "code")),
                          cell_id=cell.get("id") if isinstance(cell.get("id"), str) else None))
    return cells


def cell_entries(data) -> list[tuple[dict, str]]:
    """(cell, key of its source) for every cell, in order (a cell's index is its place here):
    nbformat 4's `cells`, or nbformat 3's `worksheets`, whose code cells keep their source
    under `input`. A cell that is not a JSON object is listed as it is, for the caller to skip.
    Raises NotebookError for any other shape."""
    if isinstance(data, dict) and isinstance(data.get("cells"), list):
        return [(c, "source") for c in data["cells"]]
    sheets = data.get("worksheets") if isinstance(data, dict) else None
    if isinstance(sheets, list) and all(isinstance(w, dict) for w in sheets):
        out = []
        for sheet in sheets:
            cells = sheet.get("cells")
            for c in cells if isinstance(cells, list) else ():
                out.append((c, "input" if isinstance(c, dict) and c.get("cell_type") == "code" else "source"))
        return out
    raise NotebookError("notebook JSON has no 'cells' list")


def _cell_body(source: str) -> tuple[bytes, bool]:
    """A cell's bytes as the virtual source holds them, and whether its unfinished last statement
    is left out (`_unfinished_statement`). One byte for one, as Document reads the joined text:
    a lone \r is a line break in the cell map too. Cached by source: the language server joins
    every cell again on each keystroke in one (~10 ms for 150 cells)."""
    if len(source) > CACHED_TEXT_MAX:
        return _blank_cell(source)
    return _cached_cell_body(source)


def _blank_cell(source: str) -> tuple[bytes, bool]:
    body = blank_ipython(lone_cr_to_lf(source.encode("utf-8", errors="replace")))
    start = _unfinished_statement(body)
    if start is None:
        return body, False
    lines = body.split(b"\n")
    return b"\n".join(lines[:start] + [_comment_out(line) for line in lines[start:]]), True


def _unfinished_statement(body: bytes) -> int | None:
    """The first line of a statement the cell leaves unfinished (a bracket, a string or a
    backslash still open at its end: `pd.read_csv(# YOUR CODE HERE`, a half-typed `nn.Linear(`),
    when the cell does not parse; else None. Joined to the cells after it, such a statement would
    swallow their code as its continuation, while Jupyter runs each cell on its own: the cell
    fails, the others run. So the unfinished statement is left out (made a comment), the cell's
    finished statements before it and the other cells are analysed as they are."""
    lines = LogicalLines()
    start = 0
    for i, line in enumerate(body.split(b"\n")):
        if not lines.continued:
            start = i
        lines.scan(line)
    if not lines.continued:
        return None
    from .parsing import parser

    return start if parser().parse(body).root_node.has_error else None


def _comment_out(line: bytes) -> bytes:
    """The line as a comment of the same length (`#` and spaces; its \r kept)."""
    cr = line.endswith(b"\r")
    n = len(line) - cr
    return (b"#" + b" " * (n - 1) if n else b"") + (b"\r" if cr else b"")


_cached_cell_body = lru_cache(maxsize=CACHE_ENTRIES)(_blank_cell)


def join_cells(cells: list[Cell]) -> tuple[bytes, CellMap]:
    """Code cells -> one virtual source (IPython blanked) and the map back to cells."""
    cmap = CellMap()
    parts: list[bytes] = []
    line = offset = 0
    for cell in cells:
        if cell.kind != "code":
            continue
        body, left_out = _cell_body(cell.source)
        if left_out:
            cmap.left_out.append(cell.index)
        cmap.line_counts.append(body.count(b"\n") + 1)
        if body.endswith(b"\n"):
            body = body[:-1]
        cmap.cells.append(cell)
        cmap.first_lines.append(line)
        cmap.spans.append((offset, offset + len(body)))
        parts.append(body)
        line += body.count(b"\n") + 2  # the cell's lines plus one blank separator line
        offset += len(body) + 2
    return b"\n\n".join(parts) + (b"\n" if parts else b""), cmap


# What can leave a logical line open at the end of a physical one: a comment ends the scan, a
# string on one line is skipped whole, a triple quote may span lines, brackets nest.
_TOKEN = re.compile(
    rb"(?P<comment>#)"
    rb"|(?P<triple>\"\"\"|''')"
    rb"|(?P<string>\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*')"
    rb"|(?P<open>[(\[{])"
    rb"|(?P<close>[)\]}])"
)
