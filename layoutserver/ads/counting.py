"""Counting impressions, clicks and viewability (measurable and viewable impressions): once per
token and kind, per line item, creative, slot and UTC hour, and impressions per user for
frequency caps.

Every count is an ``INSERT ... ON CONFLICT DO UPDATE`` (SQLite, PostgreSQL), so concurrent
workers add up rather than overwrite; the replay guard is an insert that does nothing when the
token was seen. The caller commits (see :func:`record`), before its response is sent.

With Redis configured but unreachable, :func:`queue` takes the count instead: it is queued for
Redis (``ad_pending_counts``), which alone decides whether the token counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from layoutserver.ads.models import AdCount, PendingCount, TokenUse, UserCount
from layoutserver.db import upsert_insert

Kind = Literal["impression", "click", "measurable", "viewable"]
"""What a beacon counts: ``measurable`` when the browser began measuring the impression's
viewability, ``viewable`` when it met the viewability rule (docs/viewability.md)."""
KINDS: tuple[Kind, ...] = ("impression", "click", "measurable", "viewable")
COLUMNS: dict[Kind, str] = {"impression": "impressions", "click": "clicks",
                            "measurable": "measurable", "viewable": "viewable"}
"""The ``ad_counts`` column each kind adds to."""
LETTERS: dict[str, Kind] = {kind[0]: kind for kind in KINDS}
"""Each kind by its first letter, as Redis keys and guard entries name it."""


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
    _add(session, AdCount, key, COLUMNS[kind])
    if kind == "impression" and tracked.user_key and tracked.line_item_id:
        user = {"user_key": tracked.user_key, "line_item_id": tracked.line_item_id, "hour": hour}
        _add(session, UserCount, user, "impressions")
    return True


def queue(session: Session, kind: Kind, tracked: Tracked, now: datetime) -> bool:
    """Queue ``tracked`` for Redis in ``session``'s transaction (Redis unreachable). False
    (nothing queued) when the token's guard is in the database (its count was flushed) or it is
    queued already. A reader's impression is added to ``ad_user_counts`` at once, so caps
    decided against the database see it; the flush moves those counts into Redis."""
    guarded = select(TokenUse.token_id).where(TokenUse.token_id == tracked.token_id,
                                              TokenUse.kind == kind)
    if session.execute(guarded).first() is not None:
        return False
    statement = upsert_insert(session, PendingCount).values(
        token_id=tracked.token_id, kind=kind, line_item_id=tracked.line_item_id,
        creative_id=tracked.creative_id, slot=tracked.slot, user_key=tracked.user_key,
        counted_at=now)
    queued = statement.on_conflict_do_nothing().returning(PendingCount.id)
    if session.execute(queued).first() is None:
        return False
    if kind == "impression" and tracked.user_key and tracked.line_item_id:
        user = {"user_key": tracked.user_key, "line_item_id": tracked.line_item_id,
                "hour": hour_of(now)}
        _add(session, UserCount, user, "impressions")
    return True


def _claim(session: Session, token_id: str, kind: str, now: datetime) -> bool:
    # RETURNING, not rowcount: psycopg reports no rowcount (-1) for an INSERT.
    statement = upsert_insert(session, TokenUse).values(token_id=token_id, kind=kind,
                                                         used_at=now)
    claimed = statement.on_conflict_do_nothing().returning(TokenUse.token_id)
    return session.execute(claimed).first() is not None


def _add(session: Session, model: Any, key: dict[str, Any], column: str) -> None:
    """Add 1 to ``column`` of the row with ``key``, creating it at 1."""
    statement = upsert_insert(session, model).values(**key, **{column: 1})
    session.execute(statement.on_conflict_do_update(
        index_elements=list(key), set_={column: getattr(model, column) + 1}
    ))
