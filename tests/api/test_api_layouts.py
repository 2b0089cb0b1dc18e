"""``/api/v1/layouts``: the draft with ETag and If-Match, publish, versions, restore, roles."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from apisupport import Api
from flask import Flask
from support import SEED_PATH, VARIANTS_LAYOUT

from layoutserver.auth.tokens import create_token
from layoutserver.db import get_database

DRAFT = "/api/v1/layouts/article/draft"


def moved_second_ad_spot(document: dict[str, Any]) -> dict[str, Any]:
    """The article layout with ad-article-2 moved to the top of the aside (below nothing)."""
    main, aside = document["regions"][1], document["regions"][2]
    spot = next(p for p in main["placements"] if p.get("id") == "ad-article-2")
    main["placements"].remove(spot)
    aside["placements"].append(spot)
    return document


def put_draft(api: Api, document: dict[str, Any], etag: str | None = None,
              role: str = "publisher") -> Any:
    headers = {"If-Match": etag or api.etag(DRAFT)}
    return api.call("PUT", DRAFT, role, headers=headers, json={"document": document})


def test_edit_publish_and_restore_a_layout(api: Api) -> None:
    api.client.get(SEED_PATH)  # the first request seeds the layouts from the files
    listed = {item["page_type"]: item for item in api.get("/api/v1/layouts").get_json()}
    assert listed["article"]["published_version"] == 1 and not listed["article"]["draft"]

    start = api.get(DRAFT)
    assert start.get_json()["exists"] is False  # the published version, to start from
    response = put_draft(api, moved_second_ad_spot(start.get_json()["document"]),
                         etag=start.headers["ETag"].strip('"'), role="adops")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["exists"] and response.get_json()["base_version"] == 1
    # the draft is not served yet
    page = api.client.get(SEED_PATH).get_data(as_text=True)
    assert page.index('data-placement="ad-article-2"') < page.index('data-placement="must-read"')

    published = api.post(f"{DRAFT}/publish", role="adops")
    assert published.status_code == 201, published.get_json()
    assert published.get_json()["number"] == 2
    assert published.get_json()["summary"] == "moved: ad-article-2 (main -> aside)"
    page = api.client.get(SEED_PATH).get_data(as_text=True)
    assert page.index('data-placement="must-read"') < page.index('data-placement="ad-article-2"')
    assert api.get(DRAFT).get_json()["exists"] is False
    assert api.post(f"{DRAFT}/publish").status_code == 409  # nothing left to publish

    history = api.get("/api/v1/layouts/article/versions").get_json()
    assert [(v["number"], v["created_by"], v["published"]) for v in history] == [
        (2, "adops-token", True), (1, "deploy", False)]

    restored = api.post("/api/v1/layouts/article/versions/1/restore", role="admin")
    assert restored.status_code == 201, restored.get_json()
    assert (restored.get_json()["number"], restored.get_json()["restored_from"]) == (3, 1)
    page = api.client.get(SEED_PATH).get_data(as_text=True)
    assert page.index('data-placement="ad-article-2"') < page.index('data-placement="must-read"')
    assert api.get("/api/v1/layouts/article").get_json()["number"] == 3

    audited = api.get("/api/v1/audit", query_string={"resource_type": "layout"}).get_json()
    assert [entry["actor"] for entry in audited[:3]] == [
        "admin-token", "adops-token", "adops-token"]


def test_the_draft_needs_its_current_etag(api: Api) -> None:
    api.client.get(SEED_PATH)
    document = api.get(DRAFT).get_json()["document"]
    stale = api.etag(DRAFT)
    missing = api.call("PUT", DRAFT, "admin", json={"document": document})
    assert missing.status_code == 428
    assert put_draft(api, document, etag=stale).status_code == 200
    again = put_draft(api, moved_second_ad_spot(document), etag=stale, role="admin")
    assert again.status_code == 412  # someone saved the draft since it was read
    assert api.post(f"{DRAFT}/publish", headers={"If-Match": f'"{stale}"'}).status_code == 412
    assert api.delete(DRAFT, etag=stale).status_code == 412
    assert api.delete(DRAFT).status_code == 204
    assert api.get(DRAFT).get_json()["exists"] is False


def test_an_invalid_draft_is_refused_with_every_problem(api: Api) -> None:
    api.client.get(SEED_PATH)
    document = api.get(DRAFT).get_json()["document"]
    document["regions"][1]["placements"][2]["options"] = {"slot": "Not A Code"}
    document["regions"][2]["placements"].append({"widget": "no_such_widget"})
    document["colour"] = "red"
    response = put_draft(api, document, role="admin")
    assert response.status_code == 422
    body = response.get_json()
    problems = body["errors"]["json"]["document"]
    assert [(p["region"], p["field"]) for p in problems] == [
        (None, "colour"), ("main", "options.slot"), ("aside", "widget")]
    assert problems[1]["placement"] == "#3 (ad_spot, id 'ad-article-1')"
    assert problems[0]["text"] == "layout article (draft): field 'colour': unknown key"
    assert api.get(DRAFT).get_json()["exists"] is False  # nothing stored


def moved_latest_news(document: dict[str, Any]) -> dict[str, Any]:
    """The article layout with the latest-news box moved to the top of main."""
    main = document["regions"][1]["placements"]
    box = next(p for p in main if p.get("id") == "latest-news")
    main.remove(box)
    main.insert(0, box)
    return document


def problems(response: Any) -> list[tuple[str, str, str]]:
    return [(p["region"], p["placement"], p["message"])
            for p in response.get_json()["errors"]["json"]["document"]]


def test_adops_move_ad_spots_and_publishers_content(api: Api) -> None:
    api.client.get(SEED_PATH)
    document = api.get(DRAFT, role="viewer").get_json()["document"]
    refused = put_draft(api, moved_latest_news(copy.deepcopy(document)), role="adops")
    assert refused.status_code == 403
    assert problems(refused) == [(
        "main", "#1 (latest_news, id 'latest-news')",
        "reorders a content widget: your role may change ad placements")]
    retitled = {**document, "title": "Story"}
    assert problems(put_draft(api, retitled, role="adops")) == [
        (None, None, "changes the layout's title: your role may change ad placements")]
    refused = put_draft(api, moved_second_ad_spot(copy.deepcopy(document)), role="publisher")
    assert problems(refused) == [(
        "aside", "#2 (ad_spot, id 'ad-article-2')",
        "moves (from region 'main') an ad placement: your role may change content widgets "
        "and the layout")]
    assert api.get(DRAFT).get_json()["exists"] is False  # nothing was saved

    # each arranges its own part of one draft
    arranged = moved_latest_news(copy.deepcopy(document))
    assert put_draft(api, arranged, role="publisher").status_code == 200
    both = moved_second_ad_spot(copy.deepcopy(arranged))
    assert put_draft(api, both, role="adops").status_code == 200
    # the draft now holds both changes: neither may publish it alone, nor throw it away
    for role in ("adops", "publisher"):
        assert api.post(f"{DRAFT}/publish", role=role).status_code == 403
        assert api.delete(DRAFT, role=role).status_code == 403
    published = api.post(f"{DRAFT}/publish", role="admin")
    assert published.status_code == 201
    assert published.get_json()["summary"] == (
        "moved: ad-article-2 (main -> aside), latest-news (within main)")
    # rolling back to version 1 undoes both parts: the admin's call
    for role in ("adops", "publisher", "viewer"):
        assert api.post("/api/v1/layouts/article/versions/1/restore",
                        role=role).status_code == 403
    assert api.get("/api/v1/layouts/article").get_json()["number"] == 2
    assert put_draft(api, document, role="viewer").status_code == 403
    assert api.get("/api/v1/layouts/nope/draft").status_code == 404
    assert api.get("/api/v1/layouts/article/versions/9").status_code == 404


def test_the_list_shows_where_each_placement_shows_and_the_variants(
    make_app: Callable[..., Flask]
) -> None:
    """Devices and inner positions of the layout's own placements; each section variant with
    its regions (element and label as its pages get them); a variant's placement whose widget
    is not available among the problems."""
    layout = VARIANTS_LAYOUT + '\n[[variants.regions.placements]]\nwidget = "date_bar"\n'
    app = make_app(layouts={"article": layout}, settings={"WIDGETS_DISABLED": ["date_bar"]})
    with get_database(app).session() as session:
        api = Api(app.test_client(), {"viewer": create_token(session, "reader", "viewer")})
    api.client.get(SEED_PATH)
    listed = api.get("/api/v1/layouts", role="viewer").get_json()
    assert [item["page_type"] for item in listed] == ["article"]
    main, aside = listed[0]["regions"]
    assert (main["element"], aside["element"], aside["label"]) == ("main", "aside", "Must read")
    where = {p["id"]: (p["devices"], p["inside"], p["position"]) for p in main["placements"]}
    assert where == {
        "article": (None, None, None),
        "ad-inline": (["mobile"], "article", "after-paragraph-3"),
        "desktop-news": (["desktop", "tablet"], None, None),
        "ad-bottom": (None, None, None)}
    assert listed[0]["variants"] == [{"name": "sports", "sections": ["sports", "football"],
                                      "regions": [{
        "name": "aside", "element": "aside", "label": "Must read", "placements": [
            {"id": "sports-news", "widget": "latest_news", "available": True,
             "devices": None, "inside": None, "position": None},
            {"id": "date-bar", "widget": "date_bar", "available": False,
             "devices": None, "inside": None, "position": None}]}]}]
    assert listed[0]["problems"] == [
        "variant 'sports': placement date-bar: widget 'date_bar' is not available; it renders "
        "empty"]


def test_a_variant_cannot_take_the_ad_spots_off_its_pages_for_a_publisher(api: Api) -> None:
    """Rights compare what each kind of page shows: a variant replacing the main with a copy
    of it changes nothing; one replacing it without its ad spots removes them."""
    api.client.get(SEED_PATH)
    document = api.get(DRAFT).get_json()["document"]
    main = document["regions"][1]["placements"]

    def with_sports_main(placements: list[dict[str, Any]]) -> dict[str, Any]:
        return {**document, "variants": [{"name": "sports", "sections": ["sports"],
                                          "regions": [{"name": "main", "placements": placements}]}]}

    stripped = put_draft(api, with_sports_main([p for p in main if p["widget"] != "ad_spot"]))
    assert stripped.status_code == 403
    assert [(p["variant"], p["message"].split(":")[0]) for p in stripped.get_json()[
        "errors"]["json"]["document"]] == [("sports", "removes an ad placement")] * 5
    assert put_draft(api, with_sports_main(main)).status_code == 200
