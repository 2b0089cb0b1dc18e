"""Fixtures for the content tests: the demo document, row counts and the content version of
the ``database`` fixture (tests/conftest.py)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from layoutserver.content.models import (
    Article,
    Author,
    ContentState,
    EditorialList,
    EditorialPick,
    Section,
    Tag,
)
from layoutserver.db import Database

DEMO_PATH = Path(__file__).resolve().parents[2] / "layoutserver" / "demo" / "content.json"
_DEMO: dict[str, Any] = json.loads(DEMO_PATH.read_text(encoding="utf-8"))


@pytest.fixture
def demo() -> dict[str, Any]:
    """A private deep copy of the demo document, free to edit."""
    return copy.deepcopy(_DEMO)


@pytest.fixture
def row_counts(database: Database) -> Callable[[], dict[str, int]]:
    """Rows per content table of ``database``, by table name."""

    def count() -> dict[str, int]:
        models = (Section, Author, Tag, Article, EditorialList, EditorialPick)
        with database.session() as session:
            return {
                model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in models
            }

    return count


@pytest.fixture
def content_version(database: Database) -> Callable[[], int]:
    """The stored content version of ``database`` (0 before anything was imported)."""

    def read() -> int:
        with database.session() as session:
            state = session.get(ContentState, 1)
            return 0 if state is None else state.version

    return read
