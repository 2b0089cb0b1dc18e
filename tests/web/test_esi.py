"""Edge includes: an edge cache that says it does ESI gets each per-request widget as an
<esi:include> of that widget's own URL, and the page around it becomes cacheable by the edge
(and by nothing behind it: what the edge assembles is the reader's own)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support import PER_REQUEST, SEED_PATH, SEED_SLUG

ESI = {"Surrogate-Capability": 'varnish="ESI/1.0"'}



@pytest.fixture
def client(make_app: Any) -> Any:
    return make_app(layouts={"article": PER_REQUEST}).test_client()


def test_an_esi_edge_gets_includes_and_a_cacheable_page(client: Any) -> None:
    response = client.get(SEED_PATH + "?topic=politics", headers=ESI)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'<esi:include src="/widgets/article/{SEED_SLUG}/reader?topic=politics"/>' in page
    assert "device=" not in page  # the per-request widget was not rendered here
    # the edge may keep it; browsers and caches behind the edge may not, and no ETag is shared
    assert response.headers["Cache-Control"] == "no-store"
    assert "ETag" not in response.headers
    assert re.fullmatch(r'max-age=\d+, stale-while-revalidate=30, stale-if-error=86400, '
                        r'content="ESI/1.0"', response.headers["Surrogate-Control"])
    assert "Surrogate-Capability" in response.headers["Vary"]
    assert 'reader;dur=0.00;desc="test_per_request esi"' in response.headers["Server-Timing"]
    keys = response.headers["Surrogate-Key"].split()
    assert {"all", "layout:article", f"article:{SEED_SLUG}"} <= set(keys)
    assert response.headers["xkey"] == response.headers["Surrogate-Key"]


def test_each_request_gets_includes_with_its_own_query(client: Any) -> None:
    """The body cache keeps the page without its includes: one reader's key-values never
    reach another's includes."""
    include = f"/widgets/article/{SEED_SLUG}/reader"
    first = client.get(SEED_PATH + "?campaign=autumn&section=world", headers=ESI)
    assert f'src="{include}?campaign=autumn&amp;section=world"' in first.get_data(as_text=True)
    for query, src in (("?campaign=B", f"{include}?campaign=B"), ("", include)):
        later = client.get(SEED_PATH + query, headers=ESI)
        assert "page-cache hit" in later.headers["Server-Timing"]
        page = later.get_data(as_text=True)
        assert f'<esi:include src="{src}"/>' in page
        assert "autumn" not in page


def test_the_included_url_renders_the_widget_uncached(client: Any) -> None:
    included = client.get(f"/widgets/article/{SEED_SLUG}/reader", headers=ESI)
    assert included.headers["Cache-Control"] == "private, no-store"
    assert "device=desktop" in included.get_data(as_text=True)
    assert "Surrogate-Control" not in included.headers


def test_without_esi_the_widget_is_rendered_in_place(client: Any) -> None:
    response = client.get(SEED_PATH)
    assert "esi:include" not in response.get_data(as_text=True)
    assert "device=desktop" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "Surrogate-Control" not in response.headers


def test_the_esi_page_and_the_plain_one_share_one_cached_body(client: Any) -> None:
    client.get(SEED_PATH)  # fills the body cache (with its per-request mark)
    first = client.get(SEED_PATH, headers=ESI)
    second = client.get(SEED_PATH, headers=ESI)
    assert 'desc="page-cache hit, per-request widgets included"' in first.headers["Server-Timing"]
    assert first.get_data() == second.get_data()
    assert "esi:include" in second.get_data(as_text=True)
    assert "esi:include" not in client.get(SEED_PATH).get_data(as_text=True)


def test_head_decides_nothing(client: Any) -> None:
    for headers in ({}, ESI):
        response = client.head(SEED_PATH, headers=headers)
        assert response.status_code == 200
        assert "test_per_request skipped" in response.headers["Server-Timing"]
    included = client.head(f"/widgets/article/{SEED_SLUG}/reader", headers=ESI)
    assert "test_per_request skipped" in included.headers["Server-Timing"]
    assert included.headers["Cache-Control"] == "private, no-store"


def test_json_fragments_never_carry_includes(client: Any) -> None:
    response = client.get(f"/fragments/article/{SEED_SLUG}",
                          headers={**ESI, "Accept": "application/json"})
    assert "esi:include" not in response.get_data(as_text=True)
    assert "device=desktop" in response.get_json()["regions"]["main"]
