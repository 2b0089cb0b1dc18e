"""Content scopes: the named parts of the content a change touches and a cached output depends
on (``article:<slug>``, ``section:<slug>``, ``articles``, ``lists``, ``all``). Plain names, so
that the renderer and the edge can use them without the database layer."""

from __future__ import annotations

#: The scope every dependency includes: bumping it invalidates every content fragment.
ALL = "all"


def article_scopes(slug: str) -> tuple[str, ...]:
    """What an article's change touches: its own page, article lists, editorial lists."""
    return (f"article:{slug}", "articles", "lists")
