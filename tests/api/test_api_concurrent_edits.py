"""Two editors changing one item at once: the If-Match check and the change see the same row,
so the later one gets 412 instead of silently undoing the earlier one (a lost update). On
PostgreSQL the API's read of the item locks it (SELECT ... FOR UPDATE) until the change
commits; without it, READ COMMITTED lets both pass the check. SQLite has no row locks: the
read comes after taking the database's write lock (``layoutserver.db.take_write_lock``);
without it, the check ran before the write waited for the other writer."""

from __future__ import annotations

import threading
import time

from apisupport import Api
from flask import Flask
from werkzeug.test import TestResponse

from layoutserver.content import service as service
from layoutserver.db import get_database


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
