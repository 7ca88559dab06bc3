"""LSP 3.17 notebook sync as VS Code sends it: one text document per cell, joined in the server.

Diagnostics, hovers and code actions must speak cell URIs and cell-relative positions; flows
across cells (softmax in one cell, CrossEntropyLoss in another) must be seen; structure changes
(cells inserted, deleted) and closing must leave no stale diagnostics behind.
"""
from __future__ import annotations

import asyncio
import itertools

import pytest
from lsp_util import cleared, codes, server_errors, wait_diags, wait_for
from lsprotocol import types as lsp

from nntutor.document import Document
from nntutor.engine import analyze
from nntutor.notebook import Cell

pytestmark = pytest.mark.asyncio(loop_scope="module")  # one server per module

CODE, MARKUP = lsp.NotebookCellKind.Code, lsp.NotebookCellKind.Markup

CELL_SOFTMAX = """import torch
import torch.nn as nn
import torch.nn.functional as F

logits = model(x)
probs = F.softmax(logits, dim=1)
"""
CELL_LOSS = """%matplotlib inline
drop = nn.Dropout(0.3)
criterion = nn.CrossEntropyLoss()
loss = criterion(probs, y)
"""


class VSNotebook:
    """A notebook as VS Code syncs it: keeps the client-side model and sends the LSP messages."""

    _ids = itertools.count()

    def __init__(self, client, path):
        self.client = client
        self.uri = path.as_uri()
        self.path = str(path)
        self.version = 0
        self.cells: list[dict] = []   # {"uri", "kind", "text", "lang", "version"}

    def cell(self, text, kind=CODE, lang="python"):
        # VS Code's cell URIs: the notebook path with a fragment per cell.
        uri = f"vscode-notebook-cell:{self.path}#W{next(self._ids)}sZmlsZQ%3D%3D"
        return {"uri": uri, "kind": kind, "text": text, "lang": lang, "version": 1}

    def _item(self, c):
        return lsp.TextDocumentItem(uri=c["uri"], language_id=c["lang"], version=c["version"], text=c["text"])

    def open(self, *cells):
        self.cells = list(cells)
        self.client.notebook_document_did_open(lsp.DidOpenNotebookDocumentParams(
            notebook_document=lsp.NotebookDocument(
                uri=self.uri, notebook_type="jupyter-notebook", version=self.version,
                cells=[lsp.NotebookCell(kind=c["kind"], document=c["uri"]) for c in self.cells]),
            cell_text_documents=[self._item(c) for c in self.cells]))

    def _change(self, cells: lsp.NotebookDocumentCellChanges):
        self.version += 1
        self.client.notebook_document_did_change(lsp.DidChangeNotebookDocumentParams(
            notebook_document=lsp.VersionedNotebookDocumentIdentifier(version=self.version, uri=self.uri),
            change=lsp.NotebookDocumentChangeEvent(cells=cells)))

    def edit(self, i, start, end, text):
        """A text edit inside cell i; start/end are (line, character) in UTF-16 units."""
        c = self.cells[i]
        lines = c["text"].split("\n")

        def off(pos):
            line, ch = pos
            return sum(len(s) + 1 for s in lines[:line]) + ch  # ASCII-only test texts
        c["text"] = c["text"][:off(start)] + text + c["text"][off(end):]
        c["version"] += 1
        self._change(lsp.NotebookDocumentCellChanges(text_content=[lsp.NotebookDocumentCellContentChanges(
            document=lsp.VersionedTextDocumentIdentifier(uri=c["uri"], version=c["version"]),
            changes=[lsp.TextDocumentContentChangePartial(
                range=lsp.Range(lsp.Position(*start), lsp.Position(*end)), text=text)])]))

    def splice(self, start, delete, *new):
        """Structure change: delete `delete` cells at `start`, insert `new` there."""
        gone = self.cells[start:start + delete]
        self.cells[start:start + delete] = list(new)
        self._change(lsp.NotebookDocumentCellChanges(structure=lsp.NotebookDocumentCellChangeStructure(
            array=lsp.NotebookCellArrayChange(
                start=start, delete_count=delete,
                cells=[lsp.NotebookCell(kind=c["kind"], document=c["uri"]) for c in new] or None),
            did_open=[self._item(c) for c in new if c["kind"] == CODE] or None,
            did_close=[lsp.TextDocumentIdentifier(uri=c["uri"]) for c in gone] or None)))

    def close(self):
        self.client.notebook_document_did_close(lsp.DidCloseNotebookDocumentParams(
            notebook_document=lsp.NotebookDocumentIdentifier(uri=self.uri),
            cell_text_documents=[lsp.TextDocumentIdentifier(uri=c["uri"]) for c in self.cells]))

    def expected(self):
        """{cell uri: sorted (rule, line, col16)} from a from-scratch analysis of the code cells."""
        code = [c for c in self.cells if c["kind"] == CODE and c["lang"] == "python"]
        doc = Document.from_cells([Cell(index=i, source=c["text"]) for i, c in enumerate(code)], self.path)
        out = {c["uri"]: [] for c in code}
        for f in analyze(doc).findings:
            out[code[f.location.cell]["uri"]].append((f.rule, f.location.cell_line, f.location.column16))
        return {u: sorted(v) for u, v in out.items()}


