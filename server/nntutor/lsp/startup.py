"""What `nntutor lsp` leaves out of its start-up, before it imports pygls.

Until `initialize` is answered the editor waits, and that wait is almost all imports. Three
measures, each undone or bypassed safely when it cannot apply:

* the code cache (lsp/codecache.py): the source attrs/cattrs generate for lsprotocol's ~570
  classes is compiled once, not on every start;
* asyncio without `ssl`: asyncio imports `ssl` (and OpenSSL with it, 10-25 ms) only to offer
  TLS transports. A stdio server never opens one, so `ssl` is hidden while asyncio is imported;
  the entry is removed again right after, and any later `import ssl` works as usual;
* lsprotocol's forward references resolved when needed: `lsprotocol.converters.get_converter()`
  resolves the annotations of all ~560 classes up front (`typing.get_type_hints` each, 25-40
  ms). `converter()` marks that pass as done and instead resolves a class (the same
  `attrs.resolve_types` call) just before cattrs first builds its structure or unstructure
  function for it, which is where the resolved types are read. The LSP tests exercise the
  messages the server handles through this converter.
"""
from __future__ import annotations

import logging
import sys

log = logging.getLogger("nntutor.lsp")


def asyncio_without_ssl() -> None:
    if "asyncio" in sys.modules or "ssl" in sys.modules:
        return
    sys.modules["ssl"] = None  # `import ssl` raises ImportError: asyncio then sets ssl = None
    try:
        import asyncio  # noqa: F401
    except ImportError:
        pass  # should never happen; the real import below reports any real problem
    finally:
        if "ssl" in sys.modules and sys.modules["ssl"] is None:
            del sys.modules["ssl"]


def converter():
    """pygls' default converter, with lsprotocol's classes resolved on first use (see above)."""
    import attrs
    import lsprotocol._hooks as hooks
    from pygls.protocol import default_converter

    if not hasattr(hooks, "_resolved_forward_references"):  # another lsprotocol: as it is
        return default_converter()
    eager = hooks._resolved_forward_references
    hooks._resolved_forward_references = True
    try:
        conv = default_converter()
    finally:
        hooks._resolved_forward_references = eager
    names, module = hooks.lsp_types.ALL_TYPES_MAP, hooks.lsp_types.__name__

    def resolve_first(cls) -> bool:
        # Registered last, so cattrs asks this predicate first for a type it has no function
        # for yet: resolve the class, then decline, so the factory that would have handled it
        # anyway (lsprotocol's, with its camelCase names) builds the function on resolved types.
        if getattr(cls, "__module__", None) == module and attrs.has(cls):
            try:
                attrs.resolve_types(cls, names, {})
            except NameError:  # left as it is: cattrs reports it as it would have
                log.debug("lsprotocol: cannot resolve %s", cls, exc_info=True)
        return False

    conv.register_structure_hook_factory(resolve_first, _never)
    conv.register_unstructure_hook_factory(resolve_first, _never)
    return conv


def _never(cls):
    raise AssertionError("resolve_first never accepts a type")


def prepare():
    """The first two (the server passes `converter` to pygls); returns the code cache (closed
    by the server once `initialize` is answered)."""
    from . import codecache

    cache = codecache.install()
    asyncio_without_ssl()
    return cache
