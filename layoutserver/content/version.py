"""The content version.

Fragment cache keys carry this version, so bumping it makes every content edit show on the
next request without purging the cache: entries under the old version simply stop being read.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from layoutserver.content.models import ContentState

STATE_ID = 1


def bump_content_version(session: Session) -> int:
    """Increment the content version in ``session``'s transaction and return the new value.

    The increment is a single ``UPDATE ... SET version = version + 1`` so that two writers
    cannot both read N and write N + 1. The row is created at version 1 if it is missing.
    """
    result = session.execute(
        update(ContentState)
        .where(ContentState.id == STATE_ID)
        .values(version=ContentState.version + 1)
    )
    if getattr(result, "rowcount", 0) == 0:
        session.add(ContentState(id=STATE_ID, version=1))
        session.flush()
        return 1
    version = session.scalar(select(ContentState.version).where(ContentState.id == STATE_ID))
    return int(version or 0)
