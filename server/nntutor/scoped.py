"""Re-analysing only the part of a file that a code edit inside one function or class can change.

A code edit makes the language server analyse the document again; at a few thousand lines a
whole pass takes tens of milliseconds, while the edit is usually inside one function. The rules
connect one top-level definition to another only through names: a function calls another, a
training loop builds a model class of the file, the module's code calls `main`. So the file is
cut into its top-level *units* (each `def` / `class` statement, with its decorators, and the
module-level code as one more unit) and linked into a graph: two units are linked when one
mentions the name of the other (a regex over the unit's bytes, so a name in a string or comment
links too: more links, never fewer; an attribute, `x.train`, is not a mention of `train`). The edited unit's connected component, in the graph of the
old version and in that of the new one, is what the edit can change.

`reanalyze(old, new, analysis, ...)` then analyses a *slice* of the new text: the component and
the module-level code (imports and globals, as context), every other unit cut out (its line
breaks around it stay, so each kept unit keeps its lines' layout; offsets are mapped back piece
by piece). Findings in the component come from that slice; every other finding is the old
analysis's, moved through the edit. It answers None (analyse the whole text) whenever that is not clearly sound or not
worth it: a notebook, a syntax error or left-out statement in either version, an edit outside a
definition's body or touching two units, a `global` statement in the edited unit, a file-wide
suppression, any rule's internal error, or a slice over half the file.

The language server publishes this result at once and confirms it with a whole-file pass when
the typing pauses (`lsp/server.py`); tests/test_scoped.py checks it against a from-scratch
analysis on random edits of real code, and bench/scoped_diff.py over whole corpora.
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace
from typing import NamedTuple

from .document import Document, _common_prefix, _common_suffix
from .findings import Analysis, Finding, Fix, Location, Related, TextEdit
from .parsing import F_BODY, F_DEFINITION, F_NAME
from .rules._devices import GUARDS

# A name, not an attribute (`model.train()` does not mention a function `train` of the module).
_NAME = re.compile(rb"(?<![.\w])[A-Za-z_]\w*")
_GLOBAL = re.compile(rb"\bglobal\b")
_METHOD_CALL = re.compile(rb"\.([A-Za-z_]\w*)\s*\(")
_BY_NAME_MARKERS = (b"self.eval(", b"self.train(", b"zero_grad")
# Not linked by name: `model.train()` / `.eval()` / `.forward()` are called everywhere, and a
# class of the file overriding them is reached through its name where its objects are made
# (the mode rules leave these names out of their by-name lookups too).
_COMMON_METHODS = frozenset({b"train", b"eval", b"forward", b"__init__", b"__call__"})
_DEF = re.compile(rb"(?<![.\w])def\s+([A-Za-z_]\w*)")
# Text whose presence anywhere in a file changes findings everywhere in it, not only where the
# names of its unit reach: imports (`facts.imports` is file-wide), and the file-wide gates of the
# rules (hardcoded-cuda trusts a file that picks devices somewhere: `set_device`,
# `device_count`, distributed or multi-GPU code, half precision, a GPU-only model or library, a
# `unittest.TestCase`). A unit that has some is kept in the slice as context; an edit that
# changes such a line is analysed whole. tests/test_scoped.py and bench/scoped_diff.py look for
# what this misses. Matched in lower case, words with `in` (a regex alternation over a whole
# file costs milliseconds), the few patterns only where their word occurs.
FILE_WIDE_WORDS = tuple(dict.fromkeys(
    [b"import", *(g.lower() for g in GUARDS), b"testcase", b"load_in_4bit", b"load_in_8bit",
     b"float16", b".half", b"fp16", b"attn_implementation", b"device_map", b"cpu_offload", b"fsdp",
     b"fullysharded", b"shardedgradscaler"]))
FILE_WIDE_PATTERNS = ((b"gpus", re.compile(rb"gpus\s*=")),
                      (b"cuda", re.compile(rb"cuda:\s*0*[1-9]|cuda\(\s*0*[1-9]|[\"']cuda[\"']\s*,\s*0*[1-9]")))
_DEFINITIONS = frozenset({"function_definition", "class_definition"})
# A slice over this share of the text is not worth it (the whole pass costs about the same),
# nor is slicing a text this short (a whole pass takes a few milliseconds). At 300 lines
# (12 KB) a whole pass takes ~14 ms and a scoped one ~4 ms (session 27): most files people
# edit are that size, so slicing starts well below it.
MAX_SHARE = 0.5
MIN_BYTES = 6_000


class NotScoped(Exception):
    """Why an edit cannot be re-analysed in part (for logs and tests)."""


class OverBudget(NotScoped):
    """The edit can be re-analysed in part, but the slice is over the caller's budget."""