def got(client, uri):
    return sorted((d.code, d.range.start.line, d.range.start.character) for d in client.diagnostics.get(uri, []))


async def wait_expected(client, nb: VSNotebook):
    want = nb.expected()
    await wait_for(lambda: all(uri in client.diagnostics and got(client, uri) == v for uri, v in want.items()))
    return want


async def test_cross_cell_softmax_then_cross_entropy(mclient, tmp_path):
    nb = VSNotebook(mclient, tmp_path / "nb.ipynb")
    c0, md, c2 = nb.cell(CELL_SOFTMAX), nb.cell("# Training\nsoftmax then loss", MARKUP, "markdown"), nb.cell(CELL_LOSS)
    nb.open(c0, md, c2)
    diags = await wait_diags(mclient, c0["uri"], lambda d: "double-softmax" in codes(d))
    d = next(x for x in diags if x.code == "double-softmax")
    # `F.softmax(logits, dim=1)` on line 5 of the first cell, columns 8..32
    assert (d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character) == (5, 8, 5, 32)
    # ... and the loss that applies softmax again is pointed at in the *other* cell
    (rel,) = d.related_information
    assert rel.location.uri == c2["uri"]
    assert rel.location.range.start.line == 3 and rel.location.range.start.character == 7
    await wait_diags(mclient, c2["uri"])
    assert "double-softmax" not in codes(mclient.diagnostics[c2["uri"]])
    assert md["uri"] not in mclient.diagnostics or cleared(mclient, md["uri"])
    assert got(mclient, c0["uri"]) == nb.expected()[c0["uri"]]
    assert not server_errors(mclient)


async def test_hover_in_a_cell(mclient, tmp_path):
    nb = VSNotebook(mclient, tmp_path / "h.ipynb")
    c0, md, c2 = nb.cell(CELL_SOFTMAX), nb.cell("# notes", MARKUP, "markdown"), nb.cell(CELL_LOSS)
    nb.open(c0, md, c2)
    hov = await mclient.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(c2["uri"]), lsp.Position(1, 11)))  # drop = nn.Dropout(0.3)
    assert hov is not None and "Dropout" in hov.contents.value and "30%" in hov.contents.value
    assert hov.range.start.line == 1 and hov.range.start.character == 7   # cell-relative
    assert hov.range.end == lsp.Position(1, 17)
    hov = await mclient.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(c2["uri"]), lsp.Position(2, 20)))  # nn.CrossEntropyLoss
    assert hov is not None and "logits" in hov.contents.value
    hov = await mclient.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(c0["uri"]), lsp.Position(5, 12)))  # F.softmax in the first cell
    assert hov is not None and hov.range.start == lsp.Position(5, 8)
    # Past the end of a cell: nothing (and never a hover from the next cell).
    # c0 has 6 lines; its line 8 would be line 1 of the next code cell in the joined source.
    for pos in (lsp.Position(6, 0), lsp.Position(8, 11), lsp.Position(40, 3), lsp.Position(10_000, 500)):
        hov = await mclient.text_document_hover_async(lsp.HoverParams(lsp.TextDocumentIdentifier(c0["uri"]), pos))
        assert hov is None
    # A markdown cell is not Python.
    assert await mclient.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(md["uri"]), lsp.Position(0, 3))) is None


