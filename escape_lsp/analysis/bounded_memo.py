"""A least-recently-used map bounded by estimated bytes (and optionally by entries)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class BoundedMemo(Generic[V]):
    """Entries by key; the oldest go once the costs exceed `budget` bytes or there are more
    than `max_entries` (the newest always stays, however big)."""

    def __init__(
        self, budget: int, cost: Callable[[V], int], max_entries: int | None = None
    ) -> None:
        self.entries: OrderedDict[str, V] = OrderedDict()
        self._budget = budget
        self._cost = cost
        self._max_entries = max_entries
        self._costs: dict[str, int] = {}
        self._bytes = 0

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, key: str, touch: bool = True) -> V | None:
        """The entry, made the most recently used unless `touch` is false."""
        value = self.entries.get(key)
        if value is not None and touch:
            self.entries.move_to_end(key)
        return value

    def touch(self, key: str) -> None:
        self.entries.move_to_end(key)

    def drop(self, key: str) -> None:
        if self.entries.pop(key, None) is not None:
            self._bytes -= self._costs.pop(key, 0)

    def put(self, key: str, value: V) -> None:
        if key in self.entries:
            self._bytes -= self._costs.pop(key, 0)
        self.entries[key] = value
        self.entries.move_to_end(key)
        cost = self._costs[key] = self._cost(value)
        self._bytes += cost
        while len(self.entries) > 1 and (
            self._bytes > self._budget
            or (self._max_entries is not None and len(self.entries) > self._max_entries)
        ):
            old, _ = self.entries.popitem(last=False)
            self._bytes -= self._costs.pop(old, 0)
