"""``layoutserver tokens create|list|revoke``, through click's CliRunner with settings from the
environment, on a migrated SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from layoutserver.auth.tokens import authenticate
from layoutserver.cli import main
from layoutserver.db import Database

REPO = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def database_url(cli_database_url: str) -> str:
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    return cli_database_url


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def authenticates(url: str, token: str) -> bool:
    database = Database(url)
    try:
        with database.session() as session:
            return authenticate(session, token) is not None
    finally:
        database.dispose()


def test_create_list_revoke(database_url: str) -> None:
    created = run("tokens", "create", "cms", "--role", "publisher")
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith("lst_") and "\n" not in token
    assert "cannot be shown again" in created.stderr

    listed = run("tokens", "list")
    assert listed.exit_code == 0, listed.output
    header, line = listed.stdout.splitlines()
    assert header.split("\t") == ["name", "role", "prefix", "created", "last used", "revoked"]
    name, role, prefix, created_at, last_used, revoked = line.split("\t")
    assert (name, role, prefix, last_used, revoked) == ("cms", "publisher", token[:10], "-", "-")
    assert created_at.endswith("+00:00")
    assert token[10:] not in listed.stdout
    assert authenticates(database_url, token)
    assert run("tokens", "list").stdout.splitlines()[1].split("\t")[4] != "-"

    revoked_result = run("tokens", "revoke", "cms")
    assert revoked_result.exit_code == 0, revoked_result.output
    assert not authenticates(database_url, token)
    assert run("tokens", "list").stdout.splitlines()[1].split("\t")[5] != "-"


def test_an_unknown_role_is_refused_by_the_command(database_url: str) -> None:
    result = run("tokens", "create", "cms", "--role", "root")
    assert result.exit_code == 2
    assert "'root' is not one of" in result.stderr


def test_a_duplicate_name_is_an_error(database_url: str) -> None:
    assert run("tokens", "create", "cms", "--role", "viewer").exit_code == 0
    result = run("tokens", "create", "cms", "--role", "admin")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "already a token named 'cms'" in result.stderr


def test_revoking_an_unknown_token_is_an_error(database_url: str) -> None:
    result = run("tokens", "revoke", "nobody")
    assert result.exit_code == 1
    assert "no token named 'nobody'" in result.stderr
