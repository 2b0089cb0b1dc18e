"""``GET /ads/explain``: every line item considered for every slot of a page, and why."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from adsupport import AD_LAYOUT, ADS_SETTINGS, DEMO_ADS, SEED_SLOTS, counts
from flask import Flask
from support import OUTSIDE_AD_LAYOUT, SEED_SLUG

from layoutserver.ads.config_import import import_ads_file
from layoutserver.auth.tokens import create_token
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.layouts import Layout, LayoutError, Placement, Region


def token(app: Flask, role: str = "adops") -> str:
    """A token of ``role`` on ``app`` (one per app and role)."""
    tokens: dict[str, str] = app.extensions.setdefault("test.explain_tokens", {})
    if role not in tokens:
        with get_database(app).session() as session:
            tokens[role] = create_token(session, f"explain-{role}", role)
    return tokens[role]


def explain(app: Flask, query: str, status: int = 200, role: str = "adops") -> Any:
    response = app.test_client().get(f"/ads/explain?{query}", headers={
        "Accept": "application/json", "Authorization": f"Bearer {token(app, role)}"})
    assert response.status_code == status, response.json
    return response.json


def reasons(report: Any, code: str) -> dict[str, str]:
    slot = next(slot for slot in report["slots"] if slot["slot"] == code)
    return {row["name"]: row["reason"] for row in slot["considered"]}


def test_the_seed_page_is_explained_slot_by_slot(ads_app: Flask) -> None:
    report = explain(ads_app, f"page_type=article&slug={SEED_SLUG}&slots=article-1,news-1"
                              "&device=desktop")
    assert report["page"]["section"] == "world"  # read from the article, as the page does
    assert "china" in report["page"]["tags"]
    assert reasons(report, "article-1") == {
        "Northwind fall fares roadblock": "chosen",
        "Contoso savings, run of site": "roadblock: Northwind fall fares roadblock",
        "Fabrikam world news": "roadblock: Northwind fall fares roadblock",
        "Tailspin mobile mornings": "targeting: device",
        "House promotions": "roadblock: Northwind fall fares roadblock",
    }
    news = reasons(report, "news-1")
    assert news["Tailspin mobile mornings"] == "targeting: device"
    assert news["House promotions"] == "lower priority"
    assert sorted([news["Contoso savings, run of site"], news["Fabrikam world news"]]) == [
        "chosen", "lost the lottery"]
    slot = report["slots"][0]
    assert slot["status"] == "ok" and slot["decision"]["line_item_id"] == 1


def test_other_pages_devices_and_readers_get_their_own_reasons(ads_app: Flask) -> None:
    report = explain(ads_app, "page_type=article&slug=dystopia&slots=article-1&device=mobile"
                              "&user_key=")
    article = reasons(report, "article-1")
    # the index leaves out line items of other sections: they are not considered at all
    assert "Northwind fall fares roadblock" not in article
    assert "Fabrikam world news" not in article
    assert article["Contoso savings, run of site"] == "cap: no user key"
    assert article["Tailspin mobile mornings"] in {"chosen", "lost the lottery"}


def test_key_values_paths_and_schedules_are_explained(
    small_app: Callable[..., Flask],
) -> None:
    app = small_app(targeting={"key_values": {"campaign": ["autumn"]}, "paths": ["/pages/*"]})
    assert reasons(explain(app, "page_type=article&slug=x&slots=top&kv.campaign=autumn"),
                   "top")["acme"] == "chosen"
    assert reasons(explain(app, "page_type=article&slug=x&slots=top&kv.campaign=spring"),
                   "top")["acme"] == "targeting: key-values"
    assert reasons(explain(app, "page_type=article&slug=x&slots=top&kv.campaign=autumn"
                                "&path=/elsewhere"), "top")["acme"] == "targeting: path"
    ended = small_app(end="2024-10-05T00:00:00-04:00")
    assert reasons(explain(ended, "page_type=article&slots=top"), "top")["acme"] == \
        "schedule: ended"


@pytest.mark.parametrize("status", ["paused", "draft"])
def test_a_line_item_that_is_not_active_is_listed_with_its_status(
    small_app: Callable[..., Flask], status: str,
) -> None:
    """The engine decides from active line items only; explain still names the others that
    target the slot, so "why isn't it serving?" is answered by their status."""
    app = small_app(status=status)
    top = next(slot for slot in explain(app, "page_type=article&slots=top,nowhere")["slots"])
    assert {row["name"]: (row["reason"], row["chosen"]) for row in top["considered"]} == {
        "house": ("chosen", True), "acme": (status, False)}
    elsewhere = small_app(status=status, targeting={"slots": ["top"]})
    report = explain(elsewhere, "page_type=article&slots=top,nowhere")
    assert reasons(report, "top")["acme"] == status
    assert "acme" not in reasons(report, "nowhere")  # it targets top only


def test_the_slots_come_from_the_page_types_layout(make_app: Callable[..., Flask]) -> None:
    app = make_app(layouts={"article": AD_LAYOUT}, settings=ADS_SETTINGS)
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    report = explain(app, f"page_type=article&slug={SEED_SLUG}")
    assert [slot["slot"] for slot in report["slots"]] == SEED_SLOTS
    assert all(slot["considered"] for slot in report["slots"])


def test_a_layouts_slots_are_what_its_widgets_declare_in_page_order() -> None:
    def placement(widget: str, slots: tuple[str, ...]) -> Placement:
        return Placement(id=f"p{len(slots)}{widget}", widget=widget, region="main", options={},
                         options_key="{}", ad_slots=slots)

    placements = (
        placement("ad_spot", ("b",)),
        placement("latest_news", ()),
        placement("other_ad", ("a", "c")),
        placement("ad_spot", ("b",)),
    )
    layout = Layout("article", "article", "Article", Path("article.toml"),
                    (Region("main", placements),), "digest")
    assert layout.ad_slots == ("b", "a", "c")


def test_an_outside_ad_widgets_slots_are_explained(make_app: Callable[..., Flask]) -> None:
    app = make_app(layouts={"article": OUTSIDE_AD_LAYOUT}, settings=ADS_SETTINGS)
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    report = explain(app, f"page_type=article&slug={SEED_SLUG}")
    assert [slot["slot"] for slot in report["slots"]] == SEED_SLOTS
    assert all(slot["considered"] for slot in report["slots"])
    page = app.test_client().get(f"/pages/article/{SEED_SLUG}").get_data(as_text=True)
    assert page.count('class="house-ad"') == 3


def test_an_ad_widget_declaring_bad_slots_is_a_layout_problem(
    make_app: Callable[..., Flask]
) -> None:
    layout = OUTSIDE_AD_LAYOUT.replace('"article-1"', '"Not A Code"')
    with pytest.raises(LayoutError, match=r"placement #1 \(test_house_ad, id 'house'\): "
                                          r"field 'options': ad_slots of widget"):
        make_app(layouts={"article": layout}, settings=ADS_SETTINGS)


def test_unknown_slots_and_page_types(ads_app: Flask) -> None:
    report = explain(ads_app, "page_type=article&slots=nowhere")
    assert report["slots"] == [{"slot": "nowhere", "status": "unknown slot", "decision": None,
                                "considered": []}]
    assert "Unknown page type 'weather'" in explain(ads_app, "page_type=weather",
                                                    status=404)["message"]
    invalid = explain(ads_app, "page_type=article&slots=news-1&device=watch", status=422)
    assert invalid["errors"] == {"query": {"device": ["Must be one of: desktop, tablet, "
                                                      "mobile."]}}


def test_both_urls_take_both_forms_of_lists_and_key_values(
    small_app: Callable[..., Flask],
) -> None:
    app = small_app(targeting={"key_values": {"campaign": ["autumn"]}})
    for path in ("/ads/explain", "/api/v1/explain"):
        for query in ("slots=top,nowhere&kv.campaign=autumn",
                      "slots=top&slots=nowhere&kv=campaign%3Dautumn"):
            response = app.test_client().get(f"{path}?page_type=article&{query}", headers={
                "Authorization": f"Bearer {token(app)}"})
            report = response.json
            assert [slot["slot"] for slot in report["slots"]] == ["top", "nowhere"], query
            assert report["page"]["key_values"] == {"campaign": "autumn"}
            assert reasons(report, "top")["acme"] == "chosen"


def test_explaining_counts_nothing(ads_app: Flask) -> None:
    client = ads_app.test_client()
    headers = {"Authorization": f"Bearer {token(ads_app)}"}
    path = "/ads/explain?page_type=article&slots=news-1"
    for _ in range(3):
        assert client.get(path, headers=headers).status_code == 200
    assert counts(get_database(ads_app)) == []
    assert "Set-Cookie" not in client.get(path, headers=headers).headers


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}])
def test_explaining_takes_a_token(ads_app: Flask, headers: dict[str, str]) -> None:
    response = ads_app.test_client().get("/ads/explain?page_type=article&slots=news-1",
                                         headers=headers)
    assert response.status_code == 401
    assert response.is_json and response.get_json()["code"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_ad_ops_and_admins_may_explain(ads_app: Flask) -> None:
    for role in ("admin", "adops"):
        explain(ads_app, "page_type=article&slots=news-1", role=role)


@pytest.mark.parametrize("role", ["publisher", "viewer"])
def test_other_roles_may_not_explain(ads_app: Flask, role: str) -> None:
    response = ads_app.test_client().get(
        "/ads/explain?page_type=article&slots=news-1",
        headers={"Authorization": f"Bearer {token(ads_app, role=role)}"})
    assert response.status_code == 403 and response.get_json()["code"] == 403
