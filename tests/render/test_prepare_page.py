"""The whole-page step: prepare_page sees every placement of its widget at once, and a share
that is Rendered is the placement's output (render is not called for it)."""

from __future__ import annotations

from typing import Any

from support import SEED_PATH
from testwidgets import Together

LAYOUT = """subject = "article"

[[regions]]
name = "main"

[[regions.placements]]
widget = "test_together"
id = "first"

[[regions]]
name = "aside"

[[regions.placements]]
widget = "test_together"
id = "second"
"""


def test_rendered_shares_are_the_output_and_render_is_not_called(make_app: Any) -> None:
    Together.calls.clear()
    app = make_app(layouts={"article": LAYOUT})
    response = app.test_client().get(SEED_PATH)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert Together.calls == [["first", "second"]]  # once, with both placements
    assert "&lt;1 of 2&gt;" in page and "&lt;2 of 2&gt;" in page  # a str share is escaped
    # each placement reports its equal share of the step's time
    timing = dict(entry.split(";", 1) for entry in response.headers["Server-Timing"].split(", "))
    first, second = timing["first"], timing["second"]
    assert first == second
    assert first.endswith('desc="test_together miss"')
    share_ms = float(first.split(";")[0].removeprefix("dur="))
    assert share_ms >= Together.STEP_SECONDS * 1000 / 2
