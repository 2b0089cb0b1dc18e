"""The public widget contract: what a widget declares and what it is given to render.

A widget is a subclass of :class:`Widget` registered under the entry-point group
``layoutserver.widgets``::

    [project.entry-points."layoutserver.widgets"]
    weather = "acme_widgets.weather:Weather"

The core instantiates each widget class once and calls :meth:`Widget.render` for every placement
that needs rendering, possibly on a render thread and possibly for several requests at once, so a
widget keeps no per-request state on ``self``. See ``docs/plugins.md``.
"""

from __future__ import annotations

import abc
import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from markupsafe import Markup, escape
from marshmallow import Schema

from layoutserver.content.views import (
    ArticleSummary,
    ArticleView,
    AuthorView,
    EditorialListView,
    SectionView,
    Subject,
)

if TYPE_CHECKING:
    import jinja2

__all__ = [
    "AD_SLOT_CODE",
    "DEPENDENCY_KINDS",
    "DEVICE_CLASSES",
    "VARY_KEYS",
    "AdSource",
    "ArticleSummary",
    "ArticleView",
    "Assets",
    "AuthorView",
    "CachePolicy",
    "ContentSource",
    "EditorialListView",
    "HeadPart",
    "JsonLd",
    "Link",
    "Markup",
    "Meta",
    "NoOptions",
    "PageContext",
    "PlacementRequest",
    "Position",
    "RenderContext",
    "Rendered",
    "RequestView",
    "SectionView",
    "ServedAd",
    "SiteView",
    "SlotRoom",
    "Subject",
    "Widget",
    "escape",
    "html_template",
    "widget_problems",
]

#: The render-context keys a shared cache entry may vary on.
VARY_KEYS = frozenset({"page_type", "slug", "device", "locale", "consent", "date"})
#: What a widget's output may depend on (``CachePolicy.depends_on``): ``subject`` (the page's
#: article or section, its author and section), ``articles`` (lists of articles), ``lists``
#: (editorial lists and the articles in them).
DEPENDENCY_KINDS = frozenset({"subject", "articles", "lists"})

#: The reader's device classes (``RequestView.device``; a layout's ``devices`` names them).
DEVICE_CLASSES = ("desktop", "tablet", "mobile")

WIDGET_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: What ``Widget.ad_slots`` may answer: slot codes as ad ops name them.
AD_SLOT_CODE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class NoOptions(Schema):
    """Options schema of a widget that takes none: any option given is an error."""


@dataclass(frozen=True)
class CachePolicy:
    """How a widget's output may be cached.

    ``shared``: one output serves every request whose ``vary`` keys have the same values, for
    ``ttl`` seconds (and until content changes). Not shared: rendered for each request, never
    stored, and the page around it becomes ``private, no-store``.
    """

    ttl: int = 300
    vary: tuple[str, ...] = ()
    shared: bool = True
    depends_on: tuple[str, ...] | None = None
    """The content the output depends on (``DEPENDENCY_KINDS``): a content edit then leaves
    the output cached unless it touched one of these. None: any content change (the safe
    default); ``()``: no content at all."""

    @classmethod
    def shared_for(
        cls, ttl: int, vary: Sequence[str] = (), depends_on: Sequence[str] | None = None
    ) -> CachePolicy:
        return cls(ttl=ttl, vary=tuple(vary), shared=True,
                   depends_on=None if depends_on is None else tuple(depends_on))

    @classmethod
    def per_request(cls) -> CachePolicy:
        return cls(ttl=0, vary=(), shared=False)


@dataclass(frozen=True)
class Assets:
    """CSS and JS a widget needs. A relative path names a file in the widget's
    ``static_folder`` (served at ``/static/widgets/<name>/<path>``); a path starting with ``/``
    is used as it is. A page lists each asset once, in first-seen order."""

    css: tuple[str, ...] = ()
    js: tuple[str, ...] = ()


