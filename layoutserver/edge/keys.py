"""Surrogate keys: what a shared response depends on, and what a change touches.

A key is a content scope name (``article:<slug>``, ``section:<slug>``, ``articles``, ``lists``,
``all``, see ``layoutserver.content.version``), ``content`` (any content at all) or
``layout:<page_type>``. A response carries the keys of everything it was built from; a change
purges the keys it touched, and ``content`` with them, so that an edge drops exactly the
responses a content version bump makes the origin rebuild.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from layoutserver.content.scopes import ALL

#: Carried by every response built from content a widget reads without naming it
#: (``depends_on=None``); purged by every content change.
ANY_CONTENT = "content"
#: The dependency kinds (``CachePolicy.depends_on``) that are scopes, and so keys, of their own
#: (``subject`` is the response's subject key).
DEPENDENCY_KEYS = frozenset({"articles", "lists"})


def subject_key(subject_kind: str, slug: str) -> str:
    """The key of a page's subject (``article:<slug>`` or ``section:<slug>``)."""
    return f"{subject_kind}:{slug}"


def layout_key(page_type: str) -> str:
    return f"layout:{page_type}"


def response_keys(page_type: str, subject_kind: str, slug: str,
                  depends_on: Iterable[Sequence[str] | None]) -> tuple[str, ...]:
    """The keys of a response of ``page_type`` about ``slug``, built by widgets whose
    ``depends_on`` are given (one entry per widget inside)."""
    keys = {ALL, layout_key(page_type), subject_key(subject_kind, slug)}
    for kinds in depends_on:
        if kinds is None:
            keys.add(ANY_CONTENT)
            continue
        keys.update(kind for kind in kinds if kind in DEPENDENCY_KEYS)
    return tuple(sorted(keys))


def listing_keys(section: str | None = None) -> tuple[str, ...]:
    """The keys of a response that lists articles and sections without widgets (a sitemap, a
    feed; ``section``: of that section only): purged by every article and section change."""
    keys = {ALL, "articles", *([subject_key("section", section)] if section else [])}
    return tuple(sorted(keys))


def change_keys(scopes: Iterable[str] | None) -> tuple[str, ...]:
    """The keys a content change of ``scopes`` (None: everything) purges."""
    return tuple(sorted({ANY_CONTENT, *(scopes if scopes is not None else (ALL,))}))


def header_value(keys: Iterable[str]) -> str:
    """Keys as ``Surrogate-Key`` and ``xkey`` carry them: separated by spaces."""
    return " ".join(keys)
