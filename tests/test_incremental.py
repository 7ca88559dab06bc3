"""Reusing an analysis across comment / blank-space edits (nntutor.incremental), engine level.

The property: whenever `reuse` carries an analysis over to a new version, the result equals a
from-scratch analysis of the new text (same rules, messages, ranges, related locations, fix
edits). The deterministic tests check that the common trivia edits do take the fast path (so
the property is not vacuous) and that edits which can change findings do not.
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nntutor import incremental
from nntutor.document import Document
from nntutor.engine import analyze
from nntutor.notebook import Cell

PATH = "/tmp/nntutor-incremental/train.py"

BASE = '''import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split


class Net(nn.Module):
    """A small net. # not a comment"""

    def __init__(self):
        super().__init__()
        # layers
        self.fc = nn.Linear(10, 3)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        x = self.drop(self.fc(x))  # logits
        return F.softmax(x, dim=1)


def train(model, loader, optimizer, criterion):
    for x, y in loader:
        # forward pass
        out = model(x)
        loss = criterion(out, y)
        loss.backward()
        optimizer.step()

    total = 0
    for x, y in loader:
        total += loss
    return total


def evaluate(model, loader):
    acc = 0
    for x, y in loader:
        pred = model(x.cuda())
        acc += (pred.argmax(1) == y).sum()
    return acc


