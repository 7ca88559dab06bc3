"""`nntutor lsp --daemon`: a warm server process forks a ready language server per editor.

Why: nearly all of the server's start-up is importing pygls and lsprotocol (~570 attrs classes,
~450 ms on these machines), the same work on every start. The daemon does it once and stays in
the background. Each `nntutor lsp --daemon` the editor starts is a small *client* (this
module's `connect`): it sends its own stdin, stdout and stderr file descriptors over a Unix
socket (SCM_RIGHTS) with its working directory, environment and arguments. The daemon forks;
the child puts the descriptors in place of its own 0, 1 and 2 and runs the ordinary stdio
server (`server.run`). So the editor talks straight to the forked server through its own pipes:
nothing is proxied, and everything a stdio server does holds unchanged. The client waits on the
socket for the child's exit status and exits with it, so the editor sees one process that
lives as long as its server.

Safe by default:
* Opt-in (`--daemon`). Without the flag nothing changes.
* The first start finds no daemon: it starts one in the background and serves in-process, as
  without the flag; later starts are forked. Any problem (no AF_UNIX or fork, e.g. Windows; a
  stale or foreign socket; no answer within a second) falls back to serving in-process before
  anything is read from stdin, so no message is lost.
* One daemon per Python executable and version of nntutor's code (its key hashes the
  interpreter path and the modification times of the package), in `$XDG_RUNTIME_DIR/nntutor`
  (else `daemon/` in the user cache folder), a 0700 folder; it only serves connections from its own user
  (SO_PEERCRED). It exits after `NNTUTOR_DAEMON_IDLE_S` seconds (600 by default) without a
  live server, and when its socket file is removed or replaced.
"""
from __future__ import annotations

import json
import os
import socket
import struct
import sys

IDLE_S = 600.0
ENV_IDLE = "NNTUTOR_DAEMON_IDLE_S"
HANDSHAKE_S = 1.0   # the client's wait for the daemon's "ok" before serving in-process
# The handshake: the child says _OK when it is ready, and serves only once the client answers
# _GO. A client that gave up waiting (and serves in-process) closes instead: no two servers
# ever read the same stdin.
_OK = b"ok"
_GO = b"go"


# -- where -----------------------------------------------------------------------------------
def socket_path() -> str | None:
    """The daemon's socket for this interpreter and this version of the code: in
    $XDG_RUNTIME_DIR/nntutor, else `daemon/` in the user cache folder, else (a path too long for a Unix
    socket) a private folder in the temporary directory; None when even that is too long."""
    base = os.environ.get("XDG_RUNTIME_DIR", "")
    if not os.path.isabs(base):
        from .codecache import cache_dir

        folder = cache_dir()
        folder = os.path.join(folder, "daemon") if folder is not None else None
    else:
        folder = os.path.join(base, "nntutor")
    name = f"lsp-{_code_key()}.sock"
    path = os.path.join(folder, name) if folder is not None else None
    if path is None or len(path.encode()) >= 100:  # sun_path holds 108 bytes
        import tempfile

        path = os.path.join(tempfile.gettempdir(), f"nntutor-{os.getuid()}", name)
    return path if len(path.encode()) < 100 else None


def _code_key() -> str:
    """Interpreter + the files of nntutor, pygls and lsprotocol and their modification times: a
    changed install gets a new daemon (the old one times out)."""
    from .early import code_key

    return code_key()


def _private_folder(path: str) -> bool:
    """The socket's folder exists, is ours and only ours (made so when it is ours but open)."""
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        st = os.lstat(folder)
        if st.st_uid != os.getuid() or not os.path.isdir(folder) or os.path.islink(folder):
            return False
        if st.st_mode & 0o077:
            os.chmod(folder, 0o700)
    except OSError:
        return False
    return True


