"""The audit log: who changed what, when, with the resource before and after.

Record a change in the same session (transaction) as the change itself, so that the entry is
committed or rolled back with it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from layoutserver.auth.models import AuditEntry
from layoutserver.keyset import Page, SortKey, Window, fetch

Action = Literal["create", "update", "delete"]
ACTIONS: tuple[str, ...] = get_args(Action)


def record_change(
    session: Session,
    actor: str,
    action: Action,
    resource_type: str,
    resource_id: str | int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    *,
    now: datetime | None = None,
) -> AuditEntry:
    """Add an entry for a change by ``actor`` (a token's name, or a user's).

    ``before`` and ``after`` are the resource as the API shows it: callers pass their
    marshmallow schema's ``dump`` (JSON-able: dates already strings). They are copied through
    JSON, so a value that is not JSON-able fails here (``TypeError``), not at commit, and later
    changes to the caller's dicts do not leak into the entry. A create has no ``before``, a
    delete no ``after`` (``ValueError`` otherwise)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r} (expected one of {', '.join(ACTIONS)})")
    if action == "create" and before is not None:
        raise ValueError("a create has no 'before'")
    if action == "delete" and after is not None:
        raise ValueError("a delete has no 'after'")
    entry = AuditEntry(
        at=now or datetime.now(UTC), actor=actor, action=action,
        resource_type=resource_type, resource_id=str(resource_id),
        before=_snapshot(before), after=_snapshot(after),
    )
    session.add(entry)
    return entry


#: The log's order: newest first (``id`` orders entries of the same instant).
AUDIT_ORDER = SortKey("audit", (AuditEntry.at, AuditEntry.id), descending=True)


def audit_entries(
    session: Session,
    *,
    resource_type: str | None = None,
    resource_id: str | int | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """The newest ``limit`` entries matching every filter given (``since`` inclusive)."""
    query = _filtered(resource_type, resource_id, actor, since)
    return list(session.scalars(query.order_by(*AUDIT_ORDER.order_by()).limit(limit)))


def audit_page(
    session: Session,
    window: Window,
    *,
    resource_type: str | None = None,
    resource_id: str | int | None = None,
    actor: str | None = None,
) -> Page[AuditEntry]:
    """A page of the entries matching every filter given, newest first, by keyset
    (``BadCursor``)."""
    return fetch(session, _filtered(resource_type, resource_id, actor, None), AUDIT_ORDER,
                 window)


def _filtered(resource_type: str | None, resource_id: str | int | None, actor: str | None,
              since: datetime | None) -> Select[AuditEntry]:
    query = select(AuditEntry)
    if resource_type is not None:
        query = query.where(AuditEntry.resource_type == resource_type)
    if resource_id is not None:
        query = query.where(AuditEntry.resource_id == str(resource_id))
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    return query


def _snapshot(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    copied: dict[str, Any] = json.loads(json.dumps(value))
    return copied
