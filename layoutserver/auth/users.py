"""Console users: created by the CLI, signed in with a name and password.

Passwords are hashed with werkzeug's ``generate_password_hash`` (scrypt, salted): unlike API
tokens (256 random bits, see ``tokens``), a password is a low-entropy secret, so its hash must be
slow to guess against. A failed sign-in does the same work whether the name exists or not, so
timing does not tell which names exist.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from layoutserver.auth.models import User
from layoutserver.auth.roles import check_role
from layoutserver.auth.tokens import check_name

MIN_PASSWORD_LENGTH = 8
ACTOR_PREFIX = "user:"
_dummy_hash: str | None = None
_dummy_hash_lock = threading.Lock()


def _dummy() -> str:
    """The hash checked against when the name is unknown, so that a miss costs as much as a
    wrong password. Made on first use (hashing is slow by design, too slow for import time),
    once per process."""
    global _dummy_hash
    if _dummy_hash is None:
        with _dummy_hash_lock:
            if _dummy_hash is None:
                _dummy_hash = generate_password_hash("not a password of anyone")
    return _dummy_hash


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who a console request acts as."""

    id: int
    name: str
    role: str
    session_secret: str
    """Held by each of the user's console sessions (see :func:`end_sessions`)."""

    @property
    def actor(self) -> str:
        """The audit log's name for this user (API tokens are named bare)."""
        return ACTOR_PREFIX + self.name


def create_user(
    session: Session, name: str, role: str, password: str, *, now: datetime | None = None
) -> User:
    """Add a user; ``ValueError`` for an empty, overlong or taken name, an unknown role or a
    password shorter than ``MIN_PASSWORD_LENGTH``."""
    name = check_name(name, "user")
    check_role(role)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise ValueError(f"there is already a user named {name!r}")
    user = User(name=name, role=role, password_hash=generate_password_hash(password),
                created_at=now or datetime.now(UTC))
    session.add(user)
    session.flush()
    return user


def sign_in(
    session: Session, name: str, password: str, *, now: datetime | None = None
) -> SignedIn | None:
    """The user when ``password`` is theirs (their last sign-in is then recorded), else None."""
    # Made before the lookup, known name or not: the first sign-in of a process pays for it
    # either way, so that one does not tell which names exist either.
    dummy = _dummy()
    user = session.scalar(select(User).where(User.name == name.strip()))
    if user is None:
        check_password_hash(dummy, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    user.last_sign_in_at = now or datetime.now(UTC)
    if user.session_secret is None:
        user.session_secret = secrets.token_urlsafe(24)
    return SignedIn(user.id, user.name, user.role, user.session_secret)


def find_user(session: Session, user_id: int, name: str, session_secret: str
              ) -> SignedIn | None:
    """The user with ``user_id``, ``name`` and ``session_secret`` as they are now: a deleted
    user is None (also when a new user was given the same id and name), so is a session ended
    by :func:`end_sessions`; a changed role shows at once."""
    user = session.get(User, user_id)
    if (user is None or user.name != name or user.session_secret is None
            or not hmac.compare_digest(user.session_secret, session_secret)):
        return None
    return SignedIn(user.id, user.name, user.role, user.session_secret)


def end_sessions(session: Session, user_id: int) -> None:
    """End every console session of the user at once (sign-out, a new password): the
    sessions hold a secret the user no longer has."""
    user = session.get(User, user_id)
    if user is not None:
        user.session_secret = secrets.token_urlsafe(24)


def set_password(session: Session, name: str, password: str) -> None:
    """Give the user called ``name`` a new password, ending every session of theirs;
    ``ValueError`` for an unknown name or a short password."""
    user = session.scalar(select(User).where(User.name == name.strip()))
    if user is None:
        raise ValueError(f"there is no user named {name!r}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = generate_password_hash(password)
    end_sessions(session, user.id)


def set_role(session: Session, name: str, role: str) -> None:
    """Give the user called ``name`` another role, ending every session of theirs: a session
    opened for one role never goes on under another. ``ValueError`` for an unknown name or
    role."""
    user = session.scalar(select(User).where(User.name == name.strip()))
    if user is None:
        raise ValueError(f"there is no user named {name!r}")
    user.role = check_role(role)
    end_sessions(session, user.id)


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))


def delete_user(session: Session, name: str) -> None:
    """Delete the user called ``name`` (``ValueError`` if there is none); signed-in sessions of
    theirs stop working on their next request."""
    user = session.scalar(select(User).where(User.name == name.strip()))
    if user is None:
        raise ValueError(f"there is no user named {name!r}")
    session.delete(user)
    session.flush()
