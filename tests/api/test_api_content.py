"""The content resources: CRUD, ETags, validation, audit, and edits live on the next page."""

from __future__ import annotations

from typing import Any

import pytest
from apisupport import Api
from support import SEED_PATH, SEED_SLUG

ARTICLE = f"/api/v1/articles/{SEED_SLUG}"
NEW_ARTICLE = {
    "slug": "api-made", "title": "Made through the API", "body_html": "<p>Hello</p>",
    "published_at": "2024-10-09T08:00:00-04:00", "section": "world", "author": "pia-sherman",
    "tags": ["api", "test"],
}


def errors(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.get_json()
    found: dict[str, Any] = response.get_json()["errors"]["json"]
    return found


def test_create_get_update_delete_a_section(api: Api) -> None:
    created = api.post("/api/v1/sections", json={"slug": "science", "name": "Science"})
    assert created.status_code == 201
    assert created.get_json() == {"slug": "science", "name": "Science"}
    assert created.headers["ETag"]
    got = api.get("/api/v1/sections/science")
    assert got.get_json() == {"slug": "science", "name": "Science"}
    assert got.headers["ETag"] == created.headers["ETag"]
    changed = api.patch("/api/v1/sections/science", json={"name": "Sciences"})
    assert changed.status_code == 200
    assert changed.get_json()["name"] == "Sciences"
    assert changed.headers["ETag"] != got.headers["ETag"]
    assert api.delete("/api/v1/sections/science").status_code == 204
    assert api.get("/api/v1/sections/science").status_code == 404


def test_article_round_trip_and_sanitized_body(api: Api) -> None:
    body = {**NEW_ARTICLE, "body_html": '<p onclick="x()">Hi<script>bad()</script></p>'}
    created = api.post("/api/v1/articles", json=body)
    assert created.status_code == 201, created.get_json()
    shown = created.get_json()
    assert shown["body_html"] == "<p>Hi</p>"
    assert shown["published_at"] == "2024-10-09T12:00:00+00:00"
    assert shown["tags"] == ["api", "test"]
    assert created.headers["ETag"] == api.get("/api/v1/articles/api-made").headers["ETag"]
    assert (shown["section"], shown["author"]) == ("world", "pia-sherman")
    assert api.get("/api/v1/articles/api-made").get_json() == shown


def test_editorial_lists(api: Api) -> None:
    path = "/api/v1/editorial-lists/must-read"
    shown = api.get(path).get_json()
    assert shown["name"] == "must-read" and len(shown["articles"]) == 2
    changed = api.patch(path, json={"articles": [SEED_SLUG, *shown["articles"]]})
    assert changed.status_code == 200
    assert changed.get_json()["articles"] == [SEED_SLUG, *shown["articles"]]
    assert errors(api.patch(path, json={"articles": ["nope"]})) == {
        "articles": {"0": ["Unknown article 'nope'."]}}


def test_deleting_an_article_takes_it_out_of_lists(api: Api) -> None:
    path = "/api/v1/editorial-lists/must-read"
    first = api.get(path).get_json()["articles"][0]
    assert api.delete(f"/api/v1/articles/{first}").status_code == 204
    assert first not in api.get(path).get_json()["articles"]


def test_a_section_in_use_cannot_be_deleted(api: Api) -> None:
    response = api.delete("/api/v1/sections/world")
    assert response.status_code == 409
    assert api.get("/api/v1/sections/world").status_code == 200


def test_a_taken_slug_is_409(api: Api) -> None:
    response = api.post("/api/v1/sections", json={"slug": "world", "name": "Again"})
    assert response.status_code == 409
    assert "slug" in response.get_json()["errors"]["json"]


def test_pagination_and_filters(api: Api) -> None:
    page = api.get("/api/v1/articles?page_size=3&total=true")
    assert page.status_code == 200
    assert len(page.get_json()) == 3
    assert '"total": 8' in page.headers["X-Pagination"]
    world = api.get("/api/v1/articles?section=world&page_size=100").get_json()
    assert world and all(item["section"] == "world" for item in world)
    tagged = api.get("/api/v1/articles?tag=uyghurs").get_json()
    assert SEED_SLUG in [item["slug"] for item in tagged]
    before = api.get("/api/v1/articles?published_before=2000-01-01T00:00:00Z").get_json()
    assert before == []
    after = api.get("/api/v1/articles?published_after=2024-10-10T13:00:00%2B00:00").get_json()
    assert all(item["published_at"] >= "2024-10-10T13:00:00+00:00" for item in after)
    assert api.get("/api/v1/articles?author=nobody").get_json() == []


@pytest.mark.parametrize("path", ["/api/v1/articles", "/api/v1/ad-slots", "/api/v1/audit"])
def test_a_page_past_the_database_integers_is_empty(api: Api, path: str) -> None:
    response = api.get(f"{path}?page={10**30}")  # once an OverflowError in the OFFSET: a 500
    assert response.status_code == 200
    assert response.get_json() == []


def test_if_match_is_required_and_checked(api: Api) -> None:
    path = "/api/v1/sections/world"
    missing = api.call("PATCH", path, json={"name": "X"})
    assert missing.status_code == 428 and missing.is_json
    assert "If-Match: <that ETag>" in missing.get_json()["message"]  # says what to send
    assert api.call("DELETE", path).status_code == 428
    stale = api.etag(path)
    assert api.patch(path, json={"name": "First"}, etag=stale).status_code == 200
    late = api.patch(path, json={"name": "Second"}, etag=stale)
    assert late.status_code == 412 and late.is_json
    assert "changed since the ETag sent" in late.get_json()["message"]
    assert api.delete(path, etag=stale).status_code == 412
    assert api.get(path).get_json()["name"] == "First"


def test_get_answers_304_to_a_matching_if_none_match(api: Api) -> None:
    tag = api.get("/api/v1/sections/world").headers["ETag"]
    response = api.get("/api/v1/sections/world", headers={"If-None-Match": tag})
    assert response.status_code == 304


@pytest.mark.parametrize(("body", "field"), [
    ({**NEW_ARTICLE, "title": 3}, "title"),
    ({**NEW_ARTICLE, "tags": "not-a-list"}, "tags"),
    ({**NEW_ARTICLE, "published_at": "yesterday"}, "published_at"),
    ({**NEW_ARTICLE, "published_at": "2024-10-09T08:00:00"}, "published_at"),
    ({**NEW_ARTICLE, "colour": "red"}, "colour"),
    ({**NEW_ARTICLE, "slug": "Not A Slug"}, "slug"),
    ({**NEW_ARTICLE, "section": "no-such-section"}, "section"),
    ({**NEW_ARTICLE, "author": "no-such-author"}, "author"),
    ({key: value for key, value in NEW_ARTICLE.items() if key != "title"}, "title"),
])
def test_bad_articles_are_422_with_field_messages(
    api: Api, body: dict[str, Any], field: str
) -> None:
    messages = errors(api.post("/api/v1/articles", json=body))
    assert messages.get(field)
    assert api.get("/api/v1/articles/api-made").status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"section": "no-such-section"}, "section"),
    ({"slug": "renamed"}, "slug"),
    ({"published_at": 12}, "published_at"),
])
def test_bad_updates_are_422(api: Api, body: dict[str, Any], field: str) -> None:
    assert field in errors(api.patch(ARTICLE, json=body))