@dataclass(frozen=True)
class SiteView:
    """Site settings a widget may read."""

    name: str
    timezone: str
    locale: str
    now: datetime
    """The site clock at the start of the request, aware, in the site time zone."""
    base_url: str = ""
    """The site's public address without a trailing slash (``SITE_BASE_URL``), for canonical
    and shared links; empty when not set (links are then site paths)."""
    publisher_logo: str = ""
    """The publisher's logo, a URL or a site path (``SITE_PUBLISHER_LOGO``); may be empty."""

    def url(self, path: str) -> str:
        """``path`` (a site path) as an absolute URL, or as it is without ``base_url``."""
        return f"{self.base_url}{path}" if path.startswith("/") else path

    @property
    def today(self) -> date:
        return self.now.date()


@dataclass(frozen=True)
class RequestView:
    """A read-only view of the request: what widgets may know about the reader."""

    device: str
    """``desktop``, ``tablet`` or ``mobile``."""
    locale: str
    consent: bool | None
    """Storage consent: True given, False denied, None when the request says nothing."""
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    page_view: str | None = None
    """The edge's id of the page view this request belongs to (an ESI include of a page an
    edge assembles; setting ``PAGE_VIEW_HEADER``), else None."""
    user_key: str | None = None
    """The reader's first-party key for frequency caps (the site's or edge's header, this
    server's cookie, or one made for this request); None when storage is denied."""
    new_user_key: bool = False
    """``user_key`` was made for this request: the reader has no history yet, and the response
    stores the key (a cookie) when ads were decided with it."""
    script_root: str = ""
    """Where the app is mounted (``SCRIPT_NAME``), for the paths of tracking URLs."""


class ContentSource(Protocol):
    """The content queries a widget may make (``RenderContext.content``)."""

    def version(self) -> int: ...

    def article(
        self, slug: str, *, published_before: datetime | None = None
    ) -> ArticleView | None: ...

    def section(self, slug: str) -> SectionView | None: ...

    def latest_articles(
        self,
        limit: int,
        *,
        offset: int = 0,
        exclude: Sequence[str] = (),
        section: str | None = None,
        published_before: datetime | None = None,
    ) -> list[ArticleSummary]: ...

    def editorial_list(
        self, name: str, *, published_before: datetime | None = None
    ) -> EditorialListView | None: ...


@dataclass(frozen=True)
class ServedAd:
    """One ad slot's share of a page's ad decision, ready to show."""

    slot: str
    html: Markup
    """The slot's whole markup: label, a box of the reserved size, the creative (a sandboxed
    iframe for HTML creatives; in a ``<template>`` until it nears the viewport, for a lazy
    slot) and its impression beacon; empty when the slot collapses."""
    size: str | None = None
    line_item_id: int | None = None
    creative_id: int | None = None
    impression_url: str | None = None
    click_url: str | None = None
    viewability_url: str | None = None
    """Where the browser reports the impression measurable and viewable
    (docs/viewability.md)."""


@dataclass(frozen=True)
class SlotRoom:
    """The room one ad slot's markup takes once filled, on each device class: what a page
    whose slot is filled later (by ``ads.js``, or by an edge's frame) reserves for it, so that
    nothing moves when the ad arrives."""

    sizes: tuple[tuple[str, int, int], ...]
    """(device class, width, height) in CSS pixels of the box: the widest and the tallest of
    the sizes the slot accepts on that device. A device class left out reserves nothing."""
    labelled: bool = False
    """Whether the slot shows its label above the box."""


class AdSource(Protocol):
    """Ad decisions for a page (``PageContext.ads``), made for all its slots at once."""

    def slot_rooms(self, slots: Sequence[str]) -> Mapping[str, SlotRoom]:
        """The room each slot code of ``slots`` takes when filled; a code the ad
        configuration does not know, or a disabled slot, is left out (it reserves nothing).
        Read from the configuration alone: no decision, nothing of the reader."""
        ...

    def decide_page(self, page: PageContext, slots: Sequence[str]) -> Mapping[str, ServedAd]:
        """Decide every slot code in ``slots`` together (page rules such as competitive
        exclusion and roadblocks hold across them). Call it from ``prepare_page``: it runs on
        the request thread and may set the reader's first-party user key."""
        ...


