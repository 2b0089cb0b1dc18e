"""A select whose ``IN`` list varies in length, compiled once per dialect and length and run as
driver SQL.

SQLAlchemy caches the compiled form of a select with an ``expanding`` IN parameter, but renders
the list's placeholders into the statement text and processes every parameter again on each
execution. For the one query an ad decision makes per page view (a reader's impressions of the
line items with caps, ``ads/delivery.py``) that was ~118 µs of the ~550 µs seed page with ads
on SQLite, most of it SQLAlchemy's, not the database's (~15 µs). :class:`InListSelect` keeps, per
dialect and list length, the statement text, its parameter order and each parameter's bind
processor (the column types' own: ``UTCDateTime`` still turns aware datetimes into UTC), and
runs it with ``Connection.exec_driver_sql``: through the same connection and error handling
(failures still raise ``DBAPIError`` and invalidate the connection), without compiling or
rendering: ~88 µs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Select
from sqlalchemy.engine import Dialect

#: Kept statements per select: one per dialect and list length met (the lengths a snapshot's
#: line items give; far fewer in practice).
MAX_KEPT = 256


class _Prepared:
    __slots__ = ("names", "positional", "processors", "sql", "template")

    def __init__(self, select: Select[Any], dialect: Dialect) -> None:
        compiled = select.compile(dialect=dialect)
        self.sql: str = compiled.string
        # the statement's own values (literals such as a CASE's ``else 0``)
        self.template: dict[str, Any] = {name: bind.value for name, bind in compiled.binds.items()
                                         if not bind.required}
        self.positional: bool = bool(dialect.positional)
        self.names: tuple[str, ...] = (tuple(compiled.positiontup or ())
                                       if self.positional else tuple(compiled.binds))
        self.processors: dict[str, Callable[[Any], Any]] = {}
        for name in self.names:
            processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.processors[name] = processor

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        merged = {**self.template, **values}
        for name, processor in self.processors.items():
            merged[name] = processor(merged[name])
        if self.positional:
            return tuple(merged[name] for name in self.names)
        return merged


class InListSelect:
    """``build(n)`` makes the select with ``n`` bound parameters ``id_0`` ... ``id_{n-1}`` in
    its IN list; :meth:`rows` runs it for the given ids and other parameters."""

    def __init__(self, build: Callable[[int], Select[Any]]) -> None:
        self._build = build
        self._prepared: dict[tuple[str, str | None, int], _Prepared] = {}
        self._lock = threading.Lock()

    @staticmethod
    def id_names(count: int) -> list[str]:
        return [f"id_{index}" for index in range(count)]

    def rows(self, connection: Connection, ids: Sequence[int],
             values: Mapping[str, Any]) -> list[Any]:
        dialect = connection.dialect
        key = (dialect.name, dialect.driver, len(ids))
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = _Prepared(self._build(len(ids)), dialect)
            with self._lock:
                if len(self._prepared) >= MAX_KEPT:
                    self._prepared.clear()
                self._prepared[key] = prepared
        given = dict(values)
        given.update(zip(self.id_names(len(ids)), ids, strict=True))
        result = connection.exec_driver_sql(prepared.sql, prepared.parameters(given))
        return list(result)
