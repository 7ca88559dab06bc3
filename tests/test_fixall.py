"""nntutor.fixall: which fixes go together, how they are applied, and the guard that keeps a
pass only when it breaks nothing (real analyses throughout)."""
from nntutor import fixall
from nntutor.document import Document
from nntutor.engine import analyze
from nntutor.findings import Finding, Fix, Location, Severity, TextEdit

LOOP = """import torch
import torch.nn as nn

criterion = nn.CrossEntropyLoss()
running_loss = 0.0
for x, y in loader:
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
    running_loss += loss
"""


def _finding(*spans, title="t"):
    fix = Fix(title, tuple(TextEdit(a, b, "x") for a, b in spans))
    return Finding("r", Severity.WARNING, "m", Location("p", spans[0][0], spans[0][1], 0, 0, 0, 0, 0, 0), "c", (), fix)


def test_non_overlapping_takes_fixes_in_order_and_skips_touching_ones():
    a, b, c, d = _finding((0, 2)), _finding((2, 4)), _finding((5, 6), (10, 12)), _finding((11, 11))
    same = Finding("q", Severity.WARNING, "m", a.location, "c", (), a.fix)   # one fix, two findings
    assert fixall.non_overlapping([d, c, b, a, same]) == [a.fix, c.fix]


def test_apply_keeps_crlf():
    data = b"a = 1\r\nb = 2\r\n"
    fix = Fix("t", (TextEdit(7, 7, "c = 3\n"),))
    assert fixall.apply(data, [fix]) == b"a = 1\r\nc = 3\r\nb = 2\r\n"


def test_fix_document_applies_every_certain_fix():
    fixed = fixall.fix_document(LOOP.encode(), "t.py")
    text = fixed.data.decode()
    assert fixed.applied == 2 and fixed.stopped is None
    assert "optimizer.zero_grad()" in text and "running_loss += loss.item()" in text
    assert not [f for f in analyze(Document(fixed.data, "t.py")).findings if f.fix is not None]


def test_a_fix_that_makes_another_rule_fire_is_not_kept():
    data = LOOP.encode()
    doc = Document(data, "t.py")
    findings = analyze(doc).findings
    harmful = Fix("t", (TextEdit(len(data), len(data), "model.cuda()\n"),))   # hardcoded-cuda
    assert fixall._attempt(fixall.Source(data, "t.py"), doc, findings, [harmful], None, None) is None
    breaking = Fix("t", (TextEdit(0, 0, "def (:\n"),))
    assert fixall._attempt(fixall.Source(data, "t.py"), doc, findings, [breaking], None, None) is None
    good = [f.fix for f in findings if f.fix is not None]
    assert fixall._attempt(fixall.Source(data, "t.py"), doc, findings, good, None, None) is not None


def test_fix_all_edit_never_splits_a_character():
    from nntutor.lsp.actions import fix_all_action

    doc = Document("s = 'é'  # ü\n".encode(), "t.py")
    action = fix_all_action("file:///t.py", doc, "s = 'è'  # ü\n".encode(), 1)
    (edit,) = action.edit.changes["file:///t.py"]
    assert edit.new_text == "è" and (edit.range.start.character, edit.range.end.character) == (5, 6)
