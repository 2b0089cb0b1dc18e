"""A process follows each change of the ad configuration by revising its snapshot, and the
revision holds what a fresh build of the stored configuration holds: for line items paused,
edited, added and deleted, and for changes to creatives, advertisers, campaigns and slots as
they reach line items. Apps sharing one database (workers, hosts) each see one change once;
``ADS_SNAPSHOT_REVISIONS = false`` builds afresh instead."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ads_snapshots import described
from adsupport import ADS_SETTINGS, small_config
from flask import Flask
from sqlalchemy.orm import Session

from layoutserver.ads import config_service
from layoutserver.ads.config_import import import_ads
from layoutserver.ads.decisions.engine import decide_page
from layoutserver.ads.decisions.model import PageRequest
from layoutserver.ads.decisions.snapshot import Snapshot
from layoutserver.ads.decisions.state import InMemoryDeliveryState
from layoutserver.ads.extension import get_ads
from layoutserver.ads.snapshot_source import SnapshotSource
from layoutserver.core import get_core
from layoutserver.db import get_database

ACTOR = "tester"
NOW = datetime.fromisoformat("2024-10-10T09:00:00-04:00")
PAGES = [PageRequest(slots=("article-1", "article-2", "article-3", "news-1", "news-2"), now=NOW,
                     device=device, page_type="article", section=section, path="/pages/article/x",
                     user_key="reader-1")
         for device in ("desktop", "mobile") for section in ("world", "business")]


def write(app: Flask, change: Callable[[Session], Any]) -> None:
    with get_database(app).session() as session:
        change(session)


def update(kind: config_service.Kind, key: str, **data: Any) -> Callable[[Session], Any]:
    return lambda session: config_service.update(session, ACTOR, kind, key, data)


def assert_as_built(app: Flask, revised: Snapshot) -> None:
    built = SnapshotSource(get_database(app), get_core(app).timezone).build()
    assert revised.version == built.version
    assert described(revised) == described(built)
    state = InMemoryDeliveryState(get_core(app).timezone)
    for page in PAGES:
        assert decide_page(revised, page, state, random.Random(1), explain=True) == \
            decide_page(built, page, state, random.Random(1), explain=True)


def test_each_kind_of_change_revises_the_snapshot_to_a_build_of_it(ads_app: Flask) -> None:
    source = get_ads(ads_app).snapshots
    source.current()
    new_item = {"name": "Contoso winter", "campaign": "Contoso high-yield savings",
                "tier": "standard", "priority": 3, "start": "2024-10-01T00:00:00Z",
                "end": "2024-12-01T00:00:00Z", "status": "active",
                "creatives": ["contoso-rectangle", "contoso-banner"],
                "targeting": {"sections": ["business"]}}
    changes = [
        update("line_item", "Contoso savings, run of site", status="paused"),
        update("line_item", "Fabrikam world news", priority=2,
               targeting={"sections": ["world", "business"], "devices": ["desktop"]}),
        lambda session: config_service.create(session, ACTOR, "line_item", new_item),
        update("line_item", "Contoso savings, run of site", status="active"),
        update("creative", "contoso-rectangle", size="320x50", click_url="https://c.example/"),
        update("advertiser", "Fabrikam Outdoor", popups_escape_sandbox=True),
        update("campaign", "Tailspin on the go", advertiser="Contoso Bank"),
        update("slot", "news-1", sizes={"desktop": ["300x250"], "mobile": ["320x50"]}),
        update("slot", "article-3", label="", house_creative="house-rectangle-app"),
        update("creative", "house-rectangle-app", click_url="https://house.example/app"),
        lambda session: config_service.delete(session, ACTOR, "line_item", "Contoso winter"),
    ]
    for change in changes:
        write(ads_app, change)
        assert_as_built(ads_app, source.current())
    assert (source.builds, source.revisions) == (1, len(changes))


def test_apps_sharing_a_database_each_follow_a_change_once(
    make_app: Callable[..., Flask],
) -> None:
    writer = make_app(settings=ADS_SETTINGS)
    import_ads(get_database(writer), small_config(), get_core(writer).timezone)
    shared = {**ADS_SETTINGS, "DATABASE_URL": writer.config["DATABASE_URL"]}
    reader = make_app(settings=shared)

    def served(app: Flask) -> str:
        response = app.test_client().post("/ads/decide", json={
            "page": {"page_type": "article", "path": "/pages/article/x"}, "slots": ["top"]})
        assert response.status_code == 200, response.json
        return str(response.json["decisions"][0]["html"])

    assert "acme-1" in served(reader)
    write(writer, update("line_item", "acme", status="paused"))
    for _ in range(3):
        assert "house-1" in served(reader)
    sources = [get_ads(app).snapshots for app in (writer, reader)]
    assert [(s.builds, s.revisions) for s in sources] == [(0, 0), (1, 1)]
    fresh = make_app(settings=shared)  # a worker starting now builds what the others revised
    assert "house-1" in served(fresh)
    assert described(get_ads(fresh).snapshots.current()) == \
        described(get_ads(reader).snapshots.current())
    assert get_ads(fresh).snapshots.builds == 1


def test_without_revisions_each_change_builds_afresh(small_app: Callable[..., Flask]) -> None:
    app = small_app(settings={"ADS_SNAPSHOT_REVISIONS": False})
    source = get_ads(app).snapshots
    source.current()
    write(app, update("line_item", "acme", weight=3))
    assert source.current().line_items[1].weight == 3
    assert (source.builds, source.revisions) == (2, 0)
