"""ProgressStore: answers survive restarts, concurrent writers, and damaged files."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from nntutor.quiz import ProgressRecoveryWarning, ProgressStore, default_path
from nntutor.quiz.progress import SCHEMA_VERSION
from nntutor.quiz.scheduler import DAY

SERVER = Path(__file__).resolve().parents[2] / "server"
T0 = 1_700_000_000.0


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "nntutor" / "progress.sqlite3"


def test_record_moves_the_item_through_the_boxes(db):
    store = ProgressStore(db)
    assert store.item_state("dropout-1") is None

    s = store.record("dropout-1", "dropout", True, at=T0)
    assert (s.box, s.due, s.seen, s.correct, s.last_at) == (2, T0 + DAY, 1, 1, T0)
    s = store.record("dropout-1", "dropout", True, at=T0 + DAY)
    assert (s.box, s.due) == (3, T0 + 4 * DAY)
    s = store.record("dropout-1", "dropout", False, at=T0 + 4 * DAY)
    assert (s.box, s.due, s.seen, s.correct) == (1, T0 + 4 * DAY, 3, 2)  # wrong: box 1, due now
    assert store.item_state("dropout-1") == s


def test_scores_and_history(db):
    store = ProgressStore(db)
    store.record("dropout-1", "dropout", True, at=T0)
    store.record("dropout-2", "dropout", False, at=T0 + 1)
    store.record("softmax-1", "softmax", True, at=T0 + 2)
    assert store.concept_scores() == {
        "dropout": {"answered": 2, "correct": 1},
        "softmax": {"answered": 1, "correct": 1},
    }
    latest = store.history(2)
    assert [(a.item_id, a.correct, a.at) for a in latest] == [
        ("softmax-1", True, T0 + 2), ("dropout-2", False, T0 + 1)]
    assert len(store.history(100)) == 3
    assert store.history(0) == []


def test_item_states_in_bulk(db):
    store = ProgressStore(db)
    ids = [f"item-{i}" for i in range(1200)]  # more than one statement's worth of parameters
    for item in ids[::100]:
        store.record(item, "c", True, at=T0)
    states = store.item_states(ids)
    assert sorted(states) == sorted(ids[::100])
    assert store.item_states([]) == {}


def test_survives_a_restart(db):
    ProgressStore(db).record("lstm-1", "lstm", True, at=T0)
    reopened = ProgressStore(db)
    assert reopened.item_state("lstm-1").box == 2
    assert reopened.concept_scores() == {"lstm": {"answered": 1, "correct": 1}}
    assert reopened.recovered_from is None


def test_wal_mode_and_schema_version(db):
    ProgressStore(db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_rejects_empty_ids(db):
    store = ProgressStore(db)
    with pytest.raises(ValueError):
        store.record("", "dropout", True)


def test_default_path_is_under_the_jupyter_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jdata"))
    assert default_path() == tmp_path / "jdata" / "nntutor" / "progress.sqlite3"
    store = ProgressStore()
    store.record("x-1", "x", True, at=T0)
    assert (tmp_path / "jdata" / "nntutor" / "progress.sqlite3").exists()


def test_default_path_without_jupyter_core(tmp_path, monkeypatch):
    monkeypatch.delenv("JUPYTER_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setitem(sys.modules, "jupyter_core", None)  # makes the import fail
    monkeypatch.setitem(sys.modules, "jupyter_core.paths", None)
    assert default_path() == tmp_path / ".local/share/jupyter/nntutor/progress.sqlite3"


WRITER = """
import sys
from nntutor.quiz import ProgressStore
path, worker, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = ProgressStore(path)
for i in range(n):
    store.record(f"item-{i % 10}", f"concept-{worker}", i % 2 == 0, at=1000.0 + i)
"""


def test_concurrent_writers_from_several_processes(db):
    workers, each = 6, 100
    env = {**os.environ, "PYTHONPATH": str(SERVER)}
    # Started together on a file that does not exist yet: creation races too.
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(w), str(each)],
                              env=env, stderr=subprocess.PIPE, text=True)
             for w in range(workers)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err

    store = ProgressStore(db)
    assert store.recovered_from is None
    scores = store.concept_scores()
    assert scores == {f"concept-{w}": {"answered": each, "correct": each // 2}
                      for w in range(workers)}
    assert len(store.history(10_000)) == workers * each
    # The item rows, updated by every process, saw every answer.
    assert sum(s.seen for s in store.item_states(f"item-{i}" for i in range(10)).values()) \
        == workers * each
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_several_processes_meeting_a_damaged_file(db):
    db.parent.mkdir(parents=True)
    db.write_bytes(b"\x00garbage" * 4096)
    workers, each = 5, 30
    env = {**os.environ, "PYTHONPATH": str(SERVER)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(w), str(each)],
                              env=env, stderr=subprocess.PIPE, text=True)
             for w in range(workers)]
    errors = [proc.communicate(timeout=120)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * workers, errors
    assert any("ProgressRecoveryWarning" in err for err in errors)
    # No process moved aside the fresh file another one had started: nothing was lost.
    store = ProgressStore(db)
    assert len(store.history(10_000)) == workers * each
    assert _damaged_files(db)


def _damaged_files(db: Path) -> list[Path]:
    return sorted(db.parent.glob(f"{db.name}.corrupt-*"))


def test_garbage_file_is_moved_aside(db):
    db.parent.mkdir(parents=True)
    garbage = os.urandom(8192)
    db.write_bytes(garbage)
    with pytest.warns(ProgressRecoveryWarning, match="damaged"):
        store = ProgressStore(db)
    (moved,) = _damaged_files(db)
    assert store.recovered_from == moved and moved.read_bytes() == garbage
    assert moved.name.startswith("progress.sqlite3.corrupt-")
    store.record("a-1", "a", True, at=T0)  # the fresh database works
    assert ProgressStore(db).item_state("a-1").box == 2


def test_truncated_file_is_moved_aside(db):
    store = ProgressStore(db)
    for i in range(120):  # enough rows for several pages
        store.record(f"item-{i}", f"concept-{i % 9}", True, at=T0 + i)
    size = db.stat().st_size
    with open(db, "r+b") as f:
        f.truncate(size // 2)
    with pytest.warns(ProgressRecoveryWarning):
        fresh = ProgressStore(db)
    assert fresh.recovered_from is not None and fresh.recovered_from.stat().st_size == size // 2
    assert fresh.concept_scores() == {}
    assert ProgressStore(db).recovered_from is None  # recovered once, healthy from then on


def test_damage_found_while_running_is_recovered(db):
    store = ProgressStore(db)
    store.record("a-1", "a", True, at=T0)
    db.write_bytes(b"not a database" * 500)  # e.g. clobbered by another program
    with pytest.warns(ProgressRecoveryWarning):
        state = store.record("a-2", "a", False, at=T0 + 1)
    assert state.box == 1 and store.recovered_from is not None
    assert store.concept_scores() == {"a": {"answered": 1, "correct": 0}}


def test_a_healthy_file_gives_no_warning(db):
    ProgressStore(db).record("a-1", "a", True, at=T0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        store = ProgressStore(db)
    assert store.recovered_from is None and _damaged_files(db) == []
