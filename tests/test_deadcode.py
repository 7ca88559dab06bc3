"""The body of `if False:` / `if 0:` never runs: the rules do not read it."""
from __future__ import annotations

from nntutor.document import Document
from nntutor.engine import analyze_text

LEAK = """from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split


def main(x, y):
    if False:
        x = StandardScaler().fit_transform(x)
    x_train, x_test, y_train, y_test = train_test_split(x, y)
    return x_train, x_test
"""


def rules(text):
    return sorted({f.rule for f in analyze_text(text, "t.py").findings})


def test_a_fit_under_if_false_never_runs():
    assert "leakage-preprocessing" not in rules(LEAK)
    assert "leakage-preprocessing" in rules(LEAK.replace("    if False:\n", "    if True:\n"))
    assert "leakage-preprocessing" not in rules(LEAK.replace("if False:", "if 0:"))
    assert "leakage-preprocessing" in rules(LEAK.replace("if False:", "if 1:"))


def test_the_view_keeps_lengths_and_other_lines():
    doc = Document.from_text(LEAK, "t.py")
    view = doc.analysable()
    assert [(s.first_line, s.last_line, s.dead) for s in view.left_out] == [(6, 6, True)]
    assert len(view.data) == len(doc.data)
    assert view.data.split(b"\n")[6].strip() == b"pass"
    assert view.notice is None   # dead code was written on purpose: nothing to tell


def test_else_branch_and_one_line_bodies_are_live():
    src = LEAK.replace("        x = StandardScaler().fit_transform(x)\n",
                       "        pass\n    else:\n        x = StandardScaler().fit_transform(x)\n")
    assert "leakage-preprocessing" in rules(src)
    one_line = LEAK.replace("    if False:\n        x = StandardScaler().fit_transform(x)\n",
                            "    if False: x = StandardScaler().fit_transform(x)\n")
    assert Document.from_text(one_line, "t.py").analysable().left_out == ()


def test_if_false_in_strings_comments_and_elif_is_not_dead_code():
    for text in ('s = "if False:"\nx = 1\n', "# if False:\nx = 1\n",
                 "if a:\n    pass\nelif False:\n    x = 1\n", "y = [v for v in w if False]\n"):
        assert Document.from_text(text, "t.py").analysable().left_out == (), text


EVAL_ONLY_IN_DEAD_CODE = """import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
model.load_state_dict(torch.load("m.pt"))
if False:
    model.eval()
with torch.no_grad():
    preds = model(x)
"""


def test_a_mode_switch_in_dead_code_does_not_count():
    assert "missing-eval-mode" in rules(EVAL_ONLY_IN_DEAD_CODE)
    assert "missing-eval-mode" not in rules(EVAL_ONLY_IN_DEAD_CODE.replace("if False:\n", "if True:\n"))


def test_hover_in_dead_code_reads_it_as_written():
    from nntutor.content import catalog
    from nntutor.hover import hover_view, target_at

    offset = LEAK.index("StandardScaler()") + 2
    doc = Document.from_text(LEAK, "t.py")
    view = hover_view(doc, offset)
    assert view.left_out == ()
    assert target_at(view, catalog(), offset).qual == "sklearn.preprocessing.StandardScaler"
