"""An article edited through the API shows on the next page request, while the fragments the
edit does not touch stay cached (the admin API issue's "exactly the fragments it affects")."""

from __future__ import annotations

from typing import Any

from apisupport import Api
from support import SEED_PATH, SEED_SLUG, timing_outcomes

OTHER_PATH = "/pages/article/dystopia"


def outcomes(api: Api, path: str) -> dict[str, str]:
    json_path = path.replace("/pages/", "/fragments/", 1)
    return timing_outcomes(api.client.get(json_path, headers={"Accept": "application/json"}))


def test_an_api_edit_shows_next_and_leaves_untouched_fragments_cached(api: Api) -> None:
    outcomes(api, SEED_PATH)
    outcomes(api, OTHER_PATH)
    response = api.patch(f"/api/v1/articles/{SEED_SLUG}", role="publisher",
                         json={"title": "Edited through the API"})
    assert response.status_code == 200, response.get_json()

    assert "Edited through the API" in api.client.get(SEED_PATH).get_data(as_text=True)
    seed = outcomes(api, SEED_PATH)
    assert seed["article"] == "hit"  # rendered by the page request just above, cached since
    assert seed["date-bar"] == "hit"
    other = outcomes(api, OTHER_PATH)
    assert other["article"] == "hit" and other["author"] == "hit" and other["date-bar"] == "hit"
    assert other["latest-news"] == "miss"  # a list that may show the edited article


def test_an_editorial_list_edit_touches_only_list_fragments(api: Api, demo_app: Any) -> None:
    outcomes(api, OTHER_PATH)
    path = "/api/v1/editorial-lists/must-read"
    picks = api.get(path).get_json()["articles"]
    response = api.patch(path, role="publisher", json={"articles": list(reversed(picks))})
    assert response.status_code == 200, response.get_json()
    other = outcomes(api, OTHER_PATH)
    assert other["must-read"] == "miss"
    assert other["article"] == "hit" and other["latest-news"] == "hit"
