"""SQLAlchemy models of API tokens, console users and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from layoutserver.db import Base, UTCDateTime


class ApiToken(Base):
    """A bearer token. Only its SHA-256 hash is stored (see ``layoutserver.auth.tokens``);
    ``prefix`` is its first characters, for telling tokens apart in listings."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    """Who the token is: the audit log's actor. Stays taken after revocation."""
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """Hex SHA-256 of the whole token; unique, so authenticating is one indexed lookup."""
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """One change: who made it, when, and the resource before and after (JSON, as the API
    shows it; ``before`` is null for a create, ``after`` for a delete)."""

    __tablename__ = "audit_entries"
    # The log is read newest first (at, then id), filtered by resource, resource type or
    # actor: each filter has an index in that order, so a page reads its own range.
    __table_args__ = (
        Index("ix_audit_entries_resource", "resource_type", "resource_id", "at", "id"),
        Index("ix_audit_entries_type", "resource_type", "at", "id"),
        Index("ix_audit_entries_actor", "actor", "at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(10))
    """create, update or delete."""
    resource_type: Mapped[str] = mapped_column(String(50))
    resource_id: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class User(Base):
    """A person signing in to the web console (``/admin``), with the same roles as API tokens.
    Only a salted, slow hash of the password is stored (``layoutserver.auth.users``)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    """The sign-in name; ``user:<name>`` is the audit log's actor."""
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    session_secret: Mapped[str | None] = mapped_column(String(64))
    """What every console session of the user carries; a new one (at sign-out, or a new
    password) ends them all. None until the first sign-in."""
