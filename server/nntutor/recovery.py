"""Analysing a file around a statement that does not parse (a half-typed line).

While a line is being typed it is often unfinished: `x = torch.zeros(`, `for i in `,
`loss = criterion(out`. tree-sitter's error recovery then often makes one ERROR node of that
statement *and the code after it* up to the end of the enclosing block, or of the file, so the
rules lose sight of the code the user is not touching: its diagnostics vanish while the line is
typed and come back when it is finished. Of 498 such edits of real files (`bench/typing_sweep.py`
on the sweep-11 corpus), 101 lost a finding that had nothing to do with the edited line.

`isolate` leaves such a statement out, as Python itself cannot run it either: its first line
becomes a `pass` (so a block it was the only statement of stays a block) and the rest spaces,
byte for byte as long, so every byte offset, line and column of the rest of the text stays what
it is, and findings need no mapping. For each error, in text order:

* the culprit is looked for first by a scan of the lines of the error's statement (and of the
  statement before it): a bracket or backslash still open where the next statement starts, or a
  compound statement's header without its colon. The ERROR node itself often starts at an
  enclosing `def` or `if`, or wraps whole statements, and says nothing of where that line is;
* else it is the error's own logical line, when the error runs past it (an error that stays
  inside its statement, `s = 'abc`, a Python 2 `print x, y`, is left to tree-sitter's recovery,
  which keeps the rest of that statement), never a complete block header with its body;
* a statement is left out only if the re-parse then has less of the text in errors and none
  from its start to the end of the next line of code.

At most `MAX_STATEMENTS` statements, a fixed number of re-parses (fewer on big texts) and line
scans of twice the text's lines: a text broken all over costs about one more parse.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .notebook import LogicalLines
from .parsing import parser

MAX_STATEMENTS = 8
# A text with more separate errors than this is not one being typed but one that is not Python
# (or Python 2 all over): tree-sitter's own recovery is left as it is.
MAX_ERROR_NODES = 400
# Errors looked at in all (most stay inside their statement): bounds the work on a file full of
# them (Python 2 code, a file that is not Python).
MAX_ERRORS = 64
# Re-parses in all (each costs about one incremental parse of the file), and fewer for texts
# over TRIES_BYTES / MAX_TRIES bytes (a fixed count, not a time budget: the same text gives the
# same analysis on any machine).
MAX_TRIES = 16
TRIES_BYTES = 600_000
# Statement-level parents: a node whose parent is one of these is a whole statement.
_STATEMENT_PARENTS = frozenset({"module", "block"})
_CLOSERS = b")]}"


@dataclass(frozen=True)
class LeftOut:
    """Bytes [start, end) (whole lines: `first_line`..`last_line`, 0-based) left out; `dead`:
    code that never runs (deadcode.py), not a statement that does not parse."""
    start: int
    end: int
    first_line: int
    last_line: int
    dead: bool = False


@dataclass
class Isolated:
    data: bytes
    tree: object
    left_out: list[LeftOut]


def isolate(data: bytes, tree, line_starts: list[int], base=None) -> Isolated | None:
    """The text with the statements that swallow code after them left out, its tree and what
    was left out; None when there is nothing to leave out (the usual case: no syntax error).
    `base`: a tree to re-parse from instead of `tree`, already edited to this text (the last
    version's, which tree-sitter can reuse where `tree` is one big ERROR node)."""
    if not tree.root_node.has_error or error_count(tree.root_node, MAX_ERROR_NODES + 1) > MAX_ERROR_NODES:
        return None   # no error; or errors all over: not a line being typed, a text that is not Python
    work = _Work(data, tree, line_starts, base)
    after = 0   # errors starting before this byte were looked at
    for _ in range(MAX_ERRORS):
        if not work.room():
            break
        error = _first_error(work.tree.root_node, after)
        if error is None:
            break
        stmt = _statement_node(error)
        top = stmt.start_point.row
        before = stmt.prev_named_sibling
        if before is not None and before.end_point.row >= top - 1:
            # `for i in` typed above `model.eval()`: tree-sitter makes one (broken) statement of
            # the two lines and the error starts after them.
            top = before.start_point.row
        region = (top, max(error.end_point.row, top))
        # The line scans below cost the statement's lines, for each error in it (30 broken rows
        # of a 30,000-line dict literal): a budget of twice the text's lines in all.
        work.scanned += region[1] - region[0] + 1 + error.start_point.row - stmt.start_point.row
        if work.scanned > 2 * len(line_starts) + 10_000:
            break
        # The precise culprit first: a line the scan shows unfinished (a bracket or backslash
        # still open where the next statement starts, a header without its colon), within the
        # error's statement. tree-sitter's ERROR often starts at an enclosing `def` or `if`, or
        # wraps whole statements (the module, at times), and says nothing of where that is.
        if _leave_out_first(work, _unclosed_statements(work.data, line_starts, *region)):
            after = 0   # the tree changed: look again from the start
            continue
        first, last = _statement_lines(error, work.data, line_starts)
        end = _line_end(line_starts, last, len(work.data))
        # Else the error's own statement, when the error runs past it: never a block header
        # that is complete with its body (the typed line is in that body, the scan missed it).
        if error.end_byte > end and not _holds_statements(error) \
                and not _complete_header(work.data, line_starts, first, last):
            if work.leave_out(first, last):
                after = 0
                continue
        after = max(_line_end(line_starts, region[1], len(work.data)), error.start_byte + 1)
    if not work.left_out:
        return None
    return Isolated(work.data, work.tree, work.left_out)


def _leave_out_first(work, candidates) -> bool:
    """Leave out the first of the (first, last) spans that `work` accepts; the others are
    not tried (they may be consequences of that one)."""
    for first, last in candidates:
        if not work.room():
            return False
        if work.leave_out(first, last):
            return True
    return False


def _complete_header(data: bytes, line_starts: list[int], first: int, last: int) -> bool:
    """Line `first` is a compound statement's header that ends with its colon and the span
    goes on into its body: leaving it out would drop the whole block."""
    if last == first:
        return False
    code = _line(data, line_starts, first).split(b"#", 1)[0].rstrip()
    return _HEADER.match(code.lstrip()) is not None and code.endswith(b":")


def leave_out_dead(data: bytes, tree, line_starts: list[int], blocks, found: Isolated | None) -> Isolated:
    """`found` (or the text as it is) with the given (first, last) line spans left out too, as
    code that never runs: blanked as `isolate` blanks, re-parsed once."""
    left_out = list(found.left_out) if found is not None else []
    edited = tree.copy()
    for first, last in blocks:
        start, end = line_starts[first], _line_end(line_starts, last, len(data))
        if any(s.start < end and start < s.end for s in left_out):
            continue
        data = _blank_lines(data, edited, line_starts, first, last, start, end)
        left_out.append(LeftOut(start, end, first, last, dead=True))
    left_out.sort(key=lambda s: s.start)
    return Isolated(data, parser().parse(data, edited), left_out)


def _blank_lines(data: bytes, tree, line_starts: list[int], first: int, last: int,
                 start: int, end: int) -> bytes:
    """`data` with lines `first`..`last` (bytes [start, end)) blanked, and that same-length edit
    told to `tree` (edited in place) for an incremental re-parse."""
    point = (last, end - line_starts[last])
    tree.edit(start_byte=start, old_end_byte=end, new_end_byte=end,
              start_point=(first, 0), old_end_point=point, new_end_point=point)
    return data[:start] + _blank(data[start:end]) + data[end:]


class _Work:
    """The text being recovered. A statement is left out only if the re-parse then has less of
    the text in errors and none from the statement's start to the end of the next line of code:
    the error was this statement's (leaving out a good line at the start of an error only
    moves the error's start)."""

    def __init__(self, data: bytes, tree, line_starts: list[int], base=None):
        self.data, self.tree, self.line_starts = data, tree, line_starts
        self.base = base if base is not None else tree
        self.left_out: list[LeftOut] = []
        self.errors = _error_size(tree.root_node)
        self.tries = 0
        self.scanned = 0
        # Each try re-parses what the edit touched, at worst the whole text: fewer on big texts.
        self.max_tries = max(2, min(MAX_TRIES, TRIES_BYTES // max(1, len(data))))

    def room(self) -> bool:
        return len(self.left_out) < MAX_STATEMENTS and self.tries < self.max_tries and self.errors > 0

    def leave_out(self, first: int, last: int) -> bool:
        starts = self.line_starts
        start, end = starts[first], _line_end(starts, last, len(self.data))
        if any(s.start < end and start < s.end for s in self.left_out):
            return False
        self.tries += 1
        edited = self.base.copy()
        new = _blank_lines(self.data, edited, starts, first, last, start, end)
        tree = parser().parse(new, edited)
        errors = _error_size(tree.root_node)
        # The statement after it must now parse: else the error was not this statement's.
        after = _next_code_line(new, starts, last)
        upto = _line_end(starts, after, len(new)) if after is not None else len(new)
        if errors >= self.errors or _error_within(tree.root_node, start, upto):
            return False
        self.data, self.tree, self.base, self.errors = new, tree, tree, errors
        self.left_out.append(LeftOut(start, end, first, last))
        self.left_out.sort(key=lambda s: s.start)
        return True


_STATEMENT_TYPES = frozenset({
    "function_definition", "class_definition", "decorated_definition", "comment",
})


def _holds_statements(error) -> bool:
    """An ERROR node that starts with a whole statement: tree-sitter's recovery wrapped good
    code in it (the whole module, at times), so its start is not where the problem is."""
    if not error.is_error or error.child_count == 0:
        return False
    head = error.children[0]
    return not head.has_error and (head.type.endswith("_statement") or head.type in _STATEMENT_TYPES)


def _error_within(root, lo: int, hi: int) -> bool:
    """Whether an ERROR or MISSING node lies (partly) in bytes [lo, hi)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.end_byte < lo or node.start_byte >= hi:
            continue
        if node.is_error or node.is_missing:
            return True
        if node.has_error:
            stack.extend(node.children)
    return False


def _next_code_line(data: bytes, line_starts: list[int], row: int) -> int | None:
    """The first line after `row` that is neither blank nor a comment."""
    for r in range(row + 1, len(line_starts)):
        code = _line(data, line_starts, r).strip(b" \t\f\r")
        if code and not code.startswith(b"#"):
            return r
    return None


def error_count(root, limit: int | None = None) -> int:
    """Outermost ERROR and MISSING nodes (syntax errors), counted up to `limit`."""
    count, stack = 0, [root]
    while stack and (limit is None or count < limit):
        node = stack.pop()
        if node.is_error or node.is_missing:
            count += 1
        elif node.has_error:
            stack.extend(node.children)
    return count


def _error_size(root) -> int:
    """Bytes inside the outermost ERROR nodes, plus one for each MISSING node. Iterative:
    a file may nest deeper than Python's recursion limit."""
    size, stack = 0, [root]
    while stack:
        node = stack.pop()
        if node.is_error:
            size += max(1, node.end_byte - node.start_byte)
        elif node.is_missing:
            size += 1
        elif node.has_error:
            stack.extend(node.children)
    return size


def _unclosed_statements(data: bytes, line_starts: list[int], start: int = 0, stop: int | None = None):
    """(first, last) lines of each statement left unfinished: a bracket or backslash
    continuation still open at a line that looks like the next statement (indented no deeper
    than the statement, not blank, not a comment, not starting with a closing bracket), or a
    compound statement's header without a colon (`for i in `, `if x ==`). Open triple-quoted
    strings do not count: a docstring's lines may have any indentation."""
    lines = LogicalLines()
    first = indent = last = start
    header = colon = False
    end = len(line_starts) if stop is None else min(len(line_starts), stop + 2)
    for row in range(start, end):
        line = _line(data, line_starts, row)
        code = line.lstrip(b" \t\f")
        if lines.continued:
            if (lines.triple is None and code.strip() and not code.startswith(b"#")
                    and code[:1] not in _CLOSERS and _indent(line) <= indent):
                yield first, last
                lines = LogicalLines()
                if stop is not None and row > stop:
                    return
            else:
                if code.strip():
                    last = row
                colon = colon or b":" in line
                lines.scan(line)
                if header and not colon and not lines.continued:
                    yield first, last
                continue
        first = last = row
        indent = _indent(line)
        header, colon = _HEADER.match(code) is not None, b":" in line
        lines.scan(line)
        if header and not colon and not lines.continued:
            yield first, last


_HEADER = re.compile(rb"(?:async\s+)?(?:for|if|elif|while|with|def|class|try|else|except|finally)\b")


def _first_error(root, after: int):
    """The first ERROR or MISSING node (in text order) that starts at or after byte `after`."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.end_byte <= after and not node.is_missing:
            continue
        if (node.is_error or node.is_missing) and node.start_byte >= after:
            return node
        if node.has_error or node.is_error:
            stack.extend(reversed(node.children))
    return None


def _statement_lines(error, data: bytes, line_starts: list[int]) -> tuple[int, int]:
    """(first, last) line of the statement the error is in. `first`: the start of the logical
    line holding the error's start (a scan from the statement-level node around it, which
    starts one). `last`: the last line of code before the next line that is indented no deeper
    than `first` and is neither a comment nor starts with a closing bracket; when such a line
    comes before the error's, the statement at `first` left a bracket open and swallowed it:
    the statement ends before that line."""
    row = error.start_point.row
    node = _statement_node(error)
    first = row
    lines = LogicalLines()
    for r in range(min(node.start_point.row, row), row + 1):
        if not lines.continued:
            first = r
        lines.scan(_line(data, line_starts, r))
    return first, _extent(first, row, data, line_starts)


def _statement_node(node):
    """The node's statement-level ancestor (or itself): its parent is a module or a block, so
    it starts a logical line."""
    while node.parent is not None and node.parent.type not in _STATEMENT_PARENTS:
        node = node.parent
    return node


def _extent(first: int, row: int, data: bytes, line_starts: list[int]) -> int:
    """The last line of the statement that starts at line `first` and holds line `row` (or
    swallowed it, see `_statement_lines`)."""
    indent = _indent(_line(data, line_starts, first))
    last = first
    for r in range(first + 1, len(line_starts)):
        line = _line(data, line_starts, r)
        code = line.lstrip(b" \t\f")
        if not code.strip() or code.startswith(b"#") or code[:1] in _CLOSERS:
            continue
        if _indent(line) <= indent:
            return last
        last = r
    return max(last, row)


def _line(data: bytes, line_starts: list[int], row: int) -> bytes:
    end = line_starts[row + 1] - 1 if row + 1 < len(line_starts) else len(data)
    return data[line_starts[row]:end]


def _line_end(line_starts: list[int], row: int, size: int) -> int:
    """The byte after line `row`'s text (its newline is kept)."""
    return line_starts[row + 1] - 1 if row + 1 < len(line_starts) else size


def _indent(line: bytes) -> int:
    width = 0
    for byte in line:
        if byte == 0x20:
            width += 1
        elif byte == 0x09:
            width = (width // 8 + 1) * 8   # Python's tab stops
        elif byte == 0x0C:
            width = 0
        else:
            break
    return width


def _blank(span: bytes) -> bytes:
    """The lines of `span` as `pass` (first line, where it fits; else a `#`) and spaces, byte
    for byte as long, line breaks kept. Not comments after the first line: tree-sitter parses a
    long run of comment lines in quadratic time (8,000 of them: 3 s), blank lines at once."""
    out = []
    for i, line in enumerate(span.split(b"\n")):
        cr = line.endswith(b"\r")
        body = line[:-1] if cr else line
        code = body.lstrip(b" \t\f")
        lead = body[:len(body) - len(code)]
        if not code or i > 0:
            new = b" " * len(body)
        elif len(code) >= 4:
            new = lead + b"pass" + b" " * (len(code) - 4)
        else:
            new = lead + b"#" + b" " * (len(code) - 1)
        out.append(new + (b"\r" if cr else b""))
    return b"\n".join(out)
