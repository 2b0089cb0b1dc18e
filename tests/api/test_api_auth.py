"""Tokens and roles on the API: 401, 403, and errors that are always JSON."""

from __future__ import annotations

import pytest
from apisupport import Api
from flask import Flask

from layoutserver.auth.roles import ROLES, allowed
from layoutserver.auth.tokens import revoke_token
from layoutserver.db import get_database

CONTENT_COLLECTIONS = ["/api/v1/sections", "/api/v1/authors", "/api/v1/articles",
                       "/api/v1/editorial-lists"]
NEW = {
    "/api/v1/sections": {"slug": "science", "name": "Science"},
    "/api/v1/authors": {"slug": "ada", "name": "Ada"},
    "/api/v1/articles": {"slug": "new-one", "title": "New", "body_html": "<p>x</p>",
                         "published_at": "2024-10-09T08:00:00+00:00"},
    "/api/v1/editorial-lists": {"name": "picks", "title": "Picks", "articles": []},
}


@pytest.mark.parametrize("path", [*CONTENT_COLLECTIONS, "/api/v1/layouts", "/api/v1/widgets",
                                  "/api/v1/audit", "/api/v1/sections/world"])
def test_no_token_is_401_json_with_a_bearer_challenge(api: Api, path: str) -> None:
    response = api.get(path, role=None, headers={"Accept": "text/html"})
    assert response.status_code == 401
    assert response.is_json
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["code"] == 401


@pytest.mark.parametrize("header", ["Bearer lst_nope", "Basic abc", "Bearer", "lst_x"])
def test_a_bad_token_is_401(api: Api, header: str) -> None:
    response = api.get("/api/v1/sections", role=None, headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_is_401(api: Api, api_app: Flask) -> None:
    assert api.get("/api/v1/sections", role="viewer").status_code == 200
    with get_database(api_app).session() as session:
        revoke_token(session, "viewer-token")
    assert api.get("/api/v1/sections", role="viewer").status_code == 401


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", CONTENT_COLLECTIONS)
def test_content_reads_and_writes_by_role(api: Api, role: str, path: str) -> None:
    read = api.get(path, role=role)
    assert read.status_code == 200
    write = api.post(path, role=role, json=NEW[path])
    if allowed(role, "content", write=True):
        assert write.status_code == 201, write.get_json()
    else:
        assert write.status_code == 403
        assert write.is_json and write.get_json()["code"] == 403


@pytest.mark.parametrize("role", ROLES)
def test_content_item_writes_by_role(api: Api, role: str) -> None:
    path = "/api/v1/sections/world"
    response = api.patch(path, role=role, json={"name": "The World"})
    assert response.status_code == (200 if role in {"admin", "publisher"} else 403)
    response = api.delete("/api/v1/editorial-lists/must-read", role=role)
    assert response.status_code == (204 if role in {"admin", "publisher"} else 403)


def test_authorization_comes_before_the_if_match_precondition(api: Api) -> None:
    response = api.call("PATCH", "/api/v1/sections/world", role="viewer", json={"name": "X"})
    assert response.status_code == 403
    response = api.call("DELETE", "/api/v1/sections/world", role=None)
    assert response.status_code == 401


@pytest.mark.parametrize("role", ROLES)
def test_audit_is_for_admins_only(api: Api, role: str) -> None:
    response = api.get("/api/v1/audit", role=role)
    assert response.status_code == (200 if role == "admin" else 403)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", ["/api/v1/layouts", "/api/v1/widgets"])
def test_layouts_and_widgets_are_readable_by_every_role(api: Api, role: str, path: str) -> None:
    response = api.get(path, role=role)
    assert response.status_code == 200
    assert response.get_json()


def test_api_errors_are_json_even_for_a_browser(api: Api) -> None:
    for response in (
        api.get("/api/v1/nothing-here", headers={"Accept": "text/html"}),
        api.get("/api/v1/sections/no-such", headers={"Accept": "text/html"}),
        api.call("PUT", "/api/v1/sections", headers={"Accept": "text/html"}),
    ):
        assert response.status_code in {404, 405}
        assert response.is_json, response.data[:200]
        assert response.get_json()["code"] == response.status_code


def test_an_unexpected_api_error_is_a_json_500(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from layoutserver.content import service as content

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(content, "get", broken)
    response = api.get("/api/v1/sections/world", headers={"Accept": "text/html"})
    assert response.status_code == 500
    assert response.is_json
    assert "boom" not in response.get_data(as_text=True)


def test_site_errors_stay_html(api: Api) -> None:
    response = api.client.get("/pages/article/no-such-article", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
