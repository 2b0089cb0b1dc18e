"""The resources the console edits, as forms over the service layer.

Each :class:`Resource` names its service kind, permission area, the fields of its form and the
columns of its list. The console's generic views (``crud.py``) do the rest through the same
service functions as the admin API (``layoutserver.content.service``,
``layoutserver.ads.config_service``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from flask import current_app
from sqlalchemy.orm import Session

from layoutserver.ads import config_service as ads_service
from layoutserver.ads.schemas import DEVICES
from layoutserver.auth.roles import Area
from layoutserver.console.forms import Field
from layoutserver.console.pacing import delivery_columns
from layoutserver.content import service as content_service
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.keyset import Page, Window
from layoutserver.services import NotFound

Domain = Literal["ads", "content"]
#: A select offers at most this many choices (the first by key): sections, authors and ad
#: objects are far fewer.
MAX_CHOICES = 1000


@dataclass(frozen=True)
class Action:
    """A one-click change from the list or the edit page (pause, resume, enable, disable)."""

    label: str
    field: str
    value: Any
    shown_when: Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Resource:
    kind: str
    domain: Domain
    path: str
    """The URL segment under /admin."""
    title: str
    key: str
    fields: tuple[Field, ...]
    columns: tuple[str, ...]
    actions: tuple[Action, ...] = ()
    filters: tuple[str, ...] = ()
    """Service filters the list takes from the query string."""
    singular: str = ""
    notes: str = ""
    extras: tuple[str, ...] = field(default=())
    """Extra panels of the edit page (templates ``console/extra_<name>.html``)."""
    add_columns: Callable[[Session, list[dict[str, Any]]], None] | None = None
    """Adds the list's computed columns (of ``columns``) to a page of rows."""

    @property
    def area(self) -> Area:
        return self.domain

    @property
    def noun(self) -> str:
        return self.singular or self.kind.replace("_", " ")

    def service(self) -> Any:
        return ads_service if self.domain == "ads" else content_service

    # The service calls, one signature for both domains. ``kind`` is always one of the
    # domain service's ``Kind``; the ads service reads naive datetimes in the site time zone.

    def _extra(self) -> tuple[Any, ...]:
        return (get_core(current_app).timezone,) if self.domain == "ads" else ()

    def list_items(self, session: Session, window: Window,
                   filters: Mapping[str, Any]) -> Page[dict[str, Any]]:
        """A page of the list, by keyset (``BadCursor``)."""
        if self.domain == "ads":
            return ads_service.list_items(session, cast(Any, self.kind), window, filters)
        return content_service.list_items(session, cast(Any, self.kind), window)

    def count(self, session: Session, at_most: int) -> int:
        """How many there are, counted up to ``at_most``."""
        return int(self.service().count(session, self.kind, at_most))

    def get(self, session: Session, key: str) -> dict[str, Any]:
        return cast(dict[str, Any], self.service().get(session, self.kind, key))

    def create(self, session: Session, actor: str, data: dict[str, Any]) -> dict[str, Any]:
        return cast(dict[str, Any],
                    self.service().create(session, actor, self.kind, data, *self._extra()))

    def update(self, session: Session, actor: str, key: str, data: dict[str, Any]
               ) -> dict[str, Any]:
        return cast(dict[str, Any], self.service().update(session, actor, self.kind, key, data,
                                                          *self._extra()))

    def delete(self, session: Session, actor: str, key: str) -> None:
        self.service().delete(session, actor, self.kind, key)


def names(kind: str, domain: Domain = "ads", *, optional: bool = False,
          label: Callable[[Mapping[str, Any]], str] | None = None,
          ) -> Callable[[], list[tuple[str, str]]]:
    """Choices of the keys of ``kind`` (looked up when the form is shown), each shown as its
    key or as ``label`` makes it."""

    def choices() -> list[tuple[str, str]]:
        resource = RESOURCES_BY_KIND[kind]
        with get_database().session() as session:
            rows = resource.list_items(session, Window(MAX_CHOICES), {}).items
        found = [(str(row[resource.key]), label(row) if label else str(row[resource.key]))
                 for row in rows]
        return [("", "(none)"), *found] if optional else found

    return choices


def fixed(*values: str) -> Callable[[], list[tuple[str, str]]]:
    return lambda: [(value, value) for value in values]


def _sizes(sizes: Mapping[str, list[str]]) -> str:
    return ", ".join(sorted({size for listed in sizes.values() for size in listed}))


def _creative_label(row: Mapping[str, Any]) -> str:
    return f"{row['name']} ({row['advertiser'] or 'no advertiser'}, {row['kind']} {row['size']})"


