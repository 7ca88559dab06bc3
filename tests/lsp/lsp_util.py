"""Helpers shared by the end-to-end LSP tests (not a test module)."""
from __future__ import annotations

import asyncio
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp

from nntutor.engine import analyze_text

TORCH_SRC = """import torch
import torch.nn as nn
import torch.nn.functional as F

drop = nn.Dropout(0.5)
criterion = nn.CrossEntropyLoss()
probs = F.softmax(logits, dim=1)
loss = criterion(probs, y)
"""


# Cross-file facts: a model file whose forward may end in a softmax, and a training file that
# feeds the model's output to CrossEntropyLoss (double-softmax, reported in the training file).
MODELS_PLAIN = """import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(x)
"""
MODELS_SOFTMAX = MODELS_PLAIN.replace("return self.fc(x)", "return self.fc(x).softmax(dim=1)")
TRAIN_WITH_NET = """import torch.nn as nn
from models import Net

model = Net()
criterion = nn.CrossEntropyLoss()
loss = criterion(model(x), y)
"""

def open_doc(client, uri, text, version=1, language_id="python"):
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        lsp.TextDocumentItem(uri=uri, language_id=language_id, version=version, text=text)))


def change(client, uri, version, *changes):
    """Incremental changes: each (start_line, start_char, end_line, end_char, text) or a full text."""
    events = []
    for c in changes:
        if isinstance(c, str):
            events.append(lsp.TextDocumentContentChangeWholeDocument(text=c))
        else:
            sl, sc, el, ec, text = c
            events.append(lsp.TextDocumentContentChangePartial(
                range=lsp.Range(lsp.Position(sl, sc), lsp.Position(el, ec)), text=text))
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        lsp.VersionedTextDocumentIdentifier(uri=uri, version=version), events))


async def wait_for(predicate, timeout=15.0, interval=0.02):
    """Poll `predicate()` until it returns something other than None/False; return that."""
    async def poll():
        while True:
            value = predicate()
            if value is not None and value is not False:
                return value
            await asyncio.sleep(interval)
    return await asyncio.wait_for(poll(), timeout)


def cleared(client, uri) -> bool:
    """An empty diagnostics list was the last thing published for `uri`."""
    return uri in client.diagnostics and len(client.diagnostics[uri]) == 0


async def wait_diags(client, uri, predicate=lambda d: True, timeout=15.0):
    def check():
        diags = client.diagnostics.get(uri)
        return diags if diags is not None and predicate(diags) else None
    return await wait_for(check, timeout)


async def wait_published(client, uri, version, timeout=15.0):
    """The recorded publishDiagnostics for `uri` at `version` (needs the `rclient` fixture)."""
    def check():
        for p in reversed(client.published):
            if p.uri == uri and p.version == version:
                return p
        return None
    return await wait_for(check, timeout)


