"""NUL characters: PostgreSQL can neither store nor compare them (psycopg raises), so the API
refuses them on every database alike, rather than answering 500 on PostgreSQL alone."""

from __future__ import annotations

import pytest
from apisupport import Api

from layoutserver.api.nul import MESSAGE


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