# -- the client: `nntutor lsp --daemon` ----------------------------------------------------------
def connect(argv: list[str]) -> int | None:
    """Have the daemon fork a server onto this process's stdio; its exit status, or None when
    the caller must serve in-process (nothing has been read from stdin then). Starts a daemon
    for next time when none answers."""
    if not hasattr(socket, "AF_UNIX") or not hasattr(os, "fork") or not hasattr(socket, "send_fds"):
        return None
    path = socket_path()
    if path is None or not _private_folder(path):
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        _spawn(path)
        return None
    try:
        header = json.dumps({"cwd": os.getcwd(), "env": dict(os.environ), "argv": argv}).encode()
        data = struct.pack("!I", len(header)) + header
        sent = socket.send_fds(sock, [data], [0, 1, 2])
        sock.sendall(data[sent:])  # a stream socket may take a big environment in parts
        sock.settimeout(HANDSHAKE_S)
        if _recv_exactly(sock, len(_OK)) != _OK:
            sock.close()  # the child waits for _GO and gives up without it: we serve in-process
            return None
        sock.settimeout(None)
        sock.sendall(_GO)  # from here on the forked server, and only it, reads our stdin
    except OSError:
        sock.close()
        return None
    # The forked server owns our stdio now: only wait for its exit status.
    try:
        status = _recv_exactly(sock, 1)
    except OSError:
        status = b""
    finally:
        sock.close()
    return status[0] if status else 1


def _spawn(path: str) -> None:
    """Start the daemon in the background, detached from this process and the editor."""
    import subprocess

    try:
        if os.path.lexists(path):
            os.unlink(path)  # a socket nobody listens on: its daemon is gone
        subprocess.Popen([sys.executable, "-m", "nntutor.lsp.daemon", path],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, close_fds=True)
    except OSError:
        pass


def _recv_exactly(sock, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


# -- the daemon ----------------------------------------------------------------------------------
def serve(path: str) -> None:
    """Import everything once, then fork a server per connection until idle."""
    from . import startup

    cache = startup.prepare()
    from . import server as server_module

    _warm(server_module)
    if cache is not None:
        cache.close()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = f"{path}.{os.getpid()}"
    listener.bind(tmp)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)  # atomically: a client never sees a half-made socket
    listener.listen(16)
    inode = os.stat(path).st_ino
    idle = float(os.environ.get(ENV_IDLE, IDLE_S))
    children: set[int] = set()
    listener.settimeout(min(idle, 5.0))
    quiet = 0.0
    while True:
        _reap(children)
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            quiet = 0.0 if children else quiet + listener.gettimeout()
            if quiet >= idle or not _still_ours(path, inode):
                break
            continue
        quiet = 0.0
        try:
            pid = _fork_server(conn, listener)
        except Exception:  # a bad connection must not end the daemon
            pid = None
        if pid:
            children.add(pid)
        conn.close()
    listener.close()
    if _still_ours(path, inode):
        os.unlink(path)


def _warm(server_module) -> None:
    """What every server needs early, done before forking: the content catalog, the rules and
    the parser (so a fork only pays for its own documents)."""
    from ..content import catalog
    from ..document import Document
    from ..engine import analyze

    catalog()
    analyze(Document.from_text("import torch.nn as nn\nm = nn.Dropout(0.5)\n", "warm.py"))
    try:
        _warm_converter(server_module.server)
    except Exception:  # only a head start: the servers build what is missing themselves
        pass


