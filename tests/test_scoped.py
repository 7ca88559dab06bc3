"""nntutor.scoped: re-analysing only what a code edit can change gives exactly what a
whole-file analysis of the new text gives, and declines (NotScoped) where it cannot show that."""
from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest

from nntutor import engine, scoped
from nntutor.document import Document

ROOT = Path(__file__).resolve().parent.parent


def _generator():
    spec = importlib.util.spec_from_file_location("nntutor_bench_generate", ROOT / "bench" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def big_text() -> bytes:
    """A 3,000-line training module of many functions and classes (the benchmark's generator)."""
    gen = _generator()
    text, _ = gen.make_module(random.Random("scoped:3000"), "pipeline", 3000, with_main=True)
    return text.encode()


def key(f):
    return repr((f.rule, int(f.severity), f.message, f.location, f.related, f.fix, f.confidence))


def both(old: Document, new: Document, index=None):
    """(scoped result, whole-file result) for `new`, after `old` was analysed whole."""
    base = engine.analyze(old)
    part, _ = scoped.reanalyze(scoped.Version.of(old), new, base, engine.analyze, index or scoped.UnitIndex())
    return part, engine.analyze(new)


def edited(doc: Document, old: bytes, new: bytes) -> Document:
    at = doc.data.index(old)
    out = doc.snapshot()
    out.edit(at, at + len(old), new)
    return out


def assert_same(part, full):
    assert sorted(map(key, part.findings)) == sorted(map(key, full.findings))
    assert part.notices == full.notices


# A file long enough to be sliced, of independent parts: PAD functions no one calls.
PAD = "".join(f"\n\ndef helper_{i}(values):\n    total = 0\n    for v in values:\n        total += v * {i}\n"
              f"    return total\n" for i in range(400))

LINKED = '''import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.fc(self.drop(x))


def evaluate(model, loader):
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
    return correct


def run(loader):
    model = Net()
    model.eval()
    return evaluate(model, loader)
''' + PAD


def test_removing_eval_in_a_caller_changes_the_callee_finding_as_a_whole_pass_does():
    old = Document.from_text(LINKED, "/w/linked.py")
    new = edited(old, b"    model.eval()\n", b"")
    part, full = both(old, new)
    assert_same(part, full)
    assert any(f.rule == "missing-eval-mode" for f in full.findings)
    assert not any(f.rule == "missing-eval-mode" for f in engine.analyze(old).findings)


def test_the_slice_holds_the_edited_component_and_module_code_only():
    old = Document.from_text(LINKED, "/w/linked.py")
    new = edited(old, b"    model.eval()\n", b"")
    p = scoped.plan(scoped.Version.of(old), new, scoped.UnitIndex())
    after, redo, keep = p.after, p.redo, p.keep
    names = {after[k].name for k in redo}
    assert names == {b"Net", b"evaluate", b"run"}
    assert sum(after[k].end - after[k].start for k in keep) < 0.1 * len(new.data)



def test_a_slice_over_the_budget_is_declined_as_such_and_one_within_it_is_planned():
    """The language server runs a scoped pass on its event loop only within a budget of bytes;
    over it, OverBudget (a NotScoped: the analysis thread then runs the same scoped pass)."""
    old = Document.from_text(LINKED, "/w/linked.py")
    new = edited(old, b"    model.eval()\n", b"")
    version = scoped.Version.of(old)
    p = scoped.plan(version, new, scoped.UnitIndex())
    kept = sum(p.after[k].end - p.after[k].start for k in p.keep)
    with pytest.raises(scoped.OverBudget):
        scoped.plan(version, new, scoped.UnitIndex(), budget=kept - 1)
    assert scoped.plan(version, new, scoped.UnitIndex(), budget=kept).keep
    with pytest.raises(scoped.OverBudget):
        scoped.reanalyze(version, new, engine.analyze(old), engine.analyze, scoped.UnitIndex(), budget=kept - 1)


CUDA = '''import torch


def place(model):
    return model.cuda()


def setup(rank):
    torch.cuda.set_device(rank)
''' + PAD


def test_a_file_wide_gate_in_an_unlinked_function_is_seen_by_the_slice():
    """hardcoded-cuda trusts a file that calls `set_device` anywhere: the unit that does is
    kept in the slice although nothing links it to the edited one."""
    old = Document.from_text(CUDA, "/w/cuda.py")
    new = edited(old, b"    return model.cuda()\n", b"    model = model.float()\n    return model.cuda()\n")
    part, full = both(old, new)
    assert_same(part, full)
    assert not any(f.rule == "hardcoded-cuda" for f in full.findings)


def test_an_edit_of_a_file_wide_line_is_analysed_whole():
    old = Document.from_text(CUDA.replace("    torch.cuda.set_device(rank)\n", "    print(rank)\n"), "/w/cuda.py")
    new = edited(old, b"    print(rank)\n", b"    torch.cuda.set_device(rank)\n")
    with pytest.raises(scoped.NotScoped, match="file-wide"):
        scoped.plan(scoped.Version.of(old), new, scoped.UnitIndex())


@pytest.mark.parametrize("before, after, why", [
    (b"import torch\n", b"import torch\nx = 1\n", "module-level code"),
    (b"def run(loader):", b"def run(loader, n=1):", "header"),
    (b"    model.eval()\n", b"    model.eval(\n", "syntax error"),
    (b"    model.eval()\n", b"    global model\n    model.eval()\n", "global statement"),
    (b"    model.eval()\n", b"    model.eval()  # nntutor: ignore-file\n", "file-wide suppression"),
    (b"    model.eval()\n", b"    if False:\n        model.eval()\n", "left out"),
    # the edited body ends early and a module-level statement follows: no syntax error, but
    # the units the slice was cut by are not the text's any more
    (b"    return correct\n", b"    return 0\nprint(correct)\n", "top-level statements added"),
    # a string left open swallows the units after it
    (b"    correct = 0\n", b'    correct = """\n', "syntax error"),
    (b"    correct = 0\n", b"    correct = [\n", "syntax error"),
])
def test_edits_it_cannot_scope_are_declined(before, after, why):
    """The edited version is not parsed for this: plan() reads the bytes, the slice's tree
    shows the rest."""
    old = Document.from_text(LINKED, "/w/linked.py")
    new = edited(old, before, after)
    with pytest.raises(scoped.NotScoped, match=why):
        scoped.reanalyze(scoped.Version.of(old), new, engine.analyze(old), engine.analyze, scoped.UnitIndex())
    assert not new.parsed


def test_a_scoped_pass_leaves_the_whole_text_unparsed_and_its_units_right():
    old = Document.from_text(LINKED, "/w/linked.py")
    new = edited(old, b"    model.eval()\n", b"    model.train()\n    model.eval()\n")
    part, version = scoped.reanalyze(scoped.Version.of(old), new, engine.analyze(old), engine.analyze,
                                     scoped.UnitIndex())
    assert not new.parsed
    assert version == scoped.Version.of(new)   # parses it
    assert_same(part, engine.analyze(new))


def test_short_files_and_notebooks_are_analysed_whole():
    old = Document.from_text(LINKED[:600], "/w/short.py")
    new = edited(old, b"    correct = 0\n", b"    correct = 1\n")
    with pytest.raises(scoped.NotScoped, match="short"):
        scoped.plan(scoped.Version.of(old), new, scoped.UnitIndex())


def _body_edits(doc: Document, rng: random.Random, n: int):
    """Up to n edits inside definitions' bodies: insert a statement, delete a line, duplicate one."""
    data = doc.data
    units = [u for u in scoped.units(doc) if u.name is not None]
    out = []
    while len(out) < n and units:
        u = rng.choice(units)
        lines, pos = [], u.body[0]
        while pos < u.body[1]:
            end = data.find(b"\n", pos)
            end = u.body[1] if end < 0 or end > u.body[1] else end
            if data[pos:end].strip():
                lines.append((pos, end))
            pos = end + 1
        if len(lines) < 2:
            continue
        s, e = rng.choice(lines[1:])
        line = data[s:e]
        indent = line[:len(line) - len(line.lstrip())]
        kind = rng.randrange(3)
        if kind == 0:
            out.append((s, s, indent + b"_tmp = 1\n"))
        elif kind == 1:
            out.append((s, e + 1, b""))
        else:
            out.append((s, s, line + b"\n"))
    return out


def test_random_edits_of_a_big_module_give_what_a_whole_pass_gives(big_text):
    """Every edit the slicer accepts (most of them) gives the whole pass's findings; a chain of
    edits, each re-analysed from the last one's result, too."""
    rng = random.Random(7)
    doc = Document.from_bytes(big_text, "/w/pipeline.py")
    analysis = engine.analyze(doc)
    prior = scoped.Version.of(doc)
    index = scoped.UnitIndex()
    scoped_count = 0
    for _ in range(40):
        (s, e, text), = _body_edits(doc, rng, 1)
        new = doc.snapshot()
        new.edit(s, e, text)
        if new.tree.root_node.has_error:
            continue
        full = engine.analyze(new)
        try:
            part, version = scoped.reanalyze(prior, new, analysis, engine.analyze, index)
        except scoped.NotScoped:
            part = full
        else:
            scoped_count += 1
            assert_same(part, full)
            assert version == scoped.Version.of(new)
        doc, analysis, prior = new, part, scoped.Version.of(new)
    assert scoped_count >= 25


def test_the_bundled_examples_with_any_share(monkeypatch):
    """Soundness does not depend on size: slicing every edit of the examples (whatever share of
    the file it keeps) still gives the whole pass's findings."""
    monkeypatch.setattr(scoped, "MAX_SHARE", 1.0)
    monkeypatch.setattr(scoped, "MIN_BYTES", 0)
    rng = random.Random(3)
    checked = 0
    for path in sorted((ROOT / "examples").rglob("*.py")):
        doc = Document.from_path(path)
        for s, e, text in _body_edits(doc, rng, 8):
            new = doc.snapshot()
            new.edit(s, e, text)
            if new.tree.root_node.has_error:
                continue
            try:
                part, full = both(doc, new)
            except scoped.NotScoped:
                continue
            assert_same(part, full)
            checked += 1
    assert checked >= 10


MIXIN = '''import torch


class Resetter:
    def reset_grad(self):
        self.optimizer.zero_grad()


class Trainer:
    def fit(self, loader):
        for x, y in loader:
            self.reset_grad()
            loss = self.loss_fn(self.model(x), y)
            loss.backward()
            self.optimizer.step()
''' + PAD


def test_a_self_call_links_to_the_classes_defining_that_method():
    """missing-zero-grad reads the body of any method named like `self.reset_grad()`: the class
    that defines it is in the slice although nothing names that class."""
    old = Document.from_text(MIXIN, "/w/mixin.py")
    new = edited(old, b"            loss.backward()\n", b"            n = 1\n            loss.backward()\n")
    part, full = both(old, new)
    assert_same(part, full)
    assert not any(f.rule == "missing-zero-grad" for f in full.findings)
    p = scoped.plan(scoped.Version.of(old), new, scoped.UnitIndex())
    after, redo = p.after, p.redo
    assert {after[k].name for k in redo} == {b"Trainer", b"Resetter"}