@dataclass(frozen=True, slots=True)
class Unit:
    start: int
    end: int
    name: bytes | None        # the def / class name; None for a statement of module-level code
    body: tuple[int, int]     # the span of its body block (a definition), else (start, end)
    is_class: bool = False


class UnitIndex:
    """The names each unit mentions and whether it has file-wide text, cached by the unit's
    bytes across versions (an edit changes one unit; the others keep their bytes, only their
    offsets move); and each file's last slice."""

    def __init__(self):
        self._names: dict[bytes, frozenset] = {}
        self._wide: dict[bytes, bool] = {}
        self._calls: dict[bytes, frozenset] = {}
        self._methods: dict[bytes, frozenset] = {}
        self.slices: dict[str, Document] = {}   # path -> its last slice (re-parsed from)

    def remember_slice(self, doc: Document) -> None:
        if len(self.slices) > 64 and doc.path not in self.slices:
            self.slices.clear()
        self.slices[doc.path] = doc

    def file_wide(self, chunk: bytes) -> bool:
        return self._cached(self._wide, chunk, file_wide)

    def names(self, chunk: bytes) -> frozenset:
        return self._cached(self._names, chunk, lambda c: frozenset(_NAME.findall(c)))

    def method_calls(self, chunk: bytes) -> frozenset:
        """Names called as methods (`x.name(...)`) but not defined in the unit."""
        return self._cached(self._calls, chunk,
                            lambda c: frozenset(_METHOD_CALL.findall(c)) - frozenset(_DEF.findall(c)))

    def methods(self, chunk: bytes) -> frozenset:
        """The names of the methods defined in a class unit that switches a mode or clears
        gradients in a method (`self.eval()`, `zero_grad`): the rules look such methods up by
        name, whatever object they are called on (`net.set_mode("test")`, `self.reset_grad()`)."""
        return self._cached(self._methods, chunk, lambda c: frozenset(_DEF.findall(c)) - _COMMON_METHODS
                            if any(m in c for m in _BY_NAME_MARKERS) else frozenset())

    @staticmethod
    def _cached(cache: dict, chunk: bytes, compute):
        found = cache.get(chunk)
        if found is None:
            found = compute(chunk)
            if len(cache) > 4096:
                cache.clear()
            cache[chunk] = found
        return found


def file_wide(chunk: bytes) -> bool:
    low = chunk.lower()
    return any(w in low for w in FILE_WIDE_WORDS) or any(
        w in low and p.search(low) for w, p in FILE_WIDE_PATTERNS)


def _file_wide_lines(data: bytes, unit: Unit) -> list[bytes]:
    """The lines of `unit` with file-wide text, in order."""
    chunk = data[unit.start:unit.end]
    low = chunk.lower()
    hits = set()
    for w in FILE_WIDE_WORDS:
        pos = low.find(w)
        while pos >= 0:
            hits.add(pos)
            pos = low.find(w, pos + 1)
    for w, p in FILE_WIDE_PATTERNS:
        if w in low:
            hits.update(m.start() for m in p.finditer(low))
    lines = {}
    for pos in hits:
        start = chunk.rfind(b"\n", 0, pos) + 1
        end = chunk.find(b"\n", pos)
        lines[start] = chunk[start:end if end >= 0 else len(chunk)]
    return [lines[k] for k in sorted(lines)]


