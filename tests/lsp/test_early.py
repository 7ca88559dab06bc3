"""`initialize` answered while the LSP stack is imported (lsp/early.py), over real stdio.

Each test has its own cache folder (XDG_CACHE_HOME), so its own remembered answers."""
from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time

import pytest
from lsp_util import RawServer

from nntutor.lsp import early

VSCODE_LIKE = {"textDocument": {"hover": {"contentFormat": ["markdown", "plaintext"]},
                                "publishDiagnostics": {"relatedInformation": True}},
               "general": {"positionEncodings": ["utf-16"]}}
SRC = "import torch.nn as nn\nimport torch.nn.functional as F\n\nd = nn.Dropout(0.25)\nloss = nn.CrossEntropyLoss()(F.softmax(x, dim=1), y)\n"


def _frame(msg: dict) -> bytes:
    body = json.dumps(msg).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _init(capabilities=None, **extra):
    return {"processId": None, "rootUri": None, "capabilities": capabilities or VSCODE_LIKE, **extra}


def _store_file(env) -> list:
    folder = os.path.join(env["XDG_CACHE_HOME"], "nntutor")
    return sorted(f for f in os.listdir(folder) if f.startswith("initialize-")) if os.path.isdir(folder) else []


def _answers(env) -> dict:
    [name] = _store_file(env)
    with open(os.path.join(env["XDG_CACHE_HOME"], "nntutor", name)) as f:
        return json.load(f)["answers"]


def _session(tmp_path, env, params, uri_name="m.py"):
    """Start, initialize (with `params`), open SRC, hover the Dropout, read its diagnostics; shut
    down. Returns (initialize response, hover text, diagnostic codes, the log, every message)."""
    log = tmp_path / f"server-{len(list(tmp_path.glob('server-*.log')))}.log"
    srv = RawServer(env=env, args=["--log-file", str(log)])
    try:
        init = srv.request("initialize", params)
        srv.notify("initialized", {})
        uri = (tmp_path / uri_name).as_uri()
        srv.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python",
                                                             "version": 1, "text": SRC}})
        hover = srv.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                   "position": {"line": 3, "character": 9}})
        deadline = time.monotonic() + 20
        diags = None
        while diags is None and time.monotonic() < deadline:
            for msg in srv.seen:
                if msg.get("method") == "textDocument/publishDiagnostics" and msg["params"]["uri"] == uri:
                    diags = msg["params"]["diagnostics"]
            if diags is None:
                with contextlib.suppress(queue.Empty):
                    srv.seen.append(srv.inbox.get(timeout=0.2))
        assert srv.request("shutdown")["result"] is None
        srv.notify("exit")
        assert srv.wait() == 0
        # (RawServer keeps every message it was not waiting for: a second answer to id 1 would be there)
        seen = list(srv.seen)
        while not srv.inbox.empty():
            seen.append(srv.inbox.get())
    finally:
        srv.kill()
    value = (hover.get("result") or {}).get("contents", {}).get("value", "")
    return init, value, sorted(d["code"] for d in diags or []), log.read_text(), seen


@pytest.fixture
def env(tmp_path):
    return {"XDG_CACHE_HOME": str(tmp_path / "xdg")}


def test_second_start_is_answered_early_with_pygls_own_answer(tmp_path, env):
    first, hover1, codes1, log1, _ = _session(tmp_path, env, _init())
    assert "initialize read early (no remembered answer)" in log1
    assert len(_store_file(env)) == 1   # pygls' answer, remembered after it was sent
    second, hover2, codes2, log2, seen2 = _session(tmp_path, env, _init())
    assert "initialize answered early" in log2
    assert second["result"] == first["result"]
    assert second["result"]["capabilities"]["hoverProvider"] and second["result"]["serverInfo"]["name"] == "nntutor"
    # the server behind the early answer is the same: hovers and diagnostics as before
    assert "Dropout" in hover2 and hover2 == hover1
    assert codes2 == codes1 and "double-softmax" in codes2
    # one answer to `initialize`, not two (pygls' own is compared, not sent)
    assert not [m for m in seen2 if m.get("id") == 1 and "method" not in m]
    assert "differed" not in log2


