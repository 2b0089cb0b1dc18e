"""The OpenAPI document and the offline docs page."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

PATHS = [
    "/api/v1/sections", "/api/v1/sections/{slug}", "/api/v1/authors", "/api/v1/authors/{slug}",
    "/api/v1/articles", "/api/v1/articles/{slug}", "/api/v1/editorial-lists",
    "/api/v1/editorial-lists/{name}", "/api/v1/layouts", "/api/v1/widgets", "/api/v1/audit",
    "/api/v1/explain", "/ads/explain", "/ads/decide",
]


@pytest.fixture
def document(demo_client: FlaskClient) -> dict[str, Any]:
    response = demo_client.get("/api/openapi.json")
    assert response.status_code == 200
    found: dict[str, Any] = response.get_json()
    return found


def test_the_document_is_public_and_lists_every_path(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.0.3"
    assert document["info"] == {"title": "layoutserver", "version": "v1"}
    assert set(PATHS) <= set(document["paths"])


def test_bearer_tokens_are_the_security_scheme(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["type"] == "http"
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert document["security"] == [{"bearerAuth": []}]


def test_every_operation_documents_its_errors(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            codes = set(operation["responses"])
            assert "default" in codes, (method, path)
            if operation.get("security") != []:  # public: /ads/decide
                assert {"401", "403"} <= codes, (method, path)
            if method in {"patch", "delete"}:
                assert {"404", "412", "428"} <= codes, (method, path)
            if method in {"post", "patch"}:
                assert "422" in codes, (method, path)
    assert "Error" in document["components"]["schemas"]


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    from openapi_spec_validator import validate

    validate(document)


def test_the_docs_page_is_served_without_a_cdn(demo_client: FlaskClient) -> None:
    page = demo_client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/openapi.json" in html
    assert "//cdn" not in html and "unpkg" not in html
    for asset in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        assert f"/api/docs/assets/{asset}" in html
        assert demo_client.get(f"/api/docs/assets/{asset}").status_code == 200


def test_the_pagination_header_is_documented_as_json(document: dict[str, Any]) -> None:
    header = document["components"]["headers"]["PAGINATION"]
    assert "schema" not in header
    assert "application/json" in header["content"]
