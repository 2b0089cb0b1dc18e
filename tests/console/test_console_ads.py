"""Setting up ads through the console's forms: the service's rules, its messages beside the
fields, the audit log naming the user, and the one-click changes."""

from __future__ import annotations

import html
import io
import re
from typing import Any
from urllib.parse import unquote

import pytest
from consolesupport import csrf, field_error, post, sign_in
from flask import Flask
from flask.testing import FlaskClient
from support import image_bytes

from layoutserver.ads import config_service as ads
from layoutserver.ads.markup import SANDBOX
from layoutserver.auth.audit import audit_entries
from layoutserver.console import crud
from layoutserver.db import get_database
from layoutserver.keyset import Window
from layoutserver.services import NotFound

LINE_ITEM = {
    "name": "Spring sale", "campaign": "Spring", "status": "active", "creatives": "spring-banner",
    "tier": "sponsorship", "priority": "1", "weight": "1", "start": "2024-10-01T00:00",
    "end": "2024-10-31T00:00", "targeting.slots": "article-1", "targeting.page_types": "article",
    "goal.metric": "impressions", "goal.amount": "3100", "goal.period": "lifetime",
    "pacing": "even", "caps": "5/day", "dayparts": "",
}
CREATIVE = {"name": "spring-banner", "advertiser": "Spring Co", "kind": "html",
            "size": "728x90", "click_url": "https://spring.example.com/",
            "html": "<p>Spring!</p>"}


def stored(app: Flask, kind: ads.Kind, key: str) -> dict[str, Any]:
    with get_database(app).session() as session:
        return ads.get(session, kind, key)


@pytest.fixture
def adops(client: FlaskClient) -> FlaskClient:
    return sign_in(client, "adops")


def set_up(client: FlaskClient) -> None:
    """An advertiser, a campaign, a creative and a line item, through the forms."""
    for path, data in (("advertisers", {"name": "Spring Co"}),
                       ("campaigns", {"name": "Spring", "advertiser": "Spring Co"}),
                       ("creatives", CREATIVE), ("line-items", LINE_ITEM)):
        response = post(client, f"/admin/{path}/new", data)
        assert response.status_code == 302, response.get_data(as_text=True)


def test_a_campaign_is_set_up_through_the_forms(console_app: Flask, adops: FlaskClient) -> None:
    set_up(adops)
    item = stored(console_app, "line_item", "Spring sale")
    assert item["campaign"] == "Spring"
    assert item["creatives"] == ["spring-banner"]
    assert item["targeting"]["slots"] == ["article-1"]
    assert item["targeting"]["page_types"] == ["article"]
    assert item["start"] == "2024-10-01T04:00:00+00:00"  # site midnight, New York
    assert item["goal"] == {"metric": "impressions", "amount": 3100, "period": "lifetime"}
    assert item["caps"] == [{"impressions": 5, "period": "day"}]
    with get_database(console_app).session() as session:
        entries = audit_entries(session, actor="user:adops")
    assert {(e.action, e.resource_type) for e in entries} == {
        ("create", "advertiser"), ("create", "campaign"), ("create", "creative"),
        ("create", "line_item")}
    page = adops.get("/admin/line-items/edit/Spring sale").get_data(as_text=True)
    assert 'value="2024-10-01T00:00"' in page  # shown back in site time
    assert "Saved" not in page


def test_an_edit_changes_only_what_the_form_changed(
    console_app: Flask, adops: FlaskClient
) -> None:
    set_up(adops)
    response = post(adops, "/admin/line-items/edit/Spring sale",
                    {**LINE_ITEM, "priority": "4", "targeting.devices": "mobile"})
    assert response.status_code == 302
    item = stored(console_app, "line_item", "Spring sale")
    assert item["priority"] == 4
    assert item["targeting"]["devices"] == ["mobile"]
    assert item["name"] == "Spring sale"
    assert "Saved line item Spring sale." in adops.get(response.headers["Location"]).get_data(
        as_text=True)


