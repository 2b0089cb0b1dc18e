"""The content version.

Fragment cache keys carry this version, so bumping it makes every content edit show as soon as
a process reads the version again (at most ``VERSION_POLL_SECONDS`` later; the process that made
the edit, at once) without purging the cache: entries under the old version stop being read.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from layoutserver.content.models import ContentScope, ContentState
from layoutserver.content.scopes import ALL
from layoutserver.db import increment, increment_each
from layoutserver.edge.keys import change_keys
from layoutserver.edge.purge import enqueue_purge

STATE_ID = 1



def bump_content_version(session: Session, scopes: Iterable[str] | None = None) -> int:
    """Increment the content version in ``session``'s transaction and return the new value;
    also bump ``scopes`` (the parts of the content that changed), or, without them, ``all``.

    The content version says *that* something changed (a process then reloads the scope
    versions); the scopes say *what*, and fragment keys carry only the scopes their widget
    depends on.

    Each increment is an upsert (:func:`layoutserver.db.increment`; the scopes' in one
    ``executemany``), so that two writers cannot both read N and write N + 1; a missing row is
    created at version 1.
    The same transaction queues a purge of the matching surrogate keys at the edges
    (``layoutserver.edge.purge``).
    """
    version = increment(session, ContentState, {"id": STATE_ID})
    touched = sorted(set(scopes) if scopes is not None else {ALL})
    increment_each(session, ContentScope, "name", touched)
    enqueue_purge(session, change_keys(touched))
    return version
