"""A deploy that changes a layout file purges that page type's pages at the edges: the file is
published as a new version (``layouts.store``), and a publish queues the purge of its page
type in its own transaction, once, whichever process seeds it first."""

from __future__ import annotations

import tomllib
from collections.abc import Callable

from flask import Flask
from sqlalchemy import select
from support import PER_REQUEST, SEED_PATH

from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.edge.models import PurgeRequest
from layoutserver.layouts import store

TITLED = PER_REQUEST.replace('subject = "article"', 'subject = "article"\ntitle = "Story"')


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
    deployed = make_app(layouts={"article": TITLED}, settings={"DATABASE_URL": url})
    deployed.test_client().get(SEED_PATH)
    deployed.test_client().get(SEED_PATH)
    assert queued(deployed) == [*before, "layout:article"]  # once, by its first request
    again = make_app(layouts={"article": TITLED}, settings={"DATABASE_URL": url})
    again.test_client().get(SEED_PATH)
    assert queued(again) == [*before, "layout:article"]  # another process: recorded already


def test_a_deploy_purges_only_when_it_changes_the_published_version(
    make_app: Callable[..., Flask]
) -> None:
    """Each way the deploy rule goes, against the queue: a file held back by a newer runtime
    edit serves nothing new and purges nothing; taking it (``layouts import``) purges like a
    publish; keeping the runtime version (its export deployed) purges nothing."""
    app = make_app(layouts={"article": PER_REQUEST})
    app.test_client().get(SEED_PATH)
    registry = get_core(app).registry

    def deploy(text: str) -> store.SeedResult:
        with get_database(app).session() as session:
            return store.seed_from_files(session, {"article": text}, registry)

    def publish(title: str) -> str:
        document = {**tomllib.loads(PER_REQUEST), "title": title}
        with get_database(app).session() as session:
            store.save_draft(session, "editor", "article", document, registry)
        with get_database(app).session() as session:
            return store.publish_draft(session, "editor", "article", registry).source

    start = queued(app)
    publish("Edited at runtime")
    held = [*start, "layout:article"]
    assert queued(app) == held
    assert deploy(TITLED).conflicts == ("article",)
    assert deploy(TITLED).conflicts == ("article",)  # every start: still pending
    assert queued(app) == held  # nothing served changed
    with get_database(app).session() as session:
        assert store.import_files(session, "cli", {"article": TITLED}, registry) == ["article"]
    assert queued(app) == [*held, "layout:article"]  # the file taken: purged
    assert deploy(TITLED) == store.SeedResult()

    taken = queued(app)
    runtime = publish("Edited again")
    assert deploy(runtime) == store.SeedResult()  # the runtime version, exported and deployed
    assert queued(app) == [*taken, "layout:article"]  # its publish's purge, no other
