"""Selects compiled once per dialect into driver SQL: their text, their parameters' order and
bind processors, and their columns' result processors.

Two fast paths use them:

* :class:`PreparedSelect`, the content reads every uncached render makes (the article, a list's
  picks, the latest articles). :meth:`layoutserver.db.Database.read_rows` runs one on the DBAPI
  connection each thread keeps on SQLite, past SQLAlchemy's execution context: on the seed
  page's queries ~50 µs each through a ``Connection`` against ~12 µs of SQLite's own. The setting
  ``DIRECT_READS = false`` sends them through SQLAlchemy like every other query; so do other
  databases, and selects whose text depends on their values (an expanding ``IN`` list, a
  ``literal_execute`` parameter), which :meth:`PreparedSelect.compiled` answers None for.
* :class:`InListSelect`, a select whose ``IN`` list varies in length: one prepared select per
  length. SQLAlchemy caches the compiled form of an ``expanding`` IN parameter's select, but
  renders the list's placeholders into its text and processes every parameter again on each
  execution; the one query an ad decision makes per page view (a reader's impressions of the
  line items with caps, ``ads/delivery.py``) spent ~118 µs there, most of it SQLAlchemy's,
  not the database's (~15 µs).

Results are the same either way: each column's type processes its value as SQLAlchemy would
(``UTCDateTime`` gives aware datetimes), and a driver error is raised as SQLAlchemy's
``DBAPIError``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect

#: Prepared selects an InListSelect keeps: one per list length met (the lengths a snapshot's
#: line items give; far fewer in practice).
MAX_LENGTHS_KEPT = 256

Row = Sequence[Any]


class CompiledSelect:
    """One select compiled for one dialect."""

    __slots__ = ("names", "positional", "processors", "results", "sql", "template")

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
        self.results: tuple[tuple[int, Callable[[Any], Any]], ...] = tuple(
            (index, processor) for index, column in enumerate(select.selected_columns)
            if (processor := column.type.dialect_impl(dialect).result_processor(dialect, None))
            is not None)

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        merged = {**self.template, **values}
        for name, processor in self.processors.items():
            merged[name] = processor(merged[name])
        if self.positional:
            return tuple(merged[name] for name in self.names)
        return merged

    def rows(self, fetched: list[Any]) -> list[Row]:
        """The driver's rows with each column's result processor applied."""
        if not self.results:
            return fetched
        processed: list[Row] = []
        for row in fetched:
            values = list(row)
            for index, processor in self.results:
                values[index] = processor(values[index])
            processed.append(values)
        return processed


class PreparedSelect:
    """A select with fixed text, compiled once per dialect on first use."""

    def __init__(self, select: Select[Any]) -> None:
        self.select = select
        self._compiled: dict[tuple[str, str | None], CompiledSelect | None] = {}
        self._lock = threading.Lock()

    def compiled(self, dialect: Dialect) -> CompiledSelect | None:
        """The select for ``dialect``; None when its text would depend on its values."""
        key = (dialect.name, dialect.driver)
        try:
            return self._compiled[key]
        except KeyError:
            pass
        compiled = CompiledSelect(self.select, dialect)
        fixed = None if "POSTCOMPILE" in compiled.sql else compiled
        with self._lock:
            self._compiled[key] = fixed
        return fixed


class InListSelect:
    """``build(n)`` makes the select with ``n`` bound parameters ``id_0`` ... ``id_{n-1}`` in
    its IN list; :meth:`prepared` is that select for a list of ``n``, :meth:`values` the
    parameters for a list."""

    def __init__(self, build: Callable[[int], Select[Any]]) -> None:
        self._build = build
        self._prepared: dict[int, PreparedSelect] = {}
        self._lock = threading.Lock()

    @staticmethod
    def id_names(count: int) -> list[str]:
        return [f"id_{index}" for index in range(count)]

    def prepared(self, count: int) -> PreparedSelect:
        found = self._prepared.get(count)
        if found is None:
            found = PreparedSelect(self._build(count))
            with self._lock:
                if len(self._prepared) >= MAX_LENGTHS_KEPT:
                    self._prepared.clear()
                self._prepared[count] = found
        return found

    def values(self, ids: Sequence[int], values: Mapping[str, Any]) -> dict[str, Any]:
        given = dict(values)
        given.update(zip(self.id_names(len(ids)), ids, strict=True))
        return given
