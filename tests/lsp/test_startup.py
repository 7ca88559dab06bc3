"""Start-up and transport of `nntutor lsp`: the code cache (lsp/codecache.py) across real server
starts, and stdin read on the event loop or, where it cannot be, by pygls' thread (lsp/stdio.py)."""
from __future__ import annotations

import ast
import builtins
import json
import marshal
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lsp_util import RawServer

from nntutor.lsp import codecache

INIT = {"processId": None, "rootUri": None, "capabilities": {}}


def _cache_env(tmp_path, monkeypatch, **extra):
    """Environment of a server whose cache folder is under tmp_path; and that cache file."""
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg"), **extra}
    monkeypatch.setenv("XDG_CACHE_HOME", env["XDG_CACHE_HOME"])
    return env, codecache.cache_path()   # the server runs this Python: the same file name


def _session(tmp_path, env, hover=False, cwd=None) -> str:
    """One server start: initialize (and a hover), shutdown, exit; the server's log."""
    log = tmp_path / f"server-{len(list(tmp_path.glob('server-*.log')))}.log"
    srv = RawServer(env=env, args=["--log-file", str(log)], cwd=cwd)
    try:
        init = srv.request("initialize", INIT)
        assert init["result"]["capabilities"]["hoverProvider"], init
        srv.notify("initialized", {})
        if hover:
            uri = (tmp_path / "m.py").as_uri()
            srv.notify("textDocument/didOpen", {"textDocument": {
                "uri": uri, "languageId": "python", "version": 1,
                "text": "import torch.nn as nn\ndrop = nn.Dropout(0.5)\n"}})
            answer = srv.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                        "position": {"line": 1, "character": 10}})
            assert "Dropout" in answer["result"]["contents"]["value"]
        assert srv.request("shutdown")["result"] is None
        srv.notify("exit")
        assert srv.wait() == 0
    finally:
        srv.kill()
    text = log.read_text()
    assert "stdin: read on the event loop" in text   # a pipe, as from an editor
    return text


def _cache_line(log: str) -> str:
    return next(line for line in log.splitlines() if "code cache:" in line)


def test_code_cache_is_written_once_then_used(tmp_path, monkeypatch):
    env, path = _cache_env(tmp_path, monkeypatch)
    first = _cache_line(_session(tmp_path, env))
    assert "saved" in first
    fmt, version, entries = marshal.loads(Path(path).read_bytes())
    assert (fmt, version) == (codecache.FORMAT, sys.version) and len(entries) > 100
    assert all(isinstance(k, tuple) and isinstance(v, bytes) for k, v in entries.items())
    stamp = Path(path).read_bytes()

    second = _cache_line(_session(tmp_path, env, hover=True))
    hits, misses = (int(second.split(f" {w}")[0].split()[-1]) for w in ("hits", "misses"))
    assert hits > 100 and misses * 10 < hits, second
    assert "saved" not in second
    assert Path(path).read_bytes() == stamp   # nothing new worth a rewrite


@pytest.mark.parametrize("content", [b"not a marshal file", marshal.dumps((codecache.FORMAT, "Python 0.1", {})),
                                     marshal.dumps([1, 2, 3])])
def test_a_corrupt_or_foreign_cache_file_is_ignored_and_replaced(tmp_path, monkeypatch, content):
    env, path = _cache_env(tmp_path, monkeypatch)
    (tmp_path / "xdg" / "nntutor").mkdir(parents=True)
    Path(path).write_bytes(content)
    line = _cache_line(_session(tmp_path, env, hover=True))
    assert "saved" in line
    assert marshal.loads(Path(path).read_bytes())[1] == sys.version


def test_a_cache_entry_that_is_not_code_is_compiled_afresh(tmp_path, monkeypatch):
    env, path = _cache_env(tmp_path, monkeypatch)
    _session(tmp_path, env)
    fmt, version, entries = marshal.loads(Path(path).read_bytes())
    damaged = {k: (b"\x00garbage" if i % 2 else marshal.dumps(42)) for i, k in enumerate(entries)}
    Path(path).write_bytes(marshal.dumps((fmt, version, damaged)))
    assert "saved" in _cache_line(_session(tmp_path, env, hover=True))
    fmt, version, entries = marshal.loads(Path(path).read_bytes())
    assert all(type(marshal.loads(blob)).__name__ == "code" for blob in entries.values())


def test_no_code_cache_env_turns_it_off(tmp_path, monkeypatch):
    env, _ = _cache_env(tmp_path, monkeypatch, NNTUTOR_NO_CODE_CACHE="1")
    log = _session(tmp_path, env, hover=True)
    assert "code cache:" not in log
    assert not list((tmp_path / "xdg").glob("nntutor/codegen-*"))  # (the early answers are another memo)


