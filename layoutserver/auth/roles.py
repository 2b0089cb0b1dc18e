"""Roles and what each may do, as one explicit table.

=========  ===========================  =======================================
area       read                         write
=========  ===========================  =======================================
content    every role                   admin, publisher
ads        every role                   admin, adops
explain    admin, adops                 nobody (why each line item won or lost a slot:
                                        ad ops' tool, not for a CMS integration)
reports    admin, adops, viewer         nobody (reports are derived, read-only)
layouts    every role                   admin, publisher, adops: each its part of a
                                        layout (:func:`layout_parts`)
widgets    every role                   nobody (installed plugins)
tokens     admin                        admin
audit      admin                        nobody (written only as a side effect of
                                        changes, never directly)
=========  ===========================  =======================================

So ``admin`` may do everything there is to do, ``adops`` changes ads and reads reports,
``publisher`` changes content and layouts (and, being a CMS integration more often than a
person, does not see the commercial delivery figures), ``viewer`` reads everything but tokens
and the audit log. Of a layout, a role changes the parts whose area it may write: the ad
placements with ``ads``, the content widgets and the rest with ``content`` (ad ops move ad
spots, publishers arrange content, admins both: ``layouts/edit_rights.py``).
Writing always implies reading. An unknown role may do nothing (fail closed); an unknown
area is a programming error (``ValueError``).
"""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["admin", "adops", "publisher", "viewer"]
Area = Literal["content", "ads", "explain", "reports", "layouts", "widgets", "tokens", "audit"]

ROLES: tuple[Role, ...] = get_args(Role)
AREAS: tuple[Area, ...] = get_args(Area)

_EVERYONE = frozenset(ROLES)
_NOBODY: frozenset[str] = frozenset()

#: area -> (roles that may read, roles that may write)
PERMISSIONS: dict[Area, tuple[frozenset[str], frozenset[str]]] = {
    "content": (_EVERYONE, frozenset({"admin", "publisher"})),
    "ads": (_EVERYONE, frozenset({"admin", "adops"})),
    "explain": (frozenset({"admin", "adops"}), _NOBODY),
    "reports": (frozenset({"admin", "adops", "viewer"}), _NOBODY),
    "layouts": (_EVERYONE, frozenset({"admin", "publisher", "adops"})),
    "widgets": (_EVERYONE, _NOBODY),
    "tokens": (frozenset({"admin"}), frozenset({"admin"})),
    "audit": (frozenset({"admin"}), _NOBODY),
}


def allowed(role: str, area: Area, write: bool) -> bool:
    """May a token with ``role`` read (or, with ``write``, change) ``area``?"""
    try:
        readers, writers = PERMISSIONS[area]
    except KeyError:
        raise ValueError(f"unknown area {area!r} (expected one of {', '.join(AREAS)})") from None
    return role in (writers if write else readers)


def layout_parts(role: str) -> frozenset[Literal["ads", "content"]]:
    """The parts of a layout ``role`` may change: its ad placements when it may change ads,
    the rest (content widgets, title, regions) when it may change content."""
    return frozenset(part for part in ("ads", "content") if allowed(role, part, write=True))


def check_role(role: str) -> str:
    """``role`` if it is one, else a ``ValueError`` naming the roles there are."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (expected one of {', '.join(ROLES)})")
    return role
