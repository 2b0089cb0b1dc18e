"""Today's date in the site's time zone, e.g. "Thursday, October 10, 2024"."""

from __future__ import annotations

from typing import Any

from layoutserver.widgets import Assets, CachePolicy, Markup, RenderContext, Widget, html_template

from . import STATIC_FOLDER

TEMPLATE = html_template(
    """<div class="date-bar"><time datetime="{{ iso }}">{{ text }}</time></div>"""
)


class DateBar(Widget):
    name = "date_bar"
    version = "1.0"
    description = "The site's current date in its time zone."
    # Keyed by the site-local date, so it turns over at the site's midnight, not a TTL later.
    cache_policy = CachePolicy.shared_for(ttl=3600, vary=("date",), depends_on=())
    assets = Assets(css=("date_bar.css",))
    static_folder = STATIC_FOLDER

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        today = ctx.site.today
        text = f"{today:%A}, {today:%B} {today.day}, {today.year}"
        return TEMPLATE(iso=today.isoformat(), text=text)
