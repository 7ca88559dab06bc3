"""The project's own modules that the checked files import, found on disk.

`nntutor check train.py` must know the model class that `from models import Net` brings in:
otherwise a finding that depends on it (a softmax at the end of `Net.forward`) comes and goes
with the paths given, and a suppression of it looks unused when pre-commit checks only the
changed file. So the checker indexes, besides the files named on its command line, the local
modules they import (and those these import: two levels in all).

A regex over the source finds the import statements, not a parse: this runs before any file is
parsed, and a name that is not a local module simply has no file. It reads every spelling of an
import (`as` aliases, parenthesised and backslash-continued lists, `*`, `from.x`, after `;` or a
BOM); what it over-reads only costs a failed lookup. A dotted name is looked up from the
importing file's folder, from each folder above it up to the project's root (the first one with
a `pyproject.toml`, `setup.py`, `setup.cfg` or `.git`) and that root's `src/`, and from the
folder the command runs in, as `python -m` would. Each folder is listed once; symlinked folders
are not followed (a folder walk of `nntutor check .` does not enter them either), nor are files
that are not regular files (a FIFO, a device).
"""
from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

# `from a.b import c as d, e` / `from . import (c,\n d)` / `from.x import *` / `import a.b as c, d`,
# at the start of a line or after `;` (a BOM before line 1 is dropped first); in a notebook's JSON
# a line starts after `"` (a source list item) or `\n` (a source string). The module part is
# `\.*` then a name that starts with a letter: no two parts can match the same dots, so a line of
# dots cannot make the engine try every split.
_SP = rb"(?:[ \t]|\\\r?\n)"   # a blank, or a backslash continuation
_IMPORT = re.compile(
    rb'(?:^|;|"|\\n)[ \t]*(?:'
    rb'from(?:' + _SP + rb'+|(?=\.))(\.*)((?:[A-Za-z_]\w*)(?:\.[A-Za-z_]\w*)*)?' + _SP + rb'+import' + _SP + rb'*'
    rb'(\([^)]*\)|(?:[^\n;"#\\]|\\\r?\n)*)'
    rb'|import' + _SP + rb'+((?:[^\n;"#\\]|\\\r?\n)*))',
    re.M)
_ALIAS = re.compile(r"\s+as\s+\w+")
_ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
DEPTH = 2
MAX_HOPS = 6
_MAX_READ = 4 * 1024 * 1024   # a module bigger than this is not read for its imports


def imported_local_files(files, root: Path | None = None, depth: int = DEPTH) -> list[Path]:
    """Local .py files imported by `files` (directly, or by those, up to `depth` levels) that
    are not among `files`, in a stable order. (The folder listings are cached for one call:
    a command's run, not across the edits of a long-lived process.)"""
    _forget()
    cwd = os.path.realpath(root or os.getcwd())
    given = {os.path.realpath(f) for f in files}
    found: list[Path] = []
    seen = set(given)
    # (path, levels left, hops so far): a package's `__init__.py` re-exporting a submodule
    # (`from .nets import Net`) costs no level, so `from pkg import Net` reaches the class
    # however many packages re-export it, up to MAX_HOPS files deep.
    queue = [(str(f), depth, 0) for f in files]
    while queue:
        path, left, hops = queue.pop(0)
        if left <= 0 or hops >= MAX_HOPS:
            continue
        for module in _local_modules(path, cwd):
            real = os.path.realpath(module)
            if real in seen:
                continue
            seen.add(real)
            found.append(Path(module))
            free = os.path.basename(module) == "__init__.py"
            queue.append((module, left if free else left - 1, hops + 1))
    return found


def imported_by_source(data: bytes, path: Path, root: Path | None = None) -> list[Path]:
    """The same for a source that is not on disk (`nntutor check - --stdin-filename path`):
    its imports are resolved as if it were at `path`, two levels in all as for a file."""
    _forget()
    cwd = os.path.realpath(root or os.getcwd())
    own = os.path.realpath(path)
    direct = [m for m in dict.fromkeys(_modules_in(data, os.path.dirname(own), cwd))
              if os.path.realpath(m) != own]
    deeper = imported_local_files(direct, Path(cwd), DEPTH - 1)
    return [Path(m) for m in direct] + [m for m in deeper if os.path.realpath(m) != own]