@dataclass(frozen=True)
class PageContext:
    """What is known about the page being rendered."""

    page_type: str
    slug: str
    subject: Subject
    site: SiteView
    request: RequestView
    content: ContentSource
    ads: AdSource | None = None
    """Ad decisions, when the ads part of layoutserver is set up."""
    page_slots: tuple[str, ...] = ()
    """Every ad slot of the whole page (its layout's ``ad_slots``), also when only a part of
    the page is being rendered: an ad source decides them together once per page view."""

    def vary_value(self, key: str) -> str:
        """The value of one ``VARY_KEYS`` key, as it goes into a cache key."""
        return vary_value(key, self.page_type, self.slug, self.request, self.site)


def vary_value(
    key: str, page_type: str, slug: str, request: RequestView | None, site: SiteView
) -> str:
    """The value of one ``VARY_KEYS`` key. Needs no content, so a page-level cache can use it
    before the page's subject is looked up; ``request`` may be None for the keys that do not
    come from the request."""
    if key == "page_type":
        return page_type
    if key == "slug":
        return slug
    if key == "date":
        return site.today.isoformat()
    if request is None:
        raise ValueError(f"vary key {key!r} needs the request view")
    if key == "device":
        return request.device
    if key == "locale":
        return request.locale
    if key == "consent":
        return {True: "yes", False: "no", None: "unknown"}[request.consent]
    raise KeyError(f"unknown vary key {key!r}; known: {', '.join(sorted(VARY_KEYS))}")


@dataclass(frozen=True)
class PlacementRequest:
    """One placement of a widget that is about to render (given to ``prepare_page``)."""

    placement_id: str
    region: str
    options: Any


#: Open Graph properties a page may carry several of.
REPEATABLE_PROPERTIES = frozenset({"article:tag", "article:author", "og:image",
                                   "og:locale:alternate"})


@dataclass(frozen=True)
class Meta:
    """A ``<meta>`` element of the page's head: ``name`` (description, robots, twitter:...) or
    ``property_`` (its ``property`` attribute: og:..., article:...), and its ``content``. One
    per name or property on a page, the first placement's, but for the properties that may
    repeat (``REPEATABLE_PROPERTIES``: one per content)."""

    content: str
    name: str = ""
    property_: str = ""

    @property
    def key(self) -> tuple[str, ...]:
        if self.property_ in REPEATABLE_PROPERTIES:
            return ("meta", self.property_, self.content)
        return ("meta", self.name or self.property_)

    def html(self) -> Markup:
        attribute = "name" if self.name else "property"
        return Markup(  # noqa: S704 - the attribute is one of two constants, the values escaped
            f'<meta {attribute}="{escape(self.name or self.property_)}"'
            f' content="{escape(self.content)}">')


@dataclass(frozen=True)
class Link:
    """A ``<link>`` element of the page's head (canonical, alternate, preload, ...). One
    canonical link on a page; other links once per ``rel`` and ``href``."""

    rel: str
    href: str
    type: str = ""
    title: str = ""

    @property
    def key(self) -> tuple[str, ...]:
        return ("link", "canonical") if self.rel == "canonical" else ("link", self.rel, self.href)

    def html(self) -> Markup:
        extra = "".join(f' {name}="{escape(value)}"'
                        for name, value in (("type", self.type), ("title", self.title)) if value)
        return Markup(  # noqa: S704 - the names are constants, the values escaped
            f'<link rel="{escape(self.rel)}" href="{escape(self.href)}"{extra}>')


@dataclass(frozen=True)
class JsonLd:
    """Structured data (schema.org) as a ``<script type="application/ld+json">`` element. Its
    JSON is escaped so that no value can end the script element. One per ``@type`` and
    ``@id`` on a page."""

    data: Mapping[str, Any]

    @property
    def key(self) -> tuple[str, ...]:
        return ("json-ld", str(self.data.get("@type", "")), str(self.data.get("@id", "")))

    def html(self) -> Markup:
        text = json.dumps(self.data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        for raw, escaped in _SCRIPT_SAFE:
            text = text.replace(raw, escaped)
        return Markup('<script type="application/ld+json">' + text + "</script>")  # noqa: S704


#: What would let JSON end or confuse its script element, as JSON escapes (the same value).
_SCRIPT_SAFE = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))

