"""A fresh SQLite database with every table, for the auth tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from layoutserver.db import Database


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'auth.sqlite3'}")
    database.create_all()
    yield database
    database.dispose()
