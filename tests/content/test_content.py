"""The content is data that must be valid, complete, correct about APIs and our own words."""
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nntutor.content import SEED_COUNTS, content_dir, load
from nntutor.content_report import coverage, library_of, unresolved

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def catalog():
    return load()


def test_content_check_passes(catalog):
    assert [str(p) for p in catalog.problems] == []


def test_cli_content_check():
    r = subprocess.run([sys.executable, "-m", "nntutor", "content", "check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK" in r.stdout


def test_every_seed_question_covered_and_drilled(catalog):
    for prefix, n in SEED_COUNTS.items():
        for i in range(1, n + 1):
            sid = f"{prefix}#{i}"
            assert any(sid in c.seeds for c in catalog.concepts.values()), sid
            assert any(q.seed == sid for q in catalog.quiz.values()), sid
            assert sid in catalog.questions, sid


def test_quiz_minimums(catalog):
    for c in catalog.concepts.values():
        assert len(c.quiz) >= (4 if c.triggers else 2), c.id
    types = {q.type for q in catalog.quiz.values()}
    assert types == {"single", "multi", "true-false", "spot-the-bug"}


def test_trigger_counts_by_library(catalog):
    distinct = {t for c in catalog.concepts.values() for t in c.triggers}
    assert len(distinct) >= 150
    libs = {library_of(t) for t in distinct}
    assert {"torch", "keras", "sklearn", "optuna"} <= libs


def test_torch_and_sklearn_triggers_exist(catalog):
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    problems, missing = unresolved(catalog, libraries=("torch", "sklearn", "optuna"))
    assert [str(p) for p in problems] == []


def test_coverage_report(catalog):
    report = coverage(catalog)
    assert "NOT COVERED" not in report
    assert "000#16" in report and "dropout" in report
    assert re.search(r"Triggers: \d+ distinct", report)
    r = subprocess.run([sys.executable, "-m", "nntutor", "content", "coverage"], capture_output=True, text=True)
    assert r.returncode == 0 and "Quiz items:" in r.stdout


def _windows(text):
    words = re.findall(r"[a-z0-9]+", text.lower())
    for i in range(len(words) - 11):
        yield " ".join(words[i:i + 12])


def test_no_card_copies_the_seeds():
    shingles = {line.strip() for line in (Path(__file__).parent / "data" / "seed_shingles.txt").read_text().splitlines()
                if line and not line.startswith("#")}
    copied = []
    for path in sorted(content_dir().rglob("*.md")) + sorted(content_dir().rglob("*.yaml")):
        for window in _windows(path.read_text(encoding="utf-8")):
            if hashlib.sha1(window.encode()).hexdigest()[:16] in shingles:
                copied.append(f"{path.name}: {window}")
    assert copied == []


def test_validator_reports_precise_errors(tmp_path):
    (tmp_path / "concepts").mkdir()
    (tmp_path / "rules").mkdir()
    (tmp_path / "concepts" / "bad.md").write_text(
        "---\nid: bad\ntitle: Bad\nsummary: s\nseeds: [\"000#99\"]\ntriggers:\n  - torch.nn.Dropout\n"
        "  - not a name\nquiz:\n  - id: bad-1\n    type: single\n    seed: \"000#99\"\n    difficulty: 5\n"
        "    question: q\n    options: [a, b]\n    answer: 3\n    explanations: [x]\n---\nbody\n")
    cat = load(tmp_path)
    messages = [str(p) for p in cat.problems]
    assert any("bad.md:5: seeds[0]: '000#99' is not a seed question id" in m for m in messages)
    assert any("bad.md:8: triggers[1]" in m for m in messages)
    assert any("quiz[0].difficulty" in m for m in messages)
    assert any("quiz[0].answer" in m for m in messages)
    assert any("quiz[0].explanations" in m for m in messages)


def test_tensorflow_triggers_are_checked_against_the_right_library():
    """tf.keras.X mirrors Keras 3 (installed for the tests); tf.nn.relu or tf.GradientTape are
    TensorFlow's own and are resolved only where TensorFlow is installed, never against Keras."""
    assert library_of("tensorflow.keras.layers.Dense") == "keras"
    assert library_of("tensorflow.nn.relu") == "tensorflow"
    assert library_of("tensorflow.GradientTape") == "tensorflow"
    assert library_of("keras.layers.Dense") == "keras"
