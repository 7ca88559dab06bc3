"""The tree-sitter parser, created once per process (creating a Language is not free)."""
from __future__ import annotations

import threading
from functools import lru_cache

import tree_sitter_python
from tree_sitter import Language, Parser, Query, QueryCursor

PYTHON = Language(tree_sitter_python.language())


_local = threading.local()


def parser() -> Parser:
    """One parser per thread: a tree-sitter Parser must not be shared between threads."""
    p = getattr(_local, "parser", None)
    if p is None:
        p = _local.parser = Parser(PYTHON)
    return p


@lru_cache(maxsize=None)
def query(source: str) -> Query:
    return Query(PYTHON, source)


def captures(pattern: str, node) -> dict[str, list]:
    """Run a (cached) query under `node`; returns capture name -> nodes in document order."""
    caps = QueryCursor(query(pattern)).captures(node)
    # py-tree-sitter does not return captures in document order: sort them (outer node first
    # when two start together, e.g. `f()(x)`), since callers bisect and scan these lists.
    return {name: sorted(nodes, key=lambda n: (n.start_byte, -n.end_byte)) for name, nodes in caps.items()}
