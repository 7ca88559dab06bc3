"""Pytest modules: where `test_*` names a test, not an evaluation, a fixed data order is on
purpose (to assert exact numbers), and GPU-only code is selected by markers and CI runners."""
from __future__ import annotations

import re

_TEST_MODULE = re.compile(r"(?:^|[\\/])(?:test_[^\\/]*|[^\\/]*_test|conftest)\.py$")


def is_test_module(path: str) -> bool:
    """A pytest module (test_*.py, *_test.py, conftest.py)."""
    return bool(_TEST_MODULE.search(path))
