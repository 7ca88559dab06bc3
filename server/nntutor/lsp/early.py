"""Answering `initialize` while the LSP stack is still being imported.

An editor sends nothing but `initialize` until it has the answer, and ~0.3 s of the server's
start is importing pygls and lsprotocol: the floor of that stack, which an empty pygls server
pays as well (bench/RESULTS-lsp.md, "Start-up"). The answer holds no secret: it is the
server's capabilities, a function of this code and of the client's capabilities only. So the
server remembers the answer pygls gave each client, keyed by a hash of both, and when that
client starts it again:

* before the import, a thread reads the first message with plain `os.read` (stdlib only);
  when it is an `initialize` whose answer is remembered, the thread writes that answer at once;
* the main thread imports meanwhile, then hands everything the thread read to pygls' reader
  (`handover`), so pygls reads the same `initialize`, sets itself up exactly as it always does
  and computes its own answer, which `settle` compares with the one sent instead of sending it
  again. A difference (a change the key missed) is logged and replaces the entry; an error
  answer forgets it. A client with new capabilities, a new version of the code or of pygls /
  lsprotocol gets the usual answer from pygls, remembered for next time.

What the editor gains is not the import itself (what it sends next waits for it) but not
waiting on it: it goes on with its own start (opening files, other servers) while the import
runs. The remembered answers live next to the code cache, `$XDG_CACHE_HOME/nntutor/
initialize-<key>.json` (a few entries, rewritten atomically). Only when stdin is a pipe or a
socket (as when an editor starts the server); NNTUTOR_NO_EARLY_INITIALIZE=1 turns it off.

Kept free of pygls, lsprotocol and logging imports: it runs before them.
"""
from __future__ import annotations

import json
import os
import stat
import sys
import threading
import zlib

from .codecache import cache_dir

ENV_OFF = "NNTUTOR_NO_EARLY_INITIALIZE"
FORMAT = 1
ENTRIES = 8                # clients remembered (editors a user starts the server from)
MAX_HEADERS = 8192         # bytes of headers before a message is not worth answering early
MAX_FIRST = 1 << 20        # an `initialize` bigger than this: pygls answers it
CHUNK = 65536


def loop_readable(stdin, stdout) -> bool:
    """Whether `stdin` is a pipe or socket that can be read without changing `stdout` (an event
    loop sets O_NONBLOCK on the open file it watches; stdout must not be that same file)."""
    try:
        st = os.fstat(stdin.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    if not (stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode)):
        return False
    try:
        out = os.fstat(stdout.fileno())
    except (AttributeError, OSError, ValueError):
        return True
    return (out.st_dev, out.st_ino) != (st.st_dev, st.st_ino)


# -- what the answer depends on ---------------------------------------------------------------
def code_key() -> str:
    """The interpreter, nntutor's files and pygls' and lsprotocol's (paths and modification
    times): a changed install gets new answers (and a new daemon, lsp/daemon.py)."""
    from importlib.util import find_spec

    h = _Hash(sys.executable.encode("utf-8", "surrogateescape"))
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for root, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                _stamp(h, os.path.join(root, name))
    for dep in ("pygls", "lsprotocol"):
        try:
            spec = find_spec(dep)
        except (ImportError, ValueError):
            spec = None
        for folder in (spec.submodule_search_locations or []) if spec is not None else []:
            for root, dirs, files in os.walk(folder):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                for name in sorted(files):
                    if name.endswith(".py"):
                        _stamp(h, os.path.join(root, name))
    return h.hexdigest()


class _Hash:
    """64 bits of crc32 + adler32 (zlib is loaded anyway): enough to tell versions of an install
    apart, without importing hashlib (and OpenSSL, ~3 ms) before the first answer."""

    def __init__(self, data: bytes = b""):
        self.crc, self.adler = zlib.crc32(data), zlib.adler32(data)

    def update(self, data: bytes) -> None:
        self.crc, self.adler = zlib.crc32(data, self.crc), zlib.adler32(data, self.adler)

    def hexdigest(self) -> str:
        return f"{self.crc:08x}{self.adler:08x}"


def _stamp(h, path: str) -> None:
    try:
        h.update(f"{path}:{os.stat(path).st_mtime_ns}".encode("utf-8", "surrogateescape"))
    except OSError:
        pass


def client_key(params: dict) -> str:
    """The client's capabilities, canonically: all that the answer depends on besides the code."""
    text = json.dumps(params.get("capabilities"), sort_keys=True, separators=(",", ":"))
    return _Hash(text.encode("utf-8", "surrogatepass")).hexdigest()


class AnswerStore:
    """The remembered answers for one version of the code: {client key: result}, oldest first."""

    def __init__(self, path: str | None):
        self.path = path

    @classmethod
    def default(cls) -> AnswerStore:
        folder = cache_dir()
        return cls(os.path.join(folder, f"initialize-{code_key()}.json") if folder else None)

    def load(self) -> dict:
        if self.path is None:
            return {}
        try:
            with open(self.path, "rb") as f:
                data = json.loads(f.read())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("answers"), dict):
            return {}
        return data["answers"]

    def get(self, key: str) -> dict | None:
        answer = self.load().get(key)
        return answer if isinstance(answer, dict) else None

    def put(self, key: str, result: dict | None) -> None:
        """Remember `result` for `key` (None: forget it). Failures are ignored: it is a memo."""
        if self.path is None:
            return
        answers = self.load()
        answers.pop(key, None)
        if result is not None:
            answers[key] = result
        while len(answers) > ENTRIES:
            answers.pop(next(iter(answers)))
        from ..atomic import write_atomic

        try:
            write_atomic(self.path, json.dumps({"format": FORMAT, "answers": answers}).encode("utf-8"))
        except OSError:
            pass


