"""An edge that does ESI: a page with per-request widgets comes in three forms. The shared form
(holes empty) the edge keeps; per page view the reader's frame (holes rendered here, shared
pieces included); and each shared piece, a part, which the edge keeps."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support import PER_REQUEST, SEED_PATH, SEED_SLUG

ESI = {"Surrogate-Capability": 'varnish="ESI/1.0"'}
FRAME = {**ESI, "X-Reader-Frame": "1"}
INCLUDE = re.compile(r'<esi:include src="([^"]+)"/>')


@pytest.fixture
def client(make_app: Any) -> Any:
    return make_app(layouts={"article": PER_REQUEST}).test_client()


def assemble(client: Any, frame: str) -> str:
    """What an edge makes of a frame: each include replaced by the part it names."""
    def part(match: re.Match[str]) -> str:
        response = client.get(match.group(1).replace("&amp;", "&"), headers=ESI)
        assert response.status_code == 200, match.group(1)
        return str(response.get_data(as_text=True))

    return INCLUDE.sub(part, frame)


def test_the_shared_form_leaves_the_holes_empty_and_is_kept_by_the_edge_only(
        client: Any) -> None:
    response = client.get(SEED_PATH + "?topic=politics", headers=ESI)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "device=" not in page and "esi:include" not in page  # nothing of a reader
    assert "politics" not in page
    # the edge may keep it and is told to ask for the reader's frame; browsers and caches
    # behind the edge may not keep it, and no ETag is shared
    assert response.headers["X-Reader-Frame"] == "1"
    assert response.headers["Cache-Control"] == "no-store"
    assert "ETag" not in response.headers
    assert re.fullmatch(r"max-age=\d+, stale-while-revalidate=30, stale-if-error=86400",
                        response.headers["Surrogate-Control"])
    assert "Surrogate-Capability" in response.headers["Vary"]
    assert 'reader;dur=0.00;desc="test_per_request reserved"' in response.headers["Server-Timing"]
    keys = response.headers["Surrogate-Key"].split()
    assert {"all", "layout:article", f"article:{SEED_SLUG}"} <= set(keys)
    assert response.headers["xkey"] == response.headers["Surrogate-Key"]


def test_the_frame_renders_the_holes_and_includes_the_shared_parts(client: Any) -> None:
    direct = client.get(SEED_PATH + "?topic=politics").get_data(as_text=True)
    response = client.get(SEED_PATH + "?topic=politics", headers=FRAME)
    frame = response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Surrogate-Control"] == 'no-store, content="ESI/1.0"'
    assert "Surrogate-Key" not in response.headers and "ETag" not in response.headers
    assert "device=desktop" in frame  # the reader's widget, rendered here
    includes = INCLUDE.findall(frame)
    assert includes and all(url.startswith(f"/parts/article/{SEED_SLUG}/page/")
                            for url in includes)
    assert len(frame) < len(direct) / 2  # the article itself is in the parts
    # assembled, it is the page served whole, byte for byte
    assert assemble(client, frame) == direct


def test_parts_are_shared_and_carry_the_pages_keys(client: Any) -> None:
    frame = client.get(SEED_PATH, headers=FRAME).get_data(as_text=True)
    page_keys = client.get(SEED_PATH, headers=ESI).headers["Surrogate-Key"]
    for url in INCLUDE.findall(frame):
        part = client.get(url, headers=ESI)
        assert part.status_code == 200
        assert part.headers["Cache-Control"].startswith("public, max-age=")
        assert "stale-if-error=" in part.headers["Cache-Control"]
        assert part.headers["Surrogate-Key"] == page_keys
        assert part.headers["ETag"]
        assert "device=" not in part.get_data(as_text=True)


def test_a_part_of_a_page_cut_otherwise_is_not_found(client: Any) -> None:
    frame = client.get(SEED_PATH, headers=FRAME).get_data(as_text=True)
    url = INCLUDE.findall(frame)[0]
    structure = url.split("/")[-2]
    assert client.get(url.replace(structure, "0" * 16)).status_code == 404
    assert client.get(url.rsplit("/", 1)[0] + "/99").status_code == 404
    assert client.get(url.replace("/page/", "/widget:x/")).status_code == 404
    assert client.get(url.replace("/page/", "/region:nowhere/")).status_code == 404


def test_each_frame_is_its_readers_own_and_the_shared_form_nobodys(client: Any) -> None:
    """The body cache keeps the page without anyone's holes: what one reader's frame holds
    never reaches another's frame, nor the shared form."""
    first = client.get(SEED_PATH, headers={**FRAME, "X-Device-Class": "mobile"})
    assert "device=mobile" in first.get_data(as_text=True)
    later = client.get(SEED_PATH, headers={**FRAME, "X-Device-Class": "desktop"})
    assert "page-cache hit" in later.headers["Server-Timing"]
    assert "device=desktop" in later.get_data(as_text=True)
    assert "mobile" not in later.get_data(as_text=True)
    assert "device=" not in client.get(SEED_PATH, headers=ESI).get_data(as_text=True)


