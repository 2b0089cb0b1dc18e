"""A deploy that changes a layout file purges that page type's pages at the edges: the file is
published as a new version (``layouts.store``), and a publish queues the purge of its page
type in its own transaction, once, whichever process seeds it first."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy import select
from support import PER_REQUEST, SEED_PATH

from layoutserver.db import get_database
from layoutserver.edge.models import PurgeRequest


def queued(app: Flask) -> list[str]:
    with get_database(app).session() as session:
        return list(session.scalars(select(PurgeRequest.keys).order_by(PurgeRequest.id)))


def test_a_changed_layout_is_purged_once_an_unchanged_one_never(
    make_app: Callable[..., Flask]
) -> None:
    first = make_app(layouts={"article": PER_REQUEST})
    url = first.config["DATABASE_URL"]
    first.test_client().get(SEED_PATH)
    before = queued(first)
    same = make_app(layouts={"article": PER_REQUEST}, settings={"DATABASE_URL": url})
    same.test_client().get(SEED_PATH)
    assert queued(same) == before  # the same file: nothing to purge
    changed = PER_REQUEST.replace('subject = "article"', 'subject = "article"\ntitle = "Story"')
    assert changed != PER_REQUEST
    deployed = make_app(layouts={"article": changed}, settings={"DATABASE_URL": url})
    deployed.test_client().get(SEED_PATH)
    deployed.test_client().get(SEED_PATH)
    assert queued(deployed) == [*before, "layout:article"]  # once, by its first request
    again = make_app(layouts={"article": changed}, settings={"DATABASE_URL": url})
    again.test_client().get(SEED_PATH)
    assert queued(again) == [*before, "layout:article"]  # another process: recorded already
