"""The layout editor without a browser: the editor page, one-click changes as plain form posts,
the options form made from a widget's schema, conflicts, roles, preview, publish, roll back."""

from __future__ import annotations

import re
from typing import Any

from consolesupport import CONSOLE_SETTINGS, csrf, field_error, sign_in
from flask import Flask
from flask.testing import FlaskClient
from support import DEMO_SETTINGS, SEED_PATH, SEED_SLUG

from layoutserver import create_app
from layoutserver.auth.audit import audit_entries
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.layouts import store
from layoutserver.layouts.toml_text import loads_document

EDITOR = "/admin/layouts/article"
STATE = re.compile(r'name="state" value="([^"]+)"')
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def page_of(client: FlaskClient, path: str = EDITOR) -> tuple[str, str, str]:
    """The page's HTML, its draft state and CSRF token."""
    html = client.get(path).get_data(as_text=True)
    state, token = STATE.search(html), CSRF.search(html)
    assert state and token, html[:2000]
    return html, state.group(1), token.group(1)


def act(client: FlaskClient, action: str, state: str | None = None, **form: str) -> Any:
    """Post one of the editor's forms, made from the editor page as it is now (or ``state``)."""
    _, current, token = page_of(client)
    return client.post(f"{EDITOR}/{action}",
                       data={"csrf_token": token, "state": state or current, **form})


def draft(app: Flask) -> dict[str, Any]:
    with get_database(app).session() as session:
        row = store.page_layout(session, "article")
        return loads_document(store.draft_source(session, row))


def ids(document: dict[str, Any], region: str) -> list[str]:
    found = next(r for r in document["regions"] if r["name"] == region)
    return [p.get("id", p["widget"]) for p in found.get("placements", [])]


def order(html: str, *placement_ids: str) -> list[int]:
    return [html.index(f'data-placement="{pid}"') for pid in placement_ids]


def test_the_editor_shows_every_placement_and_what_the_role_may_change(
    client: FlaskClient
) -> None:
    sign_in(client, "adops")
    html, state, _ = page_of(client)
    for pid in ("date-bar", "article", "ad-article-1", "latest-news", "must-read"):
        assert f'id="p-{pid}"' in html
    assert html.count('class="badge badge--ad"') == 5
    assert 'aria-label="Remove ad-article-2"' in html  # an ad spot: ad ops' part
    assert 'aria-label="Remove latest-news"' not in html  # content: the publisher's
    assert "A content widget: publishers arrange it." in html
    add_choices = re.search(r'<select id="add-aside" name="widget">(.*?)</select>', html, re.S)
    assert add_choices is not None
    # the ad widgets only: the built-in one, and the test package's (known by its hook)
    assert re.findall(r'<option value="(\w+)"', add_choices.group(1)) == [
        "ad_spot", "test_house_ad"]
    assert '<option value="aside:1">aside: after must-read</option>' in html
    assert '<option value="main:3" selected>main: after ad-article-1</option>' in html
    assert "No draft: below is the published version 1." in html
    assert state == "1.0"
    assert 'src="/admin/static/layout_editor.js"' in html  # the script is a file: the CSP
    listed = client.get("/admin/layouts").get_data(as_text=True)
    assert "may change the ad placements" in listed and "version 1" in listed


