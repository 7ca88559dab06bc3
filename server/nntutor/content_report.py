"""`nntutor content check|coverage`: validation, trigger resolution and the coverage report.

Resolving triggers imports torch / sklearn / keras / optuna, so it lives here (a developer
command), never on the server's path."""
from __future__ import annotations

import importlib
import importlib.util
import os
from collections import Counter

from .content import KEYWORD_TRIGGER, SEED_COUNTS, Catalog, Problem

def library_of(trigger: str) -> str:
    if KEYWORD_TRIGGER.match(trigger):
        return "keras (string argument)"
    parts = trigger.split(".")
    if parts[0] == "tensorflow":
        # tf.keras.X is Keras (checked against Keras 3); tf.nn.relu, tf.GradientTape are
        # TensorFlow's own, checked only where TensorFlow is installed
        return "keras" if parts[1:2] == ["keras"] else "tensorflow"
    return parts[0]


def _resolve(qual: str):
    """Import the longest importable module prefix and getattr the rest; raises on failure."""
    parts = qual.split(".")
    if parts[0] == "tensorflow" and parts[1:2] == ["keras"]:
        parts = parts[1:]  # tensorflow.keras.X mirrors keras.X (Keras 3)
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(qual)


def unresolved(catalog: Catalog, libraries=("torch", "sklearn", "keras", "optuna", "tensorflow")) -> tuple[list[Problem], list[str]]:
    """(problems for triggers that do not exist, libraries that are not installed)."""
    # Keras 3 needs a backend to import; torch is the one installed with the test extras.
    if importlib.util.find_spec("torch") is not None:
        os.environ.setdefault("KERAS_BACKEND", "torch")
    available, missing = set(), []
    for lib in libraries:
        try:
            importlib.import_module(lib)
            available.add(lib)
        except Exception:
            missing.append(lib)
    problems = []
    for c in catalog.concepts.values():
        lines = getattr(c, "_lines", {})
        for i, t in enumerate(c.triggers):
            if KEYWORD_TRIGGER.match(t):
                continue
            lib = library_of(t)
            if lib not in available:
                continue
            try:
                _resolve(t)
            except Exception:
                problems.append(Problem(c.path, lines.get(("triggers", i), 1), f"triggers[{i}]",
                                        f"'{t}' does not exist"))
    return problems, missing


def coverage(catalog: Catalog) -> str:
    out = ["Seed question coverage (card ids)", ""]
    for prefix, n in SEED_COUNTS.items():
        for i in range(1, n + 1):
            sid = f"{prefix}#{i}"
            cards = [c.id for c in catalog.concepts.values() if sid in c.seeds]
            items = sum(1 for q in catalog.quiz.values() if q.seed == sid)
            q = catalog.questions.get(sid, "")
            out.append(f"  {sid:7} {', '.join(cards) or 'NOT COVERED':45} {items:2} items  {q}")
    triggers = Counter()
    distinct = set()
    for c in catalog.concepts.values():
        for t in c.triggers:
            distinct.add(t)
            triggers[library_of(t)] += 1
    out += ["", f"Triggers: {len(distinct)} distinct"]
    out += [f"  {lib:25} {n}" for lib, n in sorted(triggers.items())]
    types = Counter(q.type for q in catalog.quiz.values())
    out += ["", f"Quiz items: {len(catalog.quiz)}"] + [f"  {t:25} {n}" for t, n in sorted(types.items())]
    out += ["", f"Concept cards: {len(catalog.concepts)}   Rule docs: {len(catalog.rules)}"]
    return "\n".join(out)