def test_a_region_has_the_same_forms(client: Any) -> None:
    region = f"/fragments/article/{SEED_SLUG}/main"
    direct = client.get(region).get_data(as_text=True)
    shared = client.get(region, headers=ESI)
    assert shared.headers["X-Reader-Frame"] == "1"
    frame = client.get(region, headers=FRAME).get_data(as_text=True)
    assert all("/region:main/" in url for url in INCLUDE.findall(frame))
    assert assemble(client, frame) == direct


def test_ad_slots_stay_in_the_shared_form_as_empty_slots(make_app: Any) -> None:
    client = make_app().test_client()
    shared = client.get(SEED_PATH, headers=ESI).get_data(as_text=True)
    for code in ("article-1", "article-2", "article-3", "news-1", "news-2"):
        assert f'<div class="ad-slot" data-slot="{code}"></div>' in shared
    assert 'class="ad-spot__box' not in shared
    frame = client.get(SEED_PATH, headers=FRAME).get_data(as_text=True)
    assert frame.count("ls-widget--ad_spot") == 5 and "ad-slot" not in frame


def test_the_included_widget_url_renders_the_widget_uncached(client: Any) -> None:
    included = client.get(f"/widgets/article/{SEED_SLUG}/reader", headers=ESI)
    assert included.headers["Cache-Control"] == "private, no-store"
    assert "device=desktop" in included.get_data(as_text=True)
    assert "Surrogate-Control" not in included.headers


def test_without_esi_the_widget_is_rendered_in_place(client: Any) -> None:
    for headers in ({}, {"X-Reader-Frame": "1"}):
        response = client.get(SEED_PATH, headers=headers)
        assert "esi:include" not in response.get_data(as_text=True)
        assert "device=desktop" in response.get_data(as_text=True)
        assert response.headers["Cache-Control"] == "private, no-store"
        assert "Surrogate-Control" not in response.headers


def test_every_form_shares_one_cached_body(client: Any) -> None:
    client.get(SEED_PATH)  # fills the body cache (with its per-request mark)
    shared = client.get(SEED_PATH, headers=ESI)
    frame = client.get(SEED_PATH, headers=FRAME)
    assert 'desc="page-cache hit, per-request widgets reserved"' in shared.headers["Server-Timing"]
    assert ('desc="page-cache hit, per-request widgets rendered, shared parts included"'
            in frame.headers["Server-Timing"])
    part = client.get(INCLUDE.findall(frame.get_data(as_text=True))[0], headers=ESI)
    assert "page-cache hit, part 0" in part.headers["Server-Timing"]


def test_head_decides_nothing(client: Any) -> None:
    for headers in ({}, ESI, FRAME):
        response = client.head(SEED_PATH, headers=headers)
        assert response.status_code == 200
        assert "test_per_request skipped" in response.headers["Server-Timing"]
    included = client.head(f"/widgets/article/{SEED_SLUG}/reader", headers=ESI)
    assert "test_per_request skipped" in included.headers["Server-Timing"]
    assert included.headers["Cache-Control"] == "private, no-store"


def test_json_fragments_never_carry_includes(client: Any) -> None:
    response = client.get(f"/fragments/article/{SEED_SLUG}",
                          headers={**FRAME, "Accept": "application/json"})
    assert "esi:include" not in response.get_data(as_text=True)
    assert "device=desktop" in response.get_json()["regions"]["main"]
