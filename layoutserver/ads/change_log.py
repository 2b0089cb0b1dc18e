"""The change log of the ad configuration: which slots, advertisers, campaigns, creatives and line
items each ads config version changed, written in the transaction that made the change, and
read by every process to revise its snapshot (``snapshot_source``) instead of building it
again.

Writing. Every flush of a session notes the ad configuration rows it inserted, updated or
deleted (an ``after_flush`` listener on every session, so no write path can leave one out);
:func:`log_version` (what ``version.bump_ads_version`` does, in the transaction of the
importer and the config service) moves the ads config version and writes the noted rows under
the new version. A transaction that flushed such rows and commits without moving the version
moves it at commit (``before_commit``): a change is never missing from the log.

Order. The version is moved by one upsert of the one ``ads_state`` row, whose lock the writer
holds until it commits: a second writer gets the next version only once the first has
committed. So versions commit in their order, and a reader that sees version ``N`` sees the
log rows of every version up to ``N``.

Reading. :func:`changes_since` answers the rows of the versions after a snapshot's, or None
when the log cannot say what changed (a version without rows: pruned, or logged as ``all``,
or written by a process that kept no log; or more rows than a revision is worth): the reader
then builds afresh. The log keeps the last :data:`CHANGE_LOG_VERSIONS` versions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, event, insert, select
from sqlalchemy.orm import Session

from layoutserver.ads.models import (
    AdConfigChange,
    AdSlot,
    AdsState,
    Advertiser,
    Campaign,
    Creative,
    LineItem,
    line_item_creatives,
)
from layoutserver.db import increment
from layoutserver.importing import IN_CHUNK

STATE_ID = 1
CHANGE_LOG_VERSIONS = 1000
"""Versions whose rows the log keeps: a process further behind builds its snapshot afresh."""
MAX_CHANGE_ROWS = 20_000
"""Rows beyond which a process builds afresh rather than revising (a large import)."""
ALL = "all"
"""The kind of a version whose changes are not known row by row: every reader builds afresh."""

KINDS: dict[type[Any], str] = {AdSlot: "slot", Advertiser: "advertiser", Campaign: "campaign",
                               Creative: "creative", LineItem: "line_item"}
_NOTED = "layoutserver.ads.changes"


def log_version(session: Session) -> int:
    """Move the ads config version in ``session``'s transaction (one upsert: two writers
    cannot both write N + 1; the row is created at 1 if missing), write the changes noted
    since the last move under it (``all`` when none were noted), prune the oldest versions,
    and return the new version."""
    session.flush()
    version = increment(session, AdsState, {"id": STATE_ID})
    noted: set[tuple[str, int]] = session.info.pop(_NOTED, None) or {(ALL, 0)}
    session.execute(insert(AdConfigChange), [
        {"version": version, "kind": kind, "entity_id": entity_id}
        for kind, entity_id in sorted(noted)
    ])
    session.execute(delete(AdConfigChange).where(
        AdConfigChange.version <= version - CHANGE_LOG_VERSIONS))
    return version


def _note_flushed(session: Session, _context: Any) -> None:
    noted: set[tuple[str, int]] | None = None
    for rows, check in ((session.new, False), (session.deleted, False), (session.dirty, True)):
        for row in rows:
            kind = KINDS.get(type(row))
            if kind is None or (check and not session.is_modified(row)):
                continue
            if noted is None:
                noted = session.info.setdefault(_NOTED, set())
            noted.add((kind, row.id))


def _log_unlogged(session: Session) -> None:
    """At commit: log what was flushed, or is about to be, since the version last moved."""
    session.flush()
    if session.info.get(_NOTED):
        log_version(session)


def _forget(session: Session, *_: Any) -> None:
    session.info.pop(_NOTED, None)


event.listen(Session, "after_flush", _note_flushed)
event.listen(Session, "before_commit", _log_unlogged)
event.listen(Session, "after_rollback", _forget)


@dataclass
class Changes:
    """What the versions after a snapshot's changed, by kind: ids."""

    version: int
    ids: dict[str, set[int]] = field(default_factory=dict)

    def of(self, kind: str) -> set[int]:
        return self.ids.get(kind, set())

    @property
    def count(self) -> int:
        return sum(len(ids) for ids in self.ids.values())


def changes_since(session: Session, after: int, upto: int) -> Changes | None:
    """The changes of the versions ``after + 1`` to ``upto``, or None when the log cannot
    tell them all (see the module's docstring)."""
    if upto <= after or upto - after > CHANGE_LOG_VERSIONS:
        return None
    rows = session.execute(
        select(AdConfigChange.version, AdConfigChange.kind, AdConfigChange.entity_id)
        .where(AdConfigChange.version > after, AdConfigChange.version <= upto)
        .limit(MAX_CHANGE_ROWS + 1)
    ).all()
    if len(rows) > MAX_CHANGE_ROWS:
        return None
    changes = Changes(upto)
    versions: set[int] = set()
    for version, kind, entity_id in rows:
        if kind == ALL:
            return None
        versions.add(version)
        changes.ids.setdefault(kind, set()).add(entity_id)
    if len(versions) != upto - after:
        return None
    return changes


def touched_line_items(session: Session, changes: Changes) -> set[int]:
    """The line items whose specs the changes may alter: those changed, those of a changed
    campaign (its advertiser), and those showing a changed creative, or a creative of a
    changed advertiser (its sandbox rule). Each by an index."""
    ids = set(changes.of("line_item"))
    ids.update(_column(session, LineItem.id, LineItem.campaign_id, changes.of("campaign")))
    creatives = set(changes.of("creative"))
    creatives.update(_column(session, Creative.id, Creative.advertiser_id,
                             changes.of("advertiser")))
    ids.update(_column(session, line_item_creatives.c.line_item_id,
                       line_item_creatives.c.creative_id, creatives))
    return ids


def _column(session: Session, wanted: Any, key: Any, values: Iterable[int]) -> set[int]:
    found: set[int] = set()
    chosen = sorted(values)
    for start in range(0, len(chosen), IN_CHUNK):
        found.update(session.scalars(select(wanted).where(
            key.in_(chosen[start:start + IN_CHUNK]))))
    return found
