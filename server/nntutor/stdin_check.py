"""`nntutor check -`: one source read from stdin, as editor plugins (nvim-lint, ALE, flymake)
and other tools pass an unsaved buffer.

`--stdin-filename` names it: that name chooses the settings (the nearest pyproject.toml, as
for a file on disk), the kind of source (`.ipynb`: notebook JSON, anything else: Python) and
the path in the report. With `--fix` the fixed source goes to stdout and the report to stderr,
so `nntutor check --fix - < a.py > b.py` works as a filter (ruff does the same); `--diff`
prints the diff."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from .document import Document, InputError
from .engine import analyze
from .findings import Analysis
from .notebook import NotebookError


@dataclass
class StdinResult:
    analysis: Analysis | None   # None: the input could not be analysed (the error is printed)
    fixed: bytes | None         # --fix / --diff: the source after the fixes
    skipped: bool = False       # excluded (--force-exclude): nothing to report


def check_stdin(raw: bytes, name: str | None, configs, fix: bool, extra_exclude=None,
                force_exclude: bool = False) -> StdinResult:
    from .project import _excluded_file

    path = Path(name) if name else None
    config = configs.for_path(path if path is not None else Path.cwd())
    if path is not None and force_exclude and (
            _excluded_file(path, config) or (extra_exclude is not None and extra_exclude.matches(path))):
        return StdinResult(None, raw if fix else None, skipped=True)
    shown = name or "-"
    workspace = _workspace(raw, path, configs, extra_exclude)
    fixed = None
    if fix:
        fixed = _fixed(raw, shown, config, workspace)
        raw = fixed
    try:
        doc = Document.from_bytes(raw, shown)
    except (InputError, NotebookError) as exc:
        print(f"nntutor: error: {shown}: {exc}", file=sys.stderr)
        return StdinResult(None, fixed)
    return StdinResult(analyze(doc, config, workspace), fixed)


def _workspace(raw: bytes, path: Path | None, configs, extra_exclude=None):
    """The model classes of the local modules the source imports, found from where
    `--stdin-filename` puts it (as `nntutor check` of that file would see them)."""
    if path is None:
        return None
    from .local_imports import imported_by_source
    from .project import project_workspace, unskipped

    return project_workspace(unskipped(imported_by_source(raw, path), configs, extra_exclude))


def _fixed(raw: bytes, name: str, config, workspace=None) -> bytes:
    """The source after its certain fixes; the source itself where it cannot be fixed (not
    UTF-8, binary, a notebook whose JSON layout cannot be kept), with a warning."""
    from .fixall import fix_bytes
    from .nbfix import LayoutUnknown

    try:
        fixed = fix_bytes(raw, name, config, workspace)
    except (LayoutUnknown, NotebookError) as exc:
        print(f"nntutor: warning: {name}: not fixed: {exc}", file=sys.stderr)
        return raw
    if fixed is None:
        print(f"nntutor: warning: {name}: not fixed: not UTF-8 Python source", file=sys.stderr)
        return raw
    if fixed.stopped:
        print(f"nntutor: warning: {name}: {fixed.stopped}", file=sys.stderr)
    return fixed.data
