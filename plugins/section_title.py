"""A section front's heading: the section's name as the page's one ``h1``.

The heading is a widget, as the article's title is (``article_body``), so that the layout file
says where a page's ``h1`` sits and what it is; the page template knows nothing of subjects.
"""

from __future__ import annotations

from typing import Any

from layoutserver.widgets import (
    Assets,
    CachePolicy,
    Markup,
    RenderContext,
    SectionView,
    Widget,
    html_template,
)

from . import STATIC_FOLDER

TEMPLATE = html_template("""<h1 class="section-title">{{ section.name }}</h1>""")


class SectionTitle(Widget):
    name = "section_title"
    version = "1.0"
    description = "The shown section's name as the page's h1; empty on other pages."
    cache_policy = CachePolicy.shared_for(ttl=600, vary=("slug",), depends_on=("subject",))
    assets = Assets(css=("section_title.css",))
    static_folder = STATIC_FOLDER

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        section = ctx.subject
        if not isinstance(section, SectionView):
            return Markup("")
        return TEMPLATE(section=section)
