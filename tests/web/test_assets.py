"""Static assets at fingerprinted URLs (kept a year, immutable), and a page's stylesheets
inlined or linked (``PAGE_CSS``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from support import SEED_PATH

from layoutserver.registry import WidgetRegistry
from layoutserver.settings import SettingsError
from layoutserver.web.assets import StaticFiles

IMMUTABLE = "public, max-age=31536000, immutable"


def stylesheet_links(html: str) -> list[str]:
    return re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)


def test_linked_stylesheets_are_immutable_at_fingerprinted_urls(
        make_app: Callable[..., Flask]) -> None:
    client = make_app(settings={"PAGE_CSS": "link"}).test_client()
    links = stylesheet_links(client.get(SEED_PATH).get_data(as_text=True))
    assert links and all(re.match(r"^/assets/(widgets/\w+/)?[0-9a-f]{12}/", url) for url in links)
    for url in links:
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "text/css"
        assert response.headers["Cache-Control"] == IMMUTABLE
        digest = re.search(r"/([0-9a-f]{12})/", url)
        assert digest is not None
        # a page kept from before a deploy names another version: the file, briefly
        stale = client.get(url.replace(digest.group(1), "0" * 12))
        assert stale.status_code == 200 and stale.headers["Cache-Control"] != IMMUTABLE
        assert "immutable" not in stale.headers["Cache-Control"]


def test_the_url_names_the_files_bytes(tmp_path: Path) -> None:
    registry = WidgetRegistry()
    urls = []
    for number, text in enumerate(("a { color: red }", "a { color: blue }", "a { color: red }")):
        folder = tmp_path / str(number)
        folder.mkdir()
        (folder / "site.css").write_text(text)
        urls.append(StaticFiles(str(folder), registry).core_url("site.css"))
    assert urls[0] != urls[1]  # another version: another URL
    assert urls[0] == urls[2]  # the same bytes: the same URL


@pytest.mark.parametrize("path", ["/assets/0123456789ab/../config/demo.toml",
                                  "/assets/0123456789ab/no-such.css",
                                  "/assets/widgets/no_such_widget/0123456789ab/x.css",
                                  "/assets/widgets/article_body/0123456789ab/../../../setup.py"])
def test_nothing_outside_the_static_folders(make_app: Callable[..., Flask], path: str) -> None:
    assert make_app().test_client().get(path).status_code == 404


def test_inline_stylesheets_link_only_what_is_not_ours(make_app: Callable[..., Flask]) -> None:
    html = make_app().test_client().get(SEED_PATH).get_data(as_text=True)
    head = html.split("</head>")[0]
    assert head.count("<style>") == 1
    assert stylesheet_links(html) == []
    assert ".ls-region" in head.split("<style>")[1]  # the core stylesheet is in it


def test_the_setting_is_checked(make_app: Callable[..., Flask]) -> None:
    with pytest.raises(SettingsError, match="PAGE_CSS must be 'inline' or 'link'"):
        make_app(settings={"PAGE_CSS": "bundle"})
