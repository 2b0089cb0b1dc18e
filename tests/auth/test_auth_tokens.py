"""Creating, authenticating and revoking API tokens; only hashes are stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from layoutserver.auth.models import ApiToken
from layoutserver.auth.tokens import (
    LAST_USED_RESOLUTION,
    Principal,
    authenticate,
    create_token,
    hash_token,
    revoke_token,
)
from layoutserver.db import Base, Database

T0 = datetime(2024, 10, 10, 12, 0, tzinfo=UTC)


def make(database: Database, name: str = "cms", role: str = "publisher") -> str:
    with database.session() as session:
        return create_token(session, name, role, now=T0)


def row(database: Database, name: str) -> ApiToken:
    with database.session() as session:
        found = session.scalar(select(ApiToken).where(ApiToken.name == name))
    assert found is not None
    return found


def test_a_created_token_authenticates_as_its_name_and_role(database: Database) -> None:
    token = make(database)
    assert token.startswith("lst_") and len(token) == 4 + 43
    with database.session() as session:
        principal = authenticate(session, token)
    assert principal == Principal("cms", "publisher")
    stored = row(database, "cms")
    assert stored.prefix == token[:10]
    assert stored.created_at == T0
    assert stored.revoked_at is None


def test_tokens_differ(database: Database) -> None:
    assert make(database, "a") != make(database, "b")


def test_the_secret_is_not_stored(database: Database) -> None:
    token = make(database)
    secret = token.removeprefix("lst_")
    with database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for values in connection.execute(text(f"SELECT * FROM {table.name}")):
                for value in values:
                    assert secret not in str(value), table.name
                    assert secret[:20] not in str(value), table.name
    assert row(database, "cms").token_hash == hash_token(token)
    path = database.engine.url.database
    assert path is not None
    for file in (Path(path), Path(path + "-wal")):  # the WAL holds recent commits
        if file.exists():
            assert secret.encode() not in file.read_bytes(), file


@pytest.mark.parametrize("presented", ["", "lst_", "lst_nope", "Bearer x", "x" * 10_000])
def test_a_wrong_token_is_refused(database: Database, presented: str) -> None:
    make(database)
    with database.session() as session:
        assert authenticate(session, presented) is None


def test_a_token_differing_in_one_character_is_refused(database: Database) -> None:
    token = make(database)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    with database.session() as session:
        assert authenticate(session, forged) is None


def test_a_revoked_token_is_refused(database: Database) -> None:
    token = make(database)
    with database.session() as session:
        revoke_token(session, "cms", now=T0 + timedelta(hours=1))
    with database.session() as session:
        assert authenticate(session, token) is None
    assert row(database, "cms").revoked_at == T0 + timedelta(hours=1)


def test_revoking_twice_keeps_the_first_time(database: Database) -> None:
    make(database)
    with database.session() as session:
        revoke_token(session, "cms", now=T0)
    with database.session() as session:
        revoke_token(session, "cms", now=T0 + timedelta(days=1))
    assert row(database, "cms").revoked_at == T0


def test_revoking_an_unknown_token_is_an_error(database: Database) -> None:
    with database.session() as session, pytest.raises(ValueError, match="no token named 'x'"):
        revoke_token(session, "x")


def test_last_used_is_written_at_most_once_a_minute(database: Database) -> None:
    token = make(database)

    def use(at: datetime) -> datetime | None:
        with database.session() as session:
            assert authenticate(session, token, now=at) is not None
        return row(database, "cms").last_used_at

    assert row(database, "cms").last_used_at is None
    assert use(T0) == T0
    assert use(T0 + timedelta(seconds=30)) == T0
    assert use(T0 + LAST_USED_RESOLUTION - timedelta(microseconds=1)) == T0
    assert use(T0 + LAST_USED_RESOLUTION) == T0 + LAST_USED_RESOLUTION
    assert use(T0 + LAST_USED_RESOLUTION + timedelta(seconds=1)) == T0 + LAST_USED_RESOLUTION


def test_a_throttled_use_writes_nothing(database: Database) -> None:
    token = make(database)
    with database.session() as session:
        authenticate(session, token, now=T0)
    with database.session() as session:
        authenticate(session, token, now=T0 + timedelta(seconds=5))
        assert not session.dirty


@pytest.mark.parametrize(
    ("name", "role", "message"),
    [
        ("", "admin", "needs a name"),
        ("   ", "admin", "needs a name"),
        ("x" * 101, "admin", "at most 100"),
        ("ops", "root", "unknown role 'root'"),
        ("cms", "viewer", "already a token named 'cms'"),
    ],
)
def test_bad_tokens_are_refused(database: Database, name: str, role: str, message: str) -> None:
    make(database, "cms")
    with database.session() as session, pytest.raises(ValueError, match=message):
        create_token(session, name, role)
    with database.session() as session:
        assert session.scalars(select(ApiToken.name)).all() == ["cms"]


def test_a_revoked_tokens_name_stays_taken(database: Database) -> None:
    make(database, "cms")
    with database.session() as session:
        revoke_token(session, "cms")
    with database.session() as session, pytest.raises(ValueError, match="already a token"):
        create_token(session, "cms", "publisher")
