"""The quiz logic behind the sidebar and the widget: ordering, server-side checking, scores."""
from __future__ import annotations

from pathlib import Path

import pytest

from nntutor.content import catalog
from nntutor.jupyter import service
from nntutor.quiz import ProgressStore

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "notebook.ipynb"


@pytest.fixture
def store(tmp_path):
    return ProgressStore(tmp_path / "progress.sqlite3")


def correct_choice(item):
    return item.answer


def wrong_choice(item):
    if item.type == "single":
        return (item.answer + 1) % len(item.options)
    if item.type == "multi":
        return [i for i in range(len(item.options)) if i not in item.answer][:1] or []
    if item.type == "true-false":
        return not item.answer
    return 1 if item.answer != 1 else 2


def test_notebook_concepts_put_the_diagnostics_first():
    concepts = service.notebook_concepts(EXAMPLE.read_text())
    ids = [c["id"] for c in concepts]
    # double-softmax (an error) first, then the warnings in cell order, then what the code uses.
    assert ids[:3] == ["softmax", "data-leakage", "train-eval-mode"]
    assert concepts[0]["reason"] == "diagnostic" and concepts[0]["rules"] == ["double-softmax"]
    assert 5 in concepts[0]["cells"]
    assert {"dropout", "cross-entropy-loss"} <= set(ids[3:])
    assert all(c["reason"] == "notebook" for c in concepts[3:])


def test_items_ask_about_the_notebook_first_then_review(store):
    concepts = service.notebook_concepts(EXAMPLE.read_text())
    reasons = {c["id"]: c["reason"] for c in concepts}
    items = service.items_for([c["id"] for c in concepts], store, 8, reasons=reasons)
    assert items[0]["concept"] == "softmax" and items[0]["reason"] == "diagnostic"
    assert len(items) == 8
    # With no notebook: plain spaced repetition over the catalog.
    review = service.items_for([], store, 5)
    assert len(review) == 5 and all(i["reason"] == "new" for i in review)


def test_items_never_carry_the_answer(store):
    for item in service.items_for(["dropout", "softmax"], store, 20):
        assert "answer" not in item and "explanations" not in item
        if item["type"] == "true-false":
            assert item["options"] == ["True", "False"]
        if item["type"] == "spot-the-bug":
            assert item["code"]


@pytest.mark.parametrize("qtype", ["single", "multi", "true-false", "spot-the-bug"])
def test_check_each_type(store, qtype):
    item = next(q for q in catalog().quiz.values() if q.type == qtype)
    right = service.check(item.id, correct_choice(item), store)
    assert right["correct"] is True
    assert right["interview_question"]["id"] == item.seed
    assert right["interview_question"]["text"] == catalog().questions[item.seed]
    wrong = service.check(item.id, wrong_choice(item), store)
    assert wrong["correct"] is False
    if qtype in ("single", "multi"):
        assert len(wrong["explanations"]) == len(item.options)
    elif qtype == "true-false":
        assert len(wrong["explanations"]) == 2
    else:
        assert str(item.answer) in wrong["explanations"]
    assert wrong["score"] == {"concept": item.concept, "answered": 2, "correct": 1}
    assert store.item_state(item.id).box == 1  # a wrong answer sends it back to box 1


def test_multi_answer_ignores_order_and_duplicates(store):
    item = next(q for q in catalog().quiz.values() if q.type == "multi" and len(q.answer) > 1)
    choice = list(reversed(item.answer)) + [item.answer[0]]
    assert service.check(item.id, choice, store)["correct"] is True


@pytest.mark.parametrize("qtype,bad", [("single", "0"), ("single", True), ("multi", 1),
                                       ("true-false", 0), ("spot-the-bug", [3])])
def test_bad_choice_shapes_are_refused(store, qtype, bad):
    item = next(q for q in catalog().quiz.values() if q.type == qtype)
    with pytest.raises(ValueError):
        service.check(item.id, bad, store)
    assert store.concept_scores() == {}  # nothing recorded


def test_unknown_item(store):
    with pytest.raises(KeyError):
        service.check("no-such-item", 0, store)


def test_scores_weakest_first(store):
    service.check("dropout-1", 0, store)  # right
    service.check("softmax-1", 3, store)  # wrong
    scores = service.scores(store)
    assert [s["concept"] for s in scores] == ["softmax", "dropout"]
    assert scores[1] == {"concept": "dropout", "title": "Dropout", "answered": 1, "correct": 1}


def test_demo_for_concept_and_demo_id():
    demo = service.demo_for("softmax")
    assert demo["demo"] == "double-softmax"
    assert 'run("double-softmax")' in demo["source"]
    assert service.demo_for("dropout")["demo"] == "dropout"
    assert service.demo_for("vanishing-gradients")["concept"] == "vanishing-exploding-gradients"
    assert service.demo_for("bfs-dfs") is None
