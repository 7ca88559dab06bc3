"""`quiz()` ipywidget (classic notebook, VS Code, Voilà) and the `%nntutor` magic re-export."""
from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets", reason="ipywidgets is not installed (pip install -e '.[jupyter]')")

from nntutor.content import catalog
from nntutor.jupyter import quiz
from nntutor.quiz import ProgressStore


@pytest.fixture
def store(tmp_path):
    return ProgressStore(tmp_path / "progress.sqlite3")


def test_quiz_asks_about_the_concept_first(store):
    w = quiz("dropout", store=store, limit=6)
    assert [i["concept"] for i in w.items[:5]] == ["dropout"] * 5
    assert len(w.items) == 6
    assert "Dropout" in w.children[0].value


def test_answer_via_the_widget_inputs_shows_feedback_and_score(store):
    w = quiz("dropout", store=store)
    item = catalog().quiz[w.items[0]["id"]]
    assert item.type == "single"
    w.input.value = item.answer
    w.check.click()
    assert w.last["correct"] is True
    shown = " ".join(getattr(c, "value", "") for c in w.feedback.children)
    assert "✓ Correct" in shown and "Interview question" in shown
    assert "Dropout</td><td>1/1" in w.scores.value
    assert w.check.disabled
    w.next()
    assert w.index == 1 and not w.check.disabled


def test_each_item_type_renders_and_checks(store):
    w = quiz("dropout", store=store, limit=5)
    seen = set()
    for _ in w.items:
        item = catalog().quiz[w.items[w.index]["id"]]
        seen.add(item.type)
        if item.type == "multi":
            for i, box in enumerate(w.input.children):
                box.value = i in item.answer
        elif item.type == "true-false":
            w.input.value = 0 if item.answer else 1
        else:
            w.input.value = item.answer
        w.check.click()
        assert w.last["correct"] is True, item.id
        w.next()
    assert seen == {"single", "multi", "true-false", "spot-the-bug"}
    assert "Nothing due" in w.children[0].value
    assert store.concept_scores()["dropout"] == {"answered": 5, "correct": 5}


def test_no_choice_is_not_recorded(store):
    w = quiz("softmax", store=store)
    w.check.click()
    assert "Pick an answer first" in w.feedback.children[0].value
    assert store.concept_scores() == {}


def test_unknown_concept():
    with pytest.raises(ValueError, match="unknown concept"):
        quiz("no-such-concept")


def test_shares_the_progress_file_with_the_sidebar(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path))
    w = quiz("dropout")
    assert w.store.path == tmp_path / "nntutor" / "progress.sqlite3"


def test_magic_is_reexported(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        shell.run_line_magic("load_ext", "nntutor.jupyter")
        shell.run_line_magic("nntutor", "demos")
        out = capsys.readouterr().out
        assert "dropout" in out and "double-softmax" in out
    finally:
        shell.run_line_magic("unload_ext", "nntutor.jupyter")
        InteractiveShell.clear_instance()
