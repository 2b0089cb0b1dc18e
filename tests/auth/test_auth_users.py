"""Console users: creation rules, sign-in, lookup, and the users migration (``b7c1d2e3f4a5``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy.orm import Session
from test_auth_migration import tables

from layoutserver import migrate
from layoutserver.auth.users import create_user, delete_user, find_user, sign_in
from layoutserver.db import Database

REVISION = "b7c1d2e3f4a5"


@pytest.fixture
def session(tmp_path: Path) -> Session:
    database = Database(f"sqlite:///{tmp_path / 'users.sqlite3'}")
    database.create_all()
    return database.sessionmaker()


def test_a_user_signs_in_with_their_password_only(session: Session) -> None:
    user = create_user(session, "  alice ", "adops", "a long password")
    assert user.name == "alice" and user.password_hash != "a long password"
    assert sign_in(session, "alice", "wrong password") is None
    assert sign_in(session, "bob", "a long password") is None
    found = sign_in(session, "alice", "a long password")
    assert found is not None and (found.name, found.role) == ("alice", "adops")
    assert found.actor == "user:alice"
    assert user.last_sign_in_at is not None


@pytest.mark.parametrize(("name", "role", "password", "message"), [
    ("", "admin", "a long password", "needs a name"),
    ("x" * 101, "admin", "a long password", "at most 100"),
    ("carol", "owner", "a long password", "unknown role"),
    ("carol", "admin", "short", "at least 8"),
])
def test_bad_users_are_refused(
    session: Session, name: str, role: str, password: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        create_user(session, name, role, password)


def test_a_name_is_taken_once(session: Session) -> None:
    create_user(session, "alice", "adops", "a long password")
    with pytest.raises(ValueError, match="already a user named 'alice'"):
        create_user(session, "alice", "viewer", "another password")


def test_a_session_names_a_user_by_id_and_name(session: Session) -> None:
    user = create_user(session, "alice", "adops", "a long password")
    assert find_user(session, user.id, "alice") is not None
    assert find_user(session, user.id, "mallory") is None  # an id reused by someone else
    delete_user(session, "alice")
    assert find_user(session, user.id, "alice") is None
    with pytest.raises(ValueError, match="no user named"):
        delete_user(session, "alice")


def test_the_users_revision_downgrades_and_upgrades_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    migrate.upgrade(url)
    assert "users" in tables(url)
    down = migrate.alembic_config(url)
    command.downgrade(down, f"{REVISION}-1")
    assert "users" not in tables(url)
    migrate.upgrade(url)
    assert "users" in tables(url)
    assert migrate.differences(url) == []