def test_initialize_params_still_reach_the_server_when_answered_early(tmp_path, env):
    _session(tmp_path, env, _init())
    opts = _init(initializationOptions={"ignore": ["double-softmax"]})
    _, _, codes, log, _ = _session(tmp_path, env, opts)
    assert "initialize answered early" in log   # same capabilities: same answer
    assert "double-softmax" not in codes        # ... and the server's own initialize still ran


def test_other_client_capabilities_get_pygls_answer_then_their_own_memory(tmp_path, env):
    _session(tmp_path, env, _init())
    other = {"textDocument": {"diagnostic": {"dynamicRegistration": False}}}
    _, _, codes, log, _ = _session(tmp_path, env, _init(other))
    assert "initialize read early (no remembered answer)" in log
    assert codes == []   # a pull client: no pushed diagnostics, as pygls' path decided
    assert len(_answers(env)) == 2
    _, _, _, log, _ = _session(tmp_path, env, _init(other))
    assert "initialize answered early" in log


def test_a_wrong_memory_is_corrected_and_logged(tmp_path, env):
    _session(tmp_path, env, _init())
    answers = _answers(env)
    [key] = answers
    wrong = {"capabilities": {"hoverProvider": False}, "serverInfo": {"name": "nntutor", "version": "0"}}
    path = os.path.join(env["XDG_CACHE_HOME"], "nntutor", _store_file(env)[0])
    with open(path, "w") as f:
        json.dump({"format": early.FORMAT, "answers": {key: wrong}}, f)
    init, hover, _, log, seen = _session(tmp_path, env, _init())
    assert init["result"] == wrong                     # sent before pygls could say otherwise
    assert "differed from pygls'" in log
    assert "Dropout" in hover                          # the server works regardless
    assert not [m for m in seen if m.get("id") == 1 and "method" not in m]
    assert _answers(env)[key]["capabilities"]["hoverProvider"]   # corrected for next time


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"format": 99, "answers": {}}', b"\x00\xff" * 50])
def test_a_corrupt_memory_file_is_ignored(tmp_path, env, content):
    _session(tmp_path, env, _init())
    path = os.path.join(env["XDG_CACHE_HOME"], "nntutor", _store_file(env)[0])
    with open(path, "wb") as f:
        f.write(content)
    init, hover, _, log, _ = _session(tmp_path, env, _init())
    assert init["result"]["capabilities"]["hoverProvider"] and "Dropout" in hover
    assert "initialize read early (no remembered answer)" in log
    assert len(_answers(env)) == 1   # rewritten


def test_env_turns_it_off(tmp_path, env):
    env = {**env, early.ENV_OFF: "1"}
    _session(tmp_path, env, _init())
    _, hover, _, log, _ = _session(tmp_path, env, _init())
    assert "early" not in log and "Dropout" in hover
    assert _store_file(env) == []


def test_pipelined_messages_after_initialize_are_handed_over_in_order(tmp_path, env):
    """A client that writes initialize, initialized, a request, shutdown and exit in one go:
    the thread reads past the first message; pygls must still see every message, once, in order."""
    _session(tmp_path, env, _init())
    log = tmp_path / "pipelined.log"
    script = (_frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": _init()})
              + _frame({"jsonrpc": "2.0", "method": "initialized", "params": {}})
              + _frame({"jsonrpc": "2.0", "id": 2, "method": "nntutor/quizItems", "params": {"ids": []}})
              + _frame({"jsonrpc": "2.0", "id": 3, "method": "shutdown"})
              + _frame({"jsonrpc": "2.0", "method": "exit"}))
    proc = subprocess.run([sys.executable, "-m", "nntutor", "lsp", "--log-file", str(log)], input=script,
                          capture_output=True, timeout=60, env={**os.environ, **env}, check=False)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    ids = [m.get("id") for m in _messages(proc.stdout) if "method" not in m]
    assert ids == [1, 2, 3]
    assert "initialize answered early" in log.read_text()


