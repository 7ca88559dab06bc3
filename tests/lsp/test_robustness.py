"""Bad input, odd timing, big files, protocol corners: the server answers and keeps working."""
from __future__ import annotations

import asyncio
import random
import time

import pytest
from lsp_util import (
    TORCH_SRC,
    apply_change,
    change,
    cleared,
    codes,
    expected_hover,
    expected_keys,
    key,
    open_doc,
    pos_of,
    server_errors,
    utf16_len,
    wait_diags,
    wait_for,
    wait_published,
)
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

pytestmark = pytest.mark.asyncio(loop_scope="module")  # one server per module

def hover_params(uri, line, character):
    return lsp.HoverParams(lsp.TextDocumentIdentifier(uri), lsp.Position(line, character))


UNICODE_SRC = """import torch.nn as nn
import torch.nn.functional as F
s = "héllo wörld 😀"; drop = nn.Dropout(0.2)
t = "𝔘𝔫𝔦"; probs = F.softmax(logits, dim=1)  # ünïcode
criterion = nn.CrossEntropyLoss()
loss = criterion(probs, y)
"""


async def test_positions_past_the_end_and_invalid_utf16(mclient, tmp_path):
    uri = (tmp_path / "u.py").as_uri()
    text = UNICODE_SRC
    open_doc(mclient, uri, text)
    diags = await wait_diags(mclient, uri, lambda d: "double-softmax" in codes(d))
    d = next(x for x in diags if x.code == "double-softmax")
    assert d.range.start == pos_of(text, "F.softmax")           # UTF-16 columns after astral chars
    assert d.range.start.character == utf16_len('t = "𝔘𝔫𝔦"; probs = ')

    hov = await mclient.text_document_hover_async(hover_params(uri, 2, pos_of(text, "Dropout").character + 1))
    assert hov is not None and "20%" in hov.contents.value
    assert hov.range.start == pos_of(text, "nn.Dropout")

    # Past the end of the text, past the end of a line, inside a surrogate pair: no error.
    emoji = pos_of(text, "😀")
    for pos in [(10_000, 500), (10_000, 0), (6, 0), (2, 500), (3, 500), (emoji.line, emoji.character + 1),
                (3, pos_of(text, "𝔫").character + 1)]:
        await mclient.text_document_hover_async(hover_params(uri, *pos))
    assert await mclient.text_document_hover_async(hover_params(uri, 10_000, 500)) is None
    actions = await mclient.text_document_code_action_async(lsp.CodeActionParams(
        lsp.TextDocumentIdentifier(uri), lsp.Range(lsp.Position(9_000, 0), lsp.Position(10_000, 500)),
        lsp.CodeActionContext(diagnostics=[])))
    assert not actions

    # Edits at invalid offsets are clamped (LSP: a character past the line end is the line end),
    # never corrupting the text: the server's diagnostics equal a from-scratch analysis.
    edits = [
        (emoji.line, emoji.character + 1, emoji.line, emoji.character + 1, "é"),     # mid surrogate pair
        (3, 500, 3, 500, "  # ç"),                                                   # past the line end
        (4, 0, 4, 0, "x = 'ü'\n"),
        (10_000, 0, 10_000, 9, "\nz = nn.Dropout(0.9)\n"),                           # past the end
    ]
    for version, e in enumerate(edits, start=2):
        change(mclient, uri, version, e)
        text = apply_change(text, *e)
    want = expected_keys(text, uri)
    await wait_for(lambda: sorted(key(x) for x in mclient.diagnostics.get(uri, ())) == want or None)
    # ... and hovers land where the client thinks they are.
    hov = await mclient.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri), pos_of(text, "Dropout(0.9)", delta=1)))
    assert hov is not None and "90%" in hov.contents.value
    assert not server_errors(mclient)