def _warm_converter(server) -> None:
    """cattrs builds a (de)serialiser per message class on first use; build those of the
    first exchange here (initialize in, this server's capabilities out, a hover, diagnostics),
    without touching the server's state: the forked servers start from a clean one."""
    from lsprotocol import types as lsp
    from pygls.capabilities import ServerCapabilitiesBuilder

    protocol = server.protocol
    conv = protocol._converter
    fm = protocol.fm
    conv.structure({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                    "params": {"processId": None, "rootUri": None, "capabilities": {
                        "textDocument": {"hover": {"contentFormat": ["markdown", "plaintext"]},
                                         "publishDiagnostics": {"relatedInformation": True},
                                         "codeAction": {"codeActionLiteralSupport": {
                                             "codeActionKind": {"valueSet": ["quickfix"]}}}},
                        "workspace": {"configuration": True}, "general": {"positionEncodings": ["utf-16"]}},
                        "initializationOptions": {}}}, lsp.InitializeRequest)
    capabilities = ServerCapabilitiesBuilder(
        lsp.ClientCapabilities(), set({**fm.features, **fm.builtin_features}.keys()), fm.feature_options,
        list(fm.commands.keys()), server._text_document_sync_kind, server._notebook_document_sync,
        lsp.PositionEncodingKind.Utf16).build()
    conv.unstructure(lsp.InitializeResponse(id=0, result=lsp.InitializeResult(
        capabilities=capabilities, server_info=protocol.server_info)))
    conv.structure({"jsonrpc": "2.0", "id": 1, "method": "textDocument/hover", "params": {
        "textDocument": {"uri": "file:///w.py"}, "position": {"line": 0, "character": 0}}}, lsp.HoverRequest)
    conv.unstructure(lsp.PublishDiagnosticsNotification(params=lsp.PublishDiagnosticsParams(
        uri="file:///w.py", diagnostics=[lsp.Diagnostic(
            range=lsp.Range(lsp.Position(0, 0), lsp.Position(0, 1)), message="m", code="c",
            code_description=lsp.CodeDescription(href="https://x"),
            severity=lsp.DiagnosticSeverity.Warning, related_information=[
                lsp.DiagnosticRelatedInformation(lsp.Location("file:///w.py", lsp.Range(
                    lsp.Position(0, 0), lsp.Position(0, 1))), "r")])])))


def _fork_server(conn, listener) -> int | None:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    if uid != os.getuid():
        return None
    conn.settimeout(HANDSHAKE_S)
    raw, fds, _flags, _addr = socket.recv_fds(conn, 4, 3)
    if len(raw) < 4 or len(fds) != 3:
        for fd in fds:
            os.close(fd)
        return None
    size = struct.unpack("!I", raw[:4])[0]
    header = json.loads(raw[4:] + _recv_exactly(conn, size - len(raw) + 4))
    conn.settimeout(None)
    pid = os.fork()
    if pid:
        for fd in fds:
            os.close(fd)
        return pid
    # -- the child: become the editor's stdio server
    status = 1
    try:
        listener.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(header["cwd"])
        os.environ.clear()
        os.environ.update(header["env"])
        conn.sendall(_OK)
        conn.settimeout(10 * HANDSHAKE_S)
        if _recv_exactly(conn, len(_GO)) != _GO:
            os._exit(1)  # the client serves in-process: leave its stdio alone
        conn.settimeout(None)
        status = _run_child(header["argv"])
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        status = 1
    finally:
        try:
            conn.sendall(bytes([status & 0xFF]))
        except OSError:
            pass
        os._exit(status & 0xFF)


def _run_child(argv: list[str]) -> int:
    import argparse
    import logging
    from pathlib import Path

    from .server import run

    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--log-file", type=Path)
    args, _ = parser.parse_known_args(argv)
    # Fresh streams on the new descriptors 0, 1, 2 (the inherited objects wrap the daemon's).
    sys.stdin = open(0, "r", closefd=False)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    logging.getLogger().handlers.clear()
    run(log_file=args.log_file, code_cache=None,
        started_by=f"forked by daemon {os.getppid()}: server {os.getpid()}")
    return 0


def _reap(children: set[int]) -> None:
    for pid in list(children):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            children.discard(pid)


def _still_ours(path: str, inode: int) -> bool:
    try:
        return os.stat(path).st_ino == inode
    except OSError:
        return False


if __name__ == "__main__":
    serve(sys.argv[1])