HeadPart = Meta | Link | JsonLd
"""What a widget may add to the page's ``<head>`` (``Rendered.head``)."""


@dataclass(frozen=True)
class Rendered:
    """A placement's output with what it adds to the page's ``<head>``. ``render`` may return
    one (``head`` then reaches the page; a plain string or Markup adds nothing); ``prepare_page``
    returns one for a placement it has rendered itself: that is the placement's output, and
    ``render`` is not called for it (no render-thread handoff), as for ad spots.

    Head parts are cached with the output they came with. Only shared placements add to the
    head: a per-request placement (an ad spot) is filled after the page around it is made."""

    html: str | Markup
    """Escaped unless Markup, as render's output is."""
    head: tuple[HeadPart, ...] = ()


#: A position's name: lower-case words joined by hyphens; ``{n}`` as a word of a declared
#: position stands for a number from 1 (``after-paragraph-{n}``: ``after-paragraph-3``).
POSITION_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-(?:[a-z0-9]+|\{n\}))*$")
#: Where a host widget's output holds the placements that fill one of its positions
#: (``RenderContext.position``); the core puts them there, or nothing.
POSITION_MARK = "<!--ls-in:{}:{}-->"


@dataclass(frozen=True)
class Position:
    """An inner position a widget offers other placements of its layout (``Widget.positions``):
    an ad spot or a box inside an article's text, say. ``name`` may hold ``{n}`` for a number
    (``after-paragraph-{n}`` offers ``after-paragraph-1``, ``after-paragraph-2``, ...)."""

    name: str
    description: str = ""
    """What the position is, for people placing widgets there (the console shows it)."""

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        words = (r"[1-9][0-9]{0,3}" if word == "{n}" else re.escape(word)
                 for word in self.name.split("-"))
        return re.compile("^" + "-".join(words) + "$")

    def offers(self, name: str) -> bool:
        """Whether ``name`` is this position (or one of its numbered ones)."""
        return bool(self.pattern.match(name))


@dataclass(frozen=True)
class RenderContext(PageContext):
    """A page context plus the placement being rendered."""

    placement_id: str = ""
    region: str = ""
    prepared: Any = None
    """This placement's share of what the widget's ``prepare_page`` returned, if anything."""
    filled: frozenset[str] = frozenset()
    """The placement's inner positions (``Widget.positions``) that other placements fill on
    this page."""

    def position(self, name: str) -> Markup:
        """Where the placements filling the inner position ``name`` go: write it into the
        output at that place. Empty when nothing fills it on this page; a position the output
        never writes (an article shorter than the position) is left out, and so are the
        placements filling it."""
        if name not in self.filled:
            return Markup("")
        return Markup(POSITION_MARK.format(self.placement_id, name))  # noqa: S704 - ids, names


