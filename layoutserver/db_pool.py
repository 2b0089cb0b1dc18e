"""The database's connection pool: SQLAlchemy's ``QueuePool`` with its checkout and return
shielded from the render alarm (``render/alarm.py``).

A render on the main thread is stopped by ``Overran`` raised wherever it happens to be. Inside
the pool's checkout or return that broke the pool: its queue's lock (taken through a
``Condition``, whose ``__enter__`` is Python code) was left held by the main thread, and every
other thread's next checkout waited for ever; or a connection record was left neither in the
pool nor handed out, one connection fewer for good (at ``pool_size + max_overflow`` of them,
every checkout waits ``pool_timeout``). So both run :func:`~layoutserver.render.alarm.shielded`:
the checkout from taking a record to handing out its connection (including the pre-ping and,
for a new connection, connecting), the return from the record's checkin to its place in the
queue. What lies between, the connection's use, stays interruptible; SQLAlchemy resets or
invalidates a connection an interrupt left mid-use, and returns one whose holder was dropped
by it when that holder is collected.
"""

from __future__ import annotations

from sqlalchemy.engine import URL
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.pool import Pool, PoolProxiedConnection, QueuePool
from sqlalchemy.pool.base import _ConnectionRecord

from layoutserver.render.alarm import checked_out, shielded


class ShieldedQueuePool(QueuePool):
    """A ``QueuePool`` whose checkout and return the render alarm does not cut in two."""

    # SQLAlchemy names a pool's logger after its class: keep QueuePool's, below "sqlalchemy"
    # (WARN unless configured), not "layoutserver" (INFO), where every connection it drops
    # would be logged.
    _sqla_logger_namespace = "sqlalchemy.pool.impl.QueuePool"

    def connect(self) -> PoolProxiedConnection:
        return checked_out(super().connect, PoolProxiedConnection.close)

    def _create_connection(self) -> _ConnectionRecord:
        return _ShieldedRecord(self)


class _ShieldedRecord(_ConnectionRecord):
    def checkin(self, _fairy_was_created: bool = True) -> None:
        with shielded():
            super().checkin(_fairy_was_created)


def pool_class(url: URL) -> type[Pool]:
    """The pool for ``url``: :class:`ShieldedQueuePool` where SQLAlchemy would use a
    ``QueuePool`` (PostgreSQL, an SQLite file), else SQLAlchemy's own (an in-memory SQLite
    database keeps its one connection per thread)."""
    dialect = url.get_dialect()
    default = dialect.get_pool_class(url) if issubclass(dialect, DefaultDialect) else QueuePool
    return ShieldedQueuePool if issubclass(default, QueuePool) else default
