"""The seed page's regions through a real Podium layout (@podium/layout and @podium/client 5,
npm): content and assets from the manifests while the server runs, then, with the server
stopped, the fallbacks the client kept."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

from node_fixtures import require_packages
from support import REPO

SEED_SLUG = "east-turkistan-government-in-exile-condemns-china-pakistan-cooperation"
SEED_TITLE = "East Turkistan Government in Exile Condemns China-Pakistan Cooperation"


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=20) as response:
        return str(response.read().decode())


def test_podium_layout_shows_content_and_assets_then_fallbacks(
        make_app: Any, live_server: Any, node_server: Any) -> None:
    require_packages("@podium/layout", "@podium/client")
    server = live_server(make_app(settings={"WIDGETS_DISABLED": ["ad_spot"]}))
    layout = node_server("podium_layout.mjs", server.url)

    header, main, aside = json.loads(get(f"{layout.url}/json/{SEED_SLUG}"))
    assert main["content"].startswith('<main class="ls-region ls-region--main"')
    assert SEED_TITLE in main["content"]
    assert 'data-region="header"' in header["content"]
    assert "Must read" in aside["content"]
    names = [[url.rsplit("/", 1)[1] for url in podlet["css"]]
             for podlet in (header, main, aside)]
    assert names == [["layoutserver.css", "date_bar.css"],
                     ["layoutserver.css", "article_body.css", "author_box.css",
                      "news_list.css"],
                     ["layoutserver.css", "news_list.css"]]
    for podlet in (header, main, aside):
        assert podlet["js"] == []
        for url in podlet["css"]:  # absolute, at this server, and served
            assert url.startswith(server.url + "/assets/")
            assert get(url)
    document = get(f"{layout.url}/article/{SEED_SLUG}")
    linked = re.findall(r'<link href="([^"]+)"[^>]*rel="stylesheet"', document)
    assert set(linked) == {url for podlet in (header, main, aside) for url in podlet["css"]}
    assert SEED_TITLE in document

    server.stop()
    header, main, aside = json.loads(get(f"{layout.url}/json/{SEED_SLUG}"))
    for podlet, region in ((header, "header"), (main, "main"), (aside, "aside")):
        # the reserved, empty shape the client kept: the region and its placements, no text
        assert f'data-region="{region}"' in podlet["content"]
        assert 'data-placement="' in podlet["content"]
        assert re.sub(r"<[^>]+>", "", podlet["content"]) == ""
        assert podlet["css"][0].rsplit("/", 1)[1] == "layoutserver.css"


def test_a_new_layout_makes_the_client_fetch_the_manifests_again(
        make_app: Any, live_server: Any, node_server: Any) -> None:
    require_packages("@podium/layout", "@podium/client")
    settings = {"WIDGETS_DISABLED": ["ad_spot"]}
    first = make_app(settings=settings)
    layout_file = (REPO / "config" / "layouts" / "article.toml").read_text()
    author = '[[regions.placements]]\nwidget = "author_box"\nid = "author"\n\n'
    assert author in layout_file
    deployed = make_app(layouts={"article": layout_file.replace(author, ""),
                                 "section": (REPO / "config" / "layouts" /
                                             "section.toml").read_text()},
                        settings=settings)
    server = live_server(first)
    layout = node_server("podium_layout.mjs", server.url)

    def manifests() -> int:
        return sum(path.endswith("/manifest.json") for path in server.requests)

    main = json.loads(get(f"{layout.url}/json/{SEED_SLUG}"))[1]
    assert 'data-placement="author"' in main["content"]
    json.loads(get(f"{layout.url}/json/{SEED_SLUG}"))
    assert manifests() == 3  # one per podlet, then kept

    first.wsgi_app = deployed.wsgi_app  # type: ignore[method-assign]  # a deploy, same URL
    main = json.loads(get(f"{layout.url}/json/{SEED_SLUG}"))[1]
    # the content's podlet-version differed: the client fetched each manifest again
    assert manifests() == 6
    assert SEED_TITLE in main["content"]
    assert 'data-placement="author"' not in main["content"]