class Widget(abc.ABC):
    """Base class of every widget. Subclasses set the class attributes and implement render."""

    name: ClassVar[str]
    """Unique, lower-case ``[a-z][a-z0-9_]*``; layouts refer to the widget by it."""
    version: ClassVar[str]
    """Part of every cache key: bump it when the output changes."""
    description: ClassVar[str] = ""
    options_schema: ClassVar[type[Schema]] = NoOptions
    cache_policy: ClassVar[CachePolicy] = CachePolicy()
    assets: ClassVar[Assets] = Assets()
    fallback: ClassVar[str | Markup] = ""
    """Shown when render raises or overruns its time budget (escaped unless Markup)."""
    static_folder: ClassVar[str | Path | None] = None
    positions: ClassVar[tuple[Position, ...]] = ()
    """Inner positions other placements may fill; ``render`` writes ``ctx.position(name)``
    where each one is."""

    @classmethod
    def prepare_page(
        cls, page: PageContext, placements: Sequence[PlacementRequest]
    ) -> Mapping[str, Any]:
        """The whole-page step: called once per request, before rendering, with every placement
        of this widget on the page that must render (cache hits are left out). Returns each
        placement's share keyed by placement id; render sees it as ``ctx.prepared``. A widget
        that decides several placements together (ad slots of one page) does it here. A share
        that is a :class:`Rendered` is the placement's output itself: render is not called."""
        return {}

    @classmethod
    def ad_slots(cls, options: Any) -> Sequence[str]:
        """The ad slot codes a placement with these (validated) options fills; none by default.

        Called once per placement when layouts load. The core reads it to list a page's slots
        (``/ads/explain``, the console's page preview and slot pages) and to let an edge or the
        browser fill the placement instead of the server: an ad widget declares its slots here
        rather than the core knowing it by name. A widget that overrides this hook is an ad
        widget: its placements are the part of a layout that ad ops may change (see
        ``docs/layouts.md``, "Who may change what")."""
        return ()

    @abc.abstractmethod
    def render(self, ctx: RenderContext, options: Any) -> str | Markup | Rendered:
        """The widget's HTML. A plain ``str`` is escaped; return :class:`Markup` for HTML, or
        :class:`Rendered` to add to the page's ``<head>`` as well."""


@functools.cache
def _templates() -> jinja2.Environment:
    """The environment of ``html_template``, made on first use: importing the contract does
    not load Jinja. (Two threads racing here may each make one; either serves.)"""
    import jinja2

    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def html_template(source: str) -> Callable[..., Markup]:
    """Compile a Jinja template with autoescaping; calling it returns Markup."""
    template = _templates().from_string(source)

    def render(**values: Any) -> Markup:
        return Markup(template.render(**values))  # noqa: S704 - autoescaped by Jinja

    return render


def widget_problems(candidate: object) -> list[str]:
    """What keeps ``candidate`` from being a usable widget class (empty when it is one)."""
    if not (isinstance(candidate, type) and issubclass(candidate, Widget)):
        return [f"{candidate!r} is not a subclass of layoutserver.widgets.Widget"]
    problems = []
    name = getattr(candidate, "name", None)
    if not isinstance(name, str) or not WIDGET_NAME.match(name):
        problems.append(f"name {name!r} must match {WIDGET_NAME.pattern}")
    if not isinstance(getattr(candidate, "version", None), str):
        problems.append("version must be a string")
    if getattr(candidate, "__abstractmethods__", None):
        problems.append("render is not implemented")
    schema = candidate.options_schema
    if not (isinstance(schema, type) and issubclass(schema, Schema)):
        problems.append("options_schema must be a marshmallow Schema class")
    policy = candidate.cache_policy
    if not isinstance(policy, CachePolicy):
        problems.append("cache_policy must be a CachePolicy")
    else:
        unknown = set(policy.vary) - VARY_KEYS
        if unknown:
            problems.append(
                f"cache_policy varies on unknown keys {sorted(unknown)}; known: {sorted(VARY_KEYS)}"
            )
        if policy.depends_on is not None and set(policy.depends_on) - DEPENDENCY_KINDS:
            problems.append(f"cache_policy depends on unknown content "
                            f"{sorted(set(policy.depends_on) - DEPENDENCY_KINDS)}; known: "
                            f"{sorted(DEPENDENCY_KINDS)}")
        if policy.shared and policy.ttl <= 0:
            problems.append("a shared cache_policy needs a ttl above 0")
    if not isinstance(candidate.assets, Assets):
        problems.append("assets must be an Assets")
    if not isinstance(candidate.fallback, str):
        problems.append("fallback must be str or Markup")
    positions = candidate.positions
    if not isinstance(positions, tuple) or not all(isinstance(p, Position) for p in positions):
        problems.append("positions must be a tuple of Position")
    else:
        problems += [f"position {p.name!r} must match {POSITION_NAME.pattern}"
                     for p in positions if not POSITION_NAME.match(p.name)]
    return problems
