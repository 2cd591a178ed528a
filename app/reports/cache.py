"""Built reports kept in memory, keyed by what they were built from.

A report reads ten years of records; the same report is opened again and again (back from a
drill-down, a table exported, a colleague looking at it). Every write to a workspace's rows
leaves an audit event in the same transaction (``tenants.audit`` records each flush), so the
workspace's newest audit event (its id and time) is a version of its data: a key of
(workspace, fiscal year, day, that event) can never serve figures older than the records.
The day is in the key because "this year so far", ARR's latest month and overdue lots move
with it.

Each process keeps its own few entries (least recently used out first); nothing is shared
between workspaces but the lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Final

DEFAULT_ENTRIES: Final = 16


class ReportCache:
    """A small thread-safe LRU map. ``entries == 0`` turns it off (everything is built)."""

    def __init__(self, entries: int = DEFAULT_ENTRIES) -> None:
        self.entries = entries
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_build(self, key: Hashable, build: Callable[[], Any]) -> Any:
        if self.entries <= 0:
            return build()
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            self.misses += 1
        # Built outside the lock: one slow report must not hold up other workspaces' pages.
        value = build()
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.entries:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