# -- the first message ------------------------------------------------------------------------
class EarlyInitialize:
    """Reads the client's first message on a thread and answers it when it can (see above)."""

    def __init__(self, stdin, stdout, store: AnswerStore):
        self.fd = stdin.fileno()
        self.stdout = stdout
        self.store = store
        self.buffer = bytearray()       # everything read from stdin, handed over to pygls
        self.request_id = None          # the `initialize` request's id
        self.key: str | None = None     # its client key
        self.sent: dict | None = None   # the result written early, if one was
        self.problems: list[str] = []   # for the log, once there is one
        self.stale = False              # the store needs pygls' answer (`settle`, `remember`)
        self._thread = threading.Thread(target=self._run, name="nntutor-early-initialize", daemon=True)

    def start(self) -> EarlyInitialize:
        self._thread.start()
        return self

    def handover(self) -> bytes:
        """Wait for the first message (or the end of input), then return every byte read."""
        self._thread.join()
        return bytes(self.buffer)

    def _run(self) -> None:
        try:
            body = self._read_first()
            if body is not None:
                self._answer(body)
        except Exception as exc:  # never fatal: pygls reads and answers everything as usual
            self.problems.append(f"early initialize: {exc!r}")

    def _read_first(self) -> bytes | None:
        """The body of the first message, or None (end of input, bad or huge headers)."""
        end = -1
        while end < 0:
            if not self._fill():
                return None
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0 and len(self.buffer) > MAX_HEADERS:
                return None
        length = None
        for line in bytes(self.buffer[:end]).split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    return None
        if length is None or not 0 < length <= MAX_FIRST:
            return None
        start = end + 4
        while len(self.buffer) < start + length:
            if not self._fill():
                return None
        return bytes(self.buffer[start:start + length])

    def _fill(self) -> bool:
        try:
            chunk = os.read(self.fd, CHUNK)
        except InterruptedError:
            return True
        if not chunk:
            return False
        self.buffer += chunk
        return True

    def _answer(self, body: bytes) -> None:
        message = json.loads(body)
        if not isinstance(message, dict) or message.get("method") != "initialize":
            return
        request_id, params = message.get("id"), message.get("params")
        if not isinstance(request_id, (int, str)) or isinstance(request_id, bool) or not _plausible(params):
            return  # pygls decides what to answer (likely an error)
        self.request_id, self.key = request_id, client_key(params)
        result = self.store.get(self.key) if self.store is not None else None
        if result is None:
            return
        payload = json.dumps({"id": request_id, "jsonrpc": "2.0", "result": result},
                             separators=(",", ":")).encode("utf-8")
        self.stdout.write(b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload))
        self.stdout.flush()
        self.sent = result

    def settle(self, response: dict) -> bool:
        """pygls' own response to the `initialize` (the JSON it would write): True when the
        client has it already (do not send it again), False when it must still be sent. Either
        way `remember(response)` is due when `stale` is set afterwards."""
        result = response.get("result") if "error" not in response else None
        if self.sent is None:
            self.stale = isinstance(result, dict) and self.key is not None
            return False
        if result != self.sent:
            self.problems.append("early initialize: the remembered answer differed from pygls' "
                                 f"({'an error' if result is None else 'other capabilities'}); "
                                 "the client kept the remembered one; the memory is corrected")
            self.stale = True
        return True

    def remember(self, response: dict) -> None:
        """Store pygls' answer for this client (an error answer: forget the client)."""
        if self.store is None or self.key is None:
            return
        result = response.get("result") if "error" not in response else None
        self.store.put(self.key, result if isinstance(result, dict) else None)


def _plausible(params) -> bool:
    """An `initialize` whose params pygls will accept as it did before: the fields it reads
    have their types. Anything odd is left to pygls (which may answer with an error)."""
    if not isinstance(params, dict) or not isinstance(params.get("capabilities"), dict):
        return False
    checks = (("processId", int), ("rootUri", str), ("rootPath", str), ("workspaceFolders", list),
              ("clientInfo", dict), ("locale", str), ("trace", str))
    for name, kind in checks:
        value = params.get(name)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            return False
    return True


def start(stdin, stdout) -> EarlyInitialize | None:
    """Start reading the first message, or None where this does not apply (see the docstring)."""
    if os.environ.get(ENV_OFF, "") not in ("", "0") or not loop_readable(stdin, stdout):
        return None
    # The key is hashed here, not on the thread: there its ~100 `stat` calls would each wait
    # for the importing main thread to let go of the GIL (20 ms instead of 2).
    store = AnswerStore.default()
    if store.path is None:
        return None
    return EarlyInitialize(stdin, stdout, store).start()