def test_an_unwritable_cache_folder_costs_nothing_but_the_cache(tmp_path, monkeypatch):
    env, _ = _cache_env(tmp_path, monkeypatch)
    (tmp_path / "xdg").write_text("a file where the folder should be")
    line = _cache_line(_session(tmp_path, env, hover=True))
    assert "saved" not in line and "Error" in line


def test_a_relative_xdg_cache_home_is_ignored(tmp_path):
    # As the XDG spec says: ~/.cache then, never a folder relative to where the server started.
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    log = _session(tmp_path, {"XDG_CACHE_HOME": "relative/cache", "HOME": str(home)}, cwd=work)
    assert "saved" in _cache_line(log)
    assert list(work.iterdir()) == []
    assert len(list((home / ".cache" / "nntutor").glob("codegen-*.marshal"))) == 1


# -- the memo itself, in this process ------------------------------------------------------------
def test_memo_compiles_what_the_builtin_compiles(tmp_path):
    cache = codecache.CodeCache(str(tmp_path / "c.marshal"))
    src = "def f(x: undefined_name) -> int:\n    return x + 1\n"
    plain = compile(src, "<t>", "exec")   # inherits this module's `from __future__ import annotations`
    cache.install()
    try:
        assert builtins.compile is not codecache._real_compile
        memo = compile(src, "<t>", "exec")
        again = compile(src, "<t>", "exec")
        eval_code = compile("1 + 2", "<e>", "eval")
        tree = compile(src, "<t>", "exec", ast.PyCF_ONLY_AST)   # not code: passed through
        with pytest.raises(SyntaxError):
            compile("def (:", "<bad>", "exec")
        no_future = compile(src, "<t>", "exec", dont_inherit=True)
    finally:
        cache.close()
    assert builtins.compile is codecache._real_compile
    cache.close()   # twice is fine
    assert marshal.dumps(memo) == marshal.dumps(plain) == marshal.dumps(again)
    assert memo.co_flags & codecache.FUTURE_FLAGS and not no_future.co_flags & codecache.FUTURE_FLAGS
    assert eval(eval_code) == 3 and isinstance(tree, ast.Module)
    assert (cache.hits, cache.misses) == (1, 3)
    ns: dict = {}
    exec(memo, ns)  # noqa: S102 (the test's own source)
    assert ns["f"].__annotations__ == {"x": "undefined_name", "return": "int"}

    reloaded = codecache.CodeCache(cache.path)
    reloaded.load()
    reloaded.install()
    try:
        assert marshal.dumps(compile(src, "<t>", "exec")) == marshal.dumps(plain)
    finally:
        reloaded.close()
    assert (reloaded.hits, reloaded.misses, reloaded.saved) == (1, 0, False)


# -- stdin ----------------------------------------------------------------------------------------
def _frame(msg: dict) -> bytes:
    body = json.dumps(msg).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _responses(out: bytes) -> dict:
    found = {}
    while out:
        head, _, rest = out.partition(b"\r\n\r\n")
        length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1])
        msg = json.loads(rest[:length])
        out = rest[length:]
        if "id" in msg and "method" not in msg:
            found[msg["id"]] = msg
    return found


def test_stdin_from_a_regular_file_is_read_by_pygls_thread(tmp_path):
    # asyncio cannot watch a regular file: the server must fall back to pygls' own reader.
    script = tmp_path / "in.jsonrpc"
    script.write_bytes(_frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INIT})
                       + _frame({"jsonrpc": "2.0", "method": "initialized", "params": {}})
                       + _frame({"jsonrpc": "2.0", "id": 2, "method": "nntutor/quizItems", "params": {"ids": []}})
                       + _frame({"jsonrpc": "2.0", "id": 3, "method": "shutdown"})
                       + _frame({"jsonrpc": "2.0", "method": "exit"}))
    log = tmp_path / "server.log"
    with open(script, "rb") as stdin:
        cp = subprocess.run([sys.executable, "-m", "nntutor", "lsp", "--log-file", str(log)], stdin=stdin,
                            capture_output=True, timeout=60, check=False)
    assert "stdin: read by pygls' reader thread" in log.read_text()
    got = _responses(cp.stdout)
    assert got[1]["result"]["capabilities"]["hoverProvider"]
    assert got[2]["result"] == {"items": []}
    assert got[3]["result"] is None
    assert cp.returncode == 0, cp.stderr.decode()


