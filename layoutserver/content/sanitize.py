"""Article HTML is sanitized on the way in, with nh3 and an allow-list."""

from __future__ import annotations

import nh3

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "em", "figcaption",
        "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "q",
        "s", "small", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "u",
        "ul",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height", "title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "blockquote": {"cite"},
    "q": {"cite"},
}
# No javascript:, data: or vbscript: URLs survive.
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})


# The sets nh3 takes, made once (it reads them, it does not keep or change them): an import
# sanitizes every article's body.
_TAGS = set(ALLOWED_TAGS)
_ATTRIBUTES = {tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()}
_URL_SCHEMES = set(ALLOWED_URL_SCHEMES)


def sanitize_html(html: str) -> str:
    """Keep the allow-listed structure of ``html``; drop scripts, event handlers and bad URLs."""
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
