"""API tokens: created and revoked by the CLI, presented as bearer tokens.

A token is ``lst_`` followed by ``secrets.token_urlsafe(32)`` (256 random bits). Only its
SHA-256 hash is stored. A fast, unsalted hash is right here, unlike for passwords: slow salted
hashes (bcrypt, argon2) exist to make guessing *low-entropy* secrets from a stolen hash
expensive, and no amount of speed makes 256 random bits guessable. Being unsalted and fast, the
hash is also the lookup key: authenticating is one indexed query, no per-request key stretching.
Looking up by hash is also what keeps the check constant-time with respect to the secret: the
database compares hashes, and timing differences reveal at most a prefix of a hash, which is
of no help in forging a token.

The display ``prefix`` (``lst_`` and the next 6 characters, 36 bits) leaves 220 secret bits.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from layoutserver.auth.models import ApiToken
from layoutserver.auth.roles import check_role

TOKEN_PREFIX = "lst_"  # noqa: S105 (a public marker, not a secret)
PREFIX_LENGTH = len(TOKEN_PREFIX) + 6
MAX_NAME_LENGTH = 100
#: ``last_used_at`` is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: the token's name (the audit log's actor) and its role."""

    name: str
    role: str


def check_name(name: str, noun: str) -> str:
    """``name`` stripped; ``ValueError`` when empty or longer than ``MAX_NAME_LENGTH`` (the
    names of tokens and of console users are the audit log's actors)."""
    name = name.strip()
    if not name:
        raise ValueError(f"a {noun} needs a name")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"{noun} names are at most {MAX_NAME_LENGTH} characters")
    return name


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session, name: str, role: str, *, now: datetime | None = None
) -> str:
    """Add a token called ``name`` with ``role`` and return it: the only time it is seen.

    ``ValueError`` for an empty or overlong name, an unknown role, or a name already used
    (revoked tokens' names included, so that the audit log's actors stay unambiguous)."""
    name = check_name(name, "token")
    check_role(role)
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise ValueError(f"there is already a token named {name!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(
        name=name, role=role, token_hash=hash_token(token), prefix=token[:PREFIX_LENGTH],
        created_at=now or datetime.now(UTC),
    ))
    session.flush()
    return token


def revoke_token(session: Session, name: str, *, now: datetime | None = None) -> None:
    """Revoke the token called ``name`` (``ValueError`` if there is none). Revoking a revoked
    token changes nothing: it keeps the time of its first revocation."""
    row = session.scalar(select(ApiToken).where(ApiToken.name == name.strip()))
    if row is None:
        raise ValueError(f"there is no token named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = now or datetime.now(UTC)


def authenticate(
    session: Session, presented: str, *, now: datetime | None = None
) -> Principal | None:
    """The principal of a presented token; None for an unknown or revoked one. Notes the use
    in ``last_used_at`` when the last note is older than ``LAST_USED_RESOLUTION``."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(presented)))
    if row is None or row.revoked_at is not None:
        return None
    now = now or datetime.now(UTC)
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
    return Principal(row.name, row.role)


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token, revoked ones included, by name."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.name)))
