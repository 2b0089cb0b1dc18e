"""The ads resources: roles, CRUD, ETags, validation, audit, and changes live on the next page."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from apisupport import Api
from flask import Flask
from support import SEED_PATH, image_bytes

from layoutserver.ads.explain import NO_CREATIVE
from layoutserver.auth.roles import ROLES
from layoutserver.auth.tokens import create_token
from layoutserver.db import get_database

FLIGHT = {"start": "2024-10-01T00:00:00-04:00", "end": "2024-11-01T00:00:00-04:00"}
CREATIVE = {
    "name": "api-banner", "advertiser": "Tailspin Coffee", "kind": "image", "size": "728x90",
    "click_url": "https://tailspin.example.com/api", "image_url": "/ads/creatives/api-made.svg",
    "alt": "Made through the API",
}
LINE_ITEM = {
    "name": "api-line", "campaign": "api-campaign", "tier": "sponsorship", "priority": 0,
    **FLIGHT, "targeting": {"slots": ["article-1"]}, "status": "active",
    "creatives": ["api-banner"],
}
#: One item of each family that the demo configuration has, and a valid new one.
FAMILIES: dict[str, tuple[str, dict[str, Any]]] = {
    "ad-slots": ("article-1", {"code": "api-slot", "name": "API", "sizes": {"*": ["300x250"]}}),
    "advertisers": ("Tailspin Coffee", {"name": "API Advertiser"}),
    "campaigns": ("Northwind fall fares",
                  {"name": "api-campaign", "advertiser": "Tailspin Coffee"}),
    "creatives": ("northwind-leaderboard-a", CREATIVE),
    "line-items": ("Northwind fall fares roadblock",
                   {**LINE_ITEM, "name": "api-draft", "status": "draft",
                    "creatives": ["northwind-leaderboard-a"], "campaign": "Northwind fall fares"}),
}


@pytest.fixture
def api(ads_api_app: Flask) -> Api:
    with get_database(ads_api_app).session() as session:
        tokens = {role: create_token(session, f"{role}-token", role) for role in ROLES}
    return Api(ads_api_app.test_client(), tokens)


def errors(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.get_json()
    found: dict[str, Any] = response.get_json()["errors"]["json"]
    return found


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("role", [None, *ROLES])
def test_the_role_matrix(api: Api, family: str, role: str | None) -> None:
    key, new = FAMILIES[family]
    collection, item = f"/api/v1/{family}", f"/api/v1/{family}/{key}"
    read = 401 if role is None else 200
    assert api.get(collection, role).status_code == read
    assert api.get(item, role).status_code == read
    write = 401 if role is None else 201 if role in {"admin", "adops"} else 403
    response = api.post(collection, role, json=new)
    assert response.status_code == write, response.get_json()
    assert response.is_json
    etag = api.etag(item)
    changed = 401 if role is None else 200 if role in {"admin", "adops"} else 403
    assert api.patch(item, role, etag=etag, json={}).status_code == changed
    if role in {"admin", "adops"}:
        made = f"/api/v1/{family}/{quote(new.get('code', new.get('name')))}"
        assert api.delete(made, role).status_code == 204
    else:
        assert api.delete(item, role, etag=etag).status_code == changed


def test_list_is_paginated_and_filtered(api: Api) -> None:
    page = api.get("/api/v1/creatives?page_size=2&total=true")
    assert page.status_code == 200
    assert len(page.get_json()) == 2
    assert json.loads(page.headers["X-Pagination"])["total"] > 2
    northwind = api.get("/api/v1/creatives?advertiser=Northwind%20Airlines&page_size=100")
    assert {c["advertiser"] for c in northwind.get_json()} == {"Northwind Airlines"}
    active = api.get("/api/v1/line-items?status=active&page_size=100").get_json()
    assert active and {x["status"] for x in active} == {"active"}
    assert api.get("/api/v1/line-items?status=nope").status_code == 422


def test_create_get_update_delete_a_campaign_with_audit(api: Api) -> None:
    created = api.post("/api/v1/campaigns",
                       json={"name": "api-campaign", "advertiser": "Tailspin Coffee"})
    assert created.status_code == 201, created.get_json()
    assert created.get_json() == {"name": "api-campaign", "advertiser": "Tailspin Coffee"}
    path = "/api/v1/campaigns/api-campaign"
    got = api.get(path)
    assert got.headers["ETag"] == created.headers["ETag"]
    changed = api.patch(path, role="adops", json={"advertiser": "Contoso Bank"})
    assert changed.status_code == 200
    assert changed.get_json()["advertiser"] == "Contoso Bank"
    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404
    audit = api.get("/api/v1/audit?resource_type=campaign&resource_id=api-campaign")
    entries = sorted(audit.get_json(), key=lambda entry: entry["id"])
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("create", "admin-token"), ("update", "adops-token"), ("delete", "admin-token")]
    assert entries[1]["before"]["advertiser"] == "Tailspin Coffee"
    assert entries[1]["after"]["advertiser"] == "Contoso Bank"
    assert entries[2]["after"] is None


def test_a_line_item_round_trips_in_utc(api: Api) -> None:
    api.post("/api/v1/campaigns", json={"name": "api-campaign", "advertiser": "Tailspin Coffee"})
    assert api.post("/api/v1/creatives", json=CREATIVE).status_code == 201
    created = api.post("/api/v1/line-items", json=LINE_ITEM)
    assert created.status_code == 201, created.get_json()
    shown = created.get_json()
    assert (shown["start"], shown["end"]) == ("2024-10-01T04:00:00+00:00",
                                              "2024-11-01T04:00:00+00:00")
    assert shown["targeting"]["slots"] == ["article-1"]
    assert shown["creatives"] == ["api-banner"]
    assert api.get("/api/v1/line-items/api-line").get_json() == shown


def test_stale_or_missing_if_match(api: Api) -> None:
    path = "/api/v1/advertisers/Tailspin%20Coffee"
    stale = api.etag(path)
    api.post("/api/v1/campaigns", json={"name": "api-campaign", "advertiser": "Tailspin Coffee"})
    assert api.patch("/api/v1/campaigns/api-campaign", etag="nope",
                     json={"advertiser": "Contoso Bank"}).status_code == 412
    assert api.client.patch("/api/v1/campaigns/api-campaign", json={}, headers={
        "Authorization": f"Bearer {api.tokens['admin']}"}).status_code == 428
    assert api.client.delete(path, headers={
        "Authorization": f"Bearer {api.tokens['admin']}"}).status_code == 428
    assert api.delete(path, etag="0" * 32).status_code == 412
    assert api.etag(path) == stale


@pytest.mark.parametrize(("path", "body", "expected"), [
    ("/api/v1/line-items", {**LINE_ITEM, "end": "2024-09-01T00:00:00-04:00"},
     {"end": ["Must be after start."]}),
    ("/api/v1/line-items", {**LINE_ITEM, "weight": -1},
     {"weight": ["Must be greater than or equal to 0 and less than or equal to 1000000000."]}),
    ("/api/v1/line-items", {**LINE_ITEM, "caps": [{"impressions": -3, "period": "day"}]},
     {"caps": {"0": {"impressions": [
         "Must be greater than or equal to 1 and less than or equal to 1000000000."]}}}),
    ("/api/v1/line-items", {**LINE_ITEM, "campaign": "Northwind fall fares",
                            "creatives": ["northwind-leaderboard-a"],
                            "targeting": {"slots": ["nowhere"]}},
     {"targeting": {"slots": {"0": ["Unknown slot 'nowhere'."]}}}),
    ("/api/v1/line-items", {**LINE_ITEM, "colour": "red"}, {"colour": ["Unknown field."]}),
    ("/api/v1/creatives", {**CREATIVE, "click_url": "javascript:alert(1)"},
     {"click_url": ["Not a valid URL: only http:// and https:// URLs are allowed."]}),
    ("/api/v1/creatives", {**CREATIVE, "click_url": "https://"},
     {"click_url": ["Not a valid URL: only http:// and https:// URLs are allowed."]}),
    ("/api/v1/campaigns", {"name": "x", "advertiser": "Nobody"},
     {"advertiser": ["Unknown advertiser 'Nobody'."]}),
])
def test_bad_input_is_422_with_field_messages(
    api: Api, path: str, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert errors(api.post(path, json=body)) == expected


def test_an_advertisers_popup_allowance(api: Api) -> None:
    path = "/api/v1/advertisers/Tailspin%20Coffee"
    assert api.get(path).get_json() == {"name": "Tailspin Coffee",
                                        "popups_escape_sandbox": False}
    assert errors(api.patch(path, json={"popups_escape_sandbox": "sometimes"})) == {
        "popups_escape_sandbox": ["Not a valid boolean."]}
    assert errors(api.post("/api/v1/advertisers", json={
        "name": "Risky", "popups_escape_sandbox": None})) == {
        "popups_escape_sandbox": ["Field may not be null."]}
    changed = api.patch(path, role="adops", json={"popups_escape_sandbox": True})
    assert changed.status_code == 200
    assert changed.get_json()["popups_escape_sandbox"] is True
    audit = api.get("/api/v1/audit?resource_type=advertiser&resource_id=Tailspin%20Coffee")
    (entry,) = audit.get_json()
    assert (entry["before"]["popups_escape_sandbox"], entry["after"]["popups_escape_sandbox"]) \
        == (False, True)
    created = api.post("/api/v1/advertisers", json={"name": "Cautious"})
    assert created.get_json() == {"name": "Cautious", "popups_escape_sandbox": False}


def test_the_popup_allowance_is_documented_with_its_risk(api: Api) -> None:
    spec = api.get("/api/openapi.json", role=None).get_json()
    for name in ("Advertiser", "AdvertiserUpdate"):
        field = spec["components"]["schemas"][name]["properties"]["popups_escape_sandbox"]
        assert field["type"] == "boolean" and field["default"] is False
        assert "trust" in field["description"]


def test_an_update_is_validated_as_a_whole(api: Api) -> None:
    path = "/api/v1/line-items/Northwind%20fall%20fares%20roadblock"
    assert errors(api.patch(path, json={"end": "2024-09-01T00:00:00Z"})) == {
        "end": ["Must be after start."]}
    assert errors(api.patch(path, json={"name": "renamed"})) == {"name": ["Unknown field."]}
    assert errors(api.patch(path, json={"creatives": ["nothing"]})) == {
        "creatives": {"0": ["Unknown creative 'nothing'."]}}


def test_taken_keys_and_references_are_409(api: Api) -> None:
    assert api.post("/api/v1/advertisers", json={"name": "Tailspin Coffee"}).status_code == 409
    taken = api.post("/api/v1/ad-slots", json=FAMILIES["ad-slots"][1] | {"code": "article-1"})
    assert taken.status_code == 409
    for path in ("/api/v1/advertisers/Northwind%20Airlines",
                 "/api/v1/campaigns/Northwind%20fall%20fares",
                 "/api/v1/creatives/northwind-leaderboard-a", "/api/v1/ad-slots/article-1"):
        response = api.delete(path)
        assert response.status_code == 409, path
        assert "still used by" in response.get_json()["message"]
    assert api.delete("/api/v1/line-items/Northwind%20fall%20fares%20roadblock").status_code == 204


def _seed_page(ads_api_app: Flask) -> str:
    response = ads_api_app.test_client().get(SEED_PATH)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_line_item_made_through_the_api_serves_on_the_next_page(
    api: Api, ads_api_app: Flask
) -> None:
    assert "api-made.svg" not in _seed_page(ads_api_app)
    api.post("/api/v1/campaigns", json={"name": "api-campaign", "advertiser": "Tailspin Coffee"})
    assert api.post("/api/v1/creatives", role="adops", json=CREATIVE).status_code == 201
    assert api.post("/api/v1/line-items", role="adops", json=LINE_ITEM).status_code == 201
    assert "api-made.svg" in _seed_page(ads_api_app)
    paused = api.patch("/api/v1/line-items/api-line", role="adops", json={"status": "paused"})
    assert paused.status_code == 200
    assert "api-made.svg" not in _seed_page(ads_api_app)


# -- reports ----------------------------------------------------------------------------------

REPORT = "/api/v1/reports/delivery"
OCT_10 = "start=2024-10-10&end=2024-10-10"


def _count_on_the_seed_page(ads_api_app: Flask) -> None:
    """Fire two impression beacons, one click and one viewable beacon of the seed page's
    ads."""
    client = ads_api_app.test_client()
    page = _seed_page(ads_api_app)
    impressions = sorted(set(re.findall(r"/ads/i/[A-Za-z0-9_.~-]+", page)))
    clicks = sorted(set(re.findall(r"/ads/c/[A-Za-z0-9_.~-]+", page)))
    assert len(impressions) >= 2 and clicks
    for url in impressions[:2]:
        assert client.get(url).status_code == 204
    assert client.get(clicks[0]).status_code in {302, 303}
    viewed = impressions[0].replace("/ads/i/", "/ads/v/")
    assert client.get(viewed).status_code == 204
    assert client.get(impressions[1].replace("/ads/i/", "/ads/v/") + "?s=m").status_code == 204


def test_the_delivery_report_as_json_and_csv(api: Api, ads_api_app: Flask) -> None:
    _count_on_the_seed_page(ads_api_app)
    response = api.get(f"{REPORT}?{OCT_10}&group_by=slot", role="viewer")
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["totals"]["impressions"] == 2
    assert report["totals"]["clicks"] == 1
    assert (report["totals"]["measurable"], report["totals"]["viewable"]) == (2, 1)
    assert report["totals"]["viewability"] == 0.5
    assert report["timezone"] == "America/New_York"
    assert {row["period"] for row in report["rows"]} == {"2024-10-10"}
    assert sum(row["impressions"] for row in report["rows"]) == 2
    assert all(row["slot"] for row in report["rows"])
    csv = api.get(f"{REPORT}?{OCT_10}&group_by=slot", role="adops",
                  headers={"Accept": "text/csv"})
    assert csv.status_code == 200
    assert csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).split("\r\n")
    assert lines[0] == "day,slot,impressions,clicks,ctr,measurable,viewable,viewability"
    assert len(lines) == len(report["rows"]) + 2 and lines[-1] == ""
    assert all(line.startswith("2024-10-10,") for line in lines[1:-1])
    assert sum(int(line.split(",")[2]) for line in lines[1:-1]) == 2
    same = api.get(f"{REPORT}?{OCT_10}&group_by=slot&format=csv")
    assert same.get_data() == csv.get_data()


def test_the_report_filters_by_line_item_name(api: Api, ads_api_app: Flask) -> None:
    _count_on_the_seed_page(ads_api_app)
    names = api.get(f"{REPORT}?{OCT_10}&group_by=line_item").get_json()["rows"]
    name = names[0]["line_item_name"]
    only = api.get(f"{REPORT}?{OCT_10}&group_by=line_item&line_item={quote(name)}").get_json()
    assert [row["line_item_name"] for row in only["rows"]] == [name]


@pytest.mark.parametrize(("query", "status"), [
    ("start=2024-10-10&end=2024-10-01", 422),
    ("start=2024-01-01&end=2025-12-31", 422),
    ("start=2024-10-10", 422),
    ("start=yesterday&end=2024-10-10", 422),
    (f"{OCT_10}&granularity=week", 422),
    (f"{OCT_10}&group_by=advertiser", 422),
    (f"{OCT_10}&line_item=nothing", 422),
])
def test_bad_report_parameters(api: Api, query: str, status: int) -> None:
    response = api.get(f"{REPORT}?{query}")
    assert response.status_code == status, response.get_json()
    assert response.get_json()["errors"]


@pytest.mark.parametrize(("role", "status"), [
    (None, 401), ("admin", 200), ("adops", 200), ("viewer", 200), ("publisher", 403)])
def test_who_reads_reports(api: Api, role: str | None, status: int) -> None:
    assert api.get(f"{REPORT}?{OCT_10}", role).status_code == status


# -- creative images --------------------------------------------------------------------------

PNG = image_bytes("PNG")
WEBP = image_bytes("WEBP")
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
IMAGE = "/api/v1/creatives/northwind-leaderboard-a/image"


@pytest.fixture
def uploads(ads_api_app: Flask, tmp_path: Path) -> Path:
    folder = tmp_path / "uploads"
    ads_api_app.config["API_UPLOADS_DIR"] = str(folder)
    return folder


def test_an_image_creative_made_for_upload_serves_once_its_image_is_uploaded(
    api: Api, ads_api_app: Flask, uploads: Path
) -> None:
    """``image_url`` may be left out: the image comes by upload. Until then the creative does
    not serve (its line item has nothing to show); after, it does."""
    api.post("/api/v1/campaigns", json={"name": "api-campaign", "advertiser": "Tailspin Coffee"})
    made = api.post("/api/v1/creatives", role="adops",
                    json={key: value for key, value in CREATIVE.items() if key != "image_url"})
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["image_url"] == ""
    assert api.post("/api/v1/line-items", role="adops", json=LINE_ITEM).status_code == 201
    assert '<img src=""' not in _seed_page(ads_api_app)
    explained = api.get("/api/v1/explain?page_type=article&slots=article-1").get_json()
    assert {(row["name"], row["reason"], row["chosen"])
            for row in explained["slots"][0]["considered"]} >= {("api-line", NO_CREATIVE, False)}
    url = upload(api, PNG, path="/api/v1/creatives/api-banner/image").get_json()["image_url"]
    assert url in _seed_page(ads_api_app)
    no_alt = {**CREATIVE, "name": "api-no-alt", "alt": ""}
    assert errors(api.post("/api/v1/creatives", role="adops", json=no_alt)) == {
        "alt": ["Required for a creative of kind image."]}


def upload(api: Api, data: bytes, filename: str = "banner.png", role: str | None = "adops",
           path: str = IMAGE) -> Any:
    return api.post(path, role, data={"file": (io.BytesIO(data), filename)},
                    content_type="multipart/form-data")


@pytest.mark.parametrize(("data", "extension", "media_type"), [
    (PNG, "png", "image/png"), (WEBP, "webp", "image/webp"),
    (image_bytes("GIF"), "gif", "image/gif"),
    (image_bytes("JPEG"), "jpg", "image/jpeg"),
])
def test_an_uploaded_image_is_stored_and_served(
    api: Api, ads_api_app: Flask, uploads: Path, data: bytes, extension: str,
    media_type: str,
) -> None:
    response = upload(api, data, filename="anything.svg")  # the content decides, not the name
    assert response.status_code == 200, response.get_json()
    url = response.get_json()["image_url"]
    assert url.startswith("/ads/uploads/") and url.endswith(f".{extension}")
    assert [p.name for p in uploads.iterdir()] == [url.rsplit("/", 1)[1]]
    served = ads_api_app.test_client().get(url)
    assert served.status_code == 200
    assert served.data == data and served.mimetype == media_type
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert api.get("/api/v1/creatives/northwind-leaderboard-a").get_json()["image_url"] == url
    audit = api.get("/api/v1/audit?resource_type=creative&resource_id=northwind-leaderboard-a")
    assert [e["after"]["image_url"] for e in audit.get_json()] == [url]


def test_svg_and_other_files_are_refused(api: Api, uploads: Path) -> None:
    for data, name in ((SVG, "banner.svg"), (b"%PDF-1.4", "banner.png"), (b"hello", "a.gif")):
        response = upload(api, data, name)
        assert response.status_code == 415, response.get_json()
        assert "SVG is refused" in response.get_json()["message"]
    assert not uploads.exists() or not any(uploads.iterdir())


def test_an_image_is_read_not_only_sniffed(api: Api, ads_api_app: Flask, uploads: Path) -> None:
    """A header declaring 50000x50000 pixels, or first bytes of one type and a body of none,
    are refused, and nothing is stored."""
    huge = image_bytes("PNG", (5000, 1))
    ads_api_app.config["API_UPLOAD_MAX_SIDE"] = 4096
    response = upload(api, huge)
    assert response.status_code == 422, response.get_json()
    assert "5000x1 pixels; at most 4096" in str(response.get_json()["errors"])
    declared = bytearray(PNG)
    declared[16:24] = (50000).to_bytes(4, "big") * 2  # IHDR's width and height
    assert upload(api, bytes(declared)).status_code == 415  # its CRC no longer matches
    for fake in (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, b"GIF89a" + b"\x00" * 20,
                 b"\xff\xd8\xff\xe0" + b"\x00" * 20):
        response = upload(api, fake)
        assert response.status_code == 415, response.get_json()
        assert "not a readable" in response.get_json()["message"]
    assert not uploads.exists() or not any(uploads.iterdir())


def test_upload_limits_and_errors(api: Api, ads_api_app: Flask, uploads: Path) -> None:
    ads_api_app.config["API_UPLOAD_MAX_BYTES"] = len(PNG) - 1
    assert upload(api, PNG).status_code == 413
    big = PNG + b"\x00" * (70 * 1024)
    assert upload(api, big).status_code == 413  # refused by its Content-Length
    ads_api_app.config["API_UPLOAD_MAX_BYTES"] = 1024 * 1024
    assert upload(api, b"").status_code == 422
    missing = api.post(IMAGE, data={}, content_type="multipart/form-data")
    assert missing.status_code == 422
    assert upload(api, PNG, path="/api/v1/creatives/nothing/image").status_code == 404
    assert upload(api, PNG, role="viewer").status_code == 403
    assert upload(api, PNG, role=None).status_code == 401
    html = {**CREATIVE, "kind": "html", "html": "<p>Hi</p>", "image_url": "", "alt": ""}
    assert api.post("/api/v1/creatives", json=html).status_code == 201
    assert errors(upload(api, PNG, path="/api/v1/creatives/api-banner/image")) == {
        "file": ["Creative 'api-banner' is of kind html, not image."]}
    assert api.client.get("/ads/uploads/nothing.png").status_code == 404
    assert api.client.get("/ads/uploads/x.svg").status_code == 404
