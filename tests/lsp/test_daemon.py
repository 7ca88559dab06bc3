"""`nntutor lsp --daemon` (lsp/daemon.py): servers forked from a warm background process.

Each test has its own runtime folder (XDG_RUNTIME_DIR), so its own daemon, which a short idle
time (NNTUTOR_DAEMON_IDLE_S) and the teardown end. The client is pytest-lsp's, over the real
stdio of `python -m nntutor lsp --daemon`."""
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "win32", reason="needs fork and AF_UNIX")

SRC = "import torch.nn as nn\nimport torch.nn.functional as F\n\nd = nn.Dropout(0.25)\nloss = nn.CrossEntropyLoss()(F.softmax(x, dim=1), y)\n"


@pytest.fixture
def runtime(tmp_path):
    # A short folder: a Unix socket path holds 108 bytes, and pytest's tmp_path is long.
    folder = Path(tempfile.mkdtemp(prefix="nnt"))
    env = {**os.environ, "XDG_RUNTIME_DIR": str(folder), "NNTUTOR_DAEMON_IDLE_S": "20"}
    yield folder, env
    for pid in daemon_pids(folder):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    shutil.rmtree(folder, ignore_errors=True)


def daemon_pids(folder) -> list[int]:
    """Daemons serving a socket in `folder` (from /proc: their command line names it)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = open(f"/proc/{entry}/cmdline", "rb").read().split(b"\0")
            except OSError:
                continue
            if b"nntutor.lsp.daemon" in cmd and any(str(folder).encode() in c for c in cmd):
                found.append(int(entry))
    return found


def sockets(folder) -> list:
    sub = folder / "nntutor"
    return sorted(sub.glob("lsp-*.sock")) if sub.exists() else []


async def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


async def session(env, tmp_path, log_name="server.log"):
    """Start `nntutor lsp --daemon`, open SRC, return (client, uri, initialize ms, log path)."""
    log = tmp_path / log_name
    config = ClientServerConfig(server_command=[sys.executable, "-m", "nntutor", "lsp", "--daemon",
                                                "--log-file", str(log)], server_env=env)
    client = await config.start()
    started = time.perf_counter()
    await client.initialize_session(lsp.InitializeParams(
        capabilities=lsp.ClientCapabilities(), root_uri=tmp_path.as_uri()))
    init_ms = (time.perf_counter() - started) * 1000
    uri = (tmp_path / f"{log_name}.py").as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        lsp.TextDocumentItem(uri=uri, language_id="python", version=1, text=SRC)))
    return client, uri, init_ms, log


async def hover_and_diagnostics(client, uri):
    hover = await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri), lsp.Position(3, 8)))
    await wait_for(lambda: client.diagnostics.get(uri))
    return hover.contents.value, [d.code for d in client.diagnostics[uri]]


async def test_first_start_serves_in_process_and_leaves_a_daemon_then_starts_are_forked(runtime, tmp_path):
    folder, env = runtime
    client, uri, _, log = await session(env, tmp_path, "first.log")
    text, codes = await hover_and_diagnostics(client, uri)
    assert "25% of activations" in text and "double-softmax" in codes
    await client.shutdown_session()
    assert "forked by daemon" not in log.read_text()
    await wait_for(lambda: sockets(folder) and daemon_pids(folder))  # started for next time

    client, uri, _, log = await session(env, tmp_path, "second.log")
    text, codes = await hover_and_diagnostics(client, uri)
    assert "25% of activations" in text and "double-softmax" in codes
    await client.shutdown_session()
    assert "forked by daemon" in log.read_text()


async def test_two_editors_get_separate_servers(runtime, tmp_path):
    folder, env = runtime
    first, _, _, _ = await session(env, tmp_path, "warmup.log")
    await first.shutdown_session()
    await wait_for(lambda: sockets(folder) and daemon_pids(folder))
    (a, uri_a, _, log_a), (b, uri_b, _, log_b) = await asyncio.gather(
        session(env, tmp_path, "a.log"), session(env, tmp_path, "b.log"))
    await hover_and_diagnostics(a, uri_a)
    await hover_and_diagnostics(b, uri_b)
    assert uri_b not in a.diagnostics and uri_a not in b.diagnostics  # each saw its own documents
    pids = {line.rsplit(" ", 1)[-1] for log in (log_a, log_b) for line in log.read_text().splitlines()
            if "forked by daemon" in line}
    await a.shutdown_session()
    await b.shutdown_session()
    assert len(pids) == 2


async def test_a_stale_socket_falls_back_in_process_and_is_replaced(runtime, tmp_path):
    folder, env = runtime
    client, _, _, _ = await session(env, tmp_path, "warmup.log")
    await client.shutdown_session()
    await wait_for(lambda: sockets(folder) and daemon_pids(folder))
    (sock,) = sockets(folder)
    for pid in daemon_pids(folder):
        os.kill(pid, signal.SIGKILL)  # the daemon dies, its socket file stays behind
    await wait_for(lambda: not daemon_pids(folder))
    assert sock.exists()
    client, uri, _, log = await session(env, tmp_path, "after.log")
    text, _ = await hover_and_diagnostics(client, uri)
    await client.shutdown_session()
    assert "25% of activations" in text and "forked by daemon" not in log.read_text()
    await wait_for(lambda: daemon_pids(folder))  # a new daemon for next time


async def test_the_daemon_leaves_when_idle(runtime, tmp_path):
    folder, env = runtime
    env = {**env, "NNTUTOR_DAEMON_IDLE_S": "1"}
    client, _, _, _ = await session(env, tmp_path)
    await client.shutdown_session()
    await wait_for(lambda: daemon_pids(folder))
    await wait_for(lambda: not daemon_pids(folder) and not sockets(folder), timeout=30)


async def test_exit_without_shutdown_gives_status_1_through_the_client(runtime, tmp_path):
    folder, env = runtime
    client, _, _, _ = await session(env, tmp_path, "warmup.log")
    await client.shutdown_session()
    await wait_for(lambda: sockets(folder) and daemon_pids(folder))
    client, _, _, log = await session(env, tmp_path, "abrupt.log")
    assert "forked by daemon" in log.read_text()
    client.protocol.notify(lsp.EXIT)  # exit before shutdown: exit code 1, as LSP says
    await wait_for(lambda: client._server.returncode is not None, timeout=15)
    assert client._server.returncode == 1
    await client.stop()


async def test_without_a_runtime_folder_the_cache_folder_is_used(tmp_path):
    """No XDG_RUNTIME_DIR: a `daemon/` folder (made private) in the user cache folder, even when
    the cache folder itself is readable by others, as ~/.cache often is."""
    cache = Path(tempfile.mkdtemp(prefix="nnc"))
    os.chmod(cache, 0o755)
    (cache / "nntutor").mkdir(mode=0o755)
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env.update(XDG_CACHE_HOME=str(cache), NNTUTOR_DAEMON_IDLE_S="20")
    folder = cache / "nntutor" / "daemon"
    try:
        client, _, _, _ = await session(env, tmp_path, "warmup.log")
        await client.shutdown_session()
        await wait_for(lambda: list(folder.glob("lsp-*.sock")) and daemon_pids(cache))
        assert folder.stat().st_mode & 0o777 == 0o700
        client, uri, _, log = await session(env, tmp_path, "second.log")
        await hover_and_diagnostics(client, uri)
        await client.shutdown_session()
        assert "forked by daemon" in log.read_text()
    finally:
        for pid in daemon_pids(cache):
            os.kill(pid, signal.SIGTERM)
        shutil.rmtree(cache, ignore_errors=True)


async def test_a_client_that_gives_up_is_never_served(runtime, tmp_path):
    """The handshake: a client that does not answer the child's "ok" with "go" (it timed out and
    serves in-process) must not find a second server reading its stdin."""
    import json
    import socket
    import struct

    folder, env = runtime
    client, _, _, _ = await session(env, tmp_path, "warmup.log")
    await client.shutdown_session()
    await wait_for(lambda: sockets(folder) and daemon_pids(folder))
    (path,) = sockets(folder)
    to_server_r, to_server_w = os.pipe()
    from_server_r, from_server_w = os.pipe()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(path))
    header = json.dumps({"cwd": str(tmp_path), "env": env, "argv": []}).encode()
    data = struct.pack("!I", len(header)) + header
    sent = socket.send_fds(sock, [data], [to_server_r, from_server_w, from_server_w])
    sock.sendall(data[sent:])
    sock.settimeout(10)
    assert sock.recv(2) == b"ok"
    sock.close()  # no "go"
    os.close(to_server_r)
    os.close(from_server_w)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                       "params": {"processId": None, "rootUri": None, "capabilities": {}}}).encode()
    try:
        os.write(to_server_w, b"Content-Length: %d\r\n\r\n" % len(body) + body)
    except BrokenPipeError:
        pass   # the child already closed its end of our stdin: nobody reads it, as it should be
    os.set_blocking(from_server_r, False)
    await asyncio.sleep(2)
    try:
        answer = os.read(from_server_r, 4096)
    except BlockingIOError:
        answer = None
    os.close(to_server_w)
    os.close(from_server_r)
    assert not answer  # b"" (every writer gone: the child exited) or nothing at all
