"""Recorded traffic for the forecast's API and console tests: eight days of the demo site's
article pages noted by the app's traffic recorder, as serving notes them, and written."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask

from layoutserver.ads.decisions.model import PageRequest
from layoutserver.ads.extension import get_ads

ARTICLE_SLOTS = ("article-1", "article-2", "article-3", "news-1", "news-2")
SECTIONS = {"world": 3, "business": 1}
"""Requests an hour per section, for each device class."""


def record_traffic(app: Flask, days: int = 8) -> int:
    """Note ``days`` of article pages before the site clock's hour (more by day than by night)
    and write them; returns the requests noted."""
    ads = get_ads(app)
    snapshot = ads.snapshots.current()
    now = ads.now().replace(minute=0, second=0, microsecond=0)
    noted = 0
    for hour in range(days * 24, 0, -1):
        moment = now - timedelta(hours=hour) + timedelta(minutes=7)
        daytime = 7 <= moment.hour < 23
        for section, per_hour in SECTIONS.items():
            for device in ("desktop", "mobile"):
                for n in range(per_hour * (2 if daytime else 1)):
                    ads.traffic.note(_request(moment, section, device, n), snapshot)
                    noted += 1
    ads.traffic.flush()
    return noted


def _request(moment: datetime, section: str, device: str, n: int) -> PageRequest:
    return PageRequest(slots=ARTICLE_SLOTS, now=moment, device=device, page_type="article",
                       slug=f"story-{n}", section=section, path=f"/pages/article/story-{n}",
                       user_key=f"reader-{n}" if n % 4 else None)
