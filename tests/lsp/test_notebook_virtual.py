"""Notebooks as jupyterlab-lsp sends them: ONE plain text document (code cells joined by two blank
lines, IPython magics included), a full-text change on every edit, pushed diagnostics only."""
from __future__ import annotations

import pytest
from lsp_util import change, codes, open_doc, pos_of, server_errors, wait_diags
from lsprotocol import types as lsp

pytestmark = pytest.mark.asyncio(loop_scope="module")  # one server per module

SETUP = """%matplotlib inline
import torch
import torch.nn as nn
import torch.nn.functional as F
!pip install torch
probs = F.softmax(logits, dim=1)"""
BASH = """%%bash
for f in *.csv; do
  echo $f
done"""
# jupyterlab-lsp itself rewrites magics to Python when its IPython overrides are on.
REWRITTEN = """get_ipython().run_line_magic("time", " x = 1")
files = !ls
nn.Dropout?
drop = nn.Dropout(0.25)"""
LOSS = """criterion = nn.CrossEntropyLoss()
loss = criterion(probs, y)"""


def joined(*cells):
    return "\n\n\n".join(cells) + "\n"


def line_of(text, needle):
    return text[:text.index(needle)].count("\n")


async def test_virtual_document_diagnostics_on_the_right_lines(mclient, tmp_path):
    uri = (tmp_path / ".virtual_documents" / "nb.ipynb").as_uri()
    text = joined(SETUP, BASH, REWRITTEN, LOSS)
    open_doc(mclient, uri, text)
    diags = await wait_diags(mclient, uri, lambda d: "double-softmax" in codes(d))
    d = next(x for x in diags if x.code == "double-softmax")
    assert d.range.start == pos_of(text, "F.softmax")
    assert d.related_information[0].location.range.start == pos_of(text, "criterion(probs")
    assert not server_errors(mclient)

    # Hover works in the joined text (magics above the line do not shift columns).
    hov = await mclient.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri), pos_of(text, "Dropout(0.25)", delta=2)))
    assert hov is not None and "25%" in hov.contents.value
    assert hov.range.start == pos_of(text, "nn.Dropout(0.25)")

    # A new cell at the top (full text, as jupyterlab-lsp sends it): the finding moves down.
    text2 = joined("import numpy as np\nnp.random.seed(0)", SETUP, BASH, REWRITTEN, LOSS)
    change(mclient, uri, 2, text2)
    want = pos_of(text2, "F.softmax")
    assert want.line == d.range.start.line + 4
    await wait_diags(mclient, uri, lambda ds: any(x.code == "double-softmax" and x.range.start == want for x in ds))

    # The fix typed in the first cell: diagnostics go away.
    text3 = text2.replace("probs = F.softmax(logits, dim=1)", "probs = logits")
    change(mclient, uri, 3, text3)
    await wait_diags(mclient, uri, lambda ds: "double-softmax" not in codes(ds))


async def test_virtual_document_py_suffix_and_incremental_changes(mclient, tmp_path):
    # Some set-ups name the document nb.ipynb.py; some clients send ranges, not full texts.
    uri = (tmp_path / ".virtual_documents" / "nb.ipynb.py").as_uri()
    text = joined(LOSS.replace("probs", "logits"), SETUP)
    open_doc(mclient, uri, text)
    await wait_diags(mclient, uri)
    assert "double-softmax" not in codes(mclient.diagnostics[uri])
    # Append the loss cell again, using the softmax output this time (incremental insert at the end).
    end_line = text.count("\n")
    change(mclient, uri, 2, (end_line, 0, end_line, 0, "\n\n" + LOSS + "\n"))
    text2 = text + "\n\n" + LOSS + "\n"
    diags = await wait_diags(mclient, uri, lambda d: "double-softmax" in codes(d))
    d = next(x for x in diags if x.code == "double-softmax")
    assert d.range.start == pos_of(text2, "F.softmax")
    # A magic typed mid-document (incremental) is blanked, not parsed as Python.
    line = line_of(text2, "import torch.nn as nn")
    change(mclient, uri, 3, (line, 0, line, 0, "%load_ext autoreload\n"))
    text3 = text2.replace("import torch.nn as nn", "%load_ext autoreload\nimport torch.nn as nn")
    await wait_diags(mclient, uri, lambda ds: any(
        x.code == "double-softmax" and x.range.start == pos_of(text3, "F.softmax") for x in ds))
    assert not server_errors(mclient)


async def test_a_cell_ending_in_a_half_typed_statement_leaves_the_next_cells_alone(mclient, tmp_path):
    """`x = torch.zeros(` being typed at the end of a cell: in the joined text its open bracket
    would swallow the cells after it (their missing zero_grad vanished while the user typed).
    The statement is left out; the next cell is analysed as before."""
    uri = (tmp_path / ".virtual_documents" / "typing.ipynb").as_uri()
    head = "import torch\nimport torch.nn as nn"
    loop = ("model = nn.Linear(4, 2)\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
            "for x, y in loader:\n    loss = nn.functional.cross_entropy(model(x), y)\n"
            "    loss.backward()\n    opt.step()")
    text = joined(head, loop)
    open_doc(mclient, uri, text)
    step = pos_of(text, "opt.step()").line
    await wait_diags(mclient, uri, lambda d: [(x.code, x.range.start.line) for x in d] == [("missing-zero-grad", step)])
    typed = joined(head + "\nx = torch.zeros(", loop)
    change(mclient, uri, 2, typed)
    step = pos_of(typed, "opt.step()").line
    await wait_diags(mclient, uri, lambda d: [(x.code, x.range.start.line) for x in d] == [("missing-zero-grad", step)])
    assert not server_errors(mclient)