def units(doc: Document) -> list[Unit]:
    out = []
    for node in doc.tree.root_node.named_children:
        if node.type == "comment":
            continue
        definition = node
        if node.type == "decorated_definition":
            definition = node.child_by_field_id(F_DEFINITION)
        if definition is not None and definition.type in _DEFINITIONS:
            name = definition.child_by_field_id(F_NAME)
            body = definition.child_by_field_id(F_BODY)
            if name is not None and body is not None:
                # The body from the start of its first line when it starts on a line of its own
                # (an edit there, before its first statement, is inside it).
                line = doc.data.rfind(b"\n", 0, body.start_byte) + 1
                first = line if line > definition.start_byte and not doc.data[line:body.start_byte].strip() \
                    else body.start_byte
                out.append(Unit(node.start_byte, node.end_byte, doc.data[name.start_byte:name.end_byte],
                                (first, body.end_byte), definition.type == "class_definition"))
                continue
        out.append(Unit(node.start_byte, node.end_byte, None, (node.start_byte, node.end_byte)))
    return out


def _edited(units_: list[Unit], start: int, end: int) -> int:
    """Index of the definition whose body holds bytes [start, end), else NotScoped."""
    for i, u in enumerate(units_):
        if u.start <= start and end <= u.end:
            if u.name is None:
                raise NotScoped("an edit of module-level code")
            if not (u.body[0] <= start and end <= u.body[1]):
                raise NotScoped("an edit of a definition's header")
            return i
    raise NotScoped("an edit between or across top-level statements")


def component(units_: list[Unit], mentions: list[frozenset], seed: int,
              calls: list[frozenset], methods: list[frozenset]) -> set[int]:
    """Units reachable from `seed` through "mentions the name of" in either direction; the
    module-level statements count as one node (mentions of any of them reach all of them).
    Only top-level names link: a method or a nested function is reached through its unit (the
    rules look methods up through `self.` or their class; linking every `forward` or `step` of
    the file would make one component of it), except that a method call `x.name(...)` links to
    the units that define a method `name` in a class that switches modes or clears gradients
    (`UnitIndex.methods`: the rules read any method of that name, `self.reset_grad()` of a
    mixin, `net.set_mode("test")`)."""
    by_name: dict[bytes, list[int]] = {}
    module = [i for i, u in enumerate(units_) if u.name is None]
    for i, u in enumerate(units_):
        if u.name is not None:
            by_name.setdefault(u.name, []).append(i)
    mentioned_by: dict[bytes, list[int]] = {}
    for j, names in enumerate(mentions):
        for name in names:
            mentioned_by.setdefault(name, []).append(j)
    by_method: dict[bytes, list[int]] = {}
    for i, names in enumerate(methods):
        for name in names:
            by_method.setdefault(name, []).append(i)
    called_by: dict[bytes, list[int]] = {}
    if by_method:
        for j, names in enumerate(calls):
            for name in names & by_method.keys():
                called_by.setdefault(name, []).append(j)
    seen: set[int] = set()
    todo = [seed]
    while todo:
        i = todo.pop()
        if i in seen:
            continue
        group = module if units_[i].name is None else [i]
        seen.update(group)
        for k in group:
            for name in mentions[k]:
                todo.extend(by_name.get(name, ()))
            name = units_[k].name
            if name is not None:
                todo.extend(mentioned_by.get(name, ()))
            for name in calls[k] & by_method.keys():
                todo.extend(by_method[name])
            for name in methods[k]:
                todo.extend(called_by.get(name, ()))
    return seen


def _unsliceable(doc: Document, parse: bool = True) -> str | None:
    """Why `doc` cannot be sliced, or None. `parse=False`: only what the bytes tell (the edited
    version's tree is not needed: its slice's tree says the rest, `_check_slice`)."""
    if doc.cell_map is not None:
        return "a notebook"
    if doc.raw is not doc.data:
        return "lone carriage returns"
    if b"ignore-file" in doc.data:
        return "a file-wide suppression"
    if parse and doc.tree.root_node.has_error:
        return "a syntax error"
    if parse and doc.analysable().left_out:
        return "statements left out of the analysis"
    return None


