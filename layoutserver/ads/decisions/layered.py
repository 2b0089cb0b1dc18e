"""A read-only map in two layers, for the snapshot's maps by id (line items, creatives, and
what counts them): a large base shared by the snapshots of many versions, and the few entries
changed since, on top. A revision copies the top, never the base: copying a map of 100,000
entries touches every value it holds (their reference counts) and costs tens of
milliseconds, where the top holds what the last changes touched. Once the top outgrows
:func:`top_limit`, a revision folds it into a new base (one copy of the whole map, every few
thousand changed entries)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final, Generic, TypeVar, cast, overload

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")

GONE: Final[Any] = object()
"""A top entry saying the key is not in the map (whatever the base holds)."""


def top_limit(base_size: int) -> int:
    """Entries the top may hold before it is folded into the base."""
    return max(256, 8 * int(base_size ** 0.5))


class Layered(Mapping[K, V], Generic[K, V]):
    __slots__ = ("_base", "_length", "_top")

    def __init__(self, base: dict[K, V], top: dict[K, Any] | None = None,
                 length: int | None = None) -> None:
        self._base: dict[K, V] = base
        self._top: dict[K, Any] = top or {}
        self._length = len(base) if length is None else length

    def __getitem__(self, key: K) -> V:
        found: Any = self._top.get(key, GONE) if key in self._top else self._base[key]
        if found is GONE:
            raise KeyError(key)
        return cast(V, found)

    @overload
    def get(self, key: K, /) -> V | None: ...

    @overload
    def get(self, key: K, /, default: V | T) -> V | T: ...

    def get(self, key: K, /, default: Any = None) -> Any:
        found = self._top.get(key, self)
        if found is self:
            return self._base.get(key, default)
        return default if found is GONE else found

    def __contains__(self, key: object) -> bool:
        found = self._top.get(cast(K, key), self)
        return key in self._base if found is self else found is not GONE

    def __iter__(self) -> Iterator[K]:
        top = self._top
        for key in self._base:
            if key not in top:
                yield key
        for key, value in top.items():
            if value is not GONE:
                yield key

    def __len__(self) -> int:
        return self._length

    @property
    def base(self) -> Mapping[K, V]:
        """The lower layer, as it is: the same object in every revision until the top is
        folded into a new base. What a caller works out over the whole map may be kept per
        base, and :meth:`changed` added to it."""
        return self._base

    def changed(self) -> Iterator[V]:
        """The values set on top of :attr:`base` (added or replaced since it was made)."""
        for value in self._top.values():
            if value is not GONE:
                yield value

    def revised(self, changes: Mapping[K, Any]) -> Layered[K, V]:
        """This map with ``changes`` (a value, or :data:`GONE` to remove the key)."""
        if not changes:
            return self
        length = self._length
        for key, value in changes.items():
            length += (value is not GONE) - (key in self)
        top = {**self._top, **changes}
        if len(top) <= top_limit(len(self._base)):
            return Layered(self._base, top, length)
        base = dict(self._base)
        for key, value in top.items():
            if value is GONE:
                base.pop(key, None)
            else:
                base[key] = value
        return Layered(base)
