"""Layouts as versioned data: seeding from the files, the deploy rule, publishing, restoring,
and a stored layout whose widget is gone."""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from support import ARTICLE_ONLY, DEMO_SETTINGS, PER_REQUEST, SEED_PATH

from layoutserver import create_app
from layoutserver.auth.models import AuditEntry
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.edge.models import PurgeRequest
from layoutserver.layouts import store
from layoutserver.layouts.changes import summarize
from layoutserver.layouts.models import LayoutVersion
from layoutserver.layouts.toml_text import dump_layout, loads_document

REPO = Path(__file__).resolve().parents[2]
TITLED = PER_REQUEST.replace('subject = "article"', 'subject = "article"\ntitle = "Story"')


def started(app: Flask) -> Flask:
    """The app after its first request (which seeds the database from the files)."""
    app.test_client().get("/healthz")
    return app


def publish(app: Flask, document: dict[str, object], actor: str = "editor") -> int:
    registry = get_core(app).registry
    with get_database(app).session() as session:
        store.save_draft(session, actor, "article", document, registry)
    with get_database(app).session() as session:
        return store.publish_draft(session, actor, "article", registry).number


def versions(app: Flask) -> list[LayoutVersion]:
    with get_database(app).session() as session:
        return list(reversed(store.versions(session, "article")))


def purges(app: Flask) -> list[str]:
    """The layout purges queued (content imports queue their own)."""
    with get_database(app).session() as session:
        return [keys for keys in session.scalars(select(PurgeRequest.keys)
                                                 .order_by(PurgeRequest.id))
                if keys.startswith("layout:")]


def test_the_first_start_seeds_each_file_as_version_1_byte_for_byte(
    make_app: Callable[..., Flask]
) -> None:
    app = started(make_app())
    with get_database(app).session() as session:
        exported = store.export_sources(session)
        first = store.version(session, "article", 1)
    assert set(exported) == {"article", "section"}
    for page_type, text in exported.items():
        assert text.encode() == (REPO / "config" / "layouts" / f"{page_type}.toml").read_bytes()
    assert (first.origin, first.created_by, first.summary) == ("file", "deploy", "first version")
    # the digest is the file's: bodies cached before the database held layouts stay valid
    assert get_core(app).layouts.get("article").digest == first.digest
    assert purges(app) == []  # nothing was built from an older version


def test_a_published_draft_is_served_with_a_new_digest_and_a_purge(
    make_app: Callable[..., Flask]
) -> None:
    app = started(make_app(layouts={"article": PER_REQUEST}))
    before = get_core(app).layouts.get("article")
    document = tomllib.loads(PER_REQUEST)
    document["regions"][0]["placements"].reverse()
    document["title"] = "Reordered"
    assert publish(app, document) == 2
    served = get_core(app).layouts.get("article")
    assert served.title == "Reordered" and served.digest != before.digest
    assert [p.id for p in served.placements()] == ["reader", "article"]
    assert purges(app) == ["layout:article"]
    latest = versions(app)[-1]
    assert latest.created_by == "editor"
    assert latest.summary == "moved: article (within main); title 'Article' -> 'Reordered'"
    with get_database(app).session() as session:
        actions = [(e.actor, e.resource_type, e.resource_id) for e in session.scalars(
            select(AuditEntry).order_by(AuditEntry.id))]
    assert actions[-2:] == [("editor", "layout", "article")] * 2  # the draft, the publish


def test_a_publish_is_served_by_another_app_on_the_same_database(
    make_app: Callable[..., Flask]
) -> None:
    first = started(make_app(layouts={"article": PER_REQUEST}))
    second = make_app(layouts={"article": PER_REQUEST},
                      settings={"DATABASE_URL": first.config["DATABASE_URL"]})
    client = second.test_client()
    assert 'data-placement="reader"' in client.get(SEED_PATH).get_data(as_text=True)
    document = tomllib.loads(PER_REQUEST)
    del document["regions"][0]["placements"][1]
    publish(first, document)
    # VERSION_POLL_SECONDS is 0 in the tests: the next request reads the layouts version
    assert 'data-placement="reader"' not in client.get(SEED_PATH).get_data(as_text=True)


