"""The database: one SQLAlchemy engine and session factory per app, bound by ``init_app``."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from time import monotonic
from typing import Any, TypeVar

from flask import Flask, current_app
from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    MetaData,
    Table,
    create_engine,
    event,
    false,
    make_url,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from layoutserver.db_pool import pool_class
from layoutserver.prepared_select import PreparedSelect, Row
from layoutserver.render.alarm import checked_out, shielded
from layoutserver.settings import version_poll_seconds

EXTENSION_KEY = "layoutserver.db"
UNREACHABLE_RETRY_SECONDS = 1.0

log = logging.getLogger(__name__)


#: Constraint and index names that are the same on every database, so that migrations can
#: name what they change (SQLite's batch mode needs names; PostgreSQL would invent its own).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every layoutserver table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always returns them aware (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Database:
    """Engine and sessions for one app."""

    def __init__(self, url: str, version_poll: float = 0.0, *, direct_reads: bool = True) -> None:
        """``version_poll``: seconds :meth:`read_version` may keep a version (0: read it every
        time). ``direct_reads``: :meth:`read_rows` runs prepared selects on the DBAPI
        connection a thread keeps (SQLite only; ``prepared_select.py``)."""
        self.url = url
        self.engine: Engine = _make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = threading.local()
        self._held = self.engine.dialect.name == "sqlite"
        self._direct_reads = direct_reads and self._held
        #: Reads run in autocommit: each is one statement that sees the latest commit, with no
        #: BEGIN and ROLLBACK around it (on SQLite on a connection each thread keeps).
        self._reads = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.version_poll = version_poll
        self._versions: dict[str, tuple[float, int]] = {}
        # A commit in this process that moved a version (``increment``): read them again next
        # time, so this process sees its own change at once.
        event.listen(self.sessionmaker, "after_commit", self._after_commit)
        event.listen(self.sessionmaker, "after_rollback", _unmark)
        os.register_at_fork(after_in_child=_forget_connections(weakref.ref(self)))

    def _forked(self) -> None:
        """In a forked process (a gunicorn worker of a preloaded app): connections opened
        before the fork belong to the parent; this process opens its own."""
        self.engine.dispose(close=False)
        self._readers = threading.local()

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(_VERSIONS_MOVED, False):
            self._versions = {}

    def read_version(self, sql: str) -> int:
        """A version number (content, ads config): read again at most every ``version_poll``
        seconds, and again after this process committed a change of a version (``increment``).

        When the database cannot be reached, the last version read is answered (and the read
        tried again a second later), so pages whose fragments are cached keep being served; it
        raises only when no version was ever read."""
        kept = self._versions.get(sql)
        now = monotonic()
        if kept is not None and kept[0] > now:
            return kept[1]
        try:
            value = self.read_int(sql)
        except DBAPIError as error:
            if kept is None:
                raise
            log.warning("database unreachable (%s); serving version %s from memory",
                        type(error.orig).__name__, kept[1])
            self._versions[sql] = (now + UNREACHABLE_RETRY_SECONDS, kept[1])
            return kept[1]
        self._versions[sql] = (now + self.version_poll, value)
        return value

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error."""
        with self.sessionmaker.begin() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads, in autocommit: each statement sees the latest commit, with
        no BEGIN and ROLLBACK around it. On SQLite each thread keeps one, so that the queries of
        every uncached render skip the pool's checkout and return; elsewhere a pooled one."""
        if not self._held:
            connection = self._connect_reads()
            try:
                yield connection
            finally:  # given back whole: the alarm interrupts the reads, not the return
                with shielded():
                    connection.close()
            return
        kept = self._kept()
        held = kept.reads
        if held is None or held.closed or held.invalidated:
            # invalidated: SQLAlchemy dropped its driver connection after an error, or after a
            # read stopped half-way by the render alarm (``render/alarm.py``)
            if held is not None:
                with shielded():
                    held.close()
            held = kept.reads = self._connect_reads()
        yield held

    def _connect_reads(self) -> Connection:
        """A connection in autocommit, not cut in two by the render alarm: SQLAlchemy switches
        the driver connection to autocommit, then notes that it must be switched back when it
        returns to the pool; stopped in between, the pool would get it back in autocommit and
        hand it to a session, whose writes would then commit one statement at a time."""
        return checked_out(self._reads.connect, Connection.close)

    def read_rows(self, query: PreparedSelect, values: Mapping[str, Any]) -> list[Row]:
        """The rows of ``query``: as driver SQL on the connection this thread keeps (direct
        reads, SQLite), else through SQLAlchemy on a reading connection. The same rows, and the
        same ``DBAPIError`` on a failure, either way. While a listener watches the engine's
        statements, through SQLAlchemy."""
        compiled = (query.compiled(self.engine.dialect)
                    if self._direct_reads and not self._watched() else None)
        if compiled is None:
            with self.reading() as connection:
                return list(connection.execute(query.select, values).all())
        kept = self._kept()
        held = kept.connection
        if held is None:
            held = kept.connection = self.engine.raw_connection()
        parameters = compiled.parameters(values)
        try:
            cursor = held.cursor()
            try:
                cursor.execute(compiled.sql, parameters)
                fetched = cursor.fetchall()
            finally:
                cursor.close()
        except BaseException as error:  # an error, or the render alarm half-way: start afresh
            kept.connection = None
            with shielded():
                held.invalidate()
            dbapi_error = self.engine.dialect.loaded_dbapi.Error
            if isinstance(error, dbapi_error):
                raise DBAPIError.instance(compiled.sql, parameters, error, dbapi_error,
                                          connection_invalidated=True,
                                          dialect=self.engine.dialect) from error
            raise
        return compiled.rows(fetched)

    def _watched(self) -> bool:
        """Whether something listens to the engine's statements (tracing, the tests' query
        plans): direct reads step aside for it, as SQLAlchemy's events do not see them."""
        dispatch = self.engine.dispatch
        return bool(dispatch.before_cursor_execute) or bool(dispatch.after_cursor_execute)

    def read_int(self, sql: str) -> int:
        """One integer from a one-row query (0 when there is no row): the version numbers
        :meth:`read_version` polls. On SQLite each thread keeps one DBAPI connection for these
        reads, which go through neither the pool nor SQLAlchemy; elsewhere a pooled one in
        autocommit, through SQLAlchemy, so that a failure raises as a ``DBAPIError``."""
        if not self._held:
            with self.reading() as connection:
                value = connection.exec_driver_sql(sql).scalar()
            return int(value) if value is not None else 0
        kept = self._kept()
        held = kept.connection
        if held is None:
            held = kept.connection = self.engine.raw_connection()
        try:
            return _read_int(held, sql)
        except Exception:
            kept.connection = None
            with shielded():
                held.invalidate()
            raise

    def _kept(self) -> _ThreadConnections:
        kept: _ThreadConnections | None = getattr(self._readers, "kept", None)
        if kept is None:
            kept = self._readers.kept = _ThreadConnections()
        return kept

    def create_all(self) -> None:
        Base.metadata.create_all(self.engine)

    def dispose(self) -> None:
        """Close the calling thread's held connections and the pool (other threads' held
        connections close when those threads end)."""
        kept: _ThreadConnections | None = getattr(self._readers, "kept", None)
        if kept is not None:
            kept.close()
        self.engine.dispose()


