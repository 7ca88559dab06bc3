"""A disk memo for `builtins.compile` while the language server starts.

Why: about half of the server's start-up went into compiling Python source that is the same on
every start. `lsprotocol.types` declares ~570 attrs classes, and attrs *generates* the source of
their `__init__` / `__eq__` / `__repr__` methods and runs `compile()` on it at import time (765
calls, ~200-300 ms on a slow machine); cattrs does the same for the structure/unstructure
functions of each message type on first use (`InitializeParams`, `InitializeResult` ...). A
normal `.pyc` cache cannot help: this code never exists as a file.

So while pygls/lsprotocol are imported and the first messages are handled, `builtins.compile`
is wrapped by a memo keyed by everything the compiled code depends on: the source text, the
file name, the mode, the effective compiler flags (the caller's `from __future__` flags
included) and the Python build. Hits are unmarshalled from a file in the user's cache folder,
`$XDG_CACHE_HOME` (or `~/.cache`) `/nntutor/codegen-<python tag>-<build hash>.marshal`. Because
the key is the full source, a new attrs/cattrs/lsprotocol version cannot get stale code: its
different source simply misses (the file name still separates Python builds and environments).
After start-up `compile` is restored; when many lookups missed the file is rewritten (atomically:
temporary file + `os.replace`) with exactly the entries this start used, so it never grows past
one start's worth (~2 MB).

Anything unexpected (unreadable or corrupt file, unwritable folder, a call this memo does not
understand) falls back to the plain `compile`; it never fails the server. Set
NNTUTOR_NO_CODE_CACHE=1 to turn it off. The file (mode 0600) is trusted as the user's own files
are, like the `__pycache__` folders next to the installed packages.
"""
from __future__ import annotations
import __future__

import builtins
import marshal
import os
import sys
from types import CodeType

FORMAT = 1
ENV_OFF = "NNTUTOR_NO_CODE_CACHE"
# The compiler flags a `compile()` call inherits from the calling code (`from __future__ ...`).
FUTURE_FLAGS = 0
for _feature in __future__.all_feature_names:
    FUTURE_FLAGS |= getattr(__future__, _feature).compiler_flag
MODES = ("exec", "eval", "single")
_real_compile = builtins.compile   # the builtin, whatever wraps it later


def cache_dir() -> str | None:
    """$XDG_CACHE_HOME/nntutor, else ~/.cache/nntutor; None without an absolute folder (a
    relative XDG_CACHE_HOME is ignored, as the XDG spec says; no HOME: no cache, rather than a
    `~` or `.cache` folder in whatever directory the editor started the server in)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "nntutor") if os.path.isabs(base) else None


def cache_path() -> str | None:
    import zlib

    folder = cache_dir()
    if folder is None:
        return None
    build = f"{sys.version}|{sys.prefix}|{sys.flags.optimize}".encode("utf-8", "surrogateescape")
    return os.path.join(folder, f"codegen-{sys.implementation.cache_tag}-{zlib.crc32(build):08x}.marshal")


class CodeCache:
    """Memoizes `builtins.compile` between `install()` and `close()`."""

    def __init__(self, path: str):
        self.path = path
        self.entries: dict[tuple, bytes] = {}   # key -> marshalled code object
        self.used: set[tuple] = set()
        self.hits = self.misses = 0
        self.load_error: str | None = None
        self.save_error: str | None = None
        self.saved = False
        self._wrapper = None

    # -- the file ------------------------------------------------------------------------------
    def load(self) -> None:
        try:
            with open(self.path, "rb") as f:
                data = marshal.load(f)
        except FileNotFoundError:
            return
        except Exception as exc:  # unreadable or corrupt: start empty, rewritten on close
            self.load_error = f"{exc.__class__.__name__}: {exc}"
            return
        if not (isinstance(data, tuple) and len(data) == 3 and data[0] == FORMAT
                and data[1] == sys.version and isinstance(data[2], dict)):
            self.load_error = "not a code cache of this format and Python"
            return
        self.entries = data[2]

    def save(self) -> None:
        """Write the entries this start used when a good share of them was new (first start,
        corrupt file, updated libraries). A few misses are normal and not worth rewriting ~2 MB
        for: attrs puts `hash()` of a string, which differs in every process, into the source of
        each `__hash__` it generates (18 of ~900 sources)."""
        if self.load_error is None and self.misses * 10 <= self.hits + self.misses:
            return
        keep = {k: v for k, v in self.entries.items() if k in self.used}
        if not keep:
            return
        try:
            from ..atomic import write_atomic

            write_atomic(self.path, marshal.dumps((FORMAT, sys.version, keep)))
            self.saved = True
        except Exception as exc:  # read-only home, full disk ...: no cache, no harm
            self.save_error = f"{exc.__class__.__name__}: {exc}"

    # -- the memo ------------------------------------------------------------------------------
    def install(self) -> CodeCache:
        if self._wrapper is None:
            self._wrapper = self._compile   # (one bound method, so `close` can recognise it)
            builtins.compile = self._wrapper
        return self

    def close(self) -> None:
        """Restore `builtins.compile` (unless someone wrapped it since) and save. Idempotent."""
        if self._wrapper is None:
            return
        if builtins.compile is self._wrapper:
            builtins.compile = _real_compile
        self._wrapper = None
        self.save()
        self.entries, self.used = {}, set()

    def _compile(self, source, filename, mode, flags=0, dont_inherit=False, optimize=-1, **kw):
        if not dont_inherit:
            # The builtin would inherit the __future__ flags of *this* function's code; hand it
            # those of the caller instead, as an unwrapped call would.
            flags |= sys._getframe(1).f_code.co_flags & FUTURE_FLAGS
        if (self._wrapper is None or type(source) is not str or type(filename) is not str
                or mode not in MODES or kw or optimize != -1 or type(flags) is not int
                or flags & ~FUTURE_FLAGS):
            return _real_compile(source, filename, mode, flags, True, optimize, **kw)
        key = (source, filename, mode, flags)
        blob = self.entries.get(key)
        if blob is not None:
            try:
                code = marshal.loads(blob)
            except Exception:  # a corrupt entry: compile it afresh
                code = None
            if type(code) is CodeType:
                self.used.add(key)
                self.hits += 1
                return code
        code = _real_compile(source, filename, mode, flags, True)
        try:
            self.entries[key] = marshal.dumps(code)
            self.used.add(key)
            self.misses += 1
        except Exception:  # not marshallable: just not cached
            pass
        return code


def install() -> CodeCache | None:
    """Load the cache file and wrap `builtins.compile`; None where turned off or impossible."""
    if os.environ.get(ENV_OFF, "") not in ("", "0"):
        return None
    try:
        path = cache_path()
        if path is None:
            return None
        cache = CodeCache(path)
        cache.load()
        return cache.install()
    except Exception:
        return None
