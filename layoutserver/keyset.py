"""Keyset (cursor) pages of a query: the cost of a page does not grow with how far into the
list it is.

A list is sorted by a :class:`SortKey`: columns whose values together name one row (the last
is unique: a primary key, a slug, a name), all ascending or all descending. A page after a row
selects the rows past that row's values (``WHERE (a, b) > (:a, :b)``, written so any index
on the leading column serves it), so the database seeks to the place in an index instead of
reading and skipping every row before it, as ``OFFSET`` does. A cursor is that row's sort
values, opaque to clients (URL-safe base64 of JSON, with the sort key's name, so a cursor of
one list is refused by another). A client following cursors sees every row that exists from
its first page to its last exactly once, whatever is inserted or deleted meanwhile; with
``OFFSET`` an insert before the page repeats a row and a delete skips one.

``Window.offset`` is still served, for clients of pages by number: the database reads and
skips every row before it. The total is counted only when asked (``count_total``): ``count(*)``
reads the whole (filtered) list.

No Flask here: the services, the API and the console page with it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, TypeDecorator, and_, func, or_, select
from sqlalchemy.orm import Session

T = TypeVar("T")
U = TypeVar("U")

#: Longer cursors are refused before decoding: no sort key's values come near it.
MAX_CURSOR_LENGTH = 1000


class BadCursor(ValueError):
    """A cursor that is not one this list made."""


@dataclass(frozen=True)
class SortKey:
    """How a list is sorted: ``columns`` (the last unique), all descending or all ascending.
    ``name`` goes into its cursors."""

    name: str
    columns: tuple[Any, ...]
    descending: bool = False
    attributes: tuple[str, ...] = ()
    """The names of the sort values on a row, when not the columns' own (a list sorted by
    columns of a table joined to the one whose rows it shows)."""

    def order_by(self) -> list[Any]:
        return [column.desc() if self.descending else column.asc() for column in self.columns]

    def values(self, row: Any) -> tuple[Any, ...]:
        """The sort values of ``row`` (an ORM object, or a row with the sort columns)."""
        names = self.attributes or tuple(column.key for column in self.columns)
        return tuple(getattr(row, name) for name in names)

    def cursor(self, values: Sequence[Any]) -> str:
        """The opaque cursor of the page after the row of ``values``."""
        shown = [value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value
                 for value in values]
        text = json.dumps([self.name, *shown], separators=(",", ":"), ensure_ascii=False)
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def decode(self, cursor: str) -> tuple[Any, ...]:
        """The sort values ``cursor`` holds; ``BadCursor`` for anything :meth:`cursor` of this
        key did not make."""
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise BadCursor("The cursor is too long.")
        try:
            text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            found = json.loads(text)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise BadCursor("Not a cursor: use the one a Link header gives.") from None
        if not isinstance(found, list) or not found or found[0] != self.name:
            raise BadCursor(f"Not a cursor of this list ({self.name}).")
        if len(found) != len(self.columns) + 1:
            raise BadCursor("The cursor does not fit this list's order.")
        return tuple(_typed(column, value) for column, value in zip(self.columns, found[1:],
                                                                     strict=True))

    def after(self, values: Sequence[Any]) -> ColumnElement[bool]:
        """The rows past ``values`` in this order. Written out rather than as a row value
        comparison, with the first column's own bound first, so that an index whose leading
        column is the first sort column serves it on every database."""
        first, *rest = self.columns
        condition: ColumnElement[bool] | None = None
        for index in range(len(self.columns) - 1, -1, -1):
            column, value = self.columns[index], values[index]
            beyond = column < value if self.descending else column > value
            if condition is None:
                condition = beyond
            else:
                condition = or_(beyond, and_(column == value, condition))
        assert condition is not None
        if not rest:
            return condition
        bound = first <= values[0] if self.descending else first >= values[0]
        return and_(bound, condition)


def _typed(column: Any, value: Any) -> Any:
    """``value`` as ``column`` compares it; ``BadCursor`` when it is of another type."""
    column_type = column.type
    if isinstance(column_type, TypeDecorator):  # UTCDateTime: the type it stores
        column_type = column_type.impl_instance
    kind = column_type.python_type
    if kind is datetime and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise BadCursor("The cursor holds a bad date.") from None
        if moment.tzinfo is None:
            raise BadCursor("The cursor holds a date without its UTC offset.")
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise BadCursor("The cursor holds a date out of range.") from None
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        if not -(2**63) <= value < 2**63:
            raise BadCursor("The cursor holds a number out of range.")
        return value
    if kind is str and isinstance(value, str):
        # no database stores NUL or a lone surrogate (a JSON escape may make either)
        if "\x00" in value or any("\ud800" <= char <= "\udfff" for char in value):
            raise BadCursor("The cursor holds text no key has.")
        return value
    raise BadCursor("The cursor does not fit this list's order.")


@dataclass(frozen=True)
class Window:
    """Which rows a page holds: ``size`` of them after the cursor ``after`` (from the start
    without one), or from ``offset`` (slower); the total only with ``count_total``."""

    size: int
    after: str | None = None
    offset: int | None = None
    count_total: bool = False

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError("a page holds at least one row")
        if self.after is not None and self.offset is not None:
            raise ValueError("a page starts after a cursor or at an offset, not both")


@dataclass
class Page(Generic[T]):
    """One page: its ``items``, the cursor after each (``cursors[i]`` continues after
    ``items[i]``), whether rows follow the last, and the total when it was asked for."""

    items: list[T]
    cursors: list[str]
    more: bool
    total: int | None = None

    def map(self, convert: Callable[[T], U]) -> Page[U]:
        return Page([convert(item) for item in self.items], self.cursors, self.more,
                    self.total)


def fetch(session: Session, query: Select[Any], key: SortKey, window: Window) -> Page[Any]:
    """A page of the ORM entities ``query`` selects, in ``key``'s order; ``BadCursor``."""
    total = None
    if window.count_total:
        total = int(session.scalar(select(func.count()).select_from(query.order_by(None)
                                                                     .subquery())) or 0)
    paged = query.order_by(*key.order_by())
    if window.after is not None:
        paged = paged.where(key.after(key.decode(window.after)))
    elif window.offset:
        paged = paged.offset(window.offset)
    rows = list(session.scalars(paged.limit(window.size + 1)).unique())
    more = len(rows) > window.size
    rows = rows[:window.size]
    return Page(rows, [key.cursor(key.values(row)) for row in rows], more, total)


def count_up_to(session: Session, query: Select[Any], at_most: int) -> int:
    """How many rows ``query`` selects, counted up to ``at_most`` (the count stops there):
    cheap at any size, for "10,000+"."""
    some = query.order_by(None).limit(at_most).subquery()
    return int(session.scalar(select(func.count()).select_from(some)) or 0)