@pytest.mark.parametrize(("path", "data", "field_id", "message"), [
    ("creatives", {**CREATIVE, "size": "big"}, "f-size", "Not a size"),
    ("creatives", {**CREATIVE, "click_url": "javascript:alert(1)"}, "f-click-url",
     "only http:// and https://"),
    ("creatives", {**CREATIVE, "html": ""}, "f-html", "Required for a creative of kind html"),
    ("line-items", {**LINE_ITEM, "end": "2024-09-01T00:00"}, "f-end", "Must be after start"),
    ("line-items", {**LINE_ITEM, "priority": "-1"}, "f-priority", "greater than or equal"),
    ("line-items", {**LINE_ITEM, "goal.amount": ""}, "f-goal-amount", "Missing data"),
    ("line-items", {**LINE_ITEM, "caps": "3/fortnight"}, "f-caps", "item 1: Must be one of"),
    ("line-items", {**LINE_ITEM, "caps": "lots"}, "f-caps", "impressions/period"),
    ("line-items", {**LINE_ITEM, "targeting.slots": "no-such-slot"}, "f-targeting-slots",
     "no-such-slot"),
    ("slots", {"code": "Top Slot", "name": "x", "sizes.desktop": "728x90"}, "f-code",
     "Not a valid code"),
    ("creatives", {**CREATIVE, "alt": "x" * 501}, "f-alt", "Longer than maximum length 500"),
    ("line-items", {**LINE_ITEM, "targeting.tags": ", ".join(["t"] * 201)},
     "f-targeting-tags", "Longer than maximum length 200"),
    ("slots", {"code": "top-2", "name": "x", "sizes.desktop": "728x90, wide"},
     "f-sizes-desktop", "item 2: Not a size"),
])
def test_a_refused_form_shows_the_message_beside_its_field(
    console_app: Flask, adops: FlaskClient, path: str, data: dict[str, str], field_id: str,
    message: str,
) -> None:
    set_up(adops)
    key = data.get("code") or data["name"]
    if path != "slots":
        data = {**data, "name": key + "-2"}
    response = post(adops, f"/admin/{path}/new", data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in field_error(page, field_id)
    assert "Nothing was saved" in page
    # the summary at the top links to the field, which may be a screen or more below
    label = re.search(rf'<a href="#{field_id}">[^<]+</a>: ([^<]+)</li>', page)
    assert label and message in label.group(1)
    assert re.search(rf'id="{field_id}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*'
                     rf'id="{field_id}"', page) or f'<fieldset class="multi" id="{field_id}"' \
        in page
    for value in data.values():  # what was typed is shown again, nothing lost
        if value and "\n" not in value and len(value) < 60 and "<" not in value:
            assert value in page
    with pytest.raises(NotFound):
        stored(console_app, "line_item" if path == "line-items" else
               "creative" if path == "creatives" else "slot", data.get("code") or data["name"])


def test_a_taken_name_is_a_conflict_beside_the_name(adops: FlaskClient) -> None:
    set_up(adops)
    response = post(adops, "/admin/advertisers/new", {"name": "Spring Co"})
    assert response.status_code == 409
    assert "Already taken" in field_error(response.get_data(as_text=True), "f-name")


def test_an_advertisers_popup_allowance_is_a_checkbox_with_its_risk(
    console_app: Flask, adops: FlaskClient
) -> None:
    set_up(adops)
    assert stored(console_app, "advertiser", "Spring Co")["popups_escape_sandbox"] is False
    form = adops.get("/admin/advertisers/edit/Spring Co").get_data(as_text=True)
    assert re.search(r'<input type="checkbox" [^>]*name="popups_escape_sandbox"', form)
    assert "Only for an advertiser you trust" in form
    response = post(adops, "/admin/advertisers/edit/Spring Co", {"popups_escape_sandbox": "1"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert stored(console_app, "advertiser", "Spring Co")["popups_escape_sandbox"] is True
    post(adops, "/admin/advertisers/edit/Spring Co", {})  # unticked
    assert stored(console_app, "advertiser", "Spring Co")["popups_escape_sandbox"] is False


def test_pausing_and_activating_a_line_item(console_app: Flask, adops: FlaskClient) -> None:
    set_up(adops)
    response = post(adops, "/admin/line-items/set/Spring sale", {"action": "Pause"})
    assert response.status_code == 302
    assert stored(console_app, "line_item", "Spring sale")["status"] == "paused"
    post(adops, "/admin/line-items/set/Spring sale",
         {"action": "Activate", "back": "/admin/line-items?status=paused"})
    assert stored(console_app, "line_item", "Spring sale")["status"] == "active"
    assert post(adops, "/admin/line-items/set/Spring sale",
                {"action": "Explode"}).status_code == 400


def test_disabling_and_editing_a_slot(console_app: Flask, adops: FlaskClient) -> None:
    post(adops, "/admin/slots/set/news-1", {"action": "Disable"})
    assert stored(console_app, "slot", "news-1")["enabled"] is False
    listing = adops.get("/admin/slots?enabled=false").get_data(as_text=True)
    assert "news-1" in listing and "article-1" not in listing
    response = post(adops, "/admin/slots/edit/news-1", {
        "name": "News 1", "sizes.desktop": "300x250, 300x600", "sizes.mobile": "300x250",
        "label": "Sponsored", "enabled": "1", "when_empty": "house",
        "house_creative": "house-rectangle-app"})
    assert response.status_code == 302, response.get_data(as_text=True)
    slot = stored(console_app, "slot", "news-1")
    assert slot["sizes"] == {"desktop": ["300x250", "300x600"], "mobile": ["300x250"]}
    assert (slot["label"], slot["enabled"], slot["when_empty"]) == ("Sponsored", True, "house")
    assert slot["house_creative"] == "house-rectangle-app"


def test_a_house_fallback_without_a_creative_is_refused_beside_it(adops: FlaskClient) -> None:
    response = post(adops, "/admin/slots/edit/news-1", {
        "name": "News 1", "sizes.*": "300x250", "label": "", "when_empty": "house",
        "house_creative": ""})
    assert response.status_code == 422
    assert "needs one" in field_error(response.get_data(as_text=True), "f-house-creative")


def test_deleting_what_is_still_used_is_refused(console_app: Flask, adops: FlaskClient) -> None:
    set_up(adops)
    response = post(adops, "/admin/advertisers/delete/Spring Co", {})
    assert response.status_code == 302
    page = adops.get(response.headers["Location"]).get_data(as_text=True)
    assert "Not deleted" in page and "still used by campaign" in page
    assert stored(console_app, "advertiser", "Spring Co")
    assert post(adops, "/admin/line-items/delete/Spring sale", {}).status_code == 302
    with pytest.raises(NotFound):
        stored(console_app, "line_item", "Spring sale")


def test_the_creative_preview_uses_the_sites_sandbox(adops: FlaskClient) -> None:
    set_up(adops)
    # windows it opens stay sandboxed, even when its advertiser allows them out
    post(adops, "/admin/advertisers/edit/Spring Co", {"popups_escape_sandbox": "1"})
    page = adops.get("/admin/creatives/edit/spring-banner").get_data(as_text=True)
    frame = re.search(r'<iframe class="ad-spot__frame"[^>]*>', page)
    assert frame is not None
    assert f'sandbox="{SANDBOX}"' in frame[0]
    assert "allow-same-origin" not in frame[0]
    assert "&lt;p&gt;Spring!&lt;/p&gt;" in frame[0]  # the creative only ever escaped
    assert "ad-spot__beacon" not in page  # a preview counts nothing


def test_the_lists_filter_and_link_to_related(adops: FlaskClient) -> None:
    set_up(adops)
    page = adops.get("/admin/line-items?campaign=Spring").get_data(as_text=True)
    assert "Spring sale" in page and "Northwind" not in page
    campaign = adops.get("/admin/campaigns/edit/Spring").get_data(as_text=True)
    assert "/admin/line-items/edit/Spring%20sale" in campaign
    advertiser = adops.get("/admin/advertisers/edit/Spring Co").get_data(as_text=True)
    assert "/admin/creatives/edit/spring-banner" in advertiser


def test_an_unknown_resource_or_key_is_not_found(adops: FlaskClient) -> None:
    assert adops.get("/admin/widgets").status_code == 404
    assert adops.get("/admin/line-items/edit/nothing").status_code == 404
    assert post(adops, "/admin/line-items/edit/nothing", LINE_ITEM).status_code == 404


@pytest.mark.parametrize(("path", "name"), [("campaigns", "Spring"),
                                            ("advertisers", "Spring Co")])
def test_pausing_and_resuming_a_whole_campaign_or_advertiser(
    console_app: Flask, adops: FlaskClient, path: str, name: str
) -> None:
    set_up(adops)
    post(adops, "/admin/line-items/new", {**LINE_ITEM, "name": "Spring draft", "status": "draft"})
    response = post(adops, f"/admin/{path}/pause/{name}", {"action": "pause"})
    assert response.status_code == 302
    assert "Paused 1 line item(s)" in adops.get(response.headers["Location"]).get_data(
        as_text=True)
    assert stored(console_app, "line_item", "Spring sale")["status"] == "paused"
    assert stored(console_app, "line_item", "Spring draft")["status"] == "draft"
    assert stored(console_app, "line_item", ITEM_ELSEWHERE)["status"] == "active"
    post(adops, f"/admin/{path}/pause/{name}", {"action": "resume"})
    assert stored(console_app, "line_item", "Spring sale")["status"] == "active"
    assert stored(console_app, "line_item", "Spring draft")["status"] == "draft"
    assert post(adops, f"/admin/{path}/pause/{name}", {"action": "stop"}).status_code == 400
    assert post(adops, f"/admin/{path}/pause/Nobody", {"action": "pause"}).status_code == 404


ITEM_ELSEWHERE = "Northwind fall fares roadblock"


PNG = image_bytes("PNG")


def test_uploading_a_creatives_image(
    console_app: Flask, adops: FlaskClient, tmp_path: Any
) -> None:
    console_app.config["API_UPLOADS_DIR"] = str(tmp_path / "uploads")
    set_up(adops)
    made = post(adops, "/admin/creatives/new", {**CREATIVE, "name": "spring-image",
                                                "kind": "image", "image_url": "", "alt": "Spring",
                                                "html": ""})
    assert made.status_code == 302  # made without an image, for its upload
    page = adops.get("/admin/creatives/edit/spring-image").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page

    def upload(data: bytes, filename: str = "banner.png") -> str:
        response = adops.post("/admin/creatives/image/spring-image", data={
            "csrf_token": csrf(adops, "/admin/"), "file": (io.BytesIO(data), filename)},
            content_type="multipart/form-data")
        assert response.status_code == 302
        return adops.get(response.headers["Location"]).get_data(as_text=True)

    assert "Uploaded the image of spring-image." in upload(PNG)
    image_url = stored(console_app, "creative", "spring-image")["image_url"]
    assert image_url.startswith("/ads/uploads/") and image_url.endswith(".png")
    assert adops.get(image_url).data == PNG
    assert "Not uploaded: not a PNG" in upload(b"<svg/>", "x.svg")
    assert stored(console_app, "creative", "spring-image")["image_url"] == image_url
    console_app.config["API_UPLOAD_MAX_BYTES"] = 10
    assert "Not uploaded: the image is" in upload(PNG)
    console_app.config["API_UPLOAD_MAX_BYTES"] = 1024
    response = adops.post("/admin/creatives/image/spring-banner", data={
        "csrf_token": csrf(adops, "/admin/"), "file": (io.BytesIO(PNG), "b.png")},
        content_type="multipart/form-data")
    assert "is of kind html" in adops.get(response.headers["Location"]).get_data(as_text=True)


def test_a_save_over_someone_elses_change_is_caught(
    console_app: Flask, adops: FlaskClient
) -> None:
    set_up(adops)
    page = adops.get("/admin/line-items/edit/Spring sale").get_data(as_text=True)
    seen = re.search(r'name="_seen" value="(\w+)"', page)
    assert seen is not None
    with get_database(console_app).session() as session:
        ads.update(session, "someone", "line_item", "Spring sale", {"priority": 7})
    mine = {**LINE_ITEM, "weight": "3", "_seen": seen[1]}
    response = post(adops, "/admin/line-items/edit/Spring sale", mine)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Someone changed this since you opened the page" in html
    assert stored(console_app, "line_item", "Spring sale")["priority"] == 7  # theirs kept
    again = re.search(r'name="_seen" value="(\w+)"', html)
    assert again is not None and again[1] != seen[1]
    response = post(adops, "/admin/line-items/edit/Spring sale", {**mine, "_seen": again[1]})
    assert response.status_code == 302  # knowingly saved over it
    assert stored(console_app, "line_item", "Spring sale")["weight"] == 3


def test_lists_show_times_in_site_time(adops: FlaskClient) -> None:
    set_up(adops)
    page = adops.get("/admin/line-items?campaign=Spring").get_data(as_text=True)
    assert "2024-10-01 00:00" in page  # stored as 04:00 UTC
    assert "(site time)" in page


def test_admins_see_who_changed_what(client: FlaskClient) -> None:
    sign_in(client, "admin")
    set_up(client)
    post(client, "/admin/line-items/set/Spring sale", {"action": "Pause"})
    page = client.get("/admin/line-items/edit/Spring sale").get_data(as_text=True)
    history = page[page.index("<h2>History</h2>"):]
    assert history.index("user:admin updated: status") < history.index("user:admin created")


def test_others_do_not_see_the_audit_log(adops: FlaskClient) -> None:
    set_up(adops)
    assert "<h2>History</h2>" not in adops.get("/admin/line-items/edit/Spring sale").get_data(
        as_text=True)


def test_a_slots_page_says_where_it_is_placed(adops: FlaskClient) -> None:
    page = adops.get("/admin/slots/edit/news-2").get_data(as_text=True)
    assert "article pages, placement <code>ad-news-2</code>" in page
    response = post(adops, "/admin/slots/new", {
        "code": "unplaced", "name": "U", "sizes.*": "300x250", "when_empty": "collapse"})
    assert response.status_code == 302, response.get_data(as_text=True)
    page = adops.get("/admin/slots/edit/unplaced").get_data(as_text=True)
    assert "No layout places this slot yet" in page


def test_links_to_new_forms_prefill_them(adops: FlaskClient) -> None:
    set_up(adops)
    campaign = adops.get("/admin/campaigns/edit/Spring").get_data(as_text=True)
    assert "/admin/line-items/new?campaign=Spring" in campaign
    page = adops.get("/admin/line-items/new?campaign=Spring&targeting.slots=news-1"
                     ).get_data(as_text=True)
    assert '<option value="Spring" selected>' in page
    assert 'value="news-1" checked' in page


def test_a_new_line_item_starts_standard_and_on_no_campaign(adops: FlaskClient) -> None:
    """Opened from the navigation, the form names no campaign (a browser would preselect the
    first) and the standard tier (not sponsorship, which beats every other line item)."""
    set_up(adops)
    post(adops, "/admin/campaigns/new", {"name": "Another", "advertiser": "Spring Co"})
    page = adops.get("/admin/line-items/new").get_data(as_text=True)
    assert '<option value="" selected>(choose a campaign)</option>' in page
    assert '<option value="Another" selected>' not in page
    assert '<option value="standard" selected>' in page
    assert '<option value="sponsorship" selected>' not in page
    response = post(adops, "/admin/line-items/new", {**LINE_ITEM, "name": "Nowhere",
                                                     "campaign": ""})
    assert response.status_code == 422
    assert "Missing data for required field." in field_error(
        response.get_data(as_text=True), "f-campaign")
    campaign_form = adops.get("/admin/campaigns/new").get_data(as_text=True)
    assert '<option value="" selected>(choose an advertiser)</option>' in campaign_form
    edited = adops.get("/admin/line-items/edit/Spring%20sale").get_data(as_text=True)
    assert '<option value="Spring" selected>' in edited
    assert '<option value="sponsorship" selected>' in edited


def test_the_list_pages_by_cursor_to_every_row_once(
    adops: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Next links carry the cursor of the last row shown (no OFFSET): a row added before the
    current page meanwhile is not shown (nor any row twice), one added after it is."""
    monkeypatch.setattr(crud, "PAGE_SIZE", 2)
    for name in ("1-adv", "3-adv", "5-adv"):
        assert post(adops, "/admin/advertisers/new", {"name": name}).status_code == 302
    edited = re.compile(r'/admin/advertisers/edit/([^"]+)"')
    page = adops.get("/admin/advertisers").get_data(as_text=True)
    seen = [unquote(name) for name in edited.findall(page)]
    assert seen == ["1-adv", "3-adv"]
    for name in ("0-adv", "4-adv"):
        assert post(adops, "/admin/advertisers/new", {"name": name}).status_code == 302
    while (following := re.search(r'href="([^"]+)" rel="next"', page)) is not None:
        page = adops.get(html.unescape(following.group(1))).get_data(as_text=True)
        assert "First page" in page
        seen += [unquote(name) for name in edited.findall(page)]
    with get_database(adops.application).session() as session:
        stored = [row["name"] for row in ads.list_items(session, "advertiser", Window(100)).items]
    assert seen == sorted(seen) == [name for name in stored if name != "0-adv"]


@pytest.mark.parametrize("cursor", ["x", "!!", "WyJhcnRpY2xlcyIsMV0"])
def test_a_bad_cursor_is_a_400_that_says_where_to_go(adops: FlaskClient, cursor: str) -> None:
    response = adops.get(f"/admin/line-items?after={cursor}")
    assert response.status_code == 400
    assert "first page" in response.get_data(as_text=True)


def test_choices_show_sizes_to_match_slots_and_creatives(adops: FlaskClient) -> None:
    set_up(adops)
    page = adops.get("/admin/line-items/new").get_data(as_text=True)
    assert "> news-2 (300x250)</label>" in page
    assert "> article-1 (320x50, 728x90)</label>" in page
    assert "> spring-banner (Spring Co, html 728x90)</label>" in page


def test_a_line_items_creatives_are_its_campaigns_advertisers(adops: FlaskClient) -> None:
    """Not every advertiser's: on a line item of Spring, another advertiser's creative is not
    offered; one of no advertiser (a house creative) is."""
    set_up(adops)
    post(adops, "/admin/advertisers/new", {"name": "Other Co"})
    for name, advertiser in (("other-banner", "Other Co"), ("house-banner", "")):
        post(adops, "/admin/creatives/new", {**CREATIVE, "name": name, "advertiser": advertiser})
    edited = adops.get("/admin/line-items/edit/Spring%20sale").get_data(as_text=True)
    assert 'value="spring-banner" checked' in edited
    assert 'value="house-banner"' in edited and "(no advertiser, html 728x90)" in edited
    assert 'value="other-banner"' not in edited
    prefilled = adops.get("/admin/line-items/new?campaign=Spring").get_data(as_text=True)
    assert 'value="other-banner"' not in prefilled
    unchosen = adops.get("/admin/line-items/new").get_data(as_text=True)
    assert "> other-banner (Other Co, html 728x90)</label>" in unchosen  # no campaign yet

