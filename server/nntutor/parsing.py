"""The tree-sitter parser, created once per process (creating a Language is not free)."""
from __future__ import annotations

import logging
import sys
import threading
from functools import lru_cache
from operator import attrgetter

from tree_sitter import Language, Parser, Query, QueryCursor

log = logging.getLogger(__name__)


def _grammar_binding():
    """tree_sitter_python's compiled grammar, without running the package's `__init__`.

    That `__init__` imports `importlib.resources` (and with it tempfile, shutil, random, zipfile
    and lzma) only to read the grammar's bundled highlight queries, which nntutor never uses:
    about 10-35 ms of every start of `nntutor check` and `nntutor lsp`. The extension module
    itself (`tree_sitter_python._binding`) needs nothing from its package, so it is loaded from
    the package folder directly; whenever that is not possible, the normal import is used."""
    name = "tree_sitter_python._binding"
    module = sys.modules.get(name)
    if module is not None:
        return module
    try:
        import importlib.machinery
        import importlib.util

        package = importlib.util.find_spec("tree_sitter_python")  # finds, does not execute
        for folder in (package.submodule_search_locations or ()) if package else ():
            finder = importlib.machinery.FileFinder(
                folder, (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES))
            spec = finder.find_spec(name)
            if spec is not None and spec.loader is not None:
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                sys.modules[name] = module  # what `import tree_sitter_python` would find later
                return module
    except (ImportError, OSError, ValueError, AttributeError):
        log.debug("tree_sitter_python: loaded the usual way", exc_info=True)  # a zip, another layout
    import tree_sitter_python

    return tree_sitter_python


PYTHON = Language(_grammar_binding().language())


# Field ids of the grammar. `node.child_by_field_id(F_FUNCTION)` is ~4x faster than
# `node.child_by_field_name("function")`, which looks the name up among all the grammar's field
# names on every call; an analysis of a 3,000-line file makes about 20,000 such calls.
F_ALIAS = PYTHON.field_id_for_name("alias")
F_ARGUMENTS = PYTHON.field_id_for_name("arguments")
F_ATTRIBUTE = PYTHON.field_id_for_name("attribute")
F_BODY = PYTHON.field_id_for_name("body")
F_CONDITION = PYTHON.field_id_for_name("condition")
F_CONSEQUENCE = PYTHON.field_id_for_name("consequence")
F_DEFINITION = PYTHON.field_id_for_name("definition")
F_FUNCTION = PYTHON.field_id_for_name("function")
F_KEY = PYTHON.field_id_for_name("key")
F_LEFT = PYTHON.field_id_for_name("left")
F_MODULE_NAME = PYTHON.field_id_for_name("module_name")
F_NAME = PYTHON.field_id_for_name("name")
F_OBJECT = PYTHON.field_id_for_name("object")
F_OPERATOR = PYTHON.field_id_for_name("operator")
F_PARAMETERS = PYTHON.field_id_for_name("parameters")
F_RIGHT = PYTHON.field_id_for_name("right")
F_SUBSCRIPT = PYTHON.field_id_for_name("subscript")
F_SUPERCLASSES = PYTHON.field_id_for_name("superclasses")
F_VALUE = PYTHON.field_id_for_name("value")


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
