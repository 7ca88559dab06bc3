"""The publishDiagnostics payload is built as plain dicts (convert.diagnostic_json): it must be
exactly what lsprotocol's converter makes of the attrs Diagnostic (convert.diagnostic) that the
pull model and code actions still use."""
from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pygls.protocol import default_converter

from nntutor.document import Document
from nntutor.engine import analyze
from nntutor.lsp.convert import diagnostic, diagnostic_json

ROOT = Path(__file__).resolve().parents[2]
CONVERTER = default_converter()

# related locations, a fix, an unused suppression (tagged), a finding in another file's terms
EXTRA = b'''import torch
import torch.nn as nn
import torch.nn.functional as F

criterion = nn.CrossEntropyLoss()
x = torch.zeros(3)  # nntutor: ignore[double-softmax]
for xb, yb in loader:
    loss = criterion(F.softmax(model(xb), dim=1), yb)
    loss.backward()
    optimizer.step()
model.cuda()
'''


def _documents():
    for path in sorted((ROOT / "examples").rglob("*")):
        if path.suffix in (".py", ".ipynb"):
            yield Document.from_path(path)
    yield Document(EXTRA, "/w/extra.py")


@pytest.mark.parametrize("doc", [d for d in _documents() if analyze(d).findings], ids=lambda d: Path(d.path).name)
def test_plain_dicts_equal_the_converters_output(doc):
    result = analyze(doc)
    in_cell = doc.cell_map is not None

    def uri_of(loc):
        return "file:///w/here.py" if loc.path == result.path else "file:///w/other.py"

    kinds = set()
    for f in result.findings:
        expected = CONVERTER.unstructure(diagnostic(f, uri_of, in_cell=in_cell), lsp.Diagnostic)
        assert diagnostic_json(f, uri_of, in_cell=in_cell) == expected
        kinds |= {k for k in ("relatedInformation", "tags") if k in expected}
    if doc.path == "/w/extra.py":
        assert kinds == {"relatedInformation", "tags"}   # the optional fields were exercised
