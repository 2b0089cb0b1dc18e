"""Importing a document of any size: read item by item, written in batches.

What the content and ads importers share (``content/streaming.py``, ``ads/streaming.py``). A
:class:`DocumentFormat` names a document's lists (``kinds``, in the order references allow),
the key of each in JSON Lines, the importer's error, and how one batch is written. Two forms of
a document: JSON, read with ijson's event parser so that only the item being read is in memory,
and JSON Lines, one item a line (``{"article": {...}}``). Items are gathered into batches of
``batch_size``, each checked and written by the format's importer in a transaction of its own,
which also moves the format's version. The rule, then: a batch is written whole or not at all;
a bad item stops the import at its batch, leaving the batches before it written (they are
upserts by key: running the corrected document again leaves them unchanged and completes the
rest). A document of at most one batch is one transaction.

A reference must name something in the database, in an earlier batch or in the same batch: the
kinds are read in the order the document gives them, so put what is named before what names it.
"""

from __future__ import annotations

import gc
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple

import ijson

from layoutserver.db import Database
from layoutserver.importing import ImportReport

BATCH_SIZE = 1000
"""Items per batch (and transaction): large enough that a batch's queries cost little per item,
small enough that a batch's rows and ORM objects take a few megabytes."""

JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True)
class DocumentFormat:
    """A document's lists and how to write a batch of them (see the module doc)."""

    kinds: tuple[str, ...]
    """The document's lists, in the order their items may name each other's."""
    line_kinds: Mapping[str, str]
    """The key naming a JSON Lines item's kind -> the document's list it belongs to."""
    error: type[Exception]
    """The importer's error: made from a list of messages, each starting with the path of the
    problem, which it keeps as ``messages``."""
    write_batch: Callable[[Database, dict[str, list[Any]]], ImportReport]
    """Validate a mini-document of one batch and write it in one transaction, or raise
    ``error``."""

    def fail(self, messages: Sequence[str]) -> Exception:
        return self.error(list(messages))


class Item(NamedTuple):
    kind: str
    """One of the format's ``kinds``."""
    value: Any
    where: str
    """Where the item is in the file, for messages: ``articles[1234]`` or ``line 57``."""


@dataclass
class Progress:
    """What a running import has done: the CLI's progress bar reads it after every batch."""

    items: int = 0
    batches: int = 0
    bytes_read: int = 0
    report: ImportReport = field(default_factory=ImportReport)


class StoppedImport(ValueError):
    """An import stopped at a bad batch or item; ``done`` is what the batches before it wrote,
    ``messages`` what was wrong (each naming where in the file)."""

    def __init__(self, error: Exception, messages: Sequence[str], done: Progress) -> None:
        super().__init__(str(error))
        self.messages = list(messages)
        self.done = done


def read_items(handle: IO[bytes], json_lines: bool, fmt: DocumentFormat) -> Iterator[Item]:
    """The items of a document, one at a time; raises the format's error at the first item
    that cannot be read, naming where it is."""
    return _lines(handle, fmt) if json_lines else _document(handle, fmt)


def _document(handle: IO[bytes], fmt: DocumentFormat) -> Iterator[Item]:
    events = ijson.parse(handle, use_float=True)
    counts = dict.fromkeys(fmt.kinds, 0)
    last = ""
    try:
        prefix, event, value = next(events)
        if event != "start_map":
            raise fmt.fail(["(document): Not an object with the lists "
                            + ", ".join(fmt.kinds) + "."])
        for prefix, event, value in events:
            if prefix == "" and event == "map_key":
                if value not in fmt.kinds:
                    raise fmt.fail([f"{value}: Unknown field."])
                kind = value
                prefix, event, value = next(events)
                if event != "start_array":
                    raise fmt.fail([f"{kind}: Not a valid list."])
                for item in _array_items(events, kind, fmt):
                    last = f"{kind}[{counts[kind]}]"
                    yield Item(kind, item, last)
                    counts[kind] += 1
    except ijson.JSONError as problem:
        after = f" (after {last})" if last else ""
        reason = str(problem).splitlines()[0]
        raise fmt.fail([f"(document): Not valid JSON{after}: {reason}"]) from problem


def _array_items(events: Iterator[tuple[str, str, Any]], kind: str, fmt: DocumentFormat
                 ) -> Iterator[Any]:
    """The values of the array whose ``start_array`` event was just read, built one at a time."""
    depth = 0
    builder = ijson.ObjectBuilder()
    for _prefix, event, value in events:
        if depth == 0 and event == "end_array":
            return
        builder.event(event, value)
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
        if depth == 0:
            yield builder.value
            builder = ijson.ObjectBuilder()
    raise fmt.fail([f"{kind}: The list is not closed."])


