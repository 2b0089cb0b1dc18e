"""Two editors changing one item at once: the If-Match check and the change see the same row,
so the later one gets 412 instead of silently undoing the earlier one (a lost update). On
PostgreSQL the API's read of the item locks it (SELECT ... FOR UPDATE) until the change
commits; without it, READ COMMITTED lets both pass the check."""

from __future__ import annotations

import threading
import time

import pytest
from apisupport import Api
from flask import Flask
from werkzeug.test import TestResponse

from layoutserver.api.services import content as service
from layoutserver.db import get_database

SQLITE_ONLY_ONE_WRITER = (
    "SQLite takes no row locks: a write waits for the other writer's commit, then applies "
    "(pysqlite starts the transaction at the first write, after the If-Match check)"
)


@pytest.fixture
def on_postgresql(api_app: Flask) -> None:
    if get_database(api_app).engine.dialect.name != "postgresql":
        pytest.skip(SQLITE_ONLY_ONE_WRITER)


@pytest.mark.usefixtures("on_postgresql")
def test_an_edit_checked_against_a_row_being_changed_waits_and_gets_412(
    api: Api, api_app: Flask
) -> None:
    path = "/api/v1/sections/world"
    etag = api.etag(path)
    answers: list[TestResponse] = []
    with get_database(api_app).session() as first:
        service.update(first, "first-editor", "section", "world", {"name": "World news"})
        # The first editor's change holds the row; the second editor's PATCH starts now.
        second = threading.Thread(target=lambda: answers.append(
            api.patch(path, etag=etag, json={"name": "The World"})))
        second.start()
        time.sleep(0.5)
    second.join(timeout=30)
    assert [answer.status_code for answer in answers] == [412]
    assert api.get(path).get_json()["name"] == "World news"