async def test_unknown_methods_malformed_params_and_cancel(mclient, tmp_path):
    uri = (tmp_path / "x.py").as_uri()
    open_doc(mclient, uri, TORCH_SRC)
    with pytest.raises(JsonRpcException) as err:
        await mclient.protocol.send_request_async("nntutor/unknown", {"x": 1})
    assert err.value.code == -32601                       # MethodNotFound
    mclient.protocol.notify("nntutor/unknownNotification", {"x": 1})
    mclient.protocol.notify("$/cancelRequest", lsp.CancelParams(id=987654))    # unknown id: ignored
    mclient.protocol.notify("$/setTrace", lsp.SetTraceParams(value=lsp.TraceValue.Off))
    # Documents the server never saw.
    ghost = (tmp_path / "ghost.py").as_uri()
    assert await mclient.text_document_hover_async(hover_params(ghost, 0, 0)) is None
    change(mclient, ghost, 2, (0, 0, 0, 0, "x"))
    mclient.text_document_did_close(lsp.DidCloseTextDocumentParams(lsp.TextDocumentIdentifier(ghost)))

    # Requests cancelled right after sending: each still gets an answer (a result or
    # RequestCancelled), none hangs, and the server keeps working.
    futures = []
    for i in range(15):
        fut = mclient.text_document_hover_async(hover_params(uri, 4, 10 + i % 3))
        futures.append(fut)
    for msg_id in list(mclient.protocol._request_futures):
        mclient.protocol.notify("$/cancelRequest", lsp.CancelParams(id=msg_id))
    done = await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), 20)
    for r in done:
        assert r is None or isinstance(r, lsp.Hover) or (isinstance(r, JsonRpcException) and r.code == -32800), r
    hov = await mclient.text_document_hover_async(hover_params(uri, 4, 11))
    assert hov is not None and "Dropout" in hov.contents.value
    await wait_diags(mclient, uri, lambda d: "double-softmax" in codes(d))
    assert not server_errors(mclient)


def _edits(text: str, rng: random.Random):
    """A random edit at a random (valid or slightly invalid) position: (sl, sc, el, ec, new)."""
    lines = text.split("\n")
    sl = rng.randrange(len(lines) + 1)
    sc = rng.randrange(len(lines[sl]) + 3) if sl < len(lines) else rng.randrange(5)
    if rng.random() < 0.5:
        el, ec = sl, sc
    else:
        el = min(len(lines), sl + rng.randrange(3))
        ec = rng.randrange(len(lines[el]) + 3) if el < len(lines) else 0
    new = rng.choice(["", "x", "\n", "probs = F.softmax(logits, dim=1)\n", "loss = criterion(probs, y)\n",
                      "# ü😀\n", "nn.Dropout(0.1)", "(", "'", "def f():\n    ", "import torch.nn.functional as F\n"])
    return sl, sc, el, ec, new


async def test_burst_of_changes_publishes_the_last_version(mclient, tmp_path):
    """Many didChange sent at once (mostly while a pass is pending or running): every publish
    matches a from-scratch analysis of the text at the version it carries, and the last one
    carries the last version."""
    uri = (tmp_path / "burst.py").as_uri()
    # Long enough that one analysis pass takes a while, so edits land while it runs.
    text = TORCH_SRC + "".join(f"layer{i} = nn.Linear({i + 1}, {i + 2})\n" for i in range(1500))
    open_doc(mclient, uri, text)
    texts = {1: text}
    rng = random.Random(20240611)
    version = 1
    for burst in range(3):
        for _ in range(15):
            version += 1
            e = _edits(text, rng)
            change(mclient, uri, version, e)
            text = apply_change(text, *e)
            texts[version] = text
        await asyncio.sleep(0.15 * burst)    # let some passes start mid-burst
    last = await wait_published(mclient, uri, version, timeout=30)
    assert sorted(key(d) for d in last.diagnostics) == expected_keys(text, uri)
    await asyncio.sleep(0.5)
    mine = [p for p in mclient.published if p.uri == uri]
    assert mine[-1].version == version                   # nothing older published after it
    for p in mine:
        assert p.version in texts
        assert sorted(key(d) for d in p.diagnostics) == expected_keys(texts[p.version], uri), p.version
    versions = [p.version for p in mine]
    assert versions == sorted(versions)                   # never an older version after a newer one
    for pos in (pos_of(text, "Dropout") if "Dropout" in text else lsp.Position(4, 11), lsp.Position(1400, 12)):
        hov = await mclient.text_document_hover_async(lsp.HoverParams(lsp.TextDocumentIdentifier(uri), pos))
        assert (hov.contents.value if hov else None) == expected_hover(text, uri, pos.line, pos.character)


