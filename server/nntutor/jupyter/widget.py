"""`quiz()`: the sidebar quiz as an ipywidget, for classic notebooks, VS Code notebooks and Voilà.

    from nntutor.jupyter import quiz
    quiz("dropout")   # items of one concept first, then spaced repetition
    quiz()            # spaced repetition over every concept

Same checking and the same SQLite progress file as the JupyterLab sidebar (nntutor.jupyter.service).
"""
from __future__ import annotations

import html

import ipywidgets as w

from ..quiz import ProgressStore
from . import service


def _html(text: str, tag: str = "div", style: str = "") -> w.HTML:
    return w.HTML(f'<{tag} style="{style}">{html.escape(text)}</{tag}>')


class QuizWidget(w.VBox):
    """One item at a time: inputs, Check, feedback with every option's explanation, Next."""

    def __init__(self, concept: str | None = None, store: ProgressStore | None = None, limit: int = 10):
        super().__init__(layout=w.Layout(max_width="720px"))
        self.concept = concept
        self.store = store or ProgressStore()
        concepts = [concept] if concept else []
        self.items = service.items_for(concepts, self.store, limit)
        self.index = 0
        self.last: dict | None = None  # the last feedback, for tests and callers
        self.scores = w.HTML()
        self._show()

    # -- one item ----------------------------------------------------------------------------
    def _show(self) -> None:
        self._update_scores()
        if self.index >= len(self.items):
            self.children = [_html("Nothing due right now. Come back later or call quiz() again."),
                             self.scores]
            return
        item = self.items[self.index]
        head = _html(f"{item['concept_title']} — question {self.index + 1} of {len(self.items)}",
                     style="font-weight:600")
        question = _html(item["question"])
        self.input = self._input(item)
        self.check = w.Button(description="Check", button_style="primary")
        self.feedback = w.VBox()
        self.check.on_click(lambda _: self.answer(self._choice(item)))
        self.children = [head, question, self.input, self.check, self.feedback, self.scores]

    def _input(self, item: dict) -> w.Widget:
        layout = w.Layout(width="auto")
        if item["type"] == "multi":
            return w.VBox([w.Checkbox(description=o, indent=False, layout=layout) for o in item["options"]])
        if item["type"] == "spot-the-bug":
            lines = item["code"].rstrip("\n").split("\n")
            labels = [f"{i + 1:>2}  {line}" for i, line in enumerate(lines)]
            return w.RadioButtons(options=list(zip(labels, range(1, len(lines) + 1))), value=None,
                                  layout=layout)
        return w.RadioButtons(options=list(zip(item["options"], range(len(item["options"])))),
                              value=None, layout=layout)

    def _choice(self, item: dict):
        if item["type"] == "multi":
            return [i for i, box in enumerate(self.input.children) if box.value]
        value = self.input.value
        if value is None:
            return None
        return value == 0 if item["type"] == "true-false" else value

    # -- answering ---------------------------------------------------------------------------
    def answer(self, choice) -> dict | None:
        """Check `choice` for the current item (also what the Check button does)."""
        if choice is None or choice == []:
            self.feedback.children = [_html("Pick an answer first.")]
            return None
        item = self.items[self.index]
        fb = service.check(item["id"], choice, self.store)
        self.last = fb
        self.check.disabled = True
        self.feedback.children = self._feedback(item, fb)
        self._update_scores()
        return fb

    def _feedback(self, item: dict, fb: dict) -> list[w.Widget]:
        verdict = "✓ Correct" if fb["correct"] else "✗ Not quite"
        color = "#2e7d32" if fb["correct"] else "#c62828"
        rows = [_html(verdict, style=f"font-weight:600;color:{color}")]
        for label, text in _explanation_rows(item, fb):
            rows.append(_html(f"{label} {text}", style="margin-left:1em"))
        q = fb["interview_question"]
        if q.get("text"):
            rows.append(_html(f"Interview question: {q['text']}", style="font-style:italic"))
        nxt = w.Button(description="Next question")
        nxt.on_click(lambda _: self.next())
        rows.append(nxt)
        return rows

    def next(self) -> None:
        self.index += 1
        self._show()

    def _update_scores(self) -> None:
        rows = "".join(
            f"<tr><td>{html.escape(s['title'])}</td><td>{s['correct']}/{s['answered']}</td></tr>"
            for s in service.scores(self.store))
        self.scores.value = (f"<b>Score per concept</b><table>{rows}</table>" if rows
                             else "<i>No answers yet.</i>")


def _explanation_rows(item: dict, fb: dict) -> list[tuple[str, str]]:
    ex, answer = fb["explanations"], fb["answer"]
    if item["type"] == "spot-the-bug":
        return [(("✓ " if int(k) == answer else "") + f"line {k}:", v)
                for k, v in sorted(ex.items(), key=lambda kv: int(kv[0]))]
    if item["type"] == "true-false":  # [if True picked, if False picked]
        return [(("✓ " if answer is True else "") + "True:", ex[0]),
                (("✓ " if answer is False else "") + "False:", ex[1])]
    answers = answer if isinstance(answer, list) else [answer]
    return [(("✓ " if i in answers else "") + f"{opt} —", ex[i]) for i, opt in enumerate(item["options"])]


def quiz(concept: str | None = None, *, limit: int = 10, store: ProgressStore | None = None) -> QuizWidget:
    """A quiz widget: items of `concept` first (a concept id such as "dropout"), then review."""
    if concept is not None:
        from ..content import catalog

        if concept not in catalog().concepts:
            raise ValueError(f"unknown concept {concept!r}; see `nntutor content coverage`")
    return QuizWidget(concept, store, limit)
