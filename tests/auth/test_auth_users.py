"""Console users: creation rules, sign-in, lookup, and the users migration (``b7c1d2e3f4a5``)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy.orm import Session
from test_auth_migration import tables

from layoutserver import migrate
from layoutserver.auth import users
from layoutserver.auth.users import (
    create_user,
    delete_user,
    end_sessions,
    find_user,
    set_password,
    set_role,
    sign_in,
)
from layoutserver.db import Database

REVISION = "b7c1d2e3f4a5"


@pytest.fixture
def database(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'users.sqlite3'}")
    database.create_all()
    return database


@pytest.fixture
def session(database: Database) -> Session:
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


def test_a_session_names_a_user_by_id_name_and_secret(session: Session) -> None:
    create_user(session, "alice", "adops", "a long password")
    signed = sign_in(session, "alice", "a long password")
    assert signed is not None
    user_id, secret = signed.id, signed.session_secret
    assert find_user(session, user_id, "alice", secret) is not None
    assert find_user(session, user_id, "mallory", secret) is None  # an id reused by someone else
    assert find_user(session, user_id, "alice", "a guessed secret") is None
    delete_user(session, "alice")
    assert find_user(session, user_id, "alice", secret) is None
    with pytest.raises(ValueError, match="no user named"):
        delete_user(session, "alice")
    # the same name again (and, on SQLite, the same id): the old session is not theirs
    create_user(session, "alice", "admin", "another long password")
    assert find_user(session, user_id, "alice", secret) is None


def test_ending_sessions_and_a_new_password_end_every_session(session: Session) -> None:
    create_user(session, "bob", "adops", "a long password")
    first = sign_in(session, "bob", "a long password")
    assert first is not None
    end_sessions(session, first.id)
    assert find_user(session, first.id, "bob", first.session_secret) is None
    second = sign_in(session, "bob", "a long password")
    assert second is not None and second.session_secret != first.session_secret
    set_password(session, "bob", "a new long password")
    assert find_user(session, second.id, "bob", second.session_secret) is None
    assert sign_in(session, "bob", "a long password") is None
    with pytest.raises(ValueError, match="at least 8"):
        set_password(session, "bob", "short")


def test_a_new_role_ends_every_session(session: Session) -> None:
    create_user(session, "carol", "admin", "a long password")
    signed = sign_in(session, "carol", "a long password")
    assert signed is not None
    set_role(session, "carol", "viewer")
    assert find_user(session, signed.id, "carol", signed.session_secret) is None
    again = sign_in(session, "carol", "a long password")
    assert again is not None and again.role == "viewer"
    with pytest.raises(ValueError, match="unknown role 'owner'"):
        set_role(session, "carol", "owner")
    with pytest.raises(ValueError, match="no user named 'nobody'"):
        set_role(session, "nobody", "viewer")


# --- the stand-in hash an unknown name is checked against -------------------------------------


def test_importing_the_module_hashes_nothing(tmp_path: Path) -> None:
    probe = ("import werkzeug.security as security\n"
             "def refuse(*args, **kwargs): raise AssertionError('a hash made at import time')\n"
             "security.generate_password_hash = refuse\n"
             "import layoutserver.auth.users\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr


class HashSpy:
    """Counts the hashes made and checked by ``users``, the real functions doing the work."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, delay: float = 0.0) -> None:
        self.made: list[str] = []
        self.checked: list[str] = []
        self._lock = threading.Lock()
        make, check = users.generate_password_hash, users.check_password_hash

        def spied_make(password: str) -> str:
            with self._lock:
                self.made.append(password)
            time.sleep(delay)
            return make(password)

        def spied_check(pwhash: str, password: str) -> bool:
            self.checked.append(password)
            return check(pwhash, password)

        monkeypatch.setattr(users, "_dummy_hash", None)  # as in a process just started
        monkeypatch.setattr(users, "generate_password_hash", spied_make)
        monkeypatch.setattr(users, "check_password_hash", spied_check)


@pytest.mark.parametrize("name", ["alice", "nobody"])
def test_a_first_failed_sign_in_costs_the_same_whether_the_name_exists_or_not(
    session: Session, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    create_user(session, "alice", "adops", "a long password")
    spy = HashSpy(monkeypatch)
    assert sign_in(session, name, "wrong password") is None
    assert (len(spy.made), len(spy.checked)) == (1, 1)
    assert sign_in(session, name, "wrong password") is None
    assert (len(spy.made), len(spy.checked)) == (1, 2)


def test_concurrent_first_sign_ins_make_the_stand_in_hash_once(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = HashSpy(monkeypatch, delay=0.05)  # a wide window for the threads to race in
    start = threading.Barrier(4)

    def attempt(_: int) -> object:
        start.wait()
        with database.sessionmaker() as session:
            return sign_in(session, "nobody", "a long password")

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(attempt, range(4))) == [None] * 4
    assert len(spy.made) == 1
    assert len(spy.checked) == 4


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

