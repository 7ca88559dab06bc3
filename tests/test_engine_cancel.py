"""engine.analyze stops between rules when its caller no longer wants the result."""
import pytest

from nntutor.document import Document
from nntutor.engine import Cancelled, analyze

BUGGY = '''
import torch
import torch.nn as nn
import torch.nn.functional as F

model = nn.Linear(4, 3)
criterion = nn.CrossEntropyLoss()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    loss = criterion(F.softmax(model(x), dim=1), y)
    loss.backward()
    opt.step()
'''


def test_a_pass_asked_to_stop_raises_at_the_next_rule():
    asked = []

    def cancelled():
        asked.append(1)
        return len(asked) >= 3  # the document moves on while the third rule is due

    with pytest.raises(Cancelled):
        analyze(Document.from_text(BUGGY, "t.py"), cancelled=cancelled)
    assert len(asked) == 3


def test_a_pass_never_asked_to_stop_gives_the_same_findings():
    doc_text = BUGGY
    plain = analyze(Document.from_text(doc_text, "t.py"))
    asked = []
    checked = analyze(Document.from_text(doc_text, "t.py"), cancelled=lambda: asked.append(1) and False)
    assert [f.sort_key() for f in checked.findings] == [f.sort_key() for f in plain.findings]
    assert {f.rule for f in plain.findings} >= {"double-softmax", "missing-zero-grad"}
    assert len(asked) > 10  # asked once per rule that runs, not once per pass
