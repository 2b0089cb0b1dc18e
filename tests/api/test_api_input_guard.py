"""Input the API refuses before any view sees it: NUL characters (PostgreSQL can neither store
nor compare them), lone surrogates (no database stores text that is not Unicode) and JSON
nested too deeply (the decoder raises RecursionError): a 4xx on every database, never a 500."""

from __future__ import annotations

import json

import pytest
from apisupport import Api

from layoutserver.api.input_guard import (
    DECIDE_MAX_BODY_BYTES,
    DEFAULT_MAX_QUERY_BYTES,
    MAX_DEPTH,
    MESSAGE,
    SURROGATE_MESSAGE,
)
from layoutserver.content.schemas import MAX_BODY_HTML


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/sections", {"slug": "nul", "name": "a\x00b"}),
    ("/api/v1/authors", {"slug": "nul", "name": "Ann", "bio": "x\x00"}),
    ("/api/v1/advertisers", {"name": "Nul\x00 Coffee"}),
])
def test_a_nul_in_a_body_is_422_and_stores_nothing(
    api: Api, path: str, body: dict[str, str]
) -> None:
    before = api.get(path).get_json()
    response = api.post(path, json=body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"] == {"json": {"_schema": [MESSAGE]}}
    assert api.get(path).get_json() == before


def test_a_nul_in_a_key_is_404(api: Api) -> None:
    assert api.get("/api/v1/sections/a%00b").status_code == 404
    assert api.get("/api/v1/advertisers/Tailspin%00Coffee").status_code == 404


def test_a_nul_in_a_query_is_422(api: Api) -> None:
    response = api.get("/api/v1/articles?section=wor%00ld")
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"query": {"_schema": [MESSAGE]}}


def test_text_without_nul_still_passes(api: Api) -> None:
    assert api.post("/api/v1/sections", json={"slug": "fine", "name": "a\tb"}).status_code == 201


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/sections", {"slug": "bad", "name": "a\ud800b"}),
    ("/api/v1/advertisers", {"name": "Surrogate \udfff Coffee"}),
    ("/api/v1/sections", {"slug": "bad", "name": "ok", "\ud800": "in a key"}),
])
def test_a_lone_surrogate_is_422_and_stores_nothing(
    api: Api, path: str, body: dict[str, str]
) -> None:
    before = api.get(path).get_json()
    response = api.post(path, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"] == {"json": {"_schema": [SURROGATE_MESSAGE]}}
    assert api.get(path).get_json() == before


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 30_000])  # 30,000: past the decoder
def test_json_nested_too_deeply_is_400(api: Api, depth: int) -> None:
    body = "[" * depth + "]" * depth
    response = api.post("/api/v1/sections", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.get_json()["message"]
    decided = api.post("/ads/decide", role=None, data=body, content_type="application/json")
    assert decided.status_code == 400
    assert "nested too deeply" in decided.get_json()["message"]


def test_json_as_deep_as_allowed_reaches_the_schema(api: Api) -> None:
    nested: object = "x"
    for _ in range(MAX_DEPTH - 1):
        nested = [nested]
    response = api.post("/api/v1/sections", json={"slug": "deep", "name": nested})
    assert response.status_code == 422  # the schema's answer: a name is a string
    assert "name" in response.get_json()["errors"]["json"]


def test_a_body_over_the_limit_is_413_unread(api: Api) -> None:
    huge = {"slug": "huge", "title": "Huge", "body_html": "<p>" + "x" * (2 * 1024 * 1024) + "</p>"}
    response = api.post("/api/v1/articles", json=huge)
    assert response.status_code == 413
    assert response.get_json()["code"] == 413
    assert api.get("/api/v1/articles/huge").status_code == 404
    decide = {"page": {"page_type": "article", "key_values": {"k": "v" * 70_000}},
              "slots": ["news-1"]}
    assert api.post("/ads/decide", role=None, json=decide).status_code == 413


def test_over_long_content_is_422_naming_the_field_and_the_limit_is_documented(
    api: Api
) -> None:
    article = {"slug": "long-one", "title": "Long", "published_at": "2024-10-01T08:00:00+00:00",
               "body_html": "<p>" + "x" * MAX_BODY_HTML + "</p>"}
    response = api.post("/api/v1/articles", json=article)
    assert response.status_code == 422
    assert "body_html" in response.get_json()["errors"]["json"]
    assert api.get("/api/v1/articles/long-one").status_code == 404
    spec = api.get("/api/openapi.json", role=None).get_json()
    schemas = spec["components"]["schemas"]
    assert any(schema.get("properties", {}).get("body_html", {}).get("maxLength") == MAX_BODY_HTML
               for schema in schemas.values())


def test_a_query_string_over_the_limit_is_a_json_414(api: Api) -> None:
    limit = DEFAULT_MAX_QUERY_BYTES
    fits = api.get("/api/v1/articles?tag=" + "t" * (limit - len("tag=")))
    assert fits.status_code == 422  # a filter over 200 characters: the view's own answer
    response = api.get("/api/v1/articles?tag=" + "t" * limit)
    assert response.status_code == 414
    assert response.mimetype == "application/json"
    assert str(limit) in response.get_json()["message"]
    decide = api.post("/ads/decide?x=" + "y" * limit, role=None,
                      json={"page": {}, "slots": ["top"]})
    assert decide.status_code == 414 and decide.mimetype == "application/json"


def test_the_document_states_the_limits(api: Api) -> None:
    document = api.get("/api/openapi.json").get_json()
    assert document["x-max-query-bytes"] == DEFAULT_MAX_QUERY_BYTES
    assert document["x-max-body-bytes"]["/ads/decide"] == DECIDE_MAX_BODY_BYTES
    assert document["x-max-json-depth"] == MAX_DEPTH
    assert "NUL" in document["x-text"]
