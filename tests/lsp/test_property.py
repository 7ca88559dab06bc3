"""Property: whatever sequence of incremental edits reaches ONE running server, what it answers
for the final version equals a from-scratch analysis of the final text.

Edits are inserts, deletes and replacements of realistic ML code fragments (and broken bits:
lone brackets, quotes, non-ASCII, astral characters) at random UTF-16 positions, some past a
line's end or inside a surrogate pair (clamped as the LSP spec says).
"""
from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsp_util import (
    TORCH_SRC,
    apply_change,
    change,
    expected_hover,
    expected_keys,
    key,
    open_doc,
    server_errors,
    wait_published,
)
from lsprotocol import types as lsp

FRAGMENTS = [
    "import torch\n", "import torch.nn as nn\n", "import torch.nn.functional as F\n",
    "from torch import nn\n", "import tensorflow as tf\n",
    "probs = F.softmax(logits, dim=1)\n", "loss = criterion(probs, y)\n",
    "criterion = nn.CrossEntropyLoss()\n", "loss = F.cross_entropy(F.softmax(out, -1), y)\n",
    "drop = nn.Dropout(0.5)\n", "nn.Dropout(p=0.25)", "lstm = nn.LSTM(32, 64, dropout=0.2)\n",
    "out = torch.sigmoid(z)\nbce = nn.BCELoss()\nl = bce(out, t)\n",
    ("for x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n"
     "    loss.backward()\n    optimizer.step()\n"),
    "model.eval()\n", "with torch.no_grad():\n    pred = model(x)\n", "x = x.to('cuda')\n",
    "class Net(nn.Module):\n    def forward(self, x):\n        return F.softmax(self.fc(x), dim=1)\n",
    "net = Net()\nloss = criterion(net(x), y)\n",
    "layers.Dense(10, activation=\"softmax\")\n", "model.compile(loss=\"categorical_crossentropy\")\n",
    "# ñandú — ünïcode 😀\n", "s = '日本語 𝔘𝔫𝔦'\n", "😀", "é", "𝔘",
    "(", ")", "[", ":", "'", '"""', "\n", "    ", "\t", "nn.", "softmax", "F.", " = ", "#",
    "y = model(x)\r\n",
]

BASE = TORCH_SRC + "lstm = nn.LSTM(32, 64, num_layers=1, dropout=0.2, batch_first=True)\n"


@st.composite
def edit(draw, text: str):
    """One (start_line, start_char, end_line, end_char, new_text) against `text`."""
    lines = text.split("\n")

    def position():
        line = draw(st.integers(0, len(lines)))             # len(lines): past the end
        width = len(lines[line].encode("utf-16-le")) // 2 if line < len(lines) else 0
        return line, draw(st.integers(0, width + 2))        # +2: past the line's end

    start = position()
    kind = draw(st.sampled_from(["insert", "delete", "replace"]))
    if kind == "insert":
        end = start
    else:
        end = position() if draw(st.booleans()) else (start[0], start[1] + draw(st.integers(0, 12)))
    new = "" if kind == "delete" else draw(st.sampled_from(FRAGMENTS))
    return (*start, *end, new)


_docs = itertools.count()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
async def test_random_edits_match_a_from_scratch_analysis(rclient, tmp_path, data):
    uri = (tmp_path / f"prop{next(_docs)}.py").as_uri()
    text = BASE
    open_doc(rclient, uri, text)
    version = 1
    for _ in range(data.draw(st.integers(1, 8), label="didChange count")):
        events = []
        for _ in range(data.draw(st.integers(1, 3), label="changes in one didChange")):
            e = data.draw(edit(text))
            events.append(e)
            text = apply_change(text, *e)
        version += 1
        change(rclient, uri, version, *events)

    published = await wait_published(rclient, uri, version, timeout=30)
    assert sorted(key(d) for d in published.diagnostics) == expected_keys(text, uri)

    # A hover at a fixed identifier: `Dropout` of the first `nn.Dropout` left, if any.
    at = text.find("Dropout")
    if at >= 0:
        line_start = text.rfind("\n", 0, at) + 1
        line, char = text.count("\n", 0, at), len(text[line_start:at].encode("utf-16-le")) // 2 + 1
    else:
        line, char = 4, 11
    hov = await rclient.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri), lsp.Position(line, char)))
    assert (hov.contents.value if hov else None) == expected_hover(text, uri, line, char)

    rclient.text_document_did_close(lsp.DidCloseTextDocumentParams(lsp.TextDocumentIdentifier(uri)))
    assert not server_errors(rclient)


# -- comment / blank-line edits, each published before the next ---------------------------------
# The server may answer these by moving the previous analysis (nntutor.incremental) instead of
# analysing again; the answer must still equal a from-scratch analysis, version by version.
TRIVIA = ["# note\n", "    # indented note\n", "\n", "  # trailing", "#", " ", "# nntutor: ignore\n",
          "# F.softmax(x)\n", "# ñandú 😀\n", "        # deep\n"]


@st.composite
def trivia(draw, text: str):
    lines = text.split("\n")
    line = draw(st.integers(0, len(lines) - 1))
    if draw(st.booleans()) and lines[line].lstrip().startswith("#"):   # remove a comment line
        return (line, 0, line + 1, 0, "")
    width = len(lines[line].encode("utf-16-le")) // 2
    char = draw(st.sampled_from([0, width]))
    return (line, char, line, char, draw(st.sampled_from(TRIVIA)))


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
async def test_comment_edits_match_a_from_scratch_analysis(rclient, tmp_path, data):
    uri = (tmp_path / f"trivia{next(_docs)}.py").as_uri()
    text = BASE + "for x, y in loader:\n    loss = criterion(model(x), y)\n    loss.backward()\n"
    open_doc(rclient, uri, text)
    await wait_published(rclient, uri, 1, timeout=30)
    for version in range(2, 2 + data.draw(st.integers(1, 5), label="edits")):
        e = data.draw(trivia(text))
        text = apply_change(text, *e)
        change(rclient, uri, version, e)
        published = await wait_published(rclient, uri, version, timeout=30)
        assert sorted(key(d) for d in published.diagnostics) == expected_keys(text, uri)
    rclient.text_document_did_close(lsp.DidCloseTextDocumentParams(lsp.TextDocumentIdentifier(uri)))
    assert not server_errors(rclient)