class _ThreadConnections:
    """The connections one thread keeps for its reads (SQLite), given back to the pool when the
    thread ends. A thread's ``threading.local`` values are dropped as it ends, and this object
    with them; the connections are not, on their own: they sit in reference cycles that only
    the garbage collector breaks, so with a thread per request (a threaded WSGI server) the
    pool ran dry between collections and requests waited for a connection (``pool_timeout``,
    30 s). In a forked child the parent's connections are left alone (``Database._forked``)."""

    def __init__(self) -> None:
        self.reads: Connection | None = None
        self.connection: Any = None
        """A DBAPI connection from the pool (``Engine.raw_connection``)."""
        self._pid = os.getpid()

    def close(self) -> None:
        reads, connection = self.reads, self.connection
        self.reads = self.connection = None
        if self._pid != os.getpid():
            return
        for held in (reads, connection):
            if held is not None:
                held.close()

    def __del__(self) -> None:
        # at a thread's end, or the interpreter's: nobody to tell of a failure
        with contextlib.suppress(Exception):
            self.close()


def _read_int(connection: Any, sql: str) -> int:
    cursor = connection.cursor()
    try:
        cursor.execute(sql)
        row = cursor.fetchone()
    finally:
        cursor.close()
    return int(row[0]) if row and row[0] is not None else 0


def _forget_connections(database: weakref.ref[Database]) -> Callable[[], None]:
    def forked() -> None:
        alive = database()
        if alive is not None:
            alive._forked()
    return forked


