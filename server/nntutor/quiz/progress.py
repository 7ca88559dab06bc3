"""Quiz progress in one SQLite file: every answer, and each item's Leitner box and due time.

Several processes (the language server, notebook tabs, the CLI) may write at once: WAL mode,
a busy timeout and short transactions keep that safe. A damaged file is moved aside and
replaced by a fresh one with a warning; progress is worth less than a working tutor.
"""

from __future__ import annotations

import os
import sqlite3
import time
import warnings
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from .scheduler import due_at, next_box

SCHEMA_VERSION = 1
FILE_NAME = "progress.sqlite3"
BUSY_TIMEOUT_S = 10.0  # how long a writer waits for another process's transaction

# Statements that take the schema from version i to i + 1; append, never edit.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE answers (
               id INTEGER PRIMARY KEY,
               item_id TEXT NOT NULL,
               concept_id TEXT NOT NULL,
               correct INTEGER NOT NULL,
               at REAL NOT NULL)""",
        "CREATE INDEX answers_at ON answers (at)",
        """CREATE TABLE items (
               item_id TEXT PRIMARY KEY,
               concept_id TEXT NOT NULL,
               box INTEGER NOT NULL,
               due REAL NOT NULL,
               seen INTEGER NOT NULL,
               correct INTEGER NOT NULL,
               last_at REAL NOT NULL)""",
    ),
)
assert len(_MIGRATIONS) == SCHEMA_VERSION

# SQLite's primary result codes for a damaged file: SQLITE_CORRUPT, SQLITE_NOTADB.
_DAMAGED_CODES = {11, 26}
_MAX_VARS = 500  # stays under SQLite's limit on bound parameters in one statement

T = TypeVar("T")


class ProgressRecoveryWarning(UserWarning):
    """The progress file was damaged; it was moved aside and a fresh one started."""


class _DamagedFile(sqlite3.DatabaseError):
    """quick_check found damage that no statement has tripped over yet."""


@dataclass(frozen=True)
class ItemState:
    item_id: str
    concept_id: str
    box: int  # Leitner box, 1-5
    due: float  # Unix time when the item should come up again
    seen: int  # times answered
    correct: int  # times answered correctly
    last_at: float  # Unix time of the last answer


@dataclass(frozen=True)
class Answer:
    item_id: str
    concept_id: str
    correct: bool
    at: float


def default_path() -> Path:
    """<Jupyter data dir>/nntutor/progress.sqlite3, shared by every front end."""
    try:
        from jupyter_core.paths import jupyter_data_dir

        base = Path(jupyter_data_dir())
    except ImportError:
        # jupyter_core's own rule on Linux, without depending on it.
        env = os.environ.get("JUPYTER_DATA_DIR")
        base = Path(env) if env else Path.home() / ".local" / "share" / "jupyter"
    return base / "nntutor" / FILE_NAME


def _is_damage(exc: BaseException) -> bool:
    if isinstance(exc, _DamagedFile):
        return True
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF in _DAMAGED_CODES
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


class ProgressStore:
    """Answers and Leitner state for quiz items; one short-lived connection per operation."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path is not None else default_path()
        self.recovered_from: Path | None = None  # where a damaged file was moved, if it was
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._run(self._check_and_migrate)

    # --- writing ---------------------------------------------------------------------------

    def record(self, item_id: str, concept_id: str, correct: bool,
               at: float | None = None) -> ItemState:
        """Store one answer and move the item to its next Leitner box; returns the new state."""
        if not item_id or not concept_id:
            raise ValueError("item_id and concept_id must be non-empty")
        when = time.time() if at is None else float(at)

        def write(conn: sqlite3.Connection) -> ItemState:
            conn.execute("BEGIN IMMEDIATE")  # take the write lock now: no upgrade deadlock
            try:
                conn.execute(
                    "INSERT INTO answers (item_id, concept_id, correct, at) VALUES (?, ?, ?, ?)",
                    (item_id, concept_id, int(bool(correct)), when))
                row = conn.execute("SELECT box, seen, correct FROM items WHERE item_id = ?",
                                   (item_id,)).fetchone()
                box, seen, right = row if row else (None, 0, 0)
                new_box = next_box(box, bool(correct))
                state = ItemState(item_id, concept_id, new_box, due_at(new_box, when), seen + 1,
                                  right + int(bool(correct)), when)
                conn.execute(
                    "INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (state.item_id, state.concept_id, state.box, state.due, state.seen,
                     state.correct, state.last_at))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return state

        return self._run(write)

    # --- reading ---------------------------------------------------------------------------

    def item_state(self, item_id: str) -> ItemState | None:
        """The item's Leitner state, or None if it was never answered."""
        return self.item_states([item_id]).get(item_id)

    def item_states(self, item_ids: Iterable[str]) -> dict[str, ItemState]:
        """States of those of `item_ids` that were answered at least once."""
        ids = list(dict.fromkeys(item_ids))

        def read(conn: sqlite3.Connection) -> dict[str, ItemState]:
            found = {}
            for start in range(0, len(ids), _MAX_VARS):
                chunk = ids[start:start + _MAX_VARS]
                marks = ",".join("?" * len(chunk))
                for row in conn.execute(
                        "SELECT item_id, concept_id, box, due, seen, correct, last_at "
                        f"FROM items WHERE item_id IN ({marks})", chunk):
                    found[row[0]] = ItemState(*row)
            return found

        return self._run(read) if ids else {}

    def concept_scores(self) -> dict[str, dict[str, int]]:
        """{concept_id: {"answered": n, "correct": k}} over every answer ever recorded."""
        rows = self._run(lambda conn: conn.execute(
            "SELECT concept_id, COUNT(*), SUM(correct) FROM answers GROUP BY concept_id "
            "ORDER BY concept_id").fetchall())
        return {concept: {"answered": n, "correct": k} for concept, n, k in rows}

    def history(self, limit: int = 50) -> list[Answer]:
        """The latest `limit` answers, newest first."""
        rows = self._run(lambda conn: conn.execute(
            "SELECT item_id, concept_id, correct, at FROM answers "
            "ORDER BY at DESC, id DESC LIMIT ?", (max(int(limit), 0),)).fetchall())
        return [Answer(item, concept, bool(ok), at) for item, concept, ok, at in rows]

    # --- the file --------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions, each one is begun explicitly.
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA synchronous = NORMAL")  # durable enough in WAL mode, much faster
        return conn

    def _run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run `operation` on a fresh connection; on a damaged file, recover and retry once."""
        try:
            with closing(self._connect()) as conn:
                return operation(conn)
        except sqlite3.DatabaseError as exc:
            if not _is_damage(exc):
                raise
            self._recover(exc)
        with closing(self._connect()) as conn:
            self._check_and_migrate(conn)
            return operation(conn)

    def _check_and_migrate(self, conn: sqlite3.Connection) -> None:
        problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise _DamagedFile("; ".join(problems[:3]))
        # WAL lets readers and one writer work at once; the mode is stored in the file.
        self._use_wal(conn)
        conn.execute("BEGIN IMMEDIATE")  # two processes creating the file: one migrates
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                warnings.warn(f"{self.path} has schema version {version}, newer than this "
                              f"nntutor's {SCHEMA_VERSION}; using it as is", stacklevel=3)
            for step in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[step]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {step + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _use_wal(conn: sqlite3.Connection) -> None:
        """Switch the file to WAL once. Switching needs the file to itself, and SQLite answers
        "database is locked" at once, without its busy handler, while another process opens
        or switches it: retry with a short pause for up to the busy timeout."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        pause = 0.01
        while True:
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                    return
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 0.2)

    def _recover(self, exc: BaseException) -> None:
        """Move the damaged file (and its WAL) aside so a fresh database can take its place."""
        original = self.path
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = original.with_name(f"{original.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            target = original.with_name(f"{original.name}.corrupt-{stamp}-{n}")
            n += 1
        try:
            moved = _move_if_damaged(original, target)
        except OSError:  # e.g. still open elsewhere on Windows: leave it, start fresh beside it
            moved, target = True, original
            self.path = original.with_name(f"{original.name}.fresh-{stamp}")
        if not moved:  # another process got there first and started a fresh file
            return
        if target != original:
            # The journal files belong to the damaged database (SQLite would replay a stale
            # WAL into the fresh one): keep a WAL that holds anything, drop the rest.
            wal, shm = Path(f"{original}-wal"), Path(f"{original}-shm")
            try:
                if wal.stat().st_size > 0:
                    os.replace(wal, Path(f"{target}-wal"))
            except FileNotFoundError:
                pass
            wal.unlink(missing_ok=True)
            shm.unlink(missing_ok=True)  # only an index into the WAL, rebuilt on demand
        self.recovered_from = target
        warnings.warn(f"nntutor: the quiz progress file was damaged ({exc}); it was kept as "
                      f"{target} and a fresh one started at {self.path}",
                      ProgressRecoveryWarning, stacklevel=4)


def _move_if_damaged(path: Path, target: Path) -> bool:
    """Move `path` to `target` unless it is (by now) a healthy database; True if moved.

    Several processes can trip over the same damaged file. Linking first and checking the
    linked copy means a process never moves aside the fresh file another one just created.
    """
    try:
        os.link(path, target)
    except FileNotFoundError:
        return False
    except OSError:  # no hard links on this file system: a plain rename
        os.replace(path, target)
        return True
    if _healthy(target):
        target.unlink()
        return False
    try:
        if os.stat(path).st_ino == os.stat(target).st_ino:  # still the damaged file
            os.unlink(path)
    except FileNotFoundError:
        pass
    return True


def _healthy(path: Path) -> bool:
    try:
        with closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)) as conn:
            return [row[0] for row in conn.execute("PRAGMA integrity_check")] == ["ok"]
    except sqlite3.DatabaseError:
        return False