def test_client_leaving_mid_message(tmp_path):
    srv = RawServer()
    try:
        srv.request("initialize", INIT)
        srv.proc.stdin.write(b'Content-Length: 500\r\n\r\n{"jsonrpc": "2.0", "id": 2, ')
        srv.proc.stdin.close()
        assert srv.wait() == 1   # gone without shutdown: exit code 1, quietly
        assert b"Traceback" not in srv.proc.stderr.read()
    finally:
        srv.kill()


# -- responses ------------------------------------------------------------------------------------
def test_plain_results_are_written_as_pygls_writes_them():
    from pygls.protocol import JsonRPCProtocol

    from nntutor.lsp.server import server

    class Capture:
        def __init__(self):
            self.data = []

        def write(self, data):
            self.data.append(data)

        def close(self):
            pass

    proto = server.protocol
    results = [None, {"contents": {"kind": "markdown", "value": "x \u2192 \u00e9 \"q\""},
                      "range": {"start": {"line": 1, "character": 2}, "end": {"line": 1, "character": 4}}},
               {"concepts": [{"id": "dropout", "lines": [1, 2]}], "rules": []}, {}]
    for msg_id in (7, "req-7"):
        for result in results:
            ours, theirs = Capture(), Capture()
            proto.set_writer(ours)
            proto._send_response(msg_id, result)
            proto.set_writer(theirs)
            JsonRPCProtocol._send_response(proto, msg_id, result)
            assert ours.data == theirs.data and len(ours.data) == 1


# -- lsprotocol's classes resolved on first use (lsp/startup.py `converter`) ---------------------
_ROUND_TRIP = r"""
import json, sys
from pathlib import Path
import pytest_lsp.clients as clients
from lsprotocol import types as lsp
if sys.argv[1] == "lazy":
    from nntutor.lsp.startup import converter
    conv = converter()
else:
    from pygls.protocol import default_converter
    conv = default_converter()
out = {}
for path in sorted(Path(clients.__file__).parent.glob("*.json")):
    caps = json.loads(path.read_text())["capabilities"]
    params = conv.structure({"processId": 1, "rootUri": None, "capabilities": caps}, lsp.InitializeParams)
    out[path.name] = conv.unstructure(params)
from nntutor.lsp.server import server
vscode = json.loads((Path(clients.__file__).parent / "visual_studio_code_v1.65.2.json").read_text())
params = conv.structure({"processId": 1, "rootUri": None, "capabilities": vscode["capabilities"]},
                        lsp.InitializeParams)
async def initialize():   # pygls 2: a generator that yields the server's own handler
    steps = server.protocol.lsp_initialize(params)
    try:
        handler, args, kwargs = next(steps)
        handler(*args)
        next(steps)
    except StopIteration as done:
        return done.value
import asyncio
out["result"] = conv.unstructure(asyncio.run(initialize()))
print(json.dumps(out, sort_keys=True))
"""


def test_lazy_converter_structures_every_client_like_pygls_default():
    """Each editor's capabilities in pytest-lsp (VS Code, Neovim, Emacs) structured and
    unstructured by the lazily resolving converter, in a fresh process (resolving is global),
    gives exactly what pygls' default converter (all classes resolved up front) gives."""
    def run(kind):
        done = subprocess.run([sys.executable, "-c", _ROUND_TRIP, kind], capture_output=True,
                              text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout)

    lazy, eager = run("lazy"), run("eager")
    assert len(lazy) >= 8 and lazy == eager
    vscode = lazy["visual_studio_code_v1.65.2.json"]["capabilities"]
    assert vscode["textDocument"]["hover"]["contentFormat"] == ["markdown", "plaintext"]
    assert lazy["result"]["capabilities"]["hoverProvider"] and lazy["result"]["serverInfo"]["name"] == "nntutor"


def test_server_start_leaves_out_ssl_and_importlib_resources():
    """What lsp/startup.py and parsing.py keep out of every start (10-35 ms each), and that
    `import ssl` still works afterwards for whoever needs it."""
    code = ("import sys\nfrom nntutor.lsp import startup\nstartup.prepare()\n"
            "import nntutor.lsp.server\n"
            "print(sorted(m for m in ('ssl', 'importlib.resources', 'tree_sitter_python') if m in sys.modules))\n"
            "import ssl, asyncio.base_events\nprint(ssl.PROTOCOL_TLS_CLIENT is not None, asyncio.base_events.ssl is None)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          check=False, env={**os.environ, "NNTUTOR_NO_CODE_CACHE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["[]", "True True"]
