"""Helpers of the ad serving tests (importable as ``adsupport``): a small ad configuration, and
the counters read back from the database."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from layoutserver.ads.extension import get_ads
from layoutserver.ads.models import AdCount, UserCount
from layoutserver.db import Database, get_database

REPO = Path(__file__).resolve().parents[2]
DEMO_ADS = REPO / "layoutserver" / "demo" / "ads.json"
ADS_SETTINGS = {"SECRET_KEY": "test-secret", "ADS_SEED": 7}
SEED_SLOTS = ["article-1", "article-2", "article-3", "news-1", "news-2"]
LANDING = "https://acme.example.com/landing"
#: An article layout of the seed page's five ad spots (the ``ad_spot`` widget's placements).
AD_LAYOUT = 'subject = "article"\n\n[[regions]]\nname = "main"\n\n' + "".join(
    f'[[regions.placements]]\nwidget = "ad_spot"\nid = "ad-{code}"\n'
    f'options = {{ slot = "{code}" }}\n\n'
    for code in SEED_SLOTS
)
#: An article layout of the article body and one ad spot, slot ``top``.
TOP_LAYOUT = """subject = "article"

[[regions]]
name = "main"

[[regions.placements]]
widget = "article_body"

[[regions.placements]]
widget = "ad_spot"
id = "ad-top"
options = { slot = "top" }
"""
FLIGHT = {"start": "2024-10-01T00:00:00-04:00", "end": "2024-11-01T00:00:00-04:00"}


def small_config(**acme: Any) -> dict[str, Any]:
    """One slot ``top`` (300x250), a sponsorship line item ``acme`` (keyword arguments change
    it) and a house line item; the site clock (2024-10-10) is inside both flights."""
    def creative(name: str, click_url: str) -> dict[str, Any]:
        return {"name": name, "advertiser": "Acme", "kind": "image", "size": "300x250",
                "click_url": click_url, "image_url": f"/ads/creatives/{name}.svg", "alt": name}

    return {
        "slots": [{"code": "top", "name": "Top", "sizes": {"*": ["300x250"]}}],
        "advertisers": [{"name": "Acme"}],
        "campaigns": [{"name": "Acme autumn", "advertiser": "Acme"}],
        "creatives": [creative("acme-1", LANDING),
                      creative("house-1", "https://www.example.com/subscribe")],
        "line_items": [
            {"name": "acme", "campaign": "Acme autumn", "tier": "sponsorship", **FLIGHT,
             "status": "active", "creatives": ["acme-1"], **acme},
            {"name": "house", "campaign": "Acme autumn", "tier": "house", **FLIGHT,
             "status": "active", "creatives": ["house-1"]},
        ],
    }


def counts(database: Database) -> list[tuple[int, int, str, str, int, int]]:
    """Every ``ad_counts`` row as (line item, creative, slot, UTC hour, impressions, clicks)."""
    with database.session() as session:
        rows = session.scalars(select(AdCount).order_by(AdCount.id)).all()
        return [(r.line_item_id, r.creative_id, r.slot, r.hour.isoformat(), r.impressions,
                 r.clicks) for r in rows]


def user_counts(database: Database) -> dict[tuple[str, int], int]:
    """Readers' impressions per line item counted in the database (no Redis, or Redis down)."""
    with database.session() as session:
        found: dict[tuple[str, int], int] = {}
        for row in session.scalars(select(UserCount)):
            key = (row.user_key, row.line_item_id)
            found[key] = found.get(key, 0) + row.impressions
        return found


def reader_counts(app: Flask) -> dict[tuple[str, int], int]:
    """Readers' impressions per line item wherever the app counts them: the database, plus
    Redis's reader counters when the app has a Redis."""
    database = Database(get_database(app).url)
    try:
        found = user_counts(database)
    finally:
        database.dispose()
    counts = get_ads(app).redis_counts
    if counts is not None:
        client = counts.store.client
        for key in client.scan_iter(counts.key("u:*")):
            line_item, user_key = key.decode().rsplit(":u:", 1)[1].split(":", 1)
            total = int(client.hget(key, "t") or 0)
            found[(user_key, int(line_item))] = found.get((user_key, int(line_item)), 0) + total
    return found


def demo_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DEMO_ADS.read_text(encoding="utf-8"))
    return copy.deepcopy(document)


def wait_for(probe: Callable[[], Any], seconds: float = 10.0) -> Any:
    """``probe()``'s first truthy answer, asked every 50 ms (a browser test waiting for what a
    page reports to the live server); AssertionError after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"nothing came within {seconds} s")
