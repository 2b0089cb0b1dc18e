"""SQLAlchemy models of the ad configuration (slots, advertisers, campaigns, line items,
creatives) and of delivery (hourly counts, per-user counts for caps, the replay guard).

Targeting, day-parts, caps and exclusion labels are JSON values in the shape the import format
gives them (``docs/ads.md``), normalised (sorted lists) so that re-importing a document compares
equal. The decision engine never reads these rows per request: ``snapshot_source`` turns them into
an in-memory snapshot, revised per ads config version (:class:`AdsState`) with the change log
(:class:`AdConfigChange`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from layoutserver.db import Base, UTCDateTime

line_item_creatives = Table(
    "ad_line_item_creatives",
    Base.metadata,
    Column("line_item_id", ForeignKey("ad_line_items.id", ondelete="CASCADE"), primary_key=True),
    Column("creative_id", ForeignKey("ad_creatives.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_ad_line_item_creatives_creative", "creative_id"),
)


class Advertiser(Base):
    __tablename__ = "ad_advertisers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    popups_escape_sandbox: Mapped[bool] = mapped_column(Boolean, default=False,
                                                        server_default=false())
    """Whether a window opened by this advertiser's HTML creatives leaves their sandbox
    (``ads.markup``)."""


class Campaign(Base):
    __tablename__ = "ad_campaigns"
    # An advertiser's campaigns, by name (the filtered list's order).
    __table_args__ = (Index("ix_ad_campaigns_advertiser", "advertiser_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    advertiser_id: Mapped[int] = mapped_column(ForeignKey("ad_advertisers.id"))
    advertiser: Mapped[Advertiser] = relationship(lazy="joined")


class Creative(Base):
    __tablename__ = "ad_creatives"
    __table_args__ = (Index("ix_ad_creatives_advertiser", "advertiser_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    advertiser_id: Mapped[int | None] = mapped_column(ForeignKey("ad_advertisers.id"))
    kind: Mapped[str] = mapped_column(String(10))
    """image, html or text."""
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    click_url: Mapped[str] = mapped_column(String(2000))
    """http(s) only: the one place a click may redirect to."""
    image_url: Mapped[str] = mapped_column(String(2000), default="")
    alt: Mapped[str] = mapped_column(String(500), default="")
    html: Mapped[str] = mapped_column(Text, default="")
    """Shown only inside a sandboxed iframe (``srcdoc``), never in the host page."""
    text: Mapped[str] = mapped_column(String(500), default="")

    advertiser: Mapped[Advertiser | None] = relationship(lazy="joined")


class AdSlot(Base):
    __tablename__ = "ad_slots"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    """What layouts reference (the ``slot`` option of an ``ad_spot`` placement)."""
    name: Mapped[str] = mapped_column(String(200))
    sizes: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    """Accepted sizes by device class, ``{"desktop": ["728x90"], "mobile": ["320x50"]}``;
    key ``"*"`` for any other device."""
    label: Mapped[str] = mapped_column(String(200), default="- Advertisement -")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    when_empty: Mapped[str] = mapped_column(String(10), default="collapse")
    """collapse or house."""
    house_creative_id: Mapped[int | None] = mapped_column(ForeignKey("ad_creatives.id"))
    lazy: Mapped[bool] = mapped_column(Boolean, default=False)
    count_on_render: Mapped[bool] = mapped_column(Boolean, default=False)
    """Count the impression when the page is rendered (no beacon), for pages that cannot
    fire one."""

    house_creative: Mapped[Creative | None] = relationship(lazy="joined")


class LineItem(Base):
    __tablename__ = "ad_line_items"
    __table_args__ = (Index("ix_ad_line_items_campaign", "campaign_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("ad_campaigns.id"))
    tier: Mapped[str] = mapped_column(String(12))
    """sponsorship, standard or house."""
    priority: Mapped[int] = mapped_column(Integer, default=5)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    dayparts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    goal_metric: Mapped[str | None] = mapped_column(String(12))
    goal_amount: Mapped[int | None] = mapped_column(Integer)
    goal_period: Mapped[str | None] = mapped_column(String(10))
    pacing: Mapped[str] = mapped_column(String(5), default="even")
    weight: Mapped[int] = mapped_column(Integer, default=1)
    caps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    targeting: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    exclusion_labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    roadblock: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), default="draft")

    campaign: Mapped[Campaign] = relationship(lazy="joined")
    creatives: Mapped[list[Creative]] = relationship(
        secondary=line_item_creatives, lazy="selectin", order_by=Creative.id
    )


class AdsState(Base):
    """One row whose version changes with every ad configuration change (in the same
    transaction); the in-memory snapshot is rebuilt when it moves."""

    __tablename__ = "ads_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class AdConfigChange(Base):
    """The change log of the ad configuration: what each ads config version changed, one row
    per slot, advertiser, campaign, creative or line item (by id), written in the
    transaction that moves the version (``layoutserver.ads.change_log``). Every process
    reads the rows since its snapshot's version and revises its snapshot with them instead
    of building it again; the last ``CHANGE_LOG_VERSIONS`` versions are kept."""

    __tablename__ = "ad_config_changes"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(12), primary_key=True)
    """slot, advertiser, campaign, creative, line_item; or all (build afresh)."""
    entity_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


# -- delivery ---------------------------------------------------------------------------------


class AdCount(Base):
    """Impressions, clicks, measurable and viewable impressions per line item, creative, slot
    and UTC hour (upserted).

    ``line_item_id`` is 0 for a slot's house creative (no line item). No foreign keys: counts
    outlive the configuration they were served under.

    ``source`` says who wrote the row: ``""`` for counts added here one by one (no Redis, or
    Redis unreachable), else the Redis epoch whose counters a flush copied (absolute values,
    so flushing a window twice counts it once; see ``layoutserver.ads.flush``). Reports sum
    every source."""

    __tablename__ = "ad_counts"
    __table_args__ = (
        UniqueConstraint("line_item_id", "creative_id", "slot", "hour", "source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    line_item_id: Mapped[int] = mapped_column(Integer)
    creative_id: Mapped[int] = mapped_column(Integer)
    slot: Mapped[str] = mapped_column(String(100))
    # Indexed: delivery reports select a range of hours across every line item.
    hour: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    impressions: Mapped[int] = mapped_column(Integer, default=0)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    measurable: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Impressions whose viewability the browser measured (docs/viewability.md)."""
    viewable: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Measured impressions that met the viewability rule."""
    source: Mapped[str] = mapped_column(String(40), default="", server_default="")


class UserCount(Base):
    """Impressions per user key, line item and UTC hour: what frequency caps count."""

    __tablename__ = "ad_user_counts"

    user_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    line_item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    impressions: Mapped[int] = mapped_column(Integer, default=0)


class TokenUse(Base):
    """The replay guard: a tracking token is counted once per kind (impression, click,
    measurable, viewable).

    Without Redis it is the guard itself. With Redis it is the durable copy of Redis's guards:
    each flush copies the guards of the counts it copies, in the same transaction (so every
    flushed count has its guard here), and a Redis that lost its data gets them back before it
    counts again."""

    __tablename__ = "ad_token_uses"

    token_id: Mapped[str] = mapped_column(String(150), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class PendingCount(Base):
    """A count taken while Redis was unreachable (Redis configured): queued here, committed
    before the beacon is answered, and applied through Redis's replay guard by the next flush
    after Redis answers again (``layoutserver.ads.flush``), then deleted. Redis decides whether
    it counts: a token Redis counted before the outage is not counted again. One row per token
    and kind, so replays during the outage queue nothing more."""

    __tablename__ = "ad_pending_counts"
    __table_args__ = (UniqueConstraint("token_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[str] = mapped_column(String(150))
    kind: Mapped[str] = mapped_column(String(10))
    line_item_id: Mapped[int] = mapped_column(Integer)
    creative_id: Mapped[int] = mapped_column(Integer)
    slot: Mapped[str] = mapped_column(String(100))
    user_key: Mapped[str | None] = mapped_column(String(128))
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PageViewDecision(Base):
    """One page view's whole-page ad decision, made by the first of its ESI includes to
    arrive and read by the others (``layoutserver.ads.page_views``). ``decision`` is empty
    while the first is still deciding; rows live a few minutes."""

    __tablename__ = "ad_page_views"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    decision: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