@pytest.mark.parametrize("body", [[], "text", None, 5])
def test_a_body_that_is_not_an_object_is_never_a_500(api: Api, body: Any) -> None:
    response = api.post("/api/v1/sections", json=body)
    assert 400 <= response.status_code < 500


def test_not_json_is_a_client_error(api: Api) -> None:
    response = api.post("/api/v1/sections", data="slug=x", content_type="text/plain")
    assert 400 <= response.status_code < 500 and response.is_json


def test_changes_are_audited_with_before_and_after(api: Api) -> None:
    api.post("/api/v1/sections", role="publisher", json={"slug": "science", "name": "Science"})
    api.patch("/api/v1/sections/science", role="publisher", json={"name": "Sciences"})
    api.delete("/api/v1/sections/science")
    response = api.get("/api/v1/audit?resource_type=section&resource_id=science")
    assert response.status_code == 200
    entries = response.get_json()
    assert [e["action"] for e in entries] == ["delete", "update", "create"]
    delete, update, create = entries
    assert create["actor"] == "publisher-token"
    assert create["before"] is None
    assert create["after"] == {"slug": "science", "name": "Science"}
    assert update["before"]["name"] == "Science" and update["after"]["name"] == "Sciences"
    assert delete["actor"] == "admin-token"
    assert delete["before"]["name"] == "Sciences" and delete["after"] is None
    mine = api.get("/api/v1/audit?actor=admin-token").get_json()
    assert [e["action"] for e in mine] == ["delete"]


def test_an_update_that_changes_nothing_is_not_audited(api: Api) -> None:
    name = api.get("/api/v1/sections/world").get_json()["name"]
    assert api.patch("/api/v1/sections/world", json={"name": name}).status_code == 200
    assert api.get("/api/v1/audit").get_json() == []


def test_an_edit_shows_on_the_next_page_request(api: Api) -> None:
    before = api.client.get(SEED_PATH)
    assert before.status_code == 200
    assert "Edited through the API" not in before.get_data(as_text=True)
    api.client.get(SEED_PATH)  # now cached
    response = api.patch(ARTICLE, role="publisher",
                         json={"title": "Edited through the API",
                               "body_html": "<p>A fresh paragraph from the API.</p>"})
    assert response.status_code == 200
    page = api.client.get(SEED_PATH).get_data(as_text=True)
    assert "Edited through the API" in page
    assert "A fresh paragraph from the API." in page


def test_a_lead_image_round_trips_and_an_edit_dates_the_article(api: Api) -> None:
    image = {"url": "/media/lead.jpg", "alt": "Delegates", "width": 1200, "height": 675}
    created = api.post("/api/v1/articles", json={**NEW_ARTICLE, "image": image})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["image"] == image
    assert created.get_json()["modified_at"] is None
    edited = api.patch("/api/v1/articles/api-made", json={"title": "Retitled"})
    assert edited.status_code == 200, edited.get_json()
    assert edited.get_json()["modified_at"] > edited.get_json()["published_at"]
    assert edited.get_json()["image"] == image
    cleared = api.patch("/api/v1/articles/api-made", json={"image": None})
    assert cleared.get_json()["image"] is None
    refused = api.patch("/api/v1/articles/api-made", json={"image": {"url": "ftp://x"}})
    assert refused.status_code == 422
    assert "url" in errors(refused)["image"]
    no_alt = api.patch("/api/v1/articles/api-made", json={"image": {"url": "/b.jpg"}})
    assert no_alt.status_code == 422 and "alt" in errors(no_alt)["image"]
