"""Leitner spaced repetition: which quiz items to ask next.

Five boxes. A correct answer moves an item up one box, a wrong one back to box 1, and the box
sets how long until the item is due again. `next_items` puts the concepts the user is working on
right now first, then reviews whatever is due.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for annotations: progress imports this module
    from .progress import ItemState, ProgressStore

DAY = 24 * 60 * 60.0
# Seconds until an item in box n is due again (index 0 unused: boxes are numbered 1-5).
INTERVALS = (0.0, 0.0, 1 * DAY, 3 * DAY, 7 * DAY, 21 * DAY)
FIRST_BOX = 1
LAST_BOX = len(INTERVALS) - 1


def next_box(box: int | None, correct: bool) -> int:
    """The box after an answer; `box` None means the item was never answered (box 1)."""
    current = FIRST_BOX if box is None else box
    return min(current + 1, LAST_BOX) if correct else FIRST_BOX


def due_at(box: int, answered_at: float) -> float:
    """When an item just moved into `box` comes up again."""
    return answered_at + INTERVALS[box]


def next_items(
    store: ProgressStore,
    candidates: Iterable[tuple[str, str]],
    priority_concepts: Sequence[str],
    now: float,
    limit: int = 10,
) -> list[str]:
    """Up to `limit` item ids from `candidates` ((item_id, concept_id) pairs), best first.

    1. Items of `priority_concepts` (concepts in the open notebook, fired diagnostics), in the
       order those concepts are listed; per concept, due reviews (oldest due first), then
       unseen items.
    2. Then not-yet-due items of those concepts, in the same concept order, soonest due first:
       the user is working on them now, so they beat review of other topics.
    3. Then spaced repetition over everything else: due items, oldest due first,
    4. then unseen items. Items of other concepts that are not due yet are left out.
    Ties keep the order of `candidates`, so the result depends only on the inputs.
    """
    unique = list(dict.fromkeys(candidates))  # first occurrence wins
    rank = {}
    for concept in priority_concepts:
        rank.setdefault(concept, len(rank))
    states = store.item_states([item_id for item_id, _ in unique])

    keyed = []
    for order, (item_id, concept) in enumerate(unique):
        key = _sort_key(states.get(item_id), rank.get(concept), now, order)
        if key is not None:
            keyed.append((key, item_id))
    keyed.sort()
    picked = list(dict.fromkeys(item_id for _, item_id in keyed))  # an id under two concepts
    return picked[: max(limit, 0)]


def _sort_key(state: ItemState | None, concept_rank: int | None, now: float, order: int):
    """(tier, ...) tuple that sorts an item into place, or None to leave it out."""
    if concept_rank is not None:
        if state is None:
            return (0, concept_rank, 1, 0.0, order)
        if state.due <= now:
            return (0, concept_rank, 0, state.due, order)
        return (1, concept_rank, state.due, order)
    if state is None:
        return (3, order)
    if state.due <= now:
        return (2, state.due, order)
    return None