def test_ad_ops_move_an_ad_spot_publish_and_roll_back_without_script(
    console_app: Flask, client: FlaskClient
) -> None:
    sign_in(client, "adops")
    moved = act(client, "move", placement="ad-article-2", to="aside:1")
    assert moved.status_code == 302 and moved.location.endswith("#p-ad-article-2")
    assert ids(draft(console_app), "aside") == ["must-read", "ad-article-2"]
    served = client.get(SEED_PATH).get_data(as_text=True)
    assert order(served, "ad-article-2", "must-read") == sorted(
        order(served, "ad-article-2", "must-read"))  # the draft is not served
    assert act(client, "step", placement="ad-article-3", direction="up").status_code == 302
    assert ids(draft(console_app), "main")[2:4] == ["ad-article-3", "ad-article-1"]
    html, state, _ = page_of(client)
    assert "<strong>Draft</strong> by user:adops" in html and state == "1.2"

    preview = client.get(f"/admin/preview/page?page_type=article&slug={SEED_SLUG}"
                         "&version=draft").get_data(as_text=True)
    assert "(the draft)" in preview
    assert "ad-spot__beacon" not in preview  # a preview counts nothing
    first, second = order(preview, "must-read", "ad-article-2")
    assert first < second

    assert act(client, "publish").status_code == 302
    listed = page_of(client)[0]
    # (of two neighbours swapped, the summary names one as moved)
    assert "moved: ad-article-2 (main -&gt; aside), ad-article-1 (within main)" in listed
    served = client.get(SEED_PATH).get_data(as_text=True)
    first, second = order(served, "must-read", "ad-article-2")
    assert first < second

    _, _, token = page_of(client)
    restored = client.post(f"{EDITOR}/restore/1", data={"csrf_token": token})
    assert restored.status_code == 302
    served = client.get(SEED_PATH).get_data(as_text=True)
    first, second = order(served, "ad-article-2", "must-read")
    assert first < second
    with get_database(console_app).session() as session:
        entries = audit_entries(session, resource_type="layout", limit=10)
        assert [e.actor for e in entries] == ["user:adops"] * 4  # restore, publish, 2 saves
        assert [v.origin for v in store.versions(session, "article")] == [
            "restore", "draft", "file"]


