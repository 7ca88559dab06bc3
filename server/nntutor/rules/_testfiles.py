"""Test modules: where `test_*` names a test, not an evaluation, a fixed data order is on
purpose (to assert exact numbers), and GPU-only code is selected by markers and CI runners."""
from __future__ import annotations

import re

from ..parsing import F_SUPERCLASSES

_TEST_MODULE = re.compile(r"(?:^|[\\/])(?:test_[^\\/]*|[^\\/]*_test|conftest)\.py$")
_TEST_CASES = frozenset({"unittest.TestCase", "unittest.case.TestCase", "unittest.IsolatedAsyncioTestCase"})


def is_test_module(ctx) -> bool:
    """A pytest module by its name (test_*.py, *_test.py, conftest.py), or a module that
    defines a `unittest.TestCase` (PyTorch-VAE's tests/bvae.py), whatever its name."""
    if _TEST_MODULE.search(ctx.doc.path):
        return True
    facts = ctx.facts
    if "unittest" not in facts.imports.values() and not any(
            v.startswith("unittest.") for v in facts.imports.values()):
        return False
    for node in facts.classes_nodes:
        bases = node.child_by_field_id(F_SUPERCLASSES)
        if bases is not None and any(facts.qual(b) in _TEST_CASES for b in bases.named_children):
            return True
    return False
