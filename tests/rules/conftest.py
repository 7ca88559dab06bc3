"""Shared helpers for rule tests: plain functions, import them with `from conftest import ...`.

Snippets are dedented (textwrap.dedent) but otherwise kept as written, so line 1 is the first
line of the string: start snippets with `\"\"\"\\` to make line numbers read naturally.
"""
from __future__ import annotations

import textwrap

from nntutor.engine import analyze_text


def analysis(src: str, path: str = "t.py", workspace=None):
    """The full Analysis of a snippet; fails the test if a rule crashed on it."""
    result = analyze_text(textwrap.dedent(src), path, workspace=workspace)
    crashes = [n for n in result.notices if "internal error" in n]
    assert not crashes, crashes
    return result


def findings(src: str, rule: str | None = None, path: str = "t.py", workspace=None) -> list:
    """Findings of `src`, only those of `rule` when given."""
    return [f for f in analysis(src, path, workspace).findings if rule is None or f.rule == rule]


def lines(src: str, rule: str, path: str = "t.py", workspace=None) -> list[int]:
    """Sorted 1-based lines of the findings of `rule` in `src`."""
    return sorted(f.location.line + 1 for f in findings(src, rule, path, workspace))


def two_files(models_src: str, train_src: str, rule: str | None = None,
              models_path: str = "models.py", train_path: str = "train.py") -> list:
    """Findings in `train_src` when the model classes of `models_src`, and its functions that
    switch a model's mode, are in the workspace."""
    from nntutor.document import Document
    from nntutor.models import Workspace, file_summary, index_classes

    doc = Document.from_text(textwrap.dedent(models_src), models_path)
    ws = Workspace()
    ws.add_file(models_path, index_classes(doc.facts), file_summary(doc))
    return findings(train_src, rule, train_path, workspace=ws)


def notebook(cells: list[str], rule: str | None = None) -> list:
    """Findings of a notebook made of these code cells (cell indices 0, 1, ...)."""
    from nntutor.document import Document
    from nntutor.engine import analyze
    from nntutor.notebook import Cell

    doc = Document.from_cells([Cell(i, textwrap.dedent(s)) for i, s in enumerate(cells)])
    result = analyze(doc)
    assert not [n for n in result.notices if "internal error" in n], result.notices
    return [f for f in result.findings if rule is None or f.rule == rule]


def apply_fix(src: str, finding) -> str:
    """The text of `src` (dedented, as analysed) after applying the finding's fix."""
    data = textwrap.dedent(src).encode("utf-8")
    assert finding.fix is not None, f"{finding.rule} offers no fix"
    for edit in sorted(finding.fix.edits, key=lambda e: (e.start, e.end), reverse=True):
        data = data[:edit.start] + edit.new_text.encode("utf-8") + data[edit.end:]
    return data.decode("utf-8")


def parses(src: str) -> bool:
    """True when `src` compiles (for the tests only: the analyzer itself never runs ast or
    compile). Compiling, not only parsing, also rejects a repeated keyword argument."""
    import ast

    try:
        compile(src, "t.py", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    except SyntaxError:
        return False
    return True


def fixed_once(src: str, rule: str, severity: str | None = None) -> str:
    """`src` has exactly one finding of `rule` (of `severity` when given); returns the text after
    its fix, having checked that the result parses and that the rule no longer fires on it."""
    (f,) = findings(src, rule)
    if severity is not None:
        assert f.severity.label == severity
    out = apply_fix(src, f)
    assert parses(out), out
    assert findings(out, rule) == [], out
    return out
