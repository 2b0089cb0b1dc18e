"""Counting impressions and clicks: once per token, per line item, creative, slot and UTC hour,
and per user for frequency caps.

Every count is an ``INSERT ... ON CONFLICT DO UPDATE`` (SQLite, PostgreSQL), so concurrent
workers add up rather than overwrite; the replay guard is an insert that does nothing when the
token was seen. The caller commits (see :func:`record`), before its response is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Table, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from layoutserver.ads.models import AdCount, TokenUse, UserCount

Kind = Literal["impression", "click"]


@dataclass(frozen=True)
class Tracked:
    """What one tracking token names: a slot's share of one page decision."""

    decision_id: str
    slot: str
    line_item_id: int
    """0 for a slot's house creative (shown without a line item)."""
    creative_id: int
    user_key: str | None = None

    @property
    def token_id(self) -> str:
        return f"{self.decision_id}:{self.slot}"


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def record(session: Session, kind: Kind, tracked: Tracked, now: datetime) -> bool:
    """Count ``tracked`` once for ``kind`` in ``session``'s transaction. False (and nothing
    counted) when this token was counted before."""
    if not _claim(session, tracked.token_id, kind, now):
        return False
    hour = hour_of(now)
    key = {"line_item_id": tracked.line_item_id, "creative_id": tracked.creative_id,
           "slot": tracked.slot, "hour": hour, "source": ""}
    column = "impressions" if kind == "impression" else "clicks"
    _add(session, AdCount, key, column)
    if kind == "impression" and tracked.user_key and tracked.line_item_id:
        user = {"user_key": tracked.user_key, "line_item_id": tracked.line_item_id, "hour": hour}
        _add(session, UserCount, user, "impressions")
    return True


def _dialect_insert(session: Session, model: Any) -> sqlite.Insert | postgresql.Insert | None:
    name = session.get_bind().dialect.name
    table: Table = model.__table__
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    return None


def _claim(session: Session, token_id: str, kind: str, now: datetime) -> bool:
    insert = _dialect_insert(session, TokenUse)
    if insert is not None:
        # RETURNING, not rowcount: psycopg reports no rowcount (-1) for an INSERT.
        statement = insert.values(token_id=token_id, kind=kind, used_at=now)
        claimed = statement.on_conflict_do_nothing().returning(TokenUse.token_id)
        return session.execute(claimed).first() is not None
    try:
        with session.begin_nested():
            session.add(TokenUse(token_id=token_id, kind=kind, used_at=now))
        return True
    except IntegrityError:
        return False


def _add(session: Session, model: Any, key: dict[str, Any], column: str) -> None:
    """Add 1 to ``column`` of the row with ``key``, creating it at 1."""
    insert = _dialect_insert(session, model)
    if insert is not None:
        statement = insert.values(**key, **{column: 1})
        session.execute(statement.on_conflict_do_update(
            index_elements=list(key), set_={column: getattr(model, column) + 1}
        ))
        return
    where = [getattr(model, name) == value for name, value in key.items()]
    done = session.execute(update(model).where(*where).values(
        {column: getattr(model, column) + 1}))
    if getattr(done, "rowcount", 0) == 0:
        try:
            with session.begin_nested():
                session.add(model(**key, **{column: 1}))
        except IntegrityError:  # another worker created it meanwhile
            session.execute(update(model).where(*where).values(
                {column: getattr(model, column) + 1}))

