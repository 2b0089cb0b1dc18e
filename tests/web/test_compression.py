"""Compressed responses: brotli or gzip as the client accepts, the ETag marked with the
encoding, none for an edge doing ESI (it assembles and compresses itself) or when turned off."""

from __future__ import annotations

import gzip
from collections.abc import Callable

import brotli
import pytest
from flask import Flask
from support import ARTICLE_ONLY, SEED_PATH, SEED_SLUG

from layoutserver.settings import SettingsError


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(layouts={"article": ARTICLE_ONLY})


def test_brotli_or_gzip_as_the_client_accepts(app: Flask) -> None:
    client = app.test_client()
    plain = client.get(SEED_PATH)
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
    body = plain.get_data()
    as_br = client.get(SEED_PATH, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert as_br.headers["Content-Encoding"] == "br"
    assert brotli.decompress(as_br.get_data()) == body
    assert len(as_br.get_data()) < len(body) / 2
    as_gzip = client.get(SEED_PATH, headers={"Accept-Encoding": "gzip"})
    assert as_gzip.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(as_gzip.get_data()) == body
    assert int(as_gzip.headers["Content-Length"]) == len(as_gzip.get_data())


def test_each_encoding_has_its_own_etag_and_revalidates(app: Flask) -> None:
    client = app.test_client()
    plain = client.get(SEED_PATH).headers["ETag"]
    compressed = client.get(SEED_PATH, headers={"Accept-Encoding": "br"}).headers["ETag"]
    assert compressed == plain[:-1] + ':br"'
    again = client.get(SEED_PATH, headers={"Accept-Encoding": "br", "If-None-Match": compressed})
    assert again.status_code == 304
    plain_again = client.get(SEED_PATH, headers={"If-None-Match": plain})
    assert plain_again.status_code == 304


def test_an_edge_doing_esi_gets_it_uncompressed(app: Flask) -> None:
    response = app.test_client().get(SEED_PATH, headers={
        "Accept-Encoding": "gzip", "Surrogate-Capability": 'varnish="ESI/1.0"'})
    assert "Content-Encoding" not in response.headers


def test_json_and_site_files_are_compressed_small_bodies_not(app: Flask) -> None:
    client = app.test_client()
    document = client.get(f"/fragments/article/{SEED_SLUG}",
                          headers={"Accept": "application/json", "Accept-Encoding": "gzip"})
    assert document.headers["Content-Encoding"] == "gzip"
    small = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers


def test_turned_off_when_an_edge_compresses(make_app: Callable[..., Flask]) -> None:
    client = make_app(layouts={"article": ARTICLE_ONLY},
                      settings={"COMPRESS_RESPONSES": False}).test_client()
    response = client.get(SEED_PATH, headers={"Accept-Encoding": "br, gzip"})
    assert "Content-Encoding" not in response.headers
    with pytest.raises(SettingsError, match="COMPRESS_RESPONSES must be true or false"):
        make_app(settings={"COMPRESS_RESPONSES": "sometimes"})
