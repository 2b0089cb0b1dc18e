"""Importing a content document of any size: read item by item, written in batches.

Two forms of one format (docs/content-format.md): the JSON document, read with ijson's event
parser so that only the item being read is in memory, and JSON Lines, one item a line
(``{"article": {...}}``). Items are gathered into batches of ``batch_size``; each batch is
checked and written by :class:`~layoutserver.content.importer.ContentImport` in a transaction of
its own, which also bumps the content version. The rule, then: a batch is written whole or not
at all; a bad item stops the import at its batch, leaving the batches before it written (they
are upserts by slug and name: running the corrected document again leaves them unchanged and
completes the rest). A document of at most one batch is one transaction, as before.

A reference (an article's section or author, a list's articles) must name something in the
database, in an earlier batch or in the same batch: put sections and authors before the articles
that name them, lists last.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any, NamedTuple

import ijson
from sqlalchemy.orm import Session

from layoutserver.content.importer import ContentImport, ContentImportError, load_document
from layoutserver.content.version import bump_content_version
from layoutserver.db import Database
from layoutserver.importing import ImportReport, run_import

BATCH_SIZE = 1000
"""Items per batch (and transaction): large enough that a batch's queries cost little per item,
small enough that a batch's rows and ORM objects take a few megabytes."""

KINDS = ("sections", "authors", "articles", "editorial_lists")
LINE_KINDS = {"section": "sections", "author": "authors", "article": "articles",
              "editorial_list": "editorial_lists"}
"""The key naming a JSON Lines item's kind, and the document's list it belongs to."""
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")


class Item(NamedTuple):
    kind: str
    """``sections``, ``authors``, ``articles`` or ``editorial_lists``."""
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


def read_items(handle: IO[bytes], json_lines: bool) -> Iterator[Item]:
    """The items of a document, one at a time; raises :class:`ContentImportError` at the first
    item that cannot be read, naming where it is."""
    return _lines(handle) if json_lines else _document(handle)


def _document(handle: IO[bytes]) -> Iterator[Item]:
    events = ijson.parse(handle, use_float=True)
    counts = dict.fromkeys(KINDS, 0)
    last = ""
    try:
        prefix, event, value = next(events)
        if event != "start_map":
            raise ContentImportError(["(document): Not an object with the lists "
                                      + ", ".join(KINDS) + "."])
        for prefix, event, value in events:
            if prefix == "" and event == "map_key":
                if value not in KINDS:
                    raise ContentImportError([f"{value}: Unknown field."])
                kind = value
                prefix, event, value = next(events)
                if event != "start_array":
                    raise ContentImportError([f"{kind}: Not a valid list."])
                for item in _array_items(events, kind):
                    last = f"{kind}[{counts[kind]}]"
                    yield Item(kind, item, last)
                    counts[kind] += 1
    except ijson.JSONError as problem:
        after = f" (after {last})" if last else ""
        reason = str(problem).splitlines()[0]
        raise ContentImportError([f"(document): Not valid JSON{after}: {reason}"]) from problem


def _array_items(events: Iterator[tuple[str, str, Any]], kind: str) -> Iterator[Any]:
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
    raise ContentImportError([f"{kind}: The list is not closed."])


def _lines(handle: IO[bytes]) -> Iterator[Item]:
    for number, raw in enumerate(handle, start=1):
        if not raw.strip():
            continue
        where = f"line {number}"
        try:
            line = json.loads(raw.rstrip(b"\r\n"))
        except json.JSONDecodeError as problem:
            raise ContentImportError([f"{where}, column {problem.colno}: Not valid JSON: "
                                      f"{problem.msg}."]) from problem
        except UnicodeDecodeError as problem:
            raise ContentImportError([f"{where}: Not UTF-8: {problem.reason}."]) from problem
        if not isinstance(line, dict) or len(line) != 1 or next(iter(line)) not in LINE_KINDS:
            raise ContentImportError([f"{where}: Not an object with one key, one of "
                                      + ", ".join(LINE_KINDS) + "."])
        ((key, value),) = line.items()
        yield Item(LINE_KINDS[key], value, f"{where} ({key})")


def _batches(items: Iterator[Item], size: int) -> Iterator[list[Item]]:
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


_PATH = re.compile(r"^(sections|authors|articles|editorial_lists)\[(\d+)\]")


def _located(messages: list[str], batch: list[Item]) -> list[str]:
    """Messages about the batch's mini-document, with each item's path in the batch replaced by
    where it is in the file."""
    where: dict[tuple[str, int], str] = {}
    counts = dict.fromkeys(KINDS, 0)
    for item in batch:
        where[(item.kind, counts[item.kind])] = item.where
        counts[item.kind] += 1

    def locate(match: re.Match[str]) -> str:
        return where.get((match.group(1), int(match.group(2))), match.group(0))

    return [_PATH.sub(locate, message) for message in messages]


def import_items(database: Database, items: Iterator[Item], batch_size: int = BATCH_SIZE,
                 on_batch: Callable[[Progress], None] | None = None) -> Progress:
    """Write ``items`` batch by batch (see the module docstring); raises
    :class:`StoppedImport` at a bad item, with what the batches before its own wrote."""
    progress = Progress()
    batches = _batches(items, batch_size)
    while True:
        try:
            batch = next(batches, None)
        except ContentImportError as error:  # an item that cannot be read
            raise StoppedImport(error.messages, progress) from error
        if batch is None:
            return progress
        document: dict[str, list[Any]] = {kind: [] for kind in KINDS}
        for item in batch:
            document[item.kind].append(item.value)
        try:
            loaded = load_document(document)
            report = run_import(database, partial(_job, document=loaded), ContentImportError,
                                lambda session, job: bump_content_version(session, job.scopes))
        except ContentImportError as error:
            raise StoppedImport(_located(error.messages, batch), progress) from error
        before = progress.report
        progress.report = ImportReport(before.created + report.created,
                                       before.updated + report.updated,
                                       before.unchanged + report.unchanged)
        progress.items += len(batch)
        progress.batches += 1
        if on_batch is not None:
            on_batch(progress)


def _job(session: Session, document: dict[str, list[Any]]) -> ContentImport:
    return ContentImport(session, document)


class StoppedImport(ContentImportError):
    """An import stopped at a bad batch; ``done`` is what the batches before it wrote."""

    def __init__(self, messages: list[str], done: Progress) -> None:
        super().__init__(messages)
        self.done = done


def is_json_lines(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in JSON_LINES_SUFFIXES


def import_path(database: Database, path: str | os.PathLike[str], batch_size: int = BATCH_SIZE,
                on_batch: Callable[[Progress], None] | None = None) -> Progress:
    """Import the file ``path``: JSON Lines when it ends in ``.jsonl`` or ``.ndjson``, else a
    JSON document. ``on_batch`` sees the progress (with the bytes read) after each batch."""
    with Path(path).open("rb") as handle:
        def seen(progress: Progress) -> None:
            progress.bytes_read = handle.tell()
            if on_batch is not None:
                on_batch(progress)

        return import_items(database, read_items(handle, is_json_lines(path)), batch_size,
                            seen)