@dataclass(frozen=True)
class Version:
    """What slicing needs of an analysed version: its bytes and units (not its tree or facts,
    which the language server need not keep alive for this)."""

    path: str
    data: bytes
    units: tuple[Unit, ...]
    unsliceable: str | None
    # Per unit, what links it to others (`component`): the unit names it mentions, the names
    # it calls as methods, the by-name methods of a class unit; and whether it has file-wide
    # text. Kept from version to version: an edit changes one unit's.
    mentions: tuple[frozenset, ...] = ()
    calls: tuple[frozenset, ...] = ()
    methods: tuple[frozenset, ...] = ()
    wide: tuple[bool, ...] = ()

    @classmethod
    def of(cls, doc: Document, index: UnitIndex | None = None) -> Version:
        why = _unsliceable(doc)
        if why is not None:
            return cls(doc.path, doc.data, (), why)
        index = index or UnitIndex()
        units_ = tuple(units(doc))
        names = frozenset(u.name for u in units_ if u.name is not None)
        chunks = [doc.data[u.start:u.end] for u in units_]
        return cls(doc.path, doc.data, units_, None, tuple(index.names(c) & names for c in chunks),
                   tuple(index.method_calls(c) for c in chunks),
                   tuple(index.methods(c) if u.is_class else frozenset() for c, u in zip(chunks, units_)),
                   tuple(index.file_wide(c) for c in chunks))

    def edited(self, new: Document, units_: list[Unit], i: int, index: UnitIndex) -> Version:
        """`new`, this version with unit `i` edited (its bounds now `units_[i]`)."""
        u = units_[i]
        chunk = new.data[u.start:u.end]
        names = frozenset(v.name for v in units_ if v.name is not None)

        def put(values: tuple, value) -> tuple:
            return values[:i] + (value,) + values[i + 1:]

        return Version(new.path, new.data, tuple(units_), None, put(self.mentions, index.names(chunk) & names),
                       put(self.calls, index.method_calls(chunk)),
                       put(self.methods, index.methods(chunk) if u.is_class else frozenset()),
                       put(self.wide, index.file_wide(chunk)))


class Plan(NamedTuple):
    start: int            # the edit: bytes [start, old_end) of the old text, [start, new_end) of the new
    old_end: int
    new_end: int
    before: list[Unit]    # the units of the old text
    after: list[Unit]     # and of the new one
    redo: set[int]        # the units (of `after`) whose findings are computed again
    keep: set[int]        # the units in the slice: `redo`, module code, file-wide context
    version: Version      # the new text's (if the slice confirms `after`: `_check_slice`)


def plan(old: Version, new: Document, index: UnitIndex, budget: int | None = None) -> Plan:
    """What to re-analyse after the edit from `old` to `new`, or NotScoped. Reads bytes only:
    `new` need not be parsed. `budget`: the most bytes the slice may keep (OverBudget past it)."""
    if old.path != new.path:
        raise NotScoped("another document")
    if len(new.data) < MIN_BYTES:
        raise NotScoped("a short text")
    why = old.unsliceable or _unsliceable(new, parse=False)
    if why is not None:
        raise NotScoped(why)
    start = _common_prefix(old.data, new.data)
    suffix = _common_suffix(old.data, new.data, min(len(old.data), len(new.data)) - start)
    old_end, new_end = len(old.data) - suffix, len(new.data) - suffix
    if start == old_end == new_end:
        raise NotScoped("no change")
    before = list(old.units)
    i = _edited(before, start, old_end)
    # The units of `new` as the edit leaves them, if it changed no unit's boundaries: what
    # `reanalyze` checks on the slice's tree (the whole text is not re-parsed for this).
    after = _moved(before, i, new_end - old_end)
    if _GLOBAL.search(old.data, before[i].start, before[i].end) or _GLOBAL.search(new.data, after[i].start, after[i].end):
        raise NotScoped("a global statement in the edited unit")
    if _file_wide_lines(old.data, before[i]) != _file_wide_lines(new.data, after[i]):
        raise NotScoped("the edit changes a line with file-wide effects")
    version = old.edited(new, after, i, index)
    # Old and new links of the edited unit together: one search finds every unit either
    # version links it to (a path through both can only add units: more work, same result).
    redo = component(after, _joined(old.mentions, version.mentions, i), i,
                     _joined(old.calls, version.calls, i), _joined(old.methods, version.methods, i))
    keep = redo | {k for k, u in enumerate(after) if u.name is None or version.wide[k]}
    kept = sum(after[k].end - after[k].start for k in keep)
    if kept > MAX_SHARE * len(new.data):
        raise NotScoped("the edit's component is over half the file")
    if budget is not None and kept > budget:
        raise OverBudget(f"a slice of {kept} bytes")
    return Plan(start, old_end, new_end, before, after, redo, keep, version)


