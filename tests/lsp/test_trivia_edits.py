"""End-to-end: comment and blank-line edits (which the server may answer by moving the previous
analysis, nntutor.incremental) publish exactly what a from-scratch analysis gives, version by
version; edits that change findings through comments (a suppression, `#` before code) too."""
import pytest
from lsp_util import (
    MODELS_SOFTMAX,
    TRAIN_WITH_NET,
    CheckedDoc,
    change,
    codes,
    server_errors,
    wait_published,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")  # one server per module

SRC = """import torch
import torch.nn as nn
import torch.nn.functional as F


def train(model, loader, optimizer, criterion):
    for x, y in loader:
        out = model(x)
        loss = criterion(out, y)
        loss.backward()
        optimizer.step()


criterion = nn.CrossEntropyLoss()
probs = F.softmax(logits, dim=1)
loss = criterion(probs, y)
drop = nn.Dropout(0.5)
"""


async def test_comment_and_blank_edits_match_from_scratch(mclient, tmp_path):
    d = CheckedDoc(mclient, tmp_path / "t.py", SRC)
    first = await wait_published(mclient, d.uri, 1, timeout=30)
    assert "missing-zero-grad" in codes(first.diagnostics) and "double-softmax" in codes(first.diagnostics)
    mid = d.line_of("        loss.backward()")
    await d.edit(mid, 0, mid, 0, "# a comment line\n")                 # column 0 in a body
    await d.edit(mid, 0, mid + 1, 0, "")                               # ... removed
    top = d.line_of("criterion = nn")
    await d.edit(top, 0, top, 0, "\n\n# section\n")                     # blank lines + comment
    end = d.line_of("drop = nn.Dropout")
    await d.edit(end, 22, end, 22, "  # p=0.5")                         # trailing comment
    await d.edit(end, 24, end, 25, "")                                  # typing in it
    await d.edit(top, 0, top + 3, 0, "")                                # all removed
    await d.edit(0, 0, 0, 0, "# header\n")                              # first line
    assert not server_errors(mclient)


async def test_comments_that_change_findings(mclient, tmp_path):
    d = CheckedDoc(mclient, tmp_path / "s.py", SRC)
    await wait_published(mclient, d.uri, 1, timeout=30)
    line = d.line_of("probs = F.softmax")
    width = len("probs = F.softmax(logits, dim=1)")
    diags = await d.edit(line, width, line, width, "  # nntutor: ignore[double-softmax]")
    assert "double-softmax" not in codes(diags)
    diags = await d.edit(line, width, line, width + len("  # nntutor: ignore[double-softmax]"), "")
    assert "double-softmax" in codes(diags)
    step = d.line_of("        optimizer.step()")
    diags = await d.edit(step, 8, step, 8, "# ")                        # comments the step out
    assert "missing-zero-grad" not in codes(diags)
    diags = await d.edit(step, 8, step, 10, "")
    assert "missing-zero-grad" in codes(diags)
    assert not server_errors(mclient)


MODELS, TRAIN = MODELS_SOFTMAX, TRAIN_WITH_NET


async def test_comment_edit_in_a_model_file_moves_its_class_for_other_files(mclient, tmp_path):
    """The softmax that another file's double-softmax points at moves with a comment edit
    above it (the class summaries are carried over with the analysis, not re-indexed)."""
    models = CheckedDoc(mclient, tmp_path / "models.py", MODELS)
    await wait_published(mclient, models.uri, 1, timeout=30)
    train = CheckedDoc(mclient, tmp_path / "train.py", TRAIN)

    def softmax_related(diags):
        [d] = [d for d in diags if d.code == "double-softmax"]
        [r] = [r for r in d.related_information if r.location.uri == models.uri]
        return r.location.range.start.line

    first = await wait_published(mclient, train.uri, 1, timeout=30)
    assert softmax_related(first.diagnostics) == models.line_of("return self.fc(x).softmax")
    await models.edit(4, 0, 4, 0, "# a model\n# more words\n\n")        # trivia: carried over
    line = train.line_of("loss = ")
    change(mclient, train.uri, 2, (line, 0, line, 0, "z = 1\n"))        # code: analysed again
    published = await wait_published(mclient, train.uri, 2, timeout=30)
    assert softmax_related(published.diagnostics) == models.line_of("return self.fc(x).softmax") == 12
    assert not server_errors(mclient)