async def test_code_actions_in_a_cell(mclient, tmp_path):
    nb = VSNotebook(mclient, tmp_path / "a.ipynb")
    # A cell above the buggy one so cell-relative and notebook-relative lines differ.
    c0, c1, c2 = nb.cell("import numpy as np\n\nnp.random.seed(0)\n"), nb.cell(CELL_SOFTMAX), nb.cell(CELL_LOSS)
    nb.open(c0, c1, c2)
    diags = await wait_diags(mclient, c1["uri"], lambda d: "double-softmax" in codes(d))
    d = next(x for x in diags if x.code == "double-softmax")
    actions = await mclient.text_document_code_action_async(lsp.CodeActionParams(
        lsp.TextDocumentIdentifier(c1["uri"]), d.range, lsp.CodeActionContext(diagnostics=[d])))
    fix = next(a for a in actions if "Remove" in a.title)
    assert list(fix.edit.changes) == [c1["uri"]]
    (edit,) = fix.edit.changes[c1["uri"]]
    assert edit.new_text == "logits"
    assert edit.range == lsp.Range(lsp.Position(5, 8), lsp.Position(5, 32))
    assert fix.diagnostics and fix.diagnostics[0].code == "double-softmax"
    sup = next(a for a in actions if "Suppress double-softmax" in a.title)
    (sedit,) = sup.edit.changes[c1["uri"]]
    line = CELL_SOFTMAX.splitlines()[5]
    assert sedit.range.start == lsp.Position(5, len(line)) and "ignore[double-softmax]" in sedit.new_text
    # Code actions asked for another cell never carry this cell's finding.
    other = await mclient.text_document_code_action_async(lsp.CodeActionParams(
        lsp.TextDocumentIdentifier(c2["uri"]), lsp.Range(lsp.Position(0, 0), lsp.Position(9, 0)),
        lsp.CodeActionContext(diagnostics=[])))
    assert not any("double-softmax" in a.title or "Remove" in a.title for a in other or [])
    # Applying the fix (as the editor would: a cell text edit) clears the diagnostic.
    nb.edit(1, (5, 8), (5, 32), "logits")
    await wait_diags(mclient, c1["uri"], lambda d: "double-softmax" not in codes(d))
    await wait_expected(mclient, nb)


async def test_structure_changes_insert_delete(mclient, tmp_path):
    nb = VSNotebook(mclient, tmp_path / "s.ipynb")
    c0, c1 = nb.cell(CELL_SOFTMAX), nb.cell(CELL_LOSS)
    nb.open(c0, c1)
    await wait_diags(mclient, c0["uri"], lambda d: "double-softmax" in codes(d))

    # Insert a markdown and a code cell at the top: cell-relative lines do not move.
    top, md = nb.cell("import os\nimport sys\n"), nb.cell("# Title", MARKUP, "markdown")
    nb.splice(0, 0, top, md)
    await wait_diags(mclient, top["uri"])
    want = await wait_expected(mclient, nb)
    assert ("double-softmax", 5, 8) in want[c0["uri"]]

    # Insert a code cell between softmax and loss that rebinds `probs` to logits: no bug.
    mid = nb.cell("probs = logits\n")
    nb.splice(3, 0, mid)
    await wait_diags(mclient, c0["uri"], lambda d: "double-softmax" not in codes(d))
    await wait_expected(mclient, nb)

    # Delete it again: the finding is back on the same cell and line.
    nb.splice(3, 1)
    await wait_diags(mclient, c0["uri"], lambda d: "double-softmax" in codes(d))
    await wait_expected(mclient, nb)

    # Delete the softmax cell: its diagnostics are cleared, none are left anywhere stale.
    mclient.diagnostics[c0["uri"]] = ["stale"]
    nb.splice(2, 1)
    await wait_for(lambda: cleared(mclient, c0["uri"]))
    await wait_expected(mclient, nb)
    # Hovers and code actions on the deleted cell's URI find nothing (and do not fail).
    assert await mclient.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(c0["uri"]), lsp.Position(5, 12))) is None
    assert not await mclient.text_document_code_action_async(lsp.CodeActionParams(
        lsp.TextDocumentIdentifier(c0["uri"]), lsp.Range(lsp.Position(5, 0), lsp.Position(5, 9)),
        lsp.CodeActionContext(diagnostics=[])))
    assert not server_errors(mclient)