async def test_50k_line_file(mclient, tmp_path):
    uri = (tmp_path / "big.py").as_uri()
    body = "".join(f"layer{i} = nn.Linear({i % 97 + 1}, {i % 89 + 1})\n" for i in range(50_000 - 8))
    text = TORCH_SRC + body
    assert text.count("\n") == 50_000
    t0 = time.monotonic()
    open_doc(mclient, uri, text)
    hov = await asyncio.wait_for(mclient.text_document_hover_async(hover_params(uri, 4, 11)), 20)
    t_hover = time.monotonic() - t0
    assert hov is not None and "Dropout" in hov.contents.value
    await wait_diags(mclient, uri, lambda d: "double-softmax" in codes(d), timeout=60)
    t_diags = time.monotonic() - t0
    # An edit near the end: fix the softmax at the top and add the bug at the bottom.
    t1 = time.monotonic()
    change(mclient, uri, 2, (6, 8, 6, 32, "logits"),
           (49_999, 0, 49_999, 0, "p2 = F.softmax(z, dim=1)\nl2 = criterion(p2, y)\n"))
    hov = await asyncio.wait_for(mclient.text_document_hover_async(hover_params(uri, 49_998, 18)), 20)
    t_hover2 = time.monotonic() - t1
    assert hov is not None and "Linear" in hov.contents.value
    diags = await wait_diags(mclient, uri, lambda d: any(
        x.code == "double-softmax" and x.range.start.line == 49_999 for x in d), timeout=60)
    t_diags2 = time.monotonic() - t1
    assert not any(x.code == "double-softmax" and x.range.start.line == 6 for x in diags)
    print(f"\n50k lines: hover after open {t_hover:.2f}s, diagnostics {t_diags:.2f}s; "
          f"after change: hover {t_hover2:.2f}s, diagnostics {t_diags2:.2f}s")


