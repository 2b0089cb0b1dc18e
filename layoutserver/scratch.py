"""Scratch databases for tests: a SQLite file each, or a database each on a PostgreSQL server.

The fixtures of :mod:`layoutserver.testing` use these. On PostgreSQL a new database is a file
copy of a template (``CREATE DATABASE ... TEMPLATE ... STRATEGY FILE_COPY``, ~20 ms): of the
empty ``template0``, or, for a :data:`Seed`, of a template database that the seed filled once
per session, so that the tables (~45 ms on PostgreSQL) and fixture content are built once, not
per test. A test's databases are dropped when it ends, with any connection it left open.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, make_url, pool, text

from layoutserver.db import Database

Seed = Callable[[str], None]
"""Fills a fresh, empty database, given its URL, the same way every time; it must close its
connections (a database being copied has to be idle). Seeds are told apart by identity: use
module-level functions."""


def create_tables(url: str) -> None:
    """The seed of a database with every table and no rows."""
    database = Database(url)
    try:
        database.create_all()
    finally:
        database.dispose()


class DatabaseServer:
    """A PostgreSQL server to create test databases on, as a user allowed to create them."""

    def __init__(self, url: str) -> None:
        if make_url(url).get_backend_name() != "postgresql":
            raise ValueError(f"not a PostgreSQL URL: {url}")
        self._engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
        self._numbers = itertools.count()
        self._templates: dict[Seed, str] = {}

    def url_of(self, name: str) -> str:
        return self._engine.url.set(database=name).render_as_string(hide_password=False)

    def create(self, seed: Seed | None = None) -> str:
        """A new database (its name): empty, or as ``seed`` leaves one."""
        template = "template0" if seed is None else self._template(seed)
        name = f"t_{os.getpid()}_{next(self._numbers)}"
        self._execute(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
        return name

    def drop(self, names: list[str]) -> None:
        for name in names:
            self._execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        """Drop the templates and close the connection."""
        self.drop(list(self._templates.values()))
        self._templates.clear()
        self._engine.dispose()

    def _template(self, seed: Seed) -> str:
        name = self._templates.get(seed)
        if name is None:
            name = self.create()
            seed(self.url_of(name))
            self._templates[seed] = name
        return name

    def _execute(self, sql: str) -> None:
        with self._engine.connect() as connection:
            connection.execute(text(sql))


class ScratchDatabases:
    """The databases of one test: files in ``directory``, or databases on ``server``."""

    def __init__(self, directory: Path, server: DatabaseServer | None) -> None:
        self._directory = directory
        self._server = server
        self._names: list[str] = []

    def new(self, seed: Seed | None = None) -> str:
        """The URL of a new database: empty, or as ``seed`` leaves one."""
        if self._server is None:
            name = f"db{len(self._names)}.sqlite3"
            self._names.append(name)
            url = f"sqlite:///{self._directory / name}"
            if seed is not None:
                seed(url)
            return url
        name = self._server.create(seed)
        self._names.append(name)
        return self._server.url_of(name)

    def drop_all(self) -> None:
        if self._server is not None:
            self._server.drop(self._names)
        self._names.clear()