scaler = StandardScaler()
X = scaler.fit_transform(data)  # everything
X_train, X_test, y_train, y_test = train_test_split(X, y)
msg = "# a hash in a string"
criterion = nn.CrossEntropyLoss()
probs = F.softmax(logits, dim=1)
loss = criterion(probs, y)   # nntutor: ignore[missing-zero-grad]
model = Net()
loss2 = criterion(model(x), y)
'''


def doc(text: str | bytes, path: str = PATH) -> Document:
    return Document(text.encode() if isinstance(text, str) else text, path)


def edited(old: Document, start: int, end: int, new: bytes) -> Document:
    """`old` after an incremental edit (as the server applies it), as a frozen snapshot."""
    d = old.snapshot()
    d.edit(start, end, new)
    return d


def line_start(text: str, line: int) -> int:
    return len("\n".join(text.split("\n")[:line])) + (1 if line else 0)


def at(text: str, needle: str, delta: int = 0) -> int:
    return len(text[:text.index(needle)].encode()) + delta


def assert_same(reused, fresh):
    assert reused.path == fresh.path
    assert reused.notices == fresh.notices
    assert [(f.rule, f.message, f.location, f.related, f.fix, f.severity, f.concept, f.confidence)
            for f in reused.findings] == \
        [(f.rule, f.message, f.location, f.related, f.fix, f.severity, f.concept, f.confidence)
         for f in fresh.findings]


def check(old: Document, new: Document):
    """Reuse if allowed; when it is, it must equal a from-scratch analysis. Returns it."""
    reused = incremental.reuse(old, new, analyze(old))
    if reused is not None:
        assert_same(reused, analyze(doc(new.data, new.path)))
    return reused


def test_base_has_findings_with_fixes_and_related():
    result = analyze(doc(BASE))
    assert len(result.findings) >= 4
    assert any(f.fix for f in result.findings) and any(f.related for f in result.findings)


# -- the common trivia edits take the fast path ------------------------------------------------
def test_comment_line_inserted_and_removed():
    old = doc(BASE)
    pos = at(BASE, "    total = 0")
    new = edited(old, pos, pos, b"    # running total of the losses so far\n")
    assert incremental.why_not(old, new) is None
    reused = check(old, new)
    assert reused is not None and reused.findings[-1].location.line == analyze(old).findings[-1].location.line + 1
    back = edited(new, pos, pos + len(b"    # running total of the losses so far\n"), b"")
    assert check(new, back) is not None


def test_column_zero_comment_line_in_a_function_body():
    old = doc(BASE)
    pos = at(BASE, "        pred = model")
    assert check(old, edited(old, pos, pos, b"# bench: edited line\n")) is not None


def test_blank_lines_added_and_removed():
    old = doc(BASE)
    pos = at(BASE, "def evaluate")
    assert check(old, edited(old, pos, pos, b"\n\n\n")) is not None
    assert check(old, edited(old, pos - 1, pos, b"")) is not None


def test_typing_a_trailing_comment_char_by_char():
    text = BASE
    cur = doc(text)
    pos = at(text, "    return total", len("    return total"))
    result = analyze(cur)
    for ch in b"  # done here":
        nxt = edited(cur, pos, pos, bytes([ch]))
        result = incremental.reuse(cur, nxt, result)
        assert result is not None, incremental.why_not(cur, nxt)
        cur, pos = nxt, pos + 1
    assert_same(result, analyze(doc(cur.data)))


def test_editing_inside_a_comment():
    old = doc(BASE)
    pos = at(BASE, "# everything", 2)
    assert check(old, edited(old, pos, pos + len("everything"), b"all rows")) is not None


def test_several_changes_in_one_version():
    old = doc(BASE)
    a = at(BASE, "    total = 0")
    b = at(BASE, "def evaluate")
    mid = old.snapshot()
    mid.edit(b, b, b"# second\n")
    new = mid.snapshot()
    new.edit(a, a, b"    # first\n")
    # as one span (code between the two changes): analysed again
    assert incremental.reuse(old, new, analyze(old)) is None
    # as a sequence (what the server does with the changes of one didChange): reused
    step = incremental.reuse(old, mid, analyze(old))
    assert step is not None
    assert_same(incremental.reuse(mid, new, step), analyze(doc(new.data)))


def test_no_change_at_all():
    old = doc(BASE)
    assert_same(incremental.reuse(old, doc(BASE), analyze(old)), analyze(old))


# -- edits that may change findings never take it ------------------------------------------------
def refused(old: Document, new: Document, why: str):
    reason = incremental.why_not(old, new)
    assert reason is not None and why in reason, reason
    assert incremental.reuse(old, new, analyze(old)) is None


def test_edit_inside_a_string_or_docstring():
    old = doc(BASE)
    pos = at(BASE, "# a hash in a string", 1)
    refused(old, edited(old, pos, pos, b" "), "inside")
    pos = at(BASE, "A small net.", 1)
    refused(old, edited(old, pos, pos, b"\n"), "inside")
    pos = at(BASE, "# not a comment", 2)
    refused(old, edited(old, pos, pos, b"more "), "")


def test_suppression_comment_added_or_removed():
    old = doc(BASE)
    pos = at(BASE, "probs = F.softmax(logits, dim=1)", len("probs = F.softmax(logits, dim=1)"))
    refused(old, edited(old, pos, pos, b"  # nntutor: ignore[double-softmax]"), "suppression")
    pos = at(BASE, "   # nntutor: ignore[missing-zero-grad]")
    refused(old, edited(old, pos, pos + len("   # nntutor: ignore[missing-zero-grad]"), b""), "suppression")
    # splitting a line can move a suppression away from the code it silences
    pos = at(BASE, "loss = criterion(probs, y)", len("loss = criterion(probs, y)"))
    refused(old, edited(old, pos, pos, b"\n"), "suppression")
    pos = at(BASE, "import torch\n")
    refused(old, edited(old, pos, pos, b"# nntutor: ignore-file\n"), "suppression")


def test_comment_deciding_whether_a_rule_runs():
    text = BASE.replace("        loss.backward()\n", "")
    old = doc(text)
    pos = at(text, "def evaluate")
    # missing-zero-grad needs `.backward(` somewhere in the text: a comment is enough
    refused(old, edited(old, pos, pos, b"# call x.backward() first\n"), "needing")
    # ... but a comment mentioning a gate word the code has anyway is fine
    assert check(old, edited(old, pos, pos, b"# the loss\n")) is not None


def test_code_indentation_changed():
    old = doc(BASE)
    pos = at(BASE, "        loss.backward()")
    refused(old, edited(old, pos, pos + 4, b""), "indentation")
    refused(old, edited(old, pos, pos, b"    "), "indentation")


def test_hash_typed_before_code():
    old = doc(BASE)
    pos = at(BASE, "        optimizer.step()", 8)
    refused(old, edited(old, pos, pos, b"#"), "")
    pos = at(BASE, "model = Net()")
    refused(old, edited(old, pos, pos, b"# "), "")


def test_uncommenting_code():
    text = BASE.replace("        optimizer.step()\n", "        # optimizer.zero_grad()\n        optimizer.step()\n")
    old = doc(text)
    pos = at(text, "# optimizer.zero_grad()")
    refused(old, edited(old, pos, pos + 2, b""), "")


def test_comment_mentioning_what_a_rule_searches_for():
    old = doc(BASE)
    pos = at(BASE, "def evaluate")
    # Words that rules search the text for: the rules skip comments now, but the reuse path
    # stays conservative and re-analyses (the word list is checked against the rules' source).
    refused(old, edited(old, pos, pos, b"# uses torch.cuda.device_count() elsewhere\n"), "mentions")
    assert len(analyze(edited(old, pos, pos, b"# device_count\n")).findings) == len(analyze(old).findings)


def test_layout_of_code_changed():
    old = doc(BASE)
    pos = at(BASE, "acc = 0", len("acc ="))
    refused(old, edited(old, pos, pos, b" "), "inside assignment")
    pos = at(BASE, "    acc = 0\n", len("    acc = 0"))
    assert check(old, edited(old, pos, pos, b"   ")) is not None   # trailing blanks are trivia
    pos = at(BASE, "    acc = 0\n", len("    acc = 0"))
    refused(old, edited(old, pos, pos + 5, b"; "), "code in the edited span")


def test_syntax_error_nearby():
    text = BASE.replace("    total = 0\n", "    total = (\n")
    old = doc(text)
    pos = at(text, "    return total")
    assert incremental.reuse(old, edited(old, pos, pos, b"    # c\n"), analyze(old)) is None


def test_fix_edit_touching_the_edit_is_recomputed():
    old = doc(BASE)
    result = analyze(old)
    fix = next(f.fix for f in result.findings if f.fix is not None)
    e = fix.edits[0]
    new = edited(old, e.end, e.end, b"  # c")
    assert incremental.reuse(old, new, result) is None


# -- notebooks -------------------------------------------------------------------------------------------
CELLS = ["import torch\nimport torch.nn.functional as F\n",
         "# prepare\nlogits = model(x)\n",
         "probs = F.softmax(logits, dim=1)\nloss = F.cross_entropy(probs, y)\n"]


def notebook(cells: list[str]) -> Document:
    return Document.from_cells([Cell(index=i, source=s) for i, s in enumerate(cells)], "/tmp/nb.ipynb")


def test_notebook_edit_inside_a_cell():
    old = notebook(CELLS)
    new = notebook([CELLS[0], "# prepare the batch\n\nlogits = model(x)\n", CELLS[2]])
    assert incremental.why_not(old, new) is None
    reused = incremental.reuse(old, new, analyze(old))
    assert reused is not None
    assert_same(reused, analyze(new))
    assert reused.findings and all(f.location.cell == 2 for f in reused.findings)


def test_notebook_cell_boundary():
    old = notebook(CELLS)
    # a new (comment-only) cell: the same text around it, other cells
    refused(old, notebook([CELLS[0], "# note\n", *CELLS[1:]]), "cell")
    # a comment moved from one cell to the end of the previous one
    refused(old, notebook([CELLS[0] + "# prepare\n", "logits = model(x)\n", CELLS[2]]), "cell")


# -- property: reuse == from scratch ----------------------------------------------------------------------
INSERTS = ["# note\n", "    # indented note\n", "        # deeper\n", "\n", "    \n", "#", "# ",
           "  # trailing", " ", "\n\n", "# nntutor: ignore\n", "x = 1\n", "    ", "# grad\n", "'", "\t",
           "# ñandú 😀\n", "# the model\n", '"""\n', "# F.softmax(x, dim=1)\n", "# x.cuda()\n",
           "# scaler.fit_transform(X)\n", "# loss.backward()\n", "# nn.Dropout(0.1)\n",
           "    # criterion(model(x), y)\n", "# optimizer.zero_grad()\n", "  # torch.no_grad()"]


@st.composite
def trivia_edit(draw, text: bytes):
    lines = text.split(b"\n")
    kind = draw(st.sampled_from(["line_start", "line_end", "anywhere", "delete_line", "delete", "in_comment"]))
    if kind in ("line_start", "line_end", "delete_line"):
        line = draw(st.integers(0, len(lines) - 1))
        start = sum(len(x) + 1 for x in lines[:line])
        if kind == "line_start":
            return start, start, draw(st.sampled_from(INSERTS)).encode()
        if kind == "line_end":
            end = start + len(lines[line])
            return end, end, draw(st.sampled_from(INSERTS)).encode()
        return start, min(len(text), start + len(lines[line]) + 1), b""
    if kind == "in_comment" and b"#" in text:
        hashes = [i for i in range(len(text)) if text[i] == 0x23]
        pos = draw(st.sampled_from(hashes)) + 1
        return pos, pos, draw(st.sampled_from([b" more", b"x", b"\n#", b" loss"]))
    pos = draw(st.integers(0, len(text)))
    if kind == "delete":
        return pos, min(len(text), pos + draw(st.integers(1, 6))), b""
    return pos, pos, draw(st.sampled_from(INSERTS)).encode()


_stats = {"reused": 0, "total": 0}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_reuse_equals_a_from_scratch_analysis(data):
    cur = doc(BASE)
    result = analyze(cur)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        start, end, new_text = data.draw(trivia_edit(cur.data))
        if not _valid(cur.data, start, end):
            continue
        nxt = edited(cur, start, end, new_text)
        if not _valid(nxt.data, start, start + len(new_text)):
            continue
        reused = incremental.reuse(cur, nxt, result)
        fresh = analyze(doc(nxt.data))
        _stats["total"] += 1
        if reused is not None:
            _stats["reused"] += 1
            assert_same(reused, fresh)
        cur, result = nxt, fresh


def _valid(data: bytes, a: int, b: int) -> bool:
    """Edits at byte offsets that do not cut a UTF-8 character (the server's edits never do)."""
    return all(p >= len(data) or (data[p] & 0xC0) != 0x80 for p in (a, b))


def test_the_property_exercised_the_fast_path():
    # runs after the property test (file order); skip the check when run alone
    if _stats["total"] >= 50:
        assert _stats["reused"] >= 0.15 * _stats["total"], _stats


# -- SENSITIVE_WORDS covers every raw-text search of the analysis ------------------------------------------
def test_sensitive_words_cover_the_raw_text_searches():
    missing = incremental.raw_text_words() - incremental.SENSITIVE_WORDS - incremental.NODE_TEXT_ONLY - incremental.DIRECTIVE_ONLY
    assert not missing, f"add to incremental.SENSITIVE_WORDS: {sorted(missing)}"


def test_bare_method_references_do_not_depend_on_comments():
    """rules/_bare.py searches the text outside comments: a comment edit next to or mentioning
    `model.eval` gives the same findings with or without reuse."""
    from nntutor.engine import analyze

    src = b"import torch\nmodel = torch.nn.Linear(2, 1)\nmodel.eval\nmodel(x)\n"
    reused_once = False
    for old, new in ((src, src.replace(b"model.eval\n", b"model.eval  # model.eval\n")),
                     (src, src.replace(b"model(x)\n", b"model(x)\n# model.train\n"))):
        before, after = Document(old, "m.py"), Document(new, "m.py")
        reused = incremental.reuse(before, after, analyze(before))
        fresh = analyze(after)
        assert [f.rule for f in fresh.findings] == ["mode-switch-not-called"]
        if reused is not None:
            assert_same(reused, fresh)
            reused_once = True
    assert reused_once  # the comment on a line of its own is reused (next to the finding: not)


def test_a_reused_analysis_names_the_left_out_line_of_the_new_version():
    """Found by the property test above in CI: a comment line added above a half-typed
    statement moves it down; the notice that names its line is the new version's."""
    from nntutor.engine import analyze

    old = (b"import torch\n\n\ndef helper():\n    return 1\n\n\nmodel = torch.nn.Linear(2, 1)\n"
           b"for x in loader:\n    y = torch.zeros(\n    out = model(x)\n")
    new = old.replace(b"    return 1\n", b"    # note\n    return 1\n")
    before, after = Document(old, "t.py"), Document(new, "t.py")
    reused = incremental.reuse(before, after, analyze(before))
    assert reused is not None
    fresh = analyze(after)
    assert reused.notices == fresh.notices
    assert any("line 11: a statement that does not parse" in n for n in fresh.notices)
