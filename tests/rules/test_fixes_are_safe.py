"""Every quick fix the rules offer on the buggy examples of every rule's tests, applied on its
own: the result still parses and no rule reports more than before (a fix that makes another
rule fire, as an `eval()` that leaves the next epochs in eval mode did, is no fix). `--fix` and
the editor's fix-all keep a round only under the same test (nntutor.fixall); this catches the
fixes themselves."""
import ast
import importlib
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from nntutor.document import Document
from nntutor.engine import analyze
from nntutor.fixall import apply

MODULES = sorted(p.stem for p in Path(__file__).parent.glob("test_*.py") if p.stem != "test_fixes_are_safe")


def _examples(module):
    for name in ("BUGGY", "FIXABLE"):
        for item in getattr(module, name, None) or ():
            src = item[1] if isinstance(item, tuple) else item
            if isinstance(src, str):
                yield (item[0] if isinstance(item, tuple) else src[:30]), textwrap.dedent(src).encode()


@pytest.mark.parametrize("module_name", MODULES)
def test_each_fix_parses_and_makes_no_rule_fire_more(module_name):
    module = importlib.import_module(module_name)
    problems = []
    for label, data in _examples(module):
        try:
            compile(data, "t.py", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
        except SyntaxError:
            continue  # examples of broken input
        findings = analyze(Document(data, "t.py")).findings
        before = Counter(f.rule for f in findings)
        for f in findings:
            if f.fix is None:
                continue
            fixed = apply(data, [f.fix])
            try:
                # compile, not ast.parse: a repeated keyword argument parses but does not compile
                compile(fixed, "t.py", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
            except SyntaxError as exc:
                problems.append(f"{label}: {f.rule}'s fix breaks the syntax: {exc}")
                continue
            after = Counter(x.rule for x in analyze(Document(fixed, "t.py")).findings)
            more = {rule: (before[rule], after[rule]) for rule in after if after[rule] > before[rule]}
            if more:
                problems.append(f"{label}: {f.rule}'s fix makes rules fire more: {more}")
    assert problems == []


def test_the_examples_are_found():
    total = sum(1 for name in MODULES for _ in _examples(importlib.import_module(name)))
    assert total > 150
