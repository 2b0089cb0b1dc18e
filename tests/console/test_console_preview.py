"""Page preview: every widget and slot outlined and labelled, explain's choice and reasons for
ad ops, and nothing counted."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

from consolesupport import CONSOLE_SETTINGS, sign_in
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from support import OUTSIDE_AD_LAYOUT, SEED_SLUG

from layoutserver.ads.models import AdCount
from layoutserver.core import get_core
from layoutserver.db import get_database

PAGE = f"/admin/preview/page?page_type=article&slug={SEED_SLUG}"


def counted(app: Flask) -> int:
    with get_database(app).session() as session:
        return int(session.scalar(select(func.count()).select_from(AdCount)) or 0)


def test_every_placement_is_outlined_and_labelled(console_app: Flask, client: FlaskClient) -> None:
    sign_in(client, "adops")
    page = client.get(PAGE).get_data(as_text=True)
    layout = get_core(console_app).layouts.get("article")
    assert layout is not None
    for placement in layout.placements():
        assert f'data-placement="{placement.id}"' in page, placement.id
    widgets = re.findall(r'data-widget="([\w-]+)"[^>]*>\s*<div class="pv-label"><strong>'
                         r'([\w-]+)</strong> <span>#([\w-]+)</span>\s*<span class="pv-time">'
                         r'([\d.]+) ms, (\w+)</span>', page)
    assert {w[0] for w in widgets} >= {"article_body", "author_box", "latest_news", "must_read"}
    assert all(w[0] == w[1] and w[4] in {"hit", "miss"} for w in widgets)
    for code in layout.ad_slots:
        assert f'data-slot="{code}"' in page
        assert f"<strong>slot {code}</strong>" in page
    assert "Northwind fall fares roadblock</em> chosen: sponsorship tier, priority 1" in page
    assert "line item(s) considered" in page  # the losers and their reasons
    assert "East Turkistan" in page  # the page itself is there, outlined
    assert 'class="ad-spot"' in page  # and the ads explain chose
    # lazy slots (news-1, news-2) drawn at once: the preview runs no script to render them
    assert "<template" not in page and page.count('class="ad-spot"') == len(layout.ad_slots)


def test_a_preview_counts_nothing_and_sets_no_cookie(
    console_app: Flask, client: FlaskClient
) -> None:
    sign_in(client, "admin")
    response = client.get(PAGE)
    assert response.status_code == 200
    assert "ad-spot__beacon" not in response.get_data(as_text=True)
    assert "ls_uid" not in response.headers.get("Set-Cookie", "")
    assert counted(console_app) == 0


def test_roles_without_explain_see_the_ads_not_the_reasons(client: FlaskClient) -> None:
    sign_in(client, "publisher")
    page = client.get(PAGE).get_data(as_text=True)
    assert "<strong>slot article-1</strong>" in page
    assert "an ad serves" in page
    assert "fall fares roadblock" not in page  # no line item names
    assert "considered" not in page


def test_the_preview_page_frames_the_chosen_device(client: FlaskClient) -> None:
    sign_in(client, "viewer")
    page = client.get(f"/admin/preview?page_type=article&slug={SEED_SLUG}&device=mobile"
                      ).get_data(as_text=True)
    assert 'class="preview-frame preview-frame--mobile"' in page
    assert f"/admin/preview/page?page_type=article&amp;slug={SEED_SLUG}&amp;device=mobile" in page
    mobile = client.get(PAGE + "&device=mobile").get_data(as_text=True)
    assert "on mobile" in mobile


def test_a_mistyped_page_is_explained(client: FlaskClient) -> None:
    sign_in(client, "adops")
    response = client.get("/admin/preview/page?page_type=video&slug=x")
    assert response.status_code == 404
    assert "Unknown page type" in response.get_data(as_text=True)
    response = client.get("/admin/preview/page?page_type=article&slug=no-such-article")
    assert response.status_code == 404
    assert "No article" in response.get_data(as_text=True)
    assert client.get("/admin/preview/page?page_type=article&slug=Bad Slug").status_code == 404


def test_the_slug_field_suggests_articles_and_sections(client: FlaskClient) -> None:
    sign_in(client, "viewer")
    page = client.get("/admin/preview").get_data(as_text=True)
    assert f'<option value="{SEED_SLUG}">' in page
    assert ">section: " in page


def test_a_section_page_is_previewed_too(client: FlaskClient) -> None:
    sign_in(client, "publisher")
    page = client.get("/admin/preview/page?page_type=section&slug=world").get_data(as_text=True)
    assert 'data-widget="latest_news"' in page and 'data-widget="must_read"' in page
    assert "section / world on desktop" in page
    response = client.get("/admin/preview/page?page_type=section&slug=no-such-section")
    assert response.status_code == 404


def test_an_outside_ad_widgets_slots_are_previewed(
    make_app: Callable[..., Flask], console_database: Path, tmp_path: Path
) -> None:
    """A placement of another package's ad widget gets the same slot notes as the ad spot."""
    copy = tmp_path / "console.sqlite3"
    shutil.copyfile(console_database, copy)
    app = make_app(layouts={"article": OUTSIDE_AD_LAYOUT}, demo=False,
                   settings={**CONSOLE_SETTINGS, "DATABASE_URL": f"sqlite:///{copy}"})
    client = sign_in(app.test_client(), "adops")
    page = client.get(PAGE).get_data(as_text=True)
    assert 'data-placement="house" data-slot="article-1"' in page
    assert "<strong>slot article-1</strong>" in page
    assert "Northwind fall fares roadblock</em> chosen: sponsorship tier, priority 1" in page
