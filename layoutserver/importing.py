"""What the two importers share (``layoutserver.content.importer``,
``layoutserver.ads.config_import``): the report, marshmallow's messages as path lines, the
lookup of existing rows by key, and the run itself (check against the database, write, move the
version, all in one transaction)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Row, Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from layoutserver.db import Base, Database

_M = TypeVar("_M", bound=Base)
_J = TypeVar("_J", bound="ImportJob")
IN_CHUNK = 500
"""Keys per ``IN (...)`` query, well under every database's bound-parameter limit."""


@dataclass(frozen=True)
class ImportReport:
    """How many of the document's objects the import created, updated and left unchanged (a
    content import does not count tags: a tag is only made along with an article)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return self.created + self.updated > 0

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


class ImportJob(Protocol):
    """One import of a loaded document in one session (``ContentImport``, ``AdsImport``):
    :meth:`errors` first (each a path line), then :meth:`write`."""

    def errors(self) -> list[str]: ...

    def write(self) -> ImportReport: ...


def flatten(messages: Any, path: str = "") -> Iterator[str]:
    """marshmallow's nested error dict as path lines (``line_items[3].caps[0].impressions:
    ...``). The ``key``/``value`` level of a dict field's errors is dropped (no schema has
    fields so named): ``slots[0].sizes.desktop[1]: Not a size``."""
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if isinstance(key, int):
                yield from flatten(value, f"{path}[{key}]")
            else:
                skip = key in ("_schema", "key", "value")
                yield from flatten(value, path if skip else f"{path}.{key}" if path else str(key))
    elif isinstance(messages, list):
        for message in messages:
            yield from flatten(message, path)
    else:
        yield f"{path or '(document)'}: {messages}"


def fetch_by_keys(
    session: Session, model: type[_M], key: InstrumentedAttribute[str], values: Iterable[str]
) -> dict[str, _M]:
    """The rows of ``model`` whose ``key`` is one of ``values``, by key."""
    return {getattr(row, key.key): row
            for row in in_chunks(select(model), key, values, session.scalars)}


def select_by_keys(
    session: Session, key: ColumnElement[str], values: Iterable[str], *columns: Any
) -> dict[str, Row[Any]]:
    """:func:`fetch_by_keys` as rows of ``columns`` (the key among them), not ORM objects."""
    return {row._mapping[key]: row
            for row in in_chunks(select(*columns), key, values, session.execute)}


def in_chunks(query: Select[Any], key: Any, values: Iterable[Any],
              run: Callable[[Select[Any]], Iterable[Any]]) -> Iterator[Any]:
    """What ``query`` finds whose ``key`` is one of ``values``: ``run`` of a query per
    :data:`IN_CHUNK` of them, in order of the values."""
    wanted = sorted(set(values))
    for start in range(0, len(wanted), IN_CHUNK):
        yield from run(query.where(key.in_(wanted[start : start + IN_CHUNK])))


def run_import(
    database: Database, job: Callable[[Session], _J], error: Callable[[Sequence[str]], Exception],
    bump: Callable[[Session, _J], object],
) -> ImportReport:
    """``job(session)``'s errors raised as ``error``, or its writes committed, with
    ``bump(session, job)`` when anything changed."""
    with database.session() as session:
        started = job(session)
        problems = started.errors()
        if problems:
            raise error(problems)
        report = started.write()
        if report.changed:
            bump(session, started)
    return report


def read_json(path: str | os.PathLike[str], error: Callable[[Sequence[str]], Exception]) -> Any:
    """The JSON document in the UTF-8 file ``path``; ``error`` when it is not JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as problem:
        raise error([f"(document): Not valid JSON: {problem}"]) from problem