async def test_corrupt_notebooks(mclient, tmp_path):
    nb_uri = (tmp_path / "bad.ipynb").as_uri()
    cell = lambda n: f"vscode-notebook-cell:{tmp_path}/bad.ipynb#C{n}"
    (tmp_path / "bad.ipynb").write_text('{"cells": [{"cell_type": "code", "source": "import os"}]}')
    softmax = "import torch.nn as nn\nimport torch.nn.functional as F\nprobs = F.softmax(logits, dim=1)\n"
    loss = "criterion = nn.CrossEntropyLoss()\nloss = criterion(probs, y)\n"
    r_code = "library(torch)\nx <- nn_softmax(dim = 2)\nprobs = F.softmax(logits, dim=1)\n"
    mclient.notebook_document_did_open(lsp.DidOpenNotebookDocumentParams(
        notebook_document=lsp.NotebookDocument(uri=nb_uri, notebook_type="jupyter-notebook", version=0, cells=[
            lsp.NotebookCell(kind=lsp.NotebookCellKind.Code, document=cell(0)),
            lsp.NotebookCell(kind=lsp.NotebookCellKind.Code, document=cell(1)),   # no text document sent
            lsp.NotebookCell(kind=lsp.NotebookCellKind.Code, document=cell(2)),   # an R cell
            lsp.NotebookCell(kind=lsp.NotebookCellKind.Code, document=cell(3))]),
        cell_text_documents=[
            lsp.TextDocumentItem(uri=cell(0), language_id="python", version=1, text=softmax),
            lsp.TextDocumentItem(uri=cell(2), language_id="r", version=1, text=r_code),
            lsp.TextDocumentItem(uri=cell(3), language_id="python", version=1, text=loss)]))
    diags = await wait_diags(mclient, cell(0), lambda d: "double-softmax" in codes(d))
    assert next(x for x in diags if x.code == "double-softmax").related_information[0].location.uri == cell(3)
    await wait_diags(mclient, cell(3))
    assert cell(1) not in mclient.diagnostics and cell(2) not in mclient.diagnostics
    assert await mclient.text_document_hover_async(hover_params(cell(1), 0, 0)) is None
    assert await mclient.text_document_hover_async(hover_params(cell(2), 2, 10)) is None

    # One change naming an unknown cell and a real one: the real edit still applies.
    mclient.notebook_document_did_change(lsp.DidChangeNotebookDocumentParams(
        notebook_document=lsp.VersionedNotebookDocumentIdentifier(version=1, uri=nb_uri),
        change=lsp.NotebookDocumentChangeEvent(cells=lsp.NotebookDocumentCellChanges(text_content=[
            lsp.NotebookDocumentCellContentChanges(
                document=lsp.VersionedTextDocumentIdentifier(uri=cell(9), version=2),
                changes=[lsp.TextDocumentContentChangeWholeDocument(text="garbage(")]),
            lsp.NotebookDocumentCellContentChanges(
                document=lsp.VersionedTextDocumentIdentifier(uri=cell(0), version=2),
                changes=[lsp.TextDocumentContentChangePartial(
                    range=lsp.Range(lsp.Position(2, 8), lsp.Position(2, 32)), text="logits")])]))))
    await wait_diags(mclient, cell(0), lambda d: "double-softmax" not in codes(d))
    # A structure change with an out-of-range start and a change for a notebook never opened.
    mclient.notebook_document_did_change(lsp.DidChangeNotebookDocumentParams(
        notebook_document=lsp.VersionedNotebookDocumentIdentifier(version=2, uri=nb_uri),
        change=lsp.NotebookDocumentChangeEvent(cells=lsp.NotebookDocumentCellChanges(
            structure=lsp.NotebookDocumentCellChangeStructure(
                array=lsp.NotebookCellArrayChange(start=99, delete_count=5, cells=[
                    lsp.NotebookCell(kind=lsp.NotebookCellKind.Code, document=cell(4))]),
                did_open=[lsp.TextDocumentItem(uri=cell(4), language_id="python", version=1,
                                               text="probs = F.softmax(logits, dim=1)\nloss = criterion(probs, y)\n")])))))
    mclient.notebook_document_did_change(lsp.DidChangeNotebookDocumentParams(
        notebook_document=lsp.VersionedNotebookDocumentIdentifier(version=1, uri=(tmp_path / "none.ipynb").as_uri()),
        change=lsp.NotebookDocumentChangeEvent(cells=lsp.NotebookDocumentCellChanges(
            structure=lsp.NotebookDocumentCellChangeStructure(
                array=lsp.NotebookCellArrayChange(start=0, delete_count=1))))))
    await wait_diags(mclient, cell(4), lambda d: "double-softmax" in codes(d))
    mclient.notebook_document_did_close(lsp.DidCloseNotebookDocumentParams(
        notebook_document=lsp.NotebookDocumentIdentifier(uri=nb_uri),
        cell_text_documents=[lsp.TextDocumentIdentifier(uri=cell(i)) for i in range(5)]))
    await wait_for(lambda: cleared(mclient, cell(4)))
    assert not server_errors(mclient), server_errors(mclient)


TRAIN_LOOP = """import torch
import torch.nn as nn

model = nn.Linear(4, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.1)


def train(loader):
    for x, y in loader:
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
"""


async def test_a_half_typed_line_keeps_the_diagnostics_after_it(mclient, tmp_path):
    """Typing `d = nn.Dropout(0.3, ` at the top of the loop body: tree-sitter's recovery would
    swallow the rest of the loop into one error, and the missing zero_grad below would vanish
    while the line is typed. The statement is left out; hovers work on it and after it."""
    uri = (tmp_path / "typing.py").as_uri()
    open_doc(mclient, uri, TRAIN_LOOP)
    first = await wait_published(mclient, uri, 1)
    assert [(d.code, d.range.start.line) for d in first.diagnostics] == [("missing-zero-grad", 11)]
    typed = "        d = nn.Dropout(0.3, \n"
    change(mclient, uri, 2, (9, 0, 9, 0, typed))
    text = apply_change(TRAIN_LOOP, 9, 0, 9, 0, typed)
    second = await wait_published(mclient, uri, 2)
    assert sorted(key(d) for d in second.diagnostics) == expected_keys(text, uri)
    assert [(d.code, d.range.start.line) for d in second.diagnostics] == [("missing-zero-grad", 12)]
    for pos in (pos_of(text, "Dropout"), pos_of(text, "cross_entropy")):
        hov = await mclient.text_document_hover_async(lsp.HoverParams(lsp.TextDocumentIdentifier(uri), pos))
        assert hov is not None
        assert hov.contents.value == expected_hover(text, uri, pos.line, pos.character)
    assert not server_errors(mclient)