def _local_modules(path: str, cwd: str) -> list[str]:
    if not path.endswith((".py", ".ipynb")) or not os.path.isfile(path):
        return []
    try:
        with open(path, "rb") as f:
            data = f.read(_MAX_READ)
    except OSError:
        return []
    return _modules_in(data, os.path.dirname(os.path.realpath(path)), cwd)


def _modules_in(data: bytes, here: str, cwd: str) -> list[str]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    out = []
    absolute_bases = None
    for m in _IMPORT.finditer(data):
        if m.group(4) is not None:          # import a.b as c, d
            level, names = 0, _names(m.group(4))
            candidates = [(0, n) for n in names]
        else:                               # from a.b import c as d, e / from . import c
            level = len(m.group(1))
            module = (m.group(2) or b"").decode("ascii", "replace")
            names = [n for n in _names(m.group(3)) if n != "*"]
            candidates = ([(level, module)] if module else []) + [
                (level, f"{module}.{n}" if module else n) for n in names]
        for level, dotted in candidates:
            parts = tuple(p for p in dotted.split(".") if p)
            if not parts or not all(p.isidentifier() for p in parts):
                continue
            if level:
                base = here
                for _ in range(level - 1):
                    base = os.path.dirname(base)
                bases = [base]
            else:
                if absolute_bases is None:
                    absolute_bases = _absolute_bases(here, cwd)
                bases = absolute_bases
            for base in bases:
                found = _find(base, parts)
                if found is not None:
                    out.append(found)
                    break
    return out


def _forget() -> None:
    _entries.cache_clear()
    _find.cache_clear()
    _absolute_bases.cache_clear()


def _names(raw: bytes) -> list[str]:
    """`c as d, e` / `(c,\n    d)` / `a.b as c` -> ['c', 'e'] / ['c', 'd'] / ['a.b']."""
    text = re.sub(r"\\\r?\n", " ", raw.decode("utf-8", "replace")).strip().strip("()")
    return [_ALIAS.sub("", n).strip() for n in text.split(",") if n.strip()]


@lru_cache(maxsize=1024)
def _absolute_bases(here: str, cwd: str) -> list[str]:
    """Where `import a.b` is looked for: the file's folder, the folders above it up to the
    project root, that root's `src/`, and the command's folder."""
    bases = [here]
    folder = here
    for _ in range(8):
        names = _entries(folder)
        if any(marker in names for marker in _ROOT_MARKERS):
            if "src" in names:
                bases.append(os.path.join(folder, "src"))
            break
        parent = os.path.dirname(folder)
        if parent == folder:
            bases = bases[:1]   # no project root found: the file's folder only (and the cwd)
            break
        folder = parent
        bases.append(folder)
    if cwd not in bases:
        bases.append(cwd)
    return bases


@lru_cache(maxsize=4096)
def _entries(folder: str) -> frozenset:
    try:
        return frozenset(os.listdir(folder))
    except OSError:
        return frozenset()


@lru_cache(maxsize=65536)
def _find(base: str, parts: tuple) -> str | None:
    """`base/a/b.py` or `base/a/b/__init__.py` for parts (a, b), or None; relative to the
    command's folder when it is inside it (the paths `nntutor check .` reports). A folder is
    listed once (cached), so a library import (`torch`, `numpy`) costs one set lookup."""
    folder = base
    for part in parts[:-1]:
        if part not in _entries(folder) or os.path.islink(os.path.join(folder, part)):
            return None
        folder = os.path.join(folder, part)
    last = parts[-1]
    names = _entries(folder)
    candidate = None
    if last + ".py" in names:
        candidate = os.path.join(folder, last + ".py")
    elif last in names and "__init__.py" in _entries(os.path.join(folder, last)) \
            and not os.path.islink(os.path.join(folder, last)):
        candidate = os.path.join(folder, last, "__init__.py")
    if candidate is None or not os.path.isfile(candidate):
        return None   # a FIFO, a device, a dangling link: nothing to read
    try:
        rel = os.path.relpath(candidate)
    except ValueError:   # another drive (Windows)
        return candidate
    return rel if not rel.startswith("..") else candidate
