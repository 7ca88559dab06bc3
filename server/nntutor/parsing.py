"""The tree-sitter parser, created once per process (creating a Language is not free)."""
from __future__ import annotations

import threading
from functools import lru_cache
from operator import attrgetter

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
    return {name: _in_document_order(nodes) for name, nodes in caps.items()}


_START, _END = attrgetter("start_byte"), attrgetter("end_byte")


def _in_document_order(nodes: list) -> list:
    """By start, the longer node first on ties: two stable sorts with C key functions, about
    twice as fast as one sort with a tuple-building lambda (13,000 calls in a 20k-line file)."""
    nodes = sorted(nodes, key=_END, reverse=True)
    nodes.sort(key=_START)
    return nodes
