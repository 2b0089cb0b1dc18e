"""Layout changes reach the edges: layouts are files read when a process starts, so each
serving process compares the digests it loaded with the ones last recorded and queues a purge
of ``layout:<page_type>`` for each that changed (once: the first process to record a digest
queues it; the others find it recorded)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from layoutserver.db import Database
from layoutserver.edge.keys import layout_key
from layoutserver.edge.models import LayoutDigest
from layoutserver.edge.purge import enqueue_purge
from layoutserver.layouts import Layout

log = logging.getLogger(__name__)


def purge_changed_layouts(database: Database, layouts: Iterable[Layout]) -> list[str]:
    """Record each layout's digest; queue a purge for those that changed since last recorded
    (a page type seen for the first time has nothing cached under an older layout to purge).
    The page types purged."""
    purged: list[str] = []
    try:
        with database.session() as session:
            known = {row.page_type: row.digest
                     for row in session.scalars(select(LayoutDigest))}
            for layout in layouts:
                recorded = known.get(layout.page_type)
                if recorded == layout.digest:
                    continue
                if recorded is None:
                    session.add(LayoutDigest(page_type=layout.page_type, digest=layout.digest))
                    continue
                session.get_one(LayoutDigest, layout.page_type).digest = layout.digest
                purged.append(layout.page_type)
            if purged:
                enqueue_purge(session, [layout_key(page_type) for page_type in purged])
    except SQLAlchemyError as error:  # a database not migrated yet, or unreachable
        log.warning("layout digests not checked (%s); edges keep pages of an older layout "
                    "until their TTL", type(error).__name__)
        return []
    if purged:
        log.info("layouts changed since last served: purging %s at the edges",
                 ", ".join(purged))
    return purged
