"""Leitner scheduling: box transitions and the order next_items picks, with explicit times."""

from __future__ import annotations

import pytest

from nntutor.quiz import INTERVALS, ProgressStore, next_box, next_items
from nntutor.quiz.scheduler import DAY, due_at

T0 = 1_700_000_000.0


@pytest.fixture
def store(tmp_path) -> ProgressStore:
    return ProgressStore(tmp_path / "progress.sqlite3")


def test_intervals():
    assert INTERVALS[1:] == (0.0, 1 * DAY, 3 * DAY, 7 * DAY, 21 * DAY)


@pytest.mark.parametrize(("box", "correct", "expected"), [
    (None, True, 2), (None, False, 1),
    (1, True, 2), (2, True, 3), (3, True, 4), (4, True, 5), (5, True, 5),  # capped at box 5
    (1, False, 1), (3, False, 1), (5, False, 1),  # any wrong answer: back to box 1
])
def test_box_transitions(box, correct, expected):
    assert next_box(box, correct) == expected


def test_due_times():
    assert due_at(1, T0) == T0  # box 1: ask again right away
    assert due_at(5, T0) == T0 + 21 * DAY


def test_a_full_climb_with_the_store(store):
    at = T0
    for expected_box, wait in [(2, 1), (3, 3), (4, 7), (5, 21), (5, 21)]:
        state = store.record("x-1", "x", True, at=at)
        assert state.box == expected_box and state.due == at + wait * DAY
        at = state.due
    state = store.record("x-1", "x", False, at=at)
    assert state.box == 1 and state.due == at


CANDIDATES = [
    ("a-1", "a"), ("a-2", "a"), ("a-3", "a"),
    ("b-1", "b"), ("b-2", "b"),
    ("c-1", "c"), ("c-2", "c"), ("c-3", "c"), ("c-4", "c"),
]


def test_unseen_items_in_candidate_order_without_priorities(store):
    assert next_items(store, CANDIDATES, [], now=T0, limit=20) == [i for i, _ in CANDIDATES]


def test_priority_concepts_come_first_in_list_order(store):
    got = next_items(store, CANDIDATES, ["c", "a"], now=T0, limit=20)
    assert got == ["c-1", "c-2", "c-3", "c-4", "a-1", "a-2", "a-3", "b-1", "b-2"]


def test_ordering_rules(store):
    now = T0 + 10 * DAY
    store.record("a-1", "a", True, at=now - 1 * DAY)   # box 2, due now + 0: due (just)
    store.record("a-2", "a", True, at=now - 0.5 * DAY)  # box 2, due in half a day: not due
    store.record("c-1", "c", False, at=now - 5 * DAY)   # box 1, due 5 days ago
    store.record("c-2", "c", False, at=now - 2 * DAY)   # box 1, due 2 days ago
    store.record("c-3", "c", True, at=now - 0.1 * DAY)  # box 2, not due
    store.record("b-1", "b", True, at=now - 0.2 * DAY)  # box 2, not due: left out
    store.record("b-2", "b", False, at=now - 3 * DAY)   # box 1, due 3 days ago

    got = next_items(store, CANDIDATES, ["a"], now=now, limit=20)
    assert got == [
        "a-1", "a-3",  # priority concept: due review, then unseen
        "a-2",         # priority concept, not due yet
        "c-1", "b-2", "c-2",  # the rest: due reviews, oldest due first
        "c-4",         # the rest: unseen (c-3 and b-1 are not due: left out)
    ]


def test_priority_not_yet_due_follow_all_due_priority_items(store):
    now = T0
    store.record("a-1", "a", True, at=now)  # not due for a day
    got = next_items(store, CANDIDATES, ["a", "b"], now=now, limit=20)
    assert got[:5] == ["a-2", "a-3", "b-1", "b-2", "a-1"]


def test_limit_duplicates_and_determinism(store):
    store.record("b-2", "b", False, at=T0 - DAY)
    doubled = CANDIDATES + CANDIDATES[:3]
    first = next_items(store, doubled, ["a", "a", "zzz"], now=T0, limit=4)
    assert first == ["a-1", "a-2", "a-3", "b-2"]
    assert next_items(store, doubled, ["a", "a", "zzz"], now=T0, limit=4) == first
    assert next_items(store, CANDIDATES, [], now=T0, limit=0) == []


def test_nothing_due_gives_nothing_for_other_concepts(store):
    for item, concept in CANDIDATES:
        store.record(item, concept, True, at=T0)
    assert next_items(store, CANDIDATES, [], now=T0 + 1, limit=20) == []
    # a day later everything in box 2 is due again, oldest answer first (all equal: list order)
    assert next_items(store, CANDIDATES, [], now=T0 + DAY, limit=3) == ["a-1", "a-2", "a-3"]
