"""The project's own modules that the checked files import, found on disk.

`nntutor check train.py` must know the model class that `from models import Net` brings in, as
`nntutor check .` does: otherwise a finding that depends on it (a softmax at the end of
`Net.forward`) comes and goes with the paths given, and a suppression of it looks unused when
pre-commit checks only the changed file. So the checker indexes, besides the files it checks,
the local modules they import (and those these import, two levels deep).

A regex over the source finds the imports, not a parse: this runs on every checked file before
any of them is parsed, and a module that is not local simply has no file to find. A name is
looked up relative to the importing file's folder and to the folder the command runs in.
"""
from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

# `from a.b import c, d` / `from . import c` / `import a.b, c`, at the start of a line; in a
# notebook's JSON a line starts after `"` (a source list item) or `\n` (a source string).
_IMPORT = re.compile(
    rb'(?:^|"|\\n)[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+\(?([\w, \t]+)|import[ \t]+([\w., \t]+))',
    re.M)
DEPTH = 2


def imported_local_files(files, root: Path | None = None, depth: int = DEPTH) -> list[Path]:
    """Local .py files imported by `files` (directly, or by those, up to `depth` levels) that
    are not among `files`, in a stable order."""
    root = (root or Path.cwd()).resolve()
    given = set()
    for f in files:
        try:
            given.add(Path(f).resolve())
        except OSError:
            continue
    found: list[Path] = []
    seen = set(given)
    frontier = [Path(f) for f in files]
    for _ in range(depth):
        nxt = []
        for path in frontier:
            for module in _local_modules(path, root):
                if module not in seen:
                    seen.add(module)
                    found.append(module)
                    nxt.append(module)
        frontier = nxt
    return found


def imported_by_source(data: bytes, path: Path, root: Path | None = None) -> list[Path]:
    """The same for a source that is not on disk (`nntutor check - --stdin-filename path`):
    its imports are resolved as if it were at `path`."""
    root = (root or Path.cwd()).resolve()
    direct = [m for m in dict.fromkeys(_modules_in(data, path.resolve().parent, root))
              if m != path.resolve()]
    return direct + [m for m in imported_local_files(direct, root, DEPTH - 1) if m != path.resolve()]


def _local_modules(path: Path, root: Path) -> list[Path]:
    if path.suffix not in (".py", ".ipynb"):
        return []
    try:
        data = path.read_bytes()
    except OSError:
        return []
    return _modules_in(data, path.resolve().parent, root)


def _modules_in(data: bytes, here: Path, root: Path) -> list[Path]:
    out = []
    for m in _IMPORT.finditer(data):
        if m.group(3) is not None:      # import a.b, c
            candidates = [(0, n.strip()) for n in m.group(3).decode("utf-8", "replace").split(",")]
        else:                           # from a.b import c, d
            module = m.group(1).decode("utf-8", "replace")
            level = len(module) - len(module.lstrip("."))
            name = module.lstrip(".")
            names = [n.strip() for n in m.group(2).decode("utf-8", "replace").split(",")]
            candidates = [(level, name)] + [(level, f"{name}.{n}" if name else n) for n in names if n]
        for level, dotted in candidates:
            parts = [p for p in dotted.split(".") if p]
            if not parts or not all(p.isidentifier() for p in parts):
                continue
            if level:
                bases = [here] if level == 1 else (
                    [here.parents[level - 2]] if level - 2 < len(here.parents) else [])
            else:
                bases = [here, root] if here != root else [here]
            for base in bases:
                found = _find(str(base), tuple(parts))
                if found is not None:
                    out.append(Path(found))
                    break
    return out


@lru_cache(maxsize=4096)
def _entries(folder: str) -> frozenset:
    try:
        return frozenset(os.listdir(folder))
    except OSError:
        return frozenset()


@lru_cache(maxsize=65536)
def _find(base: str, parts: tuple) -> str | None:
    """`base/a/b.py` or `base/a/b/__init__.py` for parts (a, b), or None. Each folder is listed
    once (cached), so a library import (`torch`, `numpy`) costs one set lookup, not a stat."""
    folder = base
    for part in parts[:-1]:
        if part not in _entries(folder):
            return None
        folder = os.path.join(folder, part)
    last = parts[-1]
    names = _entries(folder)
    if last + ".py" in names:
        path = os.path.join(folder, last + ".py")
        return os.path.realpath(path) if os.path.isfile(path) else None
    if last in names and "__init__.py" in _entries(os.path.join(folder, last)):
        return os.path.realpath(os.path.join(folder, last, "__init__.py"))
    return None