def test_restoring_publishes_a_new_version_equal_to_the_old_one(
    make_app: Callable[..., Flask]
) -> None:
    app = started(make_app(layouts={"article": PER_REQUEST}))
    original = get_core(app).layouts.get("article")
    publish(app, tomllib.loads(TITLED))
    with get_database(app).session() as session:
        restored = store.restore(session, "admin", "article", 1, get_core(app).registry)
    assert (restored.number, restored.origin, restored.restored_from) == (3, "restore", 1)
    assert restored.summary == "restored version 1: title 'Story' -> 'Article'"
    history = versions(app)
    assert [v.number for v in history] == [1, 2, 3]  # nothing rewritten
    assert history[2].source == history[0].source
    assert get_core(app).layouts.get("article").digest == original.digest


def test_an_invalid_draft_is_refused_with_every_problem_located(
    make_app: Callable[..., Flask]
) -> None:
    app = started(make_app(layouts={"article": PER_REQUEST}))
    document = tomllib.loads(PER_REQUEST)
    document["regions"][0]["placements"].append({"widget": "nope", "options": {"x": None}})
    document["regions"][0]["placements"][0]["options"] = {"colour": "red"}
    with pytest.raises(store.LayoutInvalid) as refused, get_database(app).session() as session:
        store.save_draft(session, "editor", "article", document, get_core(app).registry)
    assert [str(p) for p in refused.value.problems] == [
        "layout article (draft): field 'regions[1].placements[3].options.x': null is not "
        "allowed (TOML has no null): leave the key out"]
    del document["regions"][0]["placements"][2]["options"]
    with pytest.raises(store.LayoutInvalid) as refused, get_database(app).session() as session:
        store.save_draft(session, "editor", "article", document, get_core(app).registry)
    texts = [str(p) for p in refused.value.problems]
    assert texts[0] == ("layout article (draft): region 'main': placement #1 (article_body, id "
                        "'article'): field 'options.colour': Unknown field.")
    assert texts[1].startswith("layout article (draft): region 'main': placement #3 (nope, id "
                               "'nope'): field 'widget': unknown widget 'nope'; installed "
                               "widgets: ")
    assert len(texts) == 2
    with get_database(app).session() as session:
        assert store.page_layout(session, "article").draft_source is None  # nothing stored


def test_a_changed_file_is_imported_while_the_seeded_version_is_published(
    make_app: Callable[..., Flask]
) -> None:
    url = started(make_app(layouts={"article": PER_REQUEST})).config["DATABASE_URL"]
    deployed = started(make_app(layouts={"article": TITLED}, settings={"DATABASE_URL": url}))
    assert get_core(deployed).layouts.get("article").title == "Story"
    latest = versions(deployed)[-1]
    assert (latest.number, latest.origin, latest.created_by) == (2, "file", "deploy")
    assert purges(deployed) == ["layout:article"]
    again = started(make_app(layouts={"article": TITLED}, settings={"DATABASE_URL": url}))
    assert len(versions(again)) == 2  # the same file twice: imported once


