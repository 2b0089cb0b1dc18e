"""The line items of a snapshot, as a map by id over its entries (one map to revise, not two)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, TypeVar, overload

from .entries import Entry
from .model import LineItemSpec

T = TypeVar("T")


class LineItems(Mapping[int, LineItemSpec]):
    __slots__ = ("_entries",)

    def __init__(self, entries: Mapping[int, Entry]) -> None:
        self._entries = entries

    def __getitem__(self, key: int) -> LineItemSpec:
        return self._entries[key].item

    @overload
    def get(self, key: int, /) -> LineItemSpec | None: ...

    @overload
    def get(self, key: int, /, default: LineItemSpec | T) -> LineItemSpec | T: ...

    def get(self, key: int, /, default: Any = None) -> Any:
        entry = self._entries.get(key)
        return default if entry is None else entry.item

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[int]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