def _make_engine(url: str) -> Engine:
    poolclass = pool_class(make_url(url))
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, poolclass=poolclass)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                           poolclass=poolclass)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def init_app(app: Flask) -> Database:
    url = app.config["DATABASE_URL"]
    if not url:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{Path(app.instance_path) / 'layoutserver.sqlite3'}"
        app.config["DATABASE_URL"] = url
    database = Database(url, version_poll_seconds(app.config, url),
                        direct_reads=app.config["DIRECT_READS"])
    app.extensions[EXTENSION_KEY] = database
    return database


def get_database(app: Flask | None = None) -> Database:
    database: Database = (app or current_app).extensions[EXTENSION_KEY]
    return database


RowT = TypeVar("RowT", bound=Base)


def upsert(
    session: Session, rows: dict[str, RowT], model: type[RowT], key: str,
    values: Mapping[str, Any],
) -> tuple[RowT, str]:
    """Create the row known by ``key`` in ``rows`` (added to ``session``), or bring the existing
    one to ``values``, writing only what differs; says "created", "updated" or "unchanged". The
    importers (content, ads) use it, so importing the same document twice changes nothing."""
    row = rows.get(key)
    if row is None:
        row = rows[key] = model(**values)
        session.add(row)
        return row, "created"
    status = "unchanged"
    for name, value in values.items():
        if getattr(row, name) != value:  # aware datetimes compare as instants
            setattr(row, name, value)
            status = "updated"
    return row, status


def upsert_insert(session: Session, model: type[Base]) -> sqlite.Insert | postgresql.Insert:
    """An ``INSERT`` of ``model`` in the dialect of ``session``'s database, which has
    ``on_conflict_do_update``/``_do_nothing`` (SQLite and PostgreSQL: the databases
    layoutserver runs on)."""
    return dialect_insert(session.get_bind(), model)


def dialect_insert(bind: Connection | Engine | Any, target: Any
                   ) -> sqlite.Insert | postgresql.Insert:
    """``upsert_insert`` for a connection or engine and a model or table."""
    dialect = bind.dialect.name
    if dialect == "sqlite":
        return sqlite.insert(target)
    if dialect == "postgresql":
        return postgresql.insert(target)
    raise NotImplementedError(f"layoutserver runs on SQLite or PostgreSQL, not {dialect}")


def increment(session: Session, model: type[Base], key: Mapping[str, Any],
              column: str = "version") -> int:
    """Add 1 to ``column`` of ``model``'s row with primary ``key``, creating the row at 1, in
    ``session``'s transaction; returns the new value. One ``INSERT ... ON CONFLICT DO UPDATE
    ... RETURNING``: two writers neither lose an increment nor both create the row (with an
    UPDATE, then an INSERT when nothing was updated, the second writer to create a row fails
    on PostgreSQL; SQLite serializes writers)."""
    insert = upsert_insert(session, model)
    target = getattr(model, column)
    statement = (
        insert.values(**key, **{column: 1})
        .on_conflict_do_update(index_elements=list(key), set_={column: target + 1})
        .returning(target)
    )
    value = int(session.execute(statement).scalar_one())
    session.info[_VERSIONS_MOVED] = True
    return value


def increment_each(session: Session, model: type[Base], key: str, values: Sequence[Any],
                   column: str = "version") -> None:
    """:func:`increment` of the rows of ``model`` whose ``key`` (its primary key) is each of
    ``values`` (distinct), in one ``executemany``: an import that changed a thousand articles
    moves their thousand scopes in one statement, not a thousand."""
    if not values:
        return
    table = model.__table__
    statement = dialect_insert(session.get_bind(), table).on_conflict_do_update(
        index_elements=[key], set_={column: table.c[column] + 1})
    session.execute(statement, [{key: value, column: 1} for value in values])
    session.info[_VERSIONS_MOVED] = True


def take_write_lock(session: Session, model: type[Base]) -> None:
    """On SQLite, take the database's write lock now, in ``session``'s transaction, so that what
    is read next cannot change before this transaction commits: the ``SELECT ... FOR UPDATE``
    of a database without row locks. A write that matches no row is enough (pysqlite begins the
    transaction before it; SQLite takes the lock at its start, waiting for another writer's
    commit). Elsewhere nothing: PostgreSQL locks the rows read ``FOR UPDATE``."""
    if session.get_bind().dialect.name == "sqlite":
        table: Table = model.__table__  # type: ignore[assignment]
        session.execute(table.update().where(false()).values({table.c[0].name: table.c[0]}))


_VERSIONS_MOVED = "layoutserver.versions_moved"


def _unmark(session: Session) -> None:
    session.info.pop(_VERSIONS_MOVED, None)
