"""Quiz progress (an SQLite store shared by every front end) and Leitner scheduling."""

from .progress import Answer, ItemState, ProgressRecoveryWarning, ProgressStore, default_path
from .scheduler import INTERVALS, next_box, next_items

__all__ = [
    "INTERVALS",
    "Answer",
    "ItemState",
    "ProgressRecoveryWarning",
    "ProgressStore",
    "default_path",
    "next_box",
    "next_items",
]