def _joined(old: tuple, new: tuple, i: int) -> list:
    joined = list(new)
    joined[i] = old[i] | new[i]
    return joined


def _moved(units_: list[Unit], i: int, delta: int) -> list[Unit]:
    """`units_` after an edit inside the body of unit `i` that changed its length by `delta`."""
    def shift(u: Unit, by_start: int) -> Unit:
        return Unit(u.start + by_start, u.end + delta, u.name, (u.body[0] + by_start, u.body[1] + delta), u.is_class)

    return units_[:i] + [shift(units_[i], 0)] + [shift(u, delta) for u in units_[i + 1:]]


def _check_slice(part: Slice, after: list[Unit], keep: set[int]) -> None:
    """NotScoped unless the slice's tree has no error, nothing the rules would leave out, and
    the kept units where `after` has them. The text then parses as the slice does: its other
    units are unchanged statements that parsed on their own in the last version, and a
    top-level statement starts from the same parser state wherever it stands (no open
    bracket, string or indented block)."""
    doc = part.doc
    if doc.tree.root_node.has_error:
        raise NotScoped("a syntax error")
    found = units(doc)
    kept = [after[k] for k in sorted(keep)]
    if len(found) != len(kept):
        raise NotScoped("top-level statements added or removed")
    at = part.offset
    for u, want in zip(found, kept):
        if (at(u.start), at(u.end), u.name, (at(u.body[0]), at(u.body[1])), u.is_class) != \
                (want.start, want.end, want.name, want.body, want.is_class):
            raise NotScoped("the edit moved a unit's boundaries")
    if doc.analysable().left_out:
        raise NotScoped("statements left out of the analysis")


class Slice:
    """`new` without the units outside `keep`, and the way back to `new`'s offsets."""

    def __init__(self, new: Document, after: list[Unit], keep: set[int], previous: Document | None = None):
        parts, pos, at = [], 0, 0
        self.starts: list[int] = []    # where each kept piece starts in the slice
        self.shifts: list[int] = []    # what to add to get its offset in `new`
        data = new.data
        cuts: list[list[int]] = []   # [start, end, last unit] of each run of units left out
        for k, u in enumerate(after):
            if k in keep:
                continue
            if cuts and cuts[-1][2] == k - 1 and b"nntutor" not in data[cuts[-1][1]:u.start]:
                # the blank lines and comments between two units left out go with them (a
                # fifth of a slice was such lines); not a suppression comment (unused-suppression)
                cuts[-1][1:] = u.end, k
            else:
                cuts.append([u.start, u.end, k])
        for start, end, _ in cuts:
            parts.append(data[pos:start])
            self.starts.append(at)
            self.shifts.append(pos - at)
            at += start - pos
            pos = end
        parts.append(data[pos:])
        self.starts.append(at)
        self.shifts.append(pos - at)
        data = b"".join(parts)
        if previous is not None and previous.path == new.path and previous.cell_map is None:
            # The last slice of this file, edited into this one: tree-sitter re-parses only
            # what changed (the edited unit, mostly), as the document itself is re-parsed.
            self.doc = previous.snapshot()
            self.doc.replace(data, new.version)
            self.doc.notice = new.notice
        else:
            self.doc = Document(data, new.path, version=new.version, notice=new.notice)
        self.new = new

    def offset(self, pos: int) -> int:
        """Offset in `new` of slice offset `pos`; where two pieces meet, the end of the first
        (an insertion after a kept unit goes before the removed one)."""
        i = max(0, bisect_left(self.starts, pos) - 1)
        return pos + self.shifts[i]

    def location(self, loc: Location) -> Location:
        if loc.path != self.doc.path:
            return loc
        return Location.of(self.new, self.offset(loc.start), self.offset(loc.end))

    def finding(self, f: Finding) -> Finding:
        fix = f.fix
        if fix is not None:
            fix = Fix(fix.title, tuple(TextEdit(self.offset(e.start), self.offset(e.end), e.new_text)
                                       for e in fix.edits))
        related = tuple(Related(self.location(r.location), r.message) for r in f.related)
        return replace(f, location=self.location(f.location), related=related, fix=fix)


