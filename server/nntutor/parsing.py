"""The tree-sitter parser, created once per process (creating a Language is not free)."""
from __future__ import annotations

from functools import lru_cache

import tree_sitter_python
from tree_sitter import Language, Parser, Query, QueryCursor

PYTHON = Language(tree_sitter_python.language())


@lru_cache(maxsize=1)
def parser() -> Parser:
    return Parser(PYTHON)


@lru_cache(maxsize=None)
def query(source: str) -> Query:
    return Query(PYTHON, source)


def captures(pattern: str, node) -> dict[str, list]:
    """Run a (cached) query under `node`; returns capture name -> nodes in document order."""
    return QueryCursor(query(pattern)).captures(node)