def _campaign_creatives(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A line item's creative choices: those of its campaign's advertiser and those of no
    advertiser, and any it has already (nothing it holds is hidden); every creative, each
    naming its advertiser, while no campaign is chosen."""
    campaign = values.get("campaign") or ""
    chosen = set(values.get("creatives") or ())
    with get_database().session() as session:
        rows = CREATIVE.list_items(session, Window(MAX_CHOICES), {}).items
        try:
            advertiser = ads_service.get(session, "campaign", campaign)["advertiser"] \
                if campaign else None
        except NotFound:
            advertiser = None
    return [(str(row["name"]), _creative_label(row)) for row in rows
            if advertiser is None or row["advertiser"] in (advertiser, None)
            or row["name"] in chosen]


TARGETING = "Targeting"
SCHEDULE = "Schedule and priority"
DELIVERY = "Goal, pacing and caps"

SLOT = Resource(
    kind="slot", domain="ads", path="slots", title="Ad slots", key="code", singular="slot",
    columns=("code", "name", "sizes", "enabled", "when_empty"),
    fields=(
        Field("code", "Code", create_only=True,
              help="Lower-case letters, digits and hyphens; layouts name it in ad_spot."),
        Field("name", "Name"),
        Field("sizes.desktop", "Sizes on desktop", "list", empty="omit", group="Sizes",
              help="Comma-separated, e.g. 728x90, 970x250."),
        Field("sizes.tablet", "Sizes on tablet", "list", empty="omit", group="Sizes"),
        Field("sizes.mobile", "Sizes on mobile", "list", empty="omit", group="Sizes"),
        Field("sizes.*", "Sizes on any other device", "list", empty="omit", group="Sizes"),
        Field("label", "Label", help="Shown above the ad, e.g. - Advertisement -."),
        Field("enabled", "Enabled", "bool"),
        Field("when_empty", "When nothing serves", "select", group="Fallback",
              choices=fixed("collapse", "house")),
        Field("house_creative", "House creative", "select", empty="none", group="Fallback",
              choices=names("creative", optional=True)),
        Field("lazy", "Load lazily", "bool", group="Loading"),
        Field("count_on_render", "Count impressions on render", "bool", group="Loading"),
    ),
    actions=(
        Action("Disable", "enabled", False, lambda row: bool(row["enabled"])),
        Action("Enable", "enabled", True, lambda row: not row["enabled"]),
    ),
    filters=("enabled",),
    extras=("slot",),
)

ADVERTISER = Resource(
    kind="advertiser", domain="ads", path="advertisers", title="Advertisers", key="name",
    columns=("name", "popups_escape_sandbox"),
    fields=(Field("name", "Name", create_only=True),
            Field("popups_escape_sandbox", "Popups escape the sandbox", "bool",
                  help="Windows its HTML creatives open run outside their sandbox, with the "
                       "opened site's full rights. Only for an advertiser you trust.")),
    extras=("advertiser",),
)

CAMPAIGN = Resource(
    kind="campaign", domain="ads", path="campaigns", title="Campaigns", key="name",
    columns=("name", "advertiser"), filters=("advertiser",),
    fields=(Field("name", "Name", create_only=True),
            Field("advertiser", "Advertiser", "select", choices=names("advertiser"),
                  empty="omit", prompt="(choose an advertiser)")),
    extras=("campaign",),
)

LINE_ITEM = Resource(
    kind="line_item", domain="ads", path="line-items", title="Line items", key="name",
    columns=("name", "campaign", "tier", "priority", "status", "start", "end", "delivered",
             "pace"),
    filters=("campaign", "status", "tier"),
    add_columns=delivery_columns,
    fields=(
        Field("name", "Name", create_only=True),
        Field("campaign", "Campaign", "select", choices=names("campaign"), empty="omit",
              prompt="(choose a campaign)"),
        Field("status", "Status", "select", choices=fixed("draft", "active", "paused"),
              help="Only active line items serve."),
        Field("creatives", "Creatives", "multi", choices_for=_campaign_creatives,
              help="The campaign's advertiser's creatives and those of no advertiser."),
        Field("tier", "Tier", "select", group=SCHEDULE,
              choices=fixed("sponsorship", "standard", "house"),
              help="Sponsorship serves before every standard line item, standard before "
                   "house."),
        Field("priority", "Priority", "int", group=SCHEDULE,
              help="Inside a tier, a lower number serves first."),
        Field("weight", "Weight", "int", group=SCHEDULE,
              help="Share among line items of the same tier and priority."),
        Field("start", "Start", "datetime", group=SCHEDULE, help="Site time."),
        Field("end", "End", "datetime", group=SCHEDULE, help="Site time."),
        Field("dayparts", "Day parts", "dayparts", group=SCHEDULE,
              help="One per line: days start-end in site hours, e.g. mon-fri 6-10; "
                   "empty serves around the clock."),
        Field("targeting.slots", "Slots", "multi", group=TARGETING, choices=names(
            "slot", label=lambda row: f"{row['code']} ({_sizes(row['sizes'])})")),
        Field("targeting.page_types", "Page types", "list", group=TARGETING),
        Field("targeting.sections", "Sections", "list", group=TARGETING),
        Field("targeting.tags", "Tags", "list", group=TARGETING),
        Field("targeting.devices", "Devices", "multi", group=TARGETING,
              choices=fixed(*DEVICES)),
        Field("targeting.key_values", "Key-values", "key_values", group=TARGETING,
              help="One per line: key=value1,value2."),
        Field("targeting.paths", "Paths", "lines", group=TARGETING,
              help="One pattern per line, e.g. /pages/article/*."),
        Field("goal.metric", "Goal metric", "select", group=DELIVERY, empty="parent",
              choices=lambda: [("", "(no goal)"), ("impressions", "impressions"),
                               ("viewable", "viewable impressions"), ("clicks", "clicks")]),
        Field("goal.amount", "Goal amount", "int", group=DELIVERY, empty="omit"),
        Field("goal.period", "Goal period", "select", group=DELIVERY,
              choices=fixed("lifetime", "daily")),
        Field("pacing", "Pacing", "select", group=DELIVERY, choices=fixed("even", "asap")),
        Field("caps", "Frequency caps", "caps", group=DELIVERY,
              help="One per line: impressions/period (hour, day, week, flight), e.g. 3/day."),
        Field("exclusion_labels", "Exclusion labels", "list", group=DELIVERY,
              help="Never on a page with another line item of the same label."),
        Field("roadblock", "Roadblock", "bool", group=DELIVERY,
              help="Fill every targeted slot of the page, or none."),
    ),
    actions=(
        Action("Pause", "status", "paused", lambda row: row["status"] == "active"),
        Action("Activate", "status", "active", lambda row: row["status"] != "active"),
    ),
    extras=("line_item",),
)

CREATIVE = Resource(
    kind="creative", domain="ads", path="creatives", title="Creatives", key="name",
    columns=("name", "advertiser", "kind", "size"), filters=("advertiser", "kind"),
    fields=(
        Field("name", "Name", create_only=True),
        Field("advertiser", "Advertiser", "select", empty="none",
              choices=names("advertiser", optional=True)),
        Field("kind", "Kind", "select", choices=fixed("image", "html", "text")),
        Field("size", "Size", help="WIDTHxHEIGHT, e.g. 300x250."),
        Field("click_url", "Click URL"),
        Field("image_url", "Image URL", group="Image",
              help="http(s):// or a path from /; or empty, and upload the image once created."),
        Field("alt", "Alternative text", group="Image"),
        Field("html", "HTML", "textarea", group="HTML",
              help="Runs sandboxed in an iframe; %%CLICK_URL%% is the click URL."),
        Field("text", "Text", group="Text"),
    ),
    extras=("creative",),
)

SECTION = Resource(
    kind="section", domain="content", path="sections", title="Sections", key="slug",
    columns=("slug", "name"),
    fields=(Field("slug", "Slug", create_only=True), Field("name", "Name")),
)

AUTHOR = Resource(
    kind="author", domain="content", path="authors", title="Authors", key="slug",
    columns=("slug", "name"),
    fields=(Field("slug", "Slug", create_only=True), Field("name", "Name"),
            Field("bio", "Biography", "textarea"),
            Field("avatar_url", "Avatar URL", empty="none"),
            Field("url", "Profile page URL", empty="none",
                  help="Linked from the structured data of the author's articles.")),
)

ARTICLE = Resource(
    kind="article", domain="content", path="articles", title="Articles", key="slug",
    columns=("slug", "title", "section", "author", "published_at"),
    fields=(
        Field("slug", "Slug", create_only=True),
        Field("title", "Title"),
        Field("published_at", "Published", "datetime", help="Site time."),
        Field("section", "Section", "select", empty="none",
              choices=names("section", "content", optional=True)),
        Field("author", "Author", "select", empty="none",
              choices=names("author", "content", optional=True)),
        Field("tags", "Tags", "list"),
        Field("excerpt", "Excerpt", "textarea"),
        Field("body_html", "Body (HTML)", "textarea",
              help="Sanitized when saved: scripts and unknown markup are removed."),
        Field("image.url", "Lead image URL", empty="parent", group="Lead image",
              help="Shown when the article is shared; empty: none."),
        Field("image.alt", "Alt text", group="Lead image"),
        Field("image.width", "Width (px)", "int", empty="none", group="Lead image"),
        Field("image.height", "Height (px)", "int", empty="none", group="Lead image"),
    ),
    extras=("article",),
)

EDITORIAL_LIST = Resource(
    kind="editorial_list", domain="content", path="editorial-lists", title="Editorial lists",
    key="name", singular="editorial list", columns=("name", "title", "articles"),
    fields=(
        Field("name", "Name", create_only=True, help="must-read is the Must read widget's."),
        Field("title", "Title"),
        Field("articles", "Articles, in order", "lines",
              help="One article slug per line, first shown first."),
    ),
    extras=("editorial_list",),
)

ADS_RESOURCES: Sequence[Resource] = (SLOT, ADVERTISER, CAMPAIGN, LINE_ITEM, CREATIVE)
CONTENT_RESOURCES: Sequence[Resource] = (ARTICLE, AUTHOR, SECTION, EDITORIAL_LIST)
RESOURCES: Sequence[Resource] = (*ADS_RESOURCES, *CONTENT_RESOURCES)
RESOURCES_BY_KIND = {resource.kind: resource for resource in RESOURCES}
RESOURCES_BY_PATH = {resource.path: resource for resource in RESOURCES}
