"""The content version.

Fragment cache keys carry this version, so bumping it makes every content edit show on the
next request without purging the cache: entries under the old version simply stop being read.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from layoutserver.content.models import ContentScope, ContentState

STATE_ID = 1


#: The scope every dependency includes: bumping it invalidates every content fragment.
ALL = "all"


def article_scopes(slug: str) -> tuple[str, ...]:
    """What an article's change touches: its own page, article lists, editorial lists."""
    return (f"article:{slug}", "articles", "lists")


def bump_content_version(session: Session, scopes: Iterable[str] | None = None) -> int:
    """Increment the content version in ``session``'s transaction and return the new value;
    also bump ``scopes`` (the parts of the content that changed), or, without them, ``all``.

    The content version says *that* something changed (a process then reloads the scope
    versions); the scopes say *what*, and fragment keys carry only the scopes their widget
    depends on.

    The increment is a single ``UPDATE ... SET version = version + 1`` so that two writers
    cannot both read N and write N + 1. The row is created at version 1 if it is missing.
    """
    result = session.execute(
        update(ContentState)
        .where(ContentState.id == STATE_ID)
        .values(version=ContentState.version + 1)
    )
    for name in sorted(set(scopes) if scopes is not None else {ALL}):
        _bump_scope(session, name)
    if getattr(result, "rowcount", 0) == 0:
        session.add(ContentState(id=STATE_ID, version=1))
        session.flush()
        return 1
    version = session.scalar(select(ContentState.version).where(ContentState.id == STATE_ID))
    return int(version or 0)


def _bump_scope(session: Session, name: str) -> None:
    done = session.execute(
        update(ContentScope).where(ContentScope.name == name)
        .values(version=ContentScope.version + 1)
    )
    if getattr(done, "rowcount", 0) == 0:
        session.add(ContentScope(name=name, version=1))
        session.flush()