def _lines(handle: IO[bytes], fmt: DocumentFormat) -> Iterator[Item]:
    for number, raw in enumerate(handle, start=1):
        if not raw.strip():
            continue
        where = f"line {number}"
        try:
            line = json.loads(raw.rstrip(b"\r\n"))
        except json.JSONDecodeError as problem:
            raise fmt.fail([f"{where}, column {problem.colno}: Not valid JSON: "
                            f"{problem.msg}."]) from problem
        except UnicodeDecodeError as problem:
            raise fmt.fail([f"{where}: Not UTF-8: {problem.reason}."]) from problem
        if not isinstance(line, dict) or len(line) != 1 or next(iter(line)) not in fmt.line_kinds:
            raise fmt.fail([f"{where}: Not an object with one key, one of "
                            + ", ".join(fmt.line_kinds) + "."])
        ((key, value),) = line.items()
        yield Item(fmt.line_kinds[key], value, f"{where} ({key})")


def _batches(items: Iterator[Item], size: int) -> Iterator[list[Item]]:
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _located(messages: Sequence[str], batch: list[Item], fmt: DocumentFormat) -> list[str]:
    """Messages about the batch's mini-document, with each item's path in the batch replaced by
    where it is in the file."""
    where: dict[tuple[str, int], str] = {}
    counts = dict.fromkeys(fmt.kinds, 0)
    for item in batch:
        where[(item.kind, counts[item.kind])] = item.where
        counts[item.kind] += 1
    path = re.compile(r"^(" + "|".join(map(re.escape, fmt.kinds)) + r")\[(\d+)\]")

    def locate(match: re.Match[str]) -> str:
        return where.get((match.group(1), int(match.group(2))), match.group(0))

    return [path.sub(locate, message) for message in messages]


def _messages(error: Exception) -> list[str]:
    return list(getattr(error, "messages", [str(error)]))


def import_items(database: Database, items: Iterator[Item], fmt: DocumentFormat,
                 batch_size: int = BATCH_SIZE,
                 on_batch: Callable[[Progress], None] | None = None) -> Progress:
    """Write ``items`` batch by batch (see the module docstring); raises
    :class:`StoppedImport` at a bad item, with what the batches before its own wrote."""
    with _young_garbage_only():
        return _import_batches(database, _batches(items, batch_size), fmt, on_batch)


@contextmanager
def _young_garbage_only() -> Iterator[None]:
    """Meanwhile, the objects that exist now (the app's modules, settings, compiled
    statements: hundreds of thousands) are left out of garbage collection, so the collection
    after each batch walks what the batch made (a few milliseconds), not all of them (about a
    tenth of a second, a minute and a half over a thousand batches). Not when something froze
    objects before (a gunicorn worker does): they stay where they are."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _import_batches(database: Database, batches: Iterator[list[Item]], fmt: DocumentFormat,
                    on_batch: Callable[[Progress], None] | None) -> Progress:
    progress = Progress()
    while True:
        try:
            batch = next(batches, None)
        except fmt.error as error:  # an item that cannot be read
            raise StoppedImport(error, _messages(error), progress) from error
        if batch is None:
            return progress
        count = len(batch)
        document: dict[str, list[Any]] = {kind: [] for kind in fmt.kinds}
        for item in batch:
            document[item.kind].append(item.value)
        try:
            report = fmt.write_batch(database, document)
        except fmt.error as error:
            located = _located(_messages(error), batch, fmt)
            raise StoppedImport(fmt.fail(located), located, progress) from error
        # A batch's objects may hold reference cycles (ORM objects): free them before the next
        # batch is read, not whenever the collector next runs, so that memory is one batch's
        # whatever the size.
        del batch, document
        gc.collect()
        before = progress.report
        progress.report = ImportReport(before.created + report.created,
                                       before.updated + report.updated,
                                       before.unchanged + report.unchanged)
        progress.items += count
        progress.batches += 1
        if on_batch is not None:
            on_batch(progress)


def is_json_lines(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in JSON_LINES_SUFFIXES


def import_path(database: Database, path: str | os.PathLike[str], fmt: DocumentFormat,
                batch_size: int = BATCH_SIZE,
                on_batch: Callable[[Progress], None] | None = None) -> Progress:
    """Import the file ``path``: JSON Lines when it ends in ``.jsonl`` or ``.ndjson``, else a
    JSON document. ``on_batch`` sees the progress (with the bytes read) after each batch."""
    with Path(path).open("rb") as handle:
        def seen(progress: Progress) -> None:
            progress.bytes_read = handle.tell()
            if on_batch is not None:
                on_batch(progress)

        return import_items(database, read_items(handle, is_json_lines(path), fmt), fmt,
                            batch_size, seen)
