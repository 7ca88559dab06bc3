"""The quiz as plain data, shared by the REST handlers (sidebar) and the ipywidget.

Answers are checked here, never in the browser: items go out without their answer or
explanations, which come back only once a choice was recorded.
"""
from __future__ import annotations

import time

from ..content import Catalog, QuizItem, catalog
from ..document import Document
from ..engine import analyze
from ..hover import concepts_in
from ..notebook import cells_from_ipynb
from ..quiz import ProgressStore, next_items


def notebook_concepts(raw: str | bytes, path: str = "<notebook>", cat: Catalog | None = None) -> list[dict]:
    """Concepts of a notebook, best first: those of the diagnostics it raises, most severe
    first (a tripped double-softmax, an error, asks about softmax before anything else), then
    those its code uses, by first appearance."""
    cat = cat or catalog()
    doc = Document.from_cells(cells_from_ipynb(raw), path)
    found: dict[str, dict] = {}
    for f in sorted(analyze(doc).findings, key=lambda f: (f.severity, f.sort_key())):
        entry = found.setdefault(f.concept, {"reason": "diagnostic", "rules": [], "cells": []})
        entry["rules"].append(f.rule)
        entry["cells"].append(f.location.cell)
    present = concepts_in(doc, cat)
    for cid in sorted(present, key=lambda c: min(present[c])):
        cells = [doc.cell_map.locate(line)[0] for line in present[cid]] if doc.cell_map else []
        entry = found.setdefault(cid, {"reason": "notebook", "rules": [], "cells": []})
        entry["cells"] += cells
    out = []
    for cid, entry in found.items():
        concept = cat.concepts.get(cid)
        if concept is None:
            continue
        out.append({"id": cid, "title": concept.title, "summary": concept.summary,
                    "reason": entry["reason"], "rules": sorted(set(entry["rules"])),
                    "cells": sorted({c for c in entry["cells"] if c is not None}),
                    "demo": demo_id(cid, cat)})
    return out


def public_item(item: QuizItem, cat: Catalog, reason: str) -> dict:
    """What the client may see before answering."""
    data = {"id": item.id, "concept": item.concept, "concept_title": cat.concepts[item.concept].title,
            "type": item.type, "question": item.question, "difficulty": item.difficulty,
            "reason": reason}
    if item.type in ("single", "multi"):
        data["options"] = list(item.options or [])
    elif item.type == "true-false":
        data["options"] = ["True", "False"]
    else:
        data["code"] = item.code
    return data


def items_for(concepts: list[str], store: ProgressStore, limit: int = 10,
              now: float | None = None, cat: Catalog | None = None,
              reasons: dict[str, str] | None = None) -> list[dict]:
    """Items for `concepts` first, then spaced repetition over the whole catalog."""
    cat = cat or catalog()
    now = time.time() if now is None else now
    candidates = [(q.id, q.concept) for q in cat.quiz.values()]
    ids = next_items(store, candidates, concepts, now, limit)
    states = store.item_states(ids)
    reasons = reasons or {}
    out = []
    for item_id in ids:
        item = cat.quiz[item_id]
        reason = reasons.get(item.concept) or ("review" if item_id in states else "new")
        out.append(public_item(item, cat, reason))
    return out


def _is_correct(item: QuizItem, choice) -> bool:
    """Compare a client's choice with the answer; ValueError says what shape was expected."""
    if item.type == "single":
        if not isinstance(choice, int) or isinstance(choice, bool):
            raise ValueError("a single-choice answer is one option index")
        return choice == item.answer
    if item.type == "multi":
        if not isinstance(choice, list) or not all(isinstance(c, int) and not isinstance(c, bool) for c in choice):
            raise ValueError("a multi-choice answer is a list of option indexes")
        return sorted(set(choice)) == sorted(item.answer)
    if item.type == "true-false":
        if not isinstance(choice, bool):
            raise ValueError("a true-false answer is true or false")
        return choice == item.answer
    if not isinstance(choice, int) or isinstance(choice, bool):
        # ValueError, not TypeError: a bad shape is the client's input error (HTTP 400).
        raise ValueError("a spot-the-bug answer is a line number (1-based)")  # noqa: TRY004
    return choice == item.answer


def check(item_id: str, choice, store: ProgressStore, cat: Catalog | None = None) -> dict:
    """Check and record one answer; KeyError for an unknown item, ValueError for a bad choice."""
    cat = cat or catalog()
    item = cat.quiz.get(item_id)
    if item is None:
        raise KeyError(item_id)
    correct = _is_correct(item, choice)
    state = store.record(item.id, item.concept, correct)
    expl = item.explanations
    if isinstance(expl, dict):  # spot-the-bug: line number -> why
        expl = {str(k): v for k, v in expl.items()}
    score = store.concept_scores().get(item.concept, {"answered": 0, "correct": 0})
    return {
        "item_id": item.id, "concept": item.concept, "correct": correct, "choice": choice,
        "answer": item.answer, "explanations": expl,
        "interview_question": {"id": item.seed, "text": cat.questions.get(item.seed, "")},
        "score": {"concept": item.concept, **score},
        "box": state.box, "due": state.due,
        "demo": demo_id(item.concept, cat),
    }


def scores(store: ProgressStore, cat: Catalog | None = None) -> list[dict]:
    """Score per concept answered so far, weakest first."""
    cat = cat or catalog()
    out = []
    for cid, s in store.concept_scores().items():
        concept = cat.concepts.get(cid)
        out.append({"concept": cid, "title": concept.title if concept else cid, **s})
    out.sort(key=lambda s: (s["correct"] / max(s["answered"], 1), s["concept"]))
    return out


def demo_id(concept_id: str, cat: Catalog | None = None) -> str | None:
    """The demo a concept card names, else one registered for that concept."""
    cat = cat or catalog()
    concept = cat.concepts.get(concept_id)
    if concept is not None and concept.demo:
        return concept.demo
    from ..demos import available

    return next((d for d, _, c in available() if c == concept_id), None)


def demo_for(concept_or_demo: str, cat: Catalog | None = None) -> dict | None:
    """{"demo", "title", "concept", "source"} for a concept id (or a demo id), else None."""
    from ..demos import available, source

    titles = {d: (t, c) for d, t, c in available()}
    name = concept_or_demo if concept_or_demo in titles else demo_id(concept_or_demo, cat)
    if name is None or name not in titles:
        return None
    title, concept = titles[name]
    return {"demo": name, "title": title, "concept": concept, "source": source(name)}
