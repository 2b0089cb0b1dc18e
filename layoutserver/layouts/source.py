"""The layouts a serving process serves: the published version of each page type, compiled
into the same typed :class:`~layoutserver.layouts.model.Layout` as a file, loaded again only
when the layouts version moves.

A request costs one polled version read (``Database.read_version``: at most one query every
``VERSION_POLL_SECONDS`` per process, none in between), the same as the content and ads config
versions; the published versions are read and compiled once per publish, not per request.
Until the database is seeded (:meth:`LayoutSource.start`, before a process's first request),
or when it cannot be, the files are served.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy.exc import SQLAlchemyError

from layoutserver.db import Database
from layoutserver.layouts.model import Layout, LayoutSet
from layoutserver.layouts.problems import LayoutProblem
from layoutserver.layouts.store import (
    VERSION_SQL,
    compile_leniently,
    published_sources,
    seed_from_files,
    version_name,
)
from layoutserver.registry import WidgetRegistry

log = logging.getLogger(__name__)


class LayoutSource:
    def __init__(self, database: Database, registry: WidgetRegistry) -> None:
        self._database = database
        self._registry = registry
        self._files = LayoutSet({})
        self._file_texts: dict[str, str] = {}
        self._layouts = LayoutSet({})
        self._version: int | None = None
        """The layouts version loaded; None while the files are served."""
        self.problems: dict[str, list[LayoutProblem]] = {}
        """Per page type, why its published version is not served (the last good one is)."""

    def use_files(self, layouts: LayoutSet, texts: Mapping[str, str]) -> None:
        """Serve these validated files (their TOML texts given) until :meth:`start`."""
        self._files = self._layouts = layouts
        self._file_texts = dict(texts)

    @property
    def from_database(self) -> bool:
        return self._version is not None

    def current(self) -> LayoutSet:
        """The layouts to serve now (the published versions, once started)."""
        if self._version is None:
            return self._layouts
        version = self._database.read_version(VERSION_SQL)
        if version != self._version:
            self._load(version)
        return self._layouts

    def start(self) -> None:
        """Seed the database from the files (the deploy rule of ``layouts.store``) and serve the
        published versions from now on; a database that cannot be read (not migrated yet)
        leaves the files served."""
        try:
            with self._database.session() as session:
                result = seed_from_files(session, self._file_texts, self._registry)
            self._load(self._database.read_version(VERSION_SQL))
        except SQLAlchemyError as error:
            log.warning("layouts served from files, not the database (%s: %s)",
                        type(error).__name__, error)
            return
        for page_type in result.imported:
            log.info("layout %s: the deployed file is published as a new version", page_type)
        for page_type in result.conflicts:
            log.warning("layout %s: the deployed file differs from the one last seeded, but a "
                        "newer version was published at runtime: the file is pending, not "
                        "served (layoutserver layouts status)", page_type)

    def _load(self, version: int) -> None:
        with self._database.session() as session:
            sources = published_sources(session)
        served = self._layouts
        layouts: dict[str, Layout] = {}
        problems: dict[str, list[LayoutProblem]] = {}
        for page_type, number, text in sources:
            layout, found = compile_leniently(page_type, text, self._registry,
                                              version_name(page_type, number))
            if layout is None:
                problems[page_type] = found
                kept = served.get(page_type) or self._files.get(page_type)
                log.error("layout %s version %d is not served (%s); %s", page_type, number,
                          "; ".join(str(problem) for problem in found),
                          "the one served before is kept" if kept else "the page type is off")
                if kept is None:
                    continue
                layout = kept
            layouts[page_type] = layout
        stored = {page_type for page_type, _, _ in sources}
        for layout in self._files:
            if layout.page_type not in stored:
                layouts[layout.page_type] = layout
        self._layouts = LayoutSet(layouts)
        self.problems = problems
        self._version = version