async def settle(client, quiet=0.4, timeout=15.0):
    """Wait until no publishDiagnostics has arrived for `quiet` seconds (recording client)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    seen, last = len(client.published), loop.time()
    while loop.time() < end:
        await asyncio.sleep(0.05)
        if len(client.published) != seen:
            seen, last = len(client.published), loop.time()
        elif loop.time() - last >= quiet:
            return
    raise TimeoutError("diagnostics never settled")


def key(d: lsp.Diagnostic):
    r = d.range
    return (d.code, r.start.line, r.start.character, r.end.line, r.end.character, d.message, int(d.severity))


def path_of(uri: str) -> str:
    return unquote(urlparse(uri).path)


def expected_keys(text: str, uri: str, config=None):
    """What a from-scratch analysis of `text` gives, as comparable diagnostic keys."""
    from nntutor.lsp.convert import diagnostic

    result = analyze_text(text, path_of(uri), config)
    return sorted(key(diagnostic(f, lambda loc: uri)) for f in result.findings)


def pos_of(text: str, needle: str, nth: int = 0, delta: int = 0) -> lsp.Position:
    """LSP position (UTF-16) of the nth occurrence of `needle` in `text`, plus `delta` units."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(needle, start + 1)
    line = text.count("\n", 0, start)
    col = start - (text.rfind("\n", 0, start) + 1)
    prefix = text[start - col:start]
    return lsp.Position(line, len(prefix.encode("utf-16-le")) // 2 + delta)


def server_errors(client):
    """'Error in server' popups pygls shows for failed notifications."""
    return [m.message for m in client.messages if "Error" in m.message]


def codes(diags):
    return {d.code for d in diags}


class RawServer:
    """`nntutor lsp` driven by hand over its stdio (JSON-RPC framing written here), for what
    a client library will not do: exit without shutdown, odd initialize params, EOF."""

    def __init__(self, env=None, args=(), cwd=None):
        """`env`: variables to set for the server on top of this process's environment."""
        import json
        import os
        import queue
        import subprocess
        import sys
        import threading

        self._json = json
        self.proc = subprocess.Popen([sys.executable, "-m", "nntutor", "lsp", *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env={**os.environ, **env} if env else None, cwd=cwd)
        self.inbox: queue.Queue = queue.Queue()
        self.seen: list = []
        self._next = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            self.inbox.put(self._json.loads(out.read(length)))

    def send(self, method, params=None, request=True):
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        if request:
            self._next += 1
            msg["id"] = self._next
        body = self._json.dumps(msg).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()
        return msg.get("id")

    def response(self, msg_id, timeout=20.0):
        import time

        end = time.monotonic() + timeout
        while True:
            msg = self.inbox.get(timeout=max(0.01, end - time.monotonic()))
            if msg.get("id") == msg_id and "method" not in msg:
                return msg
            self.seen.append(msg)   # notifications and other answers, for whoever looks later

    def request(self, method, params=None, timeout=20.0):
        return self.response(self.send(method, params), timeout)

    def notify(self, method, params=None):
        self.send(method, params, request=False)

    def wait(self, timeout=20.0):
        return self.proc.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass


def utf16_offset(text: str, line: int, character: int) -> int:
    """Index into `text` of an LSP position, clamped as the LSP spec says (a character past the
    line end means the line end; a line past the end means the end of the text). A position
    inside a surrogate pair moves past that character. Lines end at \n (a lone \r is no break
    here, nor in the server)."""
    starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    if line >= len(starts):
        return len(text)
    start = starts[line]
    end = starts[line + 1] - 1 if line + 1 < len(starts) else len(text)
    if end > start and text[end - 1] == "\r":   # CRLF: a line ends before its \r
        end -= 1
    units = 0
    i = start
    while i < end and units < character:
        units += 2 if ord(text[i]) > 0xFFFF else 1
        i += 1
    return i


def apply_change(text: str, sl: int, sc: int, el: int, ec: int, new: str) -> str:
    a, b = utf16_offset(text, sl, sc), utf16_offset(text, el, ec)
    a, b = min(a, b), max(a, b)
    return text[:a] + new + text[b:]


def utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def expected_hover(text: str, uri: str, line: int, character: int):
    """The hover markdown a from-scratch document gives at an LSP position (None: no hover)."""
    from nntutor.content import catalog
    from nntutor.document import Document
    from nntutor.hover import hover_view, render, target_at
    from nntutor.lsp.convert import DOCS_BASE

    doc = Document.from_text(text, path_of(uri))
    if line >= doc.index.line_count:
        return None
    offset = doc.index.offset_of_utf16(line, character)
    view = hover_view(doc, offset)
    target = target_at(view, catalog(), offset)
    return None if target is None else render(catalog(), target, view, DOCS_BASE)


class CheckedDoc:
    """An open document edited by LSP range changes; each edit waits for that version's
    published diagnostics (recording client) and checks them against a from-scratch analysis."""

    def __init__(self, client, path, text):
        self.client, self.uri, self.text, self.version = client, path.as_uri(), text, 1
        open_doc(client, self.uri, text)

    def line_of(self, needle: str) -> int:
        return self.text[:self.text.index(needle)].count("\n")

    async def edit(self, sl, sc, el, ec, new, timeout=30):
        lines = self.text.split("\n")
        a = sum(len(x) + 1 for x in lines[:sl]) + sc
        b = sum(len(x) + 1 for x in lines[:el]) + ec
        self.text = self.text[:a] + new + self.text[b:]
        self.version += 1
        change(self.client, self.uri, self.version, (sl, sc, el, ec, new))
        published = await wait_published(self.client, self.uri, self.version, timeout=timeout)
        assert sorted(key(d) for d in published.diagnostics) == expected_keys(self.text, self.uri)
        return published.diagnostics

    async def replace(self, old: str, new: str, nth: int = 0, timeout=30):
        """`edit` of the nth occurrence of `old`."""
        at = -1
        for _ in range(nth + 1):
            at = self.text.index(old, at + 1)
        before, span = self.text[:at], self.text[:at + len(old)]
        sl, sc = before.count("\n"), len(before) - (before.rfind("\n") + 1)
        el, ec = span.count("\n"), len(span) - (span.rfind("\n") + 1)
        return await self.edit(sl, sc, el, ec, new, timeout)
