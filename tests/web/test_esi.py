"""Edge includes: an edge cache that says it does ESI gets each per-request widget as an
<esi:include> of that widget's own URL, and the page around it becomes cacheable."""

from __future__ import annotations

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
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    assert response.headers["Surrogate-Control"] == 'content="ESI/1.0"'
    assert "Surrogate-Capability" in response.headers["Vary"]
    assert 'reader;dur=0.00;desc="test_per_request esi"' in response.headers["Server-Timing"]


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


def test_the_esi_page_is_cached_apart_from_the_plain_one(client: Any) -> None:
    client.get(SEED_PATH)  # fills the plain body cache (with its per-request mark)
    first = client.get(SEED_PATH, headers=ESI)
    second = client.get(SEED_PATH, headers=ESI)
    assert 'desc="page-cache hit"' in second.headers["Server-Timing"]
    assert first.get_data() == second.get_data()
    assert "esi:include" in second.get_data(as_text=True)
    assert "esi:include" not in client.get(SEED_PATH).get_data(as_text=True)


def test_json_fragments_never_carry_includes(client: Any) -> None:
    response = client.get(f"/fragments/article/{SEED_SLUG}",
                          headers={**ESI, "Accept": "application/json"})
    assert "esi:include" not in response.get_data(as_text=True)
    assert "device=desktop" in response.get_json()["regions"]["main"]