def _owner(units_: list[Unit], starts: list[int], pos: int) -> int:
    """The unit holding byte `pos` (`starts`: the units' starts, in order); -1 (module level:
    comments between units) when none."""
    k = bisect_right(starts, pos) - 1
    if k >= 0 and (pos < units_[k].end or pos == units_[k].start):
        return k
    return -1


def reanalyze(old: Version, new: Document, analysis: Analysis, analyze_slice,
              index: UnitIndex, budget: int | None = None) -> tuple[Analysis, Version]:
    """The analysis of `new`, from `analysis` (of the version `old`) and a pass over the edited
    component; and `new` as a Version, for the next edit.
    `analyze_slice(doc)`: the engine pass (with the caller's config and workspace); raises
    NotScoped when the result would not be the same as a whole-file pass. `budget`: see plan."""
    if analysis.notices:
        raise NotScoped("the last analysis has notices")
    start, old_end, new_end, before, after, redo, keep, version = plan(old, new, index, budget)
    module = {k for k, u in enumerate(after) if u.name is None}
    mine = redo if not (redo & module) else redo | module

    starts = {id(before): [u.start for u in before], id(after): [u.start for u in after]}

    def redone_in(units_, pos):
        k = _owner(units_, starts[id(units_)], pos)
        return k in mine if k >= 0 else bool(mine & module)

    delta = new_end - old_end
    edited = before[_edited(before, start, old_end)]

    def moved(pos: int) -> int:
        if pos <= edited.start:
            return pos
        if pos >= edited.end:
            return pos + delta
        raise NotScoped("an old finding outside the component points into the edited unit")

    lines = new.data.count(b"\n", start, new_end) - old.data.count(b"\n", start, old_end)
    last_line = new.index.line_of(edited.end + delta)   # the edited unit's last, in `new`

    def move_location(loc: Location) -> Location:
        if loc.path != analysis.path:
            return loc
        if loc.end <= edited.start:
            return loc   # before the edit: same bytes, lines and columns
        if loc.start >= edited.end and loc.line > last_line - lines:
            # on a line after the edited unit's: the same columns, `lines` lines further
            return replace(loc, start=loc.start + delta, end=loc.end + delta, line=loc.line + lines,
                           end_line=loc.end_line + lines)
        return Location.of(new, moved(loc.start), moved(loc.end))

    findings: list[Finding] = []
    for f in analysis.findings:
        if f.location.path == analysis.path and redone_in(before, f.location.start):
            continue
        fix = f.fix
        if fix is not None:
            fix = Fix(fix.title, tuple(TextEdit(moved(e.start), moved(e.end), e.new_text) for e in fix.edits))
        related = tuple(Related(move_location(r.location), r.message) for r in f.related)
        findings.append(replace(f, location=move_location(f.location), related=related, fix=fix))
    part = Slice(new, after, keep, index.slices.get(new.path))
    index.remember_slice(part.doc)
    _check_slice(part, after, keep)
    result = analyze_slice(part.doc)
    if result.notices:
        raise NotScoped("the pass over the slice has notices")
    for f in result.findings:
        f = part.finding(f)
        if f.location.path != analysis.path or redone_in(after, f.location.start):
            findings.append(f)
    findings.sort(key=lambda f: f.sort_key())
    notices = [f"{new.path}: {new.notice}"] if new.notice else []
    return Analysis(analysis.path, findings, notices), version
