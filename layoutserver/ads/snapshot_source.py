"""The engine's :class:`Snapshot`, built from the database and kept in memory.

Requests read only the ads config version (:data:`version.VERSION_SQL`, polled by
``Database.read_version``). When it has moved, the snapshot follows it:

* revised (the fast path): the change log (``change_log``) says which rows the versions since
  the snapshot's changed; the line items they touch are read by id, the slots when a slot,
  creative or advertiser changed, and the snapshot applies them (``Snapshot.apply``), at a
  cost that follows the size of the change, not of the configuration;
* built afresh, from the whole configuration: in a process that has none yet, when the log
  cannot say what changed (the process is further behind than the log keeps, or the change
  is larger than a revision is worth), and always with ``ADS_SNAPSHOT_REVISIONS = false``.

Either way the snapshot is read in one transaction (on PostgreSQL a repeatable read: the
configuration of exactly the version it is labelled with) and equals a build of that version
(``tests/ads/test_ads_snapshot_revisions.py``). One process makes one snapshot at a time;
requests meanwhile keep using the one they have.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from layoutserver.ads import specs
from layoutserver.ads.change_log import Changes, changes_since, touched_line_items
from layoutserver.ads.decisions.model import ConfigChange
from layoutserver.ads.decisions.snapshot import Snapshot
from layoutserver.ads.version import VERSION_SQL, read_ads_version
from layoutserver.db import Database

log = logging.getLogger(__name__)

SLOT_KINDS = ("slot", "creative", "advertiser")
"""Changes after which the slots (and their house creatives) are read again."""


class SnapshotSource:
    """The current snapshot of one app's ad configuration."""

    def __init__(self, database: Database, timezone: ZoneInfo, revise: bool = True) -> None:
        """``revise``: follow changes by revising the snapshot (the change log); False:
        build it afresh on every change (``ADS_SNAPSHOT_REVISIONS``)."""
        self._database = database
        self.timezone = timezone
        self.revise = revise
        self._snapshot: Snapshot | None = None
        self._polled: int | None = None
        """The polled version the snapshot was last made for (a poll kept for
        ``VERSION_POLL_SECONDS`` may still answer it when the snapshot is newer)."""
        self._lock = threading.Lock()
        self.builds = 0
        """How many snapshots this source has built afresh (tests and monitoring read it)."""
        self.revisions = 0
        """How many it has revised."""

    def version(self) -> int:
        return self._database.read_version(VERSION_SQL)

    def current(self) -> Snapshot:
        """The snapshot of the stored configuration: the version (polled), and a revision or a
        build only when it differs from the snapshot's."""
        version = self.version()
        snapshot = self._snapshot
        if snapshot is not None and version in (snapshot.version, self._polled):
            return snapshot
        with self._lock:
            snapshot = self._snapshot
            if snapshot is None or version not in (snapshot.version, self._polled):
                revised = self.revised(snapshot) if snapshot is not None and self.revise \
                    else None
                snapshot = self._snapshot = revised or self.build()
                self._polled = version
            return snapshot

    def build(self) -> Snapshot:
        """Read the whole configuration in one transaction and index it. The snapshot is
        labelled with the version read in that same transaction."""
        with self._reading() as session:
            version = read_ads_version(session)
            slots, house = specs.slots_and_house_creatives(session)
            snapshot = Snapshot.build(
                slots=slots,
                line_items=specs.active_line_items(session, self.timezone),
                timezone=self.timezone,
                version=version,
                house_creatives=house,
            )
        self.builds += 1
        return snapshot

    def revised(self, snapshot: Snapshot) -> Snapshot | None:
        """``snapshot`` revised to the stored version with the change log; None when the
        log cannot say what changed since (then build afresh)."""
        if not isinstance(snapshot.version, int):
            return None
        with self._reading() as session:
            version = read_ads_version(session)
            if version == snapshot.version:
                return snapshot
            changes = changes_since(session, snapshot.version, version)
            if changes is None:
                log.info("ads snapshot: version %s to %s is not in the change log; building "
                         "afresh", snapshot.version, version)
                return None
            change = self._change(session, snapshot, version, changes)
        revised = snapshot.apply(change)
        self.revisions += 1
        return revised

    def _change(self, session: Session, snapshot: Snapshot, version: int,
                changes: Changes) -> ConfigChange:
        """The change as the snapshot applies it: the touched line items as they are now, and
        the slots (as they are now, or as the snapshot has them)."""
        ids = touched_line_items(session, changes)
        if any(changes.of(kind) for kind in SLOT_KINDS):
            slots, house = specs.slots_and_house_creatives(session)
        else:
            slots = list(snapshot.slots.values())
            house = [snapshot.creatives[creative_id] for creative_id in snapshot.house]
        return ConfigChange(version, tuple(slots), tuple(house),
                            specs.line_items_by_id(session, ids, self.timezone))

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        """One transaction; on PostgreSQL a repeatable read, so that every query sees the
        configuration of the version read first (SQLite's transactions always do)."""
        with self._database.session() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session
