"""The server process over raw stdio: lifecycle (shutdown/exit/EOF), position encoding,
malformed messages. Written by hand, because a client library will not send them."""
from __future__ import annotations

from lsp_util import RawServer


def test_shutdown_exit_and_utf16_negotiation(tmp_path):
    srv = RawServer()
    try:
        init = srv.request("initialize", {
            "processId": None, "rootUri": tmp_path.as_uri(),
            # Neovim >= 0.10 offers utf-8 first; this server computes UTF-16 and must say so.
            "capabilities": {"general": {"positionEncodings": ["utf-8", "utf-32", "utf-16"]}}})
        assert init["result"]["capabilities"]["positionEncoding"] == "utf-16"
        srv.notify("initialized", {})
        # Params of the wrong shape, an unknown method: error responses, not a dead server.
        assert "error" in srv.request("textDocument/hover", {"textDocument": {"uri": "file:///x.py"}})
        assert srv.request("nntutor/unknown", [1, 2])["error"]["code"] == -32601
        srv.notify("textDocument/didOpen", {"textDocument": {"uri": "file:///x.py"}})   # malformed
        assert "result" in srv.request("textDocument/hover", {
            "textDocument": {"uri": "file:///x.py"}, "position": {"line": 0, "character": 0}})
        assert srv.request("shutdown")["result"] is None
        srv.notify("exit")
        assert srv.wait() == 0
    finally:
        srv.kill()

    srv = RawServer()              # exit without shutdown: exit code 1 (LSP spec)
    try:
        srv.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
        srv.notify("exit")
        assert srv.wait() == 1
    finally:
        srv.kill()

    srv = RawServer()              # the client dies: stdin closes, the server goes away
    try:
        srv.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
        srv.proc.stdin.close()
        srv.wait()
    finally:
        srv.kill()
