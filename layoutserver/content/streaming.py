"""Importing a content document of any size (docs/content-format.md): the content format of
:mod:`layoutserver.streaming_import`, which reads it item by item and writes it in batches.

Each batch is checked and written by :class:`~layoutserver.content.importer.ContentImport` in a
transaction of its own, which also bumps the content version (of the scopes it changed). A
reference (an article's section or author, a list's articles) must name something in the
database, in an earlier batch or in the same batch: put sections and authors before the articles
that name them, lists last.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import partial
from typing import IO, Any

from sqlalchemy.orm import Session

from layoutserver import streaming_import
from layoutserver.content.importer import ContentImport, ContentImportError, load_document
from layoutserver.content.version import bump_content_version
from layoutserver.db import Database
from layoutserver.importing import ImportReport, run_import
from layoutserver.streaming_import import BATCH_SIZE, Item, Progress, StoppedImport

__all__ = ["BATCH_SIZE", "CONTENT", "Progress", "StoppedImport", "import_items", "import_path",
           "read_items"]

KINDS = ("sections", "authors", "articles", "editorial_lists")


def _write_batch(database: Database, document: dict[str, list[Any]]) -> ImportReport:
    loaded = load_document(document)
    return run_import(database, partial(_job, document=loaded), ContentImportError,
                      lambda session, job: bump_content_version(session, job.scopes))


def _job(session: Session, document: dict[str, list[Any]]) -> ContentImport:
    return ContentImport(session, document)


CONTENT = streaming_import.DocumentFormat(
    kinds=KINDS,
    line_kinds={"section": "sections", "author": "authors", "article": "articles",
                "editorial_list": "editorial_lists"},
    error=ContentImportError,
    write_batch=_write_batch,
)


def read_items(handle: IO[bytes], json_lines: bool) -> Iterator[Item]:
    return streaming_import.read_items(handle, json_lines, CONTENT)


def import_items(database: Database, items: Iterator[Item], batch_size: int = BATCH_SIZE,
                 on_batch: Callable[[Progress], None] | None = None) -> Progress:
    return streaming_import.import_items(database, items, CONTENT, batch_size, on_batch)


def import_path(database: Database, path: str | os.PathLike[str], batch_size: int = BATCH_SIZE,
                on_batch: Callable[[Progress], None] | None = None) -> Progress:
    """Import the content file ``path`` (JSON, or JSON Lines for ``.jsonl``/``.ndjson``)."""
    return streaming_import.import_path(database, path, CONTENT, batch_size, on_batch)
