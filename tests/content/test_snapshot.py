"""The catalog snapshot (content.catalog): what a fresh process loads must equal a fresh parse,
and any change to a content file (or a broken snapshot) means parsing again."""
import os
import shutil
import subprocess
import sys
import time

import pytest

from nntutor import content


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """A copy of content/ and an empty cache folder for this test; catalog() forgets its memo."""
    root = tmp_path / "content"
    shutil.copytree(content.content_dir(), root)
    monkeypatch.setattr(content, "content_dir", lambda: root)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("NNTUTOR_NO_CODE_CACHE", raising=False)
    content.catalog.cache_clear()
    yield root, tmp_path / "xdg" / "nntutor"
    content.catalog.cache_clear()


def _summary(cat):
    return (sorted(cat.concepts), sorted(cat.rules), sorted(cat.quiz), dict(cat.by_trigger), dict(cat.by_keyword),
            cat.questions, [(str(p.path), p.line, p.field, p.message) for p in cat.problems],
            [c.summary for c in cat.concepts.values()], [q.answer for q in cat.quiz.values()])


def _snapshots(folder):
    return sorted(folder.glob("catalog-*.pickle")) if folder.exists() else []


def test_snapshot_equals_a_fresh_parse(isolated):
    root, folder = isolated
    first = content.catalog()
    [snap] = _snapshots(folder)
    content.catalog.cache_clear()
    os.utime(snap, None)
    second = content.catalog()
    assert second is not first and _summary(second) == _summary(first) == _summary(content.load(root))
    assert _snapshots(folder) == [snap]


def test_a_changed_card_is_parsed_again(isolated):
    root, folder = isolated
    content.catalog()
    card = next(iter(sorted((root / "concepts").glob("*.md"))))
    text = card.read_text()
    card.write_text(text.replace("\nsummary: ", "\nsummary: EDITED ", 1))
    st = card.stat()
    os.utime(card, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    content.catalog.cache_clear()
    edited = content.catalog()
    assert any(c.summary.startswith("EDITED") for c in edited.concepts.values())
    assert len(_snapshots(folder)) == 1   # the old snapshot is removed


@pytest.mark.parametrize("junk", [b"", b"not a pickle", b"\x80\x05K\x01."])
def test_a_broken_snapshot_is_parsed_again_and_replaced(isolated, junk):
    _, folder = isolated
    good = _summary(content.catalog())
    [snap] = _snapshots(folder)
    snap.write_bytes(junk)
    content.catalog.cache_clear()
    assert _summary(content.catalog()) == good
    assert snap.read_bytes() != junk


def test_no_code_cache_env_turns_it_off(isolated, monkeypatch):
    _, folder = isolated
    monkeypatch.setenv("NNTUTOR_NO_CODE_CACHE", "1")
    content.catalog()
    assert _snapshots(folder) == []


def test_a_fresh_process_loads_the_snapshot_without_yaml(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    env.pop("NNTUTOR_NO_CODE_CACHE", None)
    code = ("import sys, time\nfrom nntutor.content import catalog\nt = time.perf_counter()\nc = catalog()\n"
            "print(len(c.concepts), len(c.quiz), 'yaml' in sys.modules)\n")
    runs = []
    for _ in range(2):
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=True)
        runs.append((out.stdout.split(), time.perf_counter() - started))
    (first, _), (second, _) = runs
    assert first[:2] == second[:2] and int(first[0]) > 40
    assert first[2] == "True" and second[2] == "False"   # parsed, then loaded from the snapshot