async def test_cell_edits_keep_positions_and_close_clears(mclient, tmp_path):
    nb = VSNotebook(mclient, tmp_path / "e.ipynb")
    c0, c1 = nb.cell(CELL_SOFTMAX), nb.cell(CELL_LOSS)
    nb.open(c0, c1)
    await wait_diags(mclient, c0["uri"], lambda d: "double-softmax" in codes(d))
    # Three lines added at the top of the first cell: the finding moves down by three.
    nb.edit(0, (0, 0), (0, 0), "# setup\n# more\n# and more\n")
    await wait_diags(mclient, c0["uri"], lambda d: ("double-softmax", 8, 8) in got(mclient, c0["uri"]))
    await wait_expected(mclient, nb)
    # An edit in the second cell that breaks the flow, then one that restores it.
    nb.edit(1, (3, 17), (3, 22), "logits")
    await wait_diags(mclient, c0["uri"], lambda d: "double-softmax" not in codes(d))
    nb.edit(1, (3, 17), (3, 23), "probs")
    await wait_diags(mclient, c0["uri"], lambda d: "double-softmax" in codes(d))
    await wait_expected(mclient, nb)
    nb.close()
    await wait_for(lambda: cleared(mclient, c0["uri"]) and cleared(mclient, c1["uri"]))
    # Closed: nothing answers for its cells any more, and the server still works.
    assert await mclient.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(c1["uri"]), lsp.Position(1, 11))) is None
    nb2 = VSNotebook(mclient, tmp_path / "e2.ipynb")
    nb2.open(nb2.cell(CELL_SOFTMAX + CELL_LOSS.replace("%matplotlib inline\n", "")))
    await wait_diags(mclient, nb2.cells[0]["uri"], lambda d: "double-softmax" in codes(d))
    await asyncio.sleep(0.3)
    assert cleared(mclient, c0["uri"])   # nothing re-published for the closed notebook


async def test_comment_edit_in_another_cell_moves_the_related_location(mclient, tmp_path):
    """A comment line typed in the loss cell may be answered from the previous analysis
    (nntutor.incremental): the finding in the first cell stays, its related location (the loss
    call in the second cell) moves down a line, exactly as a from-scratch analysis gives."""
    nb = VSNotebook(mclient, tmp_path / "r.ipynb")
    c0, c1 = nb.cell(CELL_SOFTMAX), nb.cell(CELL_LOSS)
    nb.open(c0, c1)
    await wait_diags(mclient, c0["uri"], lambda d: "double-softmax" in codes(d))

    def related_line():
        d = next(x for x in mclient.diagnostics[c0["uri"]] if x.code == "double-softmax")
        (rel,) = d.related_information
        assert rel.location.uri == c1["uri"]
        return rel.location.range.start.line

    assert related_line() == 3
    nb.edit(1, (3, 0), (3, 0), "# the loss of this batch\n")
    await wait_for(lambda: related_line() == 4)
    await wait_expected(mclient, nb)
    nb.edit(1, (3, 0), (4, 0), "")
    await wait_for(lambda: related_line() == 3)
    await wait_expected(mclient, nb)
    assert not server_errors(mclient)


async def test_pull_diagnostics_for_a_cell(mpull_client, tmp_path):
    nb = VSNotebook(mpull_client, tmp_path / "p.ipynb")
    c0, c1 = nb.cell(CELL_SOFTMAX), nb.cell(CELL_LOSS)
    nb.open(c0, c1)
    report = await mpull_client.text_document_diagnostic_async(
        lsp.DocumentDiagnosticParams(lsp.TextDocumentIdentifier(c0["uri"])))
    d = next(i for i in report.items if i.code == "double-softmax")
    assert d.range.start == lsp.Position(5, 8)
    report = await mpull_client.text_document_diagnostic_async(
        lsp.DocumentDiagnosticParams(lsp.TextDocumentIdentifier(c1["uri"])))
    assert "double-softmax" not in codes(report.items)


