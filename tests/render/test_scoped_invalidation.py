"""A content change invalidates exactly the fragments it affects: widgets say what content they
depend on (``CachePolicy.depends_on``), edits bump only the scopes they touch."""

from __future__ import annotations

import copy
import json
from typing import Any

from support import REPO, SEED_PATH, SEED_SLUG, timing_outcomes

from layoutserver.content.importer import import_content
from layoutserver.db import get_database
from layoutserver.widgets import CachePolicy, widget_problems

OTHER = "dystopia"
DEMO = json.loads((REPO / "layoutserver" / "demo" / "content.json").read_text())


def outcomes(client: Any, path: str) -> dict[str, str]:
    return timing_outcomes(client.get(path.replace("/pages/", "/fragments/", 1),
                                      headers={"Accept": "application/json"}))


def article(slug: str) -> dict[str, Any]:
    return copy.deepcopy(next(a for a in DEMO["articles"] if a["slug"] == slug))


def test_editing_one_article_leaves_the_fragments_it_does_not_touch_cached(
    make_app: Any,
) -> None:
    app = make_app(settings={"WIDGETS_DISABLED": ["ad_spot"]})
    client = app.test_client()
    other_path = f"/pages/article/{OTHER}"
    outcomes(client, SEED_PATH)
    outcomes(client, other_path)
    edited = article(SEED_SLUG)
    edited["title"] = "A corrected headline"
    import_content(get_database(app), {"articles": [edited]})

    seed = outcomes(client, SEED_PATH)
    assert seed["article"] == "miss"  # the edited article: rendered again
    assert seed["latest-news"] == "miss" and seed["must-read"] == "miss"  # lists may show it
    assert seed["date-bar"] == "hit"  # no content at all
    assert "A corrected headline" in client.get(SEED_PATH).get_data(as_text=True)

    other = outcomes(client, other_path)
    assert other["article"] == "hit" and other["author"] == "hit"  # another article's page


def test_a_section_change_invalidates_every_content_fragment(make_app: Any) -> None:
    app = make_app(settings={"WIDGETS_DISABLED": ["ad_spot"]})
    client = app.test_client()
    outcomes(client, f"/pages/article/{OTHER}")
    import_content(get_database(app), {"sections": [{"slug": "opinion", "name": "Views"}]})
    other = outcomes(client, f"/pages/article/{OTHER}")
    assert other["article"] == "miss"
    assert other["date-bar"] == "hit"


def test_an_unknown_dependency_is_a_contract_problem() -> None:
    from layoutserver.widgets import Markup, RenderContext, Widget

    class Wrong(Widget):
        name = "wrong_deps"
        version = "1"
        cache_policy = CachePolicy.shared_for(ttl=60, depends_on=("weather",))

        def render(self, ctx: RenderContext, options: Any) -> Markup:
            return Markup("")

    assert any("depends on unknown content" in p for p in widget_problems(Wrong))