def test_odd_first_messages_are_left_to_pygls(tmp_path, env):
    _session(tmp_path, env, _init())
    # not an initialize; an initialize with a bad processId: pygls answers (or not) as before
    for first, expect_error in ((_frame({"jsonrpc": "2.0", "id": 1, "method": "shutdown"}), False),
                                (_frame({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                         "params": _init(processId="nope")}), True)):
        log = tmp_path / "odd.log"
        script = first + _frame({"jsonrpc": "2.0", "method": "exit"})
        proc = subprocess.run([sys.executable, "-m", "nntutor", "lsp", "--log-file", str(log)], input=script,
                              capture_output=True, timeout=60, env={**os.environ, **env}, check=False)
        answers = [m for m in _messages(proc.stdout) if m.get("id") == 1]
        assert len(answers) == 1 and ("error" in answers[0]) == expect_error, answers
        assert "answered early" not in log.read_text()


def _messages(out: bytes) -> list:
    found = []
    while out:
        head, _, rest = out.partition(b"\r\n\r\n")
        length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1])
        found.append(json.loads(rest[:length]))
        out = rest[length:]
    return found


# -- the reader on its own ------------------------------------------------------------------------
class _Out:
    def __init__(self):
        self.data = b""

    def write(self, b):
        self.data += b

    def flush(self):
        pass


def _reader(chunks, store, delay=0.0):
    r, w = os.pipe()

    def feed():
        try:
            for c in chunks:
                os.write(w, c)
                time.sleep(delay)
        except BrokenPipeError:
            pass  # the reader stopped early (bad headers): what it read is what the test checks
        finally:
            os.close(w)

    threading.Thread(target=feed, daemon=True).start()
    stdin = os.fdopen(r, "rb")
    out = _Out()
    reader = early.EarlyInitialize(stdin, out, store).start()
    rest = reader.handover()
    stdin.close()
    return reader, rest, out.data


def test_first_message_split_across_reads_is_answered(tmp_path):
    store = early.AnswerStore(str(tmp_path / "answers.json"))
    params = _init()
    store.put(early.client_key(params), {"capabilities": {"hoverProvider": True}})
    msg = _frame({"jsonrpc": "2.0", "id": 7, "method": "initialize", "params": params})
    more = _frame({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    data = msg + more
    chunks = [data[i:i + 5] for i in range(0, len(data), 5)]
    reader, rest, out = _reader(chunks, store, delay=0.0005)
    assert reader.sent == {"capabilities": {"hoverProvider": True}} and reader.request_id == 7
    assert rest.startswith(msg)  # pygls reads the initialize again, then whatever followed
    assert more.startswith(rest[len(msg):])
    [answer] = _messages(out)
    assert answer == {"id": 7, "jsonrpc": "2.0", "result": {"capabilities": {"hoverProvider": True}}}


@pytest.mark.parametrize("data", [b"", b"Content-Length: 5\r\n\r\n{", b"X-Other: 1\r\n\r\n{}",
                                  b"Content-Length: -3\r\n\r\n", b"x" * (early.MAX_HEADERS + 10),
                                  _frame({"jsonrpc": "2.0", "id": True, "method": "initialize", "params": _init()}),
                                  _frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": [1]}),
                                  b"Content-Length: 7\r\n\r\n\xff\xfe\x00garb"])
def test_bad_first_bytes_are_handed_over_untouched_and_unanswered(tmp_path, data):
    store = early.AnswerStore(str(tmp_path / "answers.json"))
    for key in (early.client_key(_init()),):
        store.put(key, {"capabilities": {}})
    reader, rest, out = _reader([data], store)
    assert out == b"" and reader.sent is None
    assert rest == data