async def test_fix_all_in_a_notebook_edits_each_cell(mclient, tmp_path):
    nb = VSNotebook(mclient, tmp_path / "fa.ipynb")
    c0 = nb.cell("%matplotlib inline\nimport torch\ndevice = torch.device('cuda')  # café\n")
    md = nb.cell("# Training", kind=MARKUP, lang="markdown")
    c1 = nb.cell("for x, y in loader:\n    loss = criterion(model(x.to(device)), y)\n"
                 "    loss.backward()\n    optimizer.step()\n")
    nb.open(c0, md, c1)
    await wait_diags(mclient, c1["uri"], lambda d: "missing-zero-grad" in codes(d))
    whole = lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
    (action,) = await mclient.text_document_code_action_async(lsp.CodeActionParams(
        lsp.TextDocumentIdentifier(c1["uri"]), whole, lsp.CodeActionContext(diagnostics=[], only=["source.fixAll"])))
    assert action.title == "nntutor: apply all 2 certain fixes"
    assert sorted(action.edit.changes) == sorted([c0["uri"], c1["uri"]])   # one edit per changed cell
    for i, c in ((0, c0), (2, c1)):
        (edit,) = action.edit.changes[c["uri"]]
        r = edit.range
        nb.edit(i, (r.start.line, r.start.character), (r.end.line, r.end.character), edit.new_text)
    assert nb.cells[0]["text"].startswith("%matplotlib inline\nimport torch\n")   # the magic kept
    assert "torch.cuda.is_available()" in nb.cells[0]["text"] and "# café" in nb.cells[0]["text"]
    assert "optimizer.zero_grad()" in nb.cells[2]["text"]
    want = await wait_expected(mclient, nb)
    assert not any(rule in ("missing-zero-grad", "hardcoded-cuda") for v in want.values() for rule, *_ in v)


async def test_merging_cells_into_the_same_text_republishes_per_cell(mclient, tmp_path):
    """Two cells merged at a blank line give the very same joined text as before (JupyterLab and
    VS Code join merged cells with a blank line): still a new version, whose findings land on the
    merged cell, not on the old cells' URIs and lines. Splitting it again goes back."""
    head = "import torch.nn as nn\nimport torch.nn.functional as F\ncriterion = nn.CrossEntropyLoss()"
    tail = "loss = criterion(F.softmax(out, dim=1), y)"
    nb = VSNotebook(mclient, tmp_path / "m.ipynb")
    a, b = nb.cell(head), nb.cell(tail)
    nb.open(a, b)
    want = await wait_expected(mclient, nb)
    assert [d[0] for d in want[b["uri"]]] == ["double-softmax"]
    merged = nb.cell(head + "\n\n" + tail)
    nb.splice(0, 2, merged)
    want = await wait_expected(mclient, nb)
    assert want[merged["uri"]] == [("double-softmax", 4, 17)]
    a2, b2 = nb.cell(head), nb.cell(tail)
    nb.splice(0, 1, a2, b2)
    want = await wait_expected(mclient, nb)
    assert [d[0] for d in want[b2["uri"]]] == ["double-softmax"]
    assert not server_errors(mclient)


async def test_a_half_typed_statement_in_one_cell_leaves_the_other_cells_alone(mclient, tmp_path):
    """`x = torch.zeros(` being typed at the end of the first cell: joined to the next cells, the
    open bracket would swallow them (their training loop's missing zero_grad vanished while the
    user typed). Jupyter runs cells on their own: the unfinished statement is left out."""
    nb = VSNotebook(mclient, tmp_path / "t.ipynb")
    head = nb.cell("import torch\nimport torch.nn as nn")
    loop = nb.cell("model = nn.Linear(4, 2)\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
                   "for x, y in loader:\n    loss = nn.functional.cross_entropy(model(x), y)\n"
                   "    loss.backward()\n    opt.step()")
    nb.open(head, loop)
    want = await wait_expected(mclient, nb)
    assert [d[:2] for d in want[loop["uri"]]] == [("missing-zero-grad", 5)]
    nb.edit(0, (1, 20), (1, 20), "\nx = torch.zeros(")
    want = await wait_expected(mclient, nb)
    assert [d[:2] for d in want[loop["uri"]]] == [("missing-zero-grad", 5)]
    nb.edit(0, (2, 16), (2, 16), "3)")     # finished: nothing is left out any more
    want = await wait_expected(mclient, nb)
    assert [d[:2] for d in want[loop["uri"]]] == [("missing-zero-grad", 5)]
    assert not server_errors(mclient)
