"""An edge that does SSI (nginx, ``Surrogate-Capability: ...="SSI/1.0"``): the forms of
``test_esi.py`` in nginx's dialect. The shared form includes the reader's frame itself, with
the page (ad slots empty, shared pieces included) as the include's stub; nginx reads its TTL
in ``X-Accel-Expires``. tests/edge/test_nginx.py runs them through a real nginx."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support import PER_REQUEST, SEED_PATH, SEED_SLUG

from layoutserver.render.shell import SSI

SSI_EDGE = {"Surrogate-Capability": 'nginx="SSI/1.0"'}
FRAME = {**SSI_EDGE, "X-Reader-Frame": "1"}
INCLUDE = re.compile(r'<!--# include virtual="([^"]+)" -->')
ENVELOPE = re.compile(r'<!--# block name="ls_shared" -->(.*)<!--# endblock -->'
                      r'<!--# include virtual="([^"]+)" stub="ls_shared" -->', re.DOTALL)


@pytest.fixture
def client(make_app: Any) -> Any:
    return make_app(layouts={"article": PER_REQUEST}).test_client()


def assemble(client: Any, body: str) -> str:
    """What nginx makes of SSI includes of parts: each replaced by the part it names."""
    def part(match: re.Match[str]) -> str:
        response = client.get(match.group(1), headers=SSI_EDGE)
        assert response.status_code == 200, match.group(1)
        return str(response.get_data(as_text=True))

    return INCLUDE.sub(part, body)


def test_the_shared_form_includes_the_frame_with_the_page_as_its_stub(client: Any) -> None:
    direct = client.get(SEED_PATH + "?topic=politics").get_data(as_text=True)
    response = client.get(SEED_PATH + "?topic=politics", headers=SSI_EDGE)
    body = response.get_data(as_text=True)
    envelope = ENVELOPE.fullmatch(body)
    assert envelope is not None, body[:300]
    stub, frame_url = envelope.groups()
    # nginx asks for the reader's frame at its internal location, with the page's own query
    assert frame_url == f"/_ls/frame{SEED_PATH}?topic=politics"
    assert "device=" not in body and "politics" not in stub  # nothing of a reader
    # kept by nginx (X-Accel-Expires: it reads no Surrogate-Control), by no one else
    assert response.headers["Cache-Control"] == "no-store"
    assert re.fullmatch(r"[1-9]\d*", response.headers["X-Accel-Expires"])
    assert response.headers["Surrogate-Control"].startswith(
        f"max-age={response.headers['X-Accel-Expires']}, ")
    assert "ETag" not in response.headers and "Set-Cookie" not in response.headers
    assert "Surrogate-Capability" in response.headers["Vary"]
    assert f"article:{SEED_SLUG}" in response.headers["Surrogate-Key"].split()
    # the stub is the page with its hole empty, the article in shared parts
    includes = INCLUDE.findall(stub)
    assert includes and all(url.startswith(f"/parts/article/{SEED_SLUG}/page/")
                            for url in includes)
    assert assemble(client, stub) == re.sub(r"device=\w+ consent=\w+", "", direct)


def test_the_frame_renders_the_holes_and_includes_the_parts_in_ssi(client: Any) -> None:
    direct = client.get(SEED_PATH, headers={"X-Device-Class": "mobile"}).get_data(as_text=True)
    response = client.get(SEED_PATH, headers={**FRAME, "X-Device-Class": "mobile"})
    frame = response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Surrogate-Control"] == 'no-store, content="SSI/1.0"'
    for kept in ("Surrogate-Key", "ETag", "X-Accel-Expires", "X-Reader-Frame"):
        assert kept not in response.headers
    assert "esi:include" not in frame and "device=mobile" in frame
    assert len(frame) < len(direct) / 2  # the article itself is in the parts
    assert assemble(client, frame) == direct
    # the parts are shared, with a lifetime nginx reads from Cache-Control
    for url in INCLUDE.findall(frame):
        part = client.get(url, headers=SSI_EDGE)
        assert part.headers["Cache-Control"].startswith("public, max-age=")
        assert "device=" not in part.get_data(as_text=True)


def test_ads_are_decided_in_the_frame_only(make_app: Any) -> None:
    client = make_app().test_client()
    shared = client.get(SEED_PATH, headers=SSI_EDGE).get_data(as_text=True)
    for code in ("article-1", "article-2", "article-3", "news-1", "news-2"):
        assert f'<div class="ad-slot" data-slot="{code}"></div>' in shared
    assert "ls-widget--ad_spot" in shared and 'class="ad-spot__box' not in shared
    frame = client.get(SEED_PATH, headers=FRAME).get_data(as_text=True)
    assert frame.count("ls-widget--ad_spot") == 5 and "ad-slot" not in frame
    assert "<!--# block" not in frame


def test_a_region_has_the_same_forms(client: Any) -> None:
    region = f"/fragments/article/{SEED_SLUG}/main"
    envelope = ENVELOPE.fullmatch(client.get(region, headers=SSI_EDGE).get_data(as_text=True))
    assert envelope is not None and envelope.group(2) == f"/_ls/frame{region}"
    frame = client.get(region, headers=FRAME).get_data(as_text=True)
    assert all("/region:main/" in url for url in INCLUDE.findall(frame))
    assert assemble(client, frame) == client.get(region).get_data(as_text=True)


def test_the_frame_url_carries_nothing_nginx_would_read_as_a_variable(client: Any) -> None:
    """The shared form is kept per URL and its include is evaluated for each reader: a ``$``
    in a crafted link must not become another reader's cookie in the frame's URL."""
    body = client.get(SEED_PATH + '?q=$http_cookie"x\\', headers=SSI_EDGE).get_data(
        as_text=True)
    envelope = ENVELOPE.fullmatch(body)
    assert envelope is not None
    assert envelope.group(2) == f"/_ls/frame{SEED_PATH}?q=%24http_cookie%22x%5C"


def test_commands_not_the_origins_are_neutralised() -> None:
    widget_html = b'<p>x</p><!--# include virtual="/admin/" --><!--#echo var="http_cookie" -->'
    guarded = SSI.guard(widget_html)
    assert b"<!--#" not in guarded
    assert guarded == (b'<p>x</p><!--&#35; include virtual="/admin/" -->'
                       b'<!--&#35;echo var="http_cookie" -->')
    assert SSI.guard(b"<p>plain</p>") == b"<p>plain</p>"
    assert SSI.include("/parts/a/b?c=$d") == b'<!--# include virtual="/parts/a/b?c=%24d" -->'


def test_esi_wins_when_an_edge_offers_both(client: Any) -> None:
    both = {"Surrogate-Capability": 'edge="ESI/1.0 SSI/1.0"'}
    body = client.get(SEED_PATH, headers=both).get_data(as_text=True)
    assert "<!--#" not in body and "X-Accel-Expires" not in client.get(
        SEED_PATH, headers=both).headers
