"""``/api/v1/layouts``: the draft with ETag and If-Match, publish, versions, restore, roles."""

from __future__ import annotations

import copy
from typing import Any

from apisupport import Api
from support import SEED_PATH

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