def test_a_changed_file_does_not_overwrite_a_newer_runtime_edit(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    first = started(make_app(layouts={"article": PER_REQUEST}))
    runtime = tomllib.loads(PER_REQUEST)
    runtime["title"] = "Edited at runtime"
    publish(first, runtime)
    caplog.set_level(logging.WARNING, logger="layoutserver.layouts.source")
    deployed = started(make_app(layouts={"article": TITLED},
                                settings={"DATABASE_URL": first.config["DATABASE_URL"]}))
    assert get_core(deployed).layouts.get("article").title == "Edited at runtime"
    assert len(versions(deployed)) == 2
    assert any("article: the deployed file differs" in r.message for r in caplog.records)
    with get_database(deployed).session() as session:
        row = store.page_layout(session, "article")
        assert row.pending_source == TITLED and row.pending_since is not None
    # the operator takes the file: imported, the conflict settled, the next start quiet
    with get_database(deployed).session() as session:
        assert store.import_files(session, "ops", {"article": TITLED},
                                  get_core(deployed).registry) == ["article"]
    caplog.clear()
    again = started(make_app(layouts={"article": TITLED},
                             settings={"DATABASE_URL": first.config["DATABASE_URL"]}))
    assert get_core(again).layouts.get("article").title == "Story"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    with get_database(again).session() as session:
        assert store.page_layout(session, "article").pending_source is None


def test_a_stored_layout_whose_widget_is_uninstalled_keeps_serving(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    """The version is published where test_per_request is installed; an app without it (a
    host after the plugin was uninstalled) serves the page with that placement empty."""
    with_widget = started(make_app(layouts={"article": ARTICLE_ONLY}))
    publish(with_widget, tomllib.loads(PER_REQUEST))
    draft = tomllib.loads(PER_REQUEST)
    draft["title"] = "Drafted where the widget was installed"
    with get_database(with_widget).session() as session:
        store.save_draft(session, "editor", "article", draft, get_core(with_widget).registry)
    without = create_app({**DEMO_SETTINGS, "DATABASE_URL": with_widget.config["DATABASE_URL"],
                          "LAYOUTS_DIR": with_widget.config["LAYOUTS_DIR"]})
    try:
        caplog.set_level(logging.ERROR, logger="layoutserver.layouts.loader")
        response = without.test_client().get(SEED_PATH)
        assert response.status_code == 200
        assert 'data-placement="article"' in response.get_data(as_text=True)
        reader = get_core(without).layouts.get("article").placement("reader")
        assert reader is not None and not reader.available
        assert any("widget 'test_per_request' is not installed; it renders empty" in r.message
                   for r in caplog.records)
        # and it cannot be published again as it is: restoring it, or the draft, is refused
        with pytest.raises(store.LayoutInvalid), get_database(without).session() as session:
            store.restore(session, "admin", "article", 2, get_core(without).registry)
        with (pytest.raises(store.LayoutInvalid) as refused,
              get_database(without).session() as session):
            store.publish_draft(session, "admin", "article", get_core(without).registry)
        assert "unknown widget 'test_per_request'" in str(refused.value)
        with get_database(without).session() as session:
            assert store.page_layout(session, "article").published == 2
    finally:
        get_core(without).close()
        get_database(without).dispose()


def test_the_json_form_round_trips_through_toml() -> None:
    for path in sorted((REPO / "config" / "layouts").glob("*.toml")):
        document = loads_document(path.read_text(encoding="utf-8"))
        text = dump_layout(document)
        assert tomllib.loads(text) == document
        assert dump_layout(loads_document(text)) == text


def test_the_summary_names_what_changed(make_app: Callable[..., Flask]) -> None:
    registry = get_core(make_app()).registry
    text = (REPO / "config" / "layouts" / "article.toml").read_text(encoding="utf-8")
    document = tomllib.loads(text)
    main = document["regions"][1]["placements"]
    by_id = {p.get("id"): p for p in main}
    by_id["latest-news"]["options"]["count"] = 5
    main.remove(by_id["author"])
    main.remove(by_id["ad-article-3"])
    main.insert(1, by_id["ad-article-3"])  # before ad-article-1 and ad-article-2
    document["regions"][2]["placements"].append({"widget": "date_bar", "id": "aside-date"})
    before = store.compile_strictly("article", text, registry, "before")
    after = store.compile_strictly("article", dump_layout(document), registry, "after")
    assert summarize(before, after) == (
        "added: aside-date (date_bar) in aside; removed: author (author_box); "
        "moved: ad-article-3 (within main); options changed: latest-news")
    assert summarize(None, after) == "first version"
    assert summarize(after, after) == "no change"