def test_a_stale_page_changes_nothing_and_says_so(console_app: Flask, client: FlaskClient
                                                  ) -> None:
    sign_in(client, "admin")
    _, stale, _ = page_of(client)
    assert act(client, "remove", placement="more-news").status_code == 302
    refused = act(client, "move", state=stale, placement="ad-article-2", to="aside:0")
    assert refused.status_code == 409
    assert "Someone changed this layout since you opened the page" in refused.get_data(
        as_text=True)
    assert ids(draft(console_app), "aside") == ["must-read"]
    assert act(client, "publish", state=stale).status_code == 409

    form = f"{EDITOR}/placements/latest-news"
    _, old_state, token = page_of(client, form)
    assert act(client, "step", placement="ad-news-1", direction="down").status_code == 302
    response = client.post(form, data={"csrf_token": token, "state": old_state,
                                       "id": "latest-news", "options.count": "7",
                                       "options.heading": "Newest"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "nothing was saved" in html
    assert 'value="7"' in html and 'value="Newest"' in html  # what was typed, kept
    state = STATE.search(html)
    assert state is not None and state.group(1) != old_state  # saving again applies it
    again = client.post(form, data={"csrf_token": token, "state": state.group(1),
                                    "id": "latest-news", "options.count": "7",
                                    "options.heading": "Newest"})
    assert again.status_code == 302
    box = next(p for p in draft(console_app)["regions"][1]["placements"]
               if p["id"] == "latest-news")
    assert box["options"] == {"count": 7, "heading": "Newest"}


def test_the_options_form_is_made_from_the_widgets_schema(
    console_app: Flask, client: FlaskClient
) -> None:
    sign_in(client, "publisher")
    form = f"{EDITOR}/placements/latest-news"
    html, state, token = page_of(client, form)
    assert re.search(r'<input id="f-options-count" name="options.count" value="4"\s+'
                     r'type="number"', html)
    assert "From 1 to 50. Default: 5." in html
    assert 'name="options.same_section" value="1"  aria' in html  # a checkbox, unchecked
    assert 'id="f-options-excerpt-words" name="options.excerpt_words" value=""' in html
    response = client.post(form, data={
        "csrf_token": token, "state": state, "id": "latest-news", "options.count": "0",
        "options.heading": "Latest news", "options.offset": "ten"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    # beside each field, the words of `layouts check`
    assert field_error(html, "f-options-count") == (
        "Must be greater than or equal to 1 and less than or equal to 50.")
    assert field_error(html, "f-options-offset") == "Not a valid integer."
    assert 'value="ten"' in html
    assert draft(console_app)["regions"][1]["placements"][5]["options"] == {
        "count": 4, "heading": "Latest news"}  # nothing saved

    saved = client.post(form, data={
        "csrf_token": token, "state": state, "id": "latest-news", "options.count": "6",
        "options.heading": "Latest news", "options.offset": "0", "options.excerpt_suffix": "..."})
    assert saved.status_code == 302
    # options left at their defaults stay out of the layout
    assert draft(console_app)["regions"][1]["placements"][5]["options"] == {
        "count": 6, "heading": "Latest news"}
    # an empty heading where the default is a text is the empty text, kept
    more = client.get(f"{EDITOR}/placements/more-news").get_data(as_text=True)
    assert 'name="options.heading" value=""' in more


def test_adding_a_placement_refuses_a_bad_option_beside_its_field(
    console_app: Flask, client: FlaskClient
) -> None:
    sign_in(client, "adops")
    assert client.get(f"{EDITOR}/add?widget=latest_news&to=aside:1").status_code == 403
    html, state, token = page_of(client, f"{EDITOR}/add?widget=ad_spot&to=aside:1")
    assert '<option value="aside:1" selected>aside: after must-read</option>' in html
    assert "Required." in html
    refused = client.post(f"{EDITOR}/add", data={
        "csrf_token": token, "state": state, "widget": "ad_spot", "to": "aside:1",
        "id": "", "options.slot": "Not A Code"})
    assert refused.status_code == 422
    assert field_error(refused.get_data(as_text=True), "f-options-slot") == (
        "Not a valid slot code.")
    taken = client.post(f"{EDITOR}/add", data={
        "csrf_token": token, "state": state, "widget": "ad_spot", "to": "aside:1",
        "id": "must-read", "options.slot": "news-2"})
    assert field_error(taken.get_data(as_text=True), "f-id") == (
        "The id &#39;must-read&#39; is taken in this layout.")
    added = client.post(f"{EDITOR}/add", data={
        "csrf_token": token, "state": state, "widget": "ad_spot", "to": "aside:1",
        "id": "", "options.slot": "news-2"})
    assert added.status_code == 302
    assert ids(draft(console_app), "aside") == ["must-read", "ad-spot"]


def test_each_role_changes_its_part_in_the_console_too(console_app: Flask, client: FlaskClient
                                                       ) -> None:
    sign_in(client, "publisher")
    html = page_of(client)[0]
    assert 'aria-label="Remove ad-article-2"' not in html
    assert 'aria-label="Remove latest-news"' in html
    refused = act(client, "move", placement="ad-article-2", to="aside:1")
    assert refused.status_code == 403
    text = refused.get_data(as_text=True)
    assert "Your role (publisher) may not make this change" in text
    assert ("layout article (draft): region &#39;aside&#39;: placement #2 (ad_spot, id "
            "&#39;ad-article-2&#39;): moves (from region &#39;main&#39;) an ad placement") in text
    assert act(client, "move", placement="latest-news", to="aside:0").status_code == 302
    # the draft now moves content: ad ops can neither publish nor discard it
    client.post("/admin/sign-out", data={"csrf_token": page_of(client)[2]})
    sign_in(client, "adops")
    assert act(client, "publish").status_code == 403
    assert act(client, "discard").status_code == 403
    client.post("/admin/sign-out", data={"csrf_token": page_of(client)[2]})
    sign_in(client, "viewer")
    html = client.get(EDITOR).get_data(as_text=True)
    assert "Remove" not in html and "Publish" not in html and "Restore" not in html
    posted = client.post(f"{EDITOR}/discard", data={"csrf_token": csrf(client, "/admin/"),
                                                    "state": "1.1"})
    assert posted.status_code == 403
    assert ids(draft(console_app), "aside") == ["latest-news", "must-read"]


def test_a_widget_uninstalled_since_leaves_the_page_serving_and_the_console_says_so(
    console_app: Flask, client: FlaskClient
) -> None:
    """Published where test_per_request is installed; on an app without it (a host after the
    plugin was uninstalled) the page serves without it, and the console shows the problem and
    the way out: removing the placement."""
    sign_in(client, "admin")
    html, state, token = page_of(client, f"{EDITOR}/add?widget=test_per_request&to=main:1")
    assert client.post(f"{EDITOR}/add", data={
        "csrf_token": token, "state": state, "widget": "test_per_request", "to": "main:1",
        "id": "reader"}).status_code == 302
    assert act(client, "publish").status_code == 302
    without = create_app({**DEMO_SETTINGS, **CONSOLE_SETTINGS,
                          "DATABASE_URL": console_app.config["DATABASE_URL"]})
    try:
        other = without.test_client()
        served = other.get(SEED_PATH)
        assert served.status_code == 200 and 'data-placement="article"' in served.get_data(
            as_text=True)
        sign_in(other, "admin")
        assert ("placement reader: widget &#39;test_per_request&#39; is not available; it "
                "renders empty") in other.get("/admin/layouts").get_data(as_text=True)
        html = other.get(EDITOR).get_data(as_text=True)
        card = html[html.index('id="p-reader"'):html.index('id="p-author"')]
        assert '<li class="placement placement--content placement--invalid" id="p-reader"' in html
        assert "widget: unknown widget &#39;test_per_request&#39;; installed widgets:" in card
        assert other.get(f"{EDITOR}/placements/reader").status_code == 409  # no schema
        # any other change is refused while it stays, naming it ...
        refused = act(other, "step", placement="ad-article-2", direction="up")
        assert refused.status_code == 422
        assert ("region &#39;main&#39;: placement #2 (test_per_request, id &#39;reader&#39;): "
                "field &#39;widget&#39;: unknown widget") in refused.get_data(as_text=True)
        # ... and removing it is the way out
        assert act(other, "remove", placement="reader").status_code == 302
        assert act(other, "publish").status_code == 302
        assert other.get(SEED_PATH).status_code == 200
    finally:
        get_core(without).close()
        get_database(without).dispose()


def test_section_variants_are_added_and_their_placements_edited_in_their_own_scope(
    console_app: Flask, client: FlaskClient
) -> None:
    sign_in(client, "publisher")
    added = act(client, "variants/add", name="sports", sections="sports, world",
                regions="aside")
    assert added.status_code == 302
    variant = draft(console_app)["variants"][0]
    assert (variant["name"], variant["sections"], ids(variant, "aside")) == (
        "sports", ["sports", "world"], ["must-read"])  # a copy of the aside, to change
    refused = act(client, "variants/sections", variant="sports", sections="Not A Slug")
    assert refused.status_code == 422
    assert ("variant &#39;sports&#39;: field &#39;sections&#39;: required: a list of one or "
            "more section slugs") in refused.get_data(as_text=True)
    client.post("/admin/sign-out", data={"csrf_token": page_of(client)[2]})

    sign_in(client, "adops")
    html = page_of(client)[0]
    assert "Variant sports" in html and 'id="p-sports--must-read"' in html
    assert "Add the variant" not in html  # variants are the publisher's part
    form = f"{EDITOR}/add?widget=ad_spot&to=aside:1&variant=sports"
    _, state, token = page_of(client, form)
    assert client.post(form, data={
        "csrf_token": token, "state": state, "widget": "ad_spot", "variant": "sports",
        "to": "aside:1", "id": "ad-sports", "options.slot": "news-1"}).status_code == 302
    assert act(client, "step", placement="ad-sports", direction="up",
               variant="sports").status_code == 302
    changed = draft(console_app)
    assert ids(changed["variants"][0], "aside") == ["ad-sports", "must-read"]
    assert ids(changed, "aside") == ["must-read"]  # the layout's own aside, untouched
    form = f"{EDITOR}/placements/ad-sports?variant=sports"
    _, state, token = page_of(client, form)
    saved = client.post(form, data={"csrf_token": token, "state": state, "variant": "sports",
                                    "id": "ad-sports", "options.slot": "news-2"})
    assert saved.status_code == 302 and saved.location.endswith("#p-sports--ad-sports")
    assert draft(console_app)["variants"][0]["regions"][0]["placements"][0]["options"] == {
        "slot": "news-2"}
    assert act(client, "variants/remove", variant="sports").status_code == 403
