"""Explain: for each ad slot of a page, the decision and every line item considered, with why it
was or was not chosen. Nothing is counted and no reader key is made.

:func:`explain_page` takes typed values (:class:`ExplainQuery`) and answers typed values
(:class:`Explanation`); ``/ads/explain`` and ``/api/v1/explain`` (``layoutserver.api.explain``)
and the console's page preview call it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select

from layoutserver.ads.decisions.model import Consideration, PageRequest, SlotDecision
from layoutserver.ads.decisions.snapshot import Snapshot
from layoutserver.ads.extension import AdsExtension
from layoutserver.ads.models import LineItem
from layoutserver.core import Core
from layoutserver.layouts import Layout
from layoutserver.layouts.plans import plans_of
from layoutserver.widgets import DEVICE_CLASSES, ArticleView

NEW_READER = "explain:new-reader"
"""The user key explain decides for unless told otherwise: a reader with no history."""
NO_CREATIVE = "no creative to serve (none assigned, or an image creative without its image)"
MAX_SLOTS = 20
"""Slots explained at most; the rest of a longer list is left out."""


class UnknownPageType(LookupError):
    """No layout for the page type, and no slots were given to explain instead."""


@dataclass(frozen=True)
class ExplainQuery:
    """The page to explain, as a caller states it."""

    page_type: str
    device: str
    """One of ``layoutserver.ads.schemas.DEVICES``."""
    slug: str = ""
    slots: tuple[str, ...] | None = None
    """The slot codes; None: those the page type's layout declares, in page order."""
    section: str | None = None
    """None: the section of the slug's article (or the slug of a section page); ``""``: none."""
    tags: frozenset[str] | None = None
    """None: the tags of the slug's article."""
    path: str = ""
    """Empty: ``/pages/<page_type>/<slug>`` (``/`` without a slug)."""
    key_values: Mapping[str, str] = field(default_factory=dict)
    user_key: str | None = NEW_READER
    """None: no key, as when consent is denied."""


@dataclass(frozen=True)
class SlotExplanation:
    slot: str
    status: str
    """``ok``, ``disabled`` or ``unknown slot``."""
    decision: SlotDecision | None
    """None when nothing serves."""
    considered: tuple[Consideration, ...]

    @property
    def chosen(self) -> Consideration | None:
        return next((item for item in self.considered if item.chosen), None)


@dataclass(frozen=True)
class Explanation:
    page: PageRequest
    """The request decided (its ``slots`` are those of ``slots`` below)."""
    snapshot: Snapshot
    """The configuration decided against."""
    slots: tuple[SlotExplanation, ...]

    @property
    def config_version(self) -> int | str:
        return self.snapshot.version


def explain_page(query: ExplainQuery, core: Core, ads: AdsExtension) -> Explanation:
    """The decision for ``query``'s page, every candidate with its reason;
    :class:`UnknownPageType` when there is no layout for it and no slots were given."""
    layout = core.layouts.get(query.page_type)
    if query.slots is None and layout is None:
        raise UnknownPageType(
            f"Unknown page type {query.page_type!r}: give a known one, or slots=.")
    section, tags = _page_subject(core, layout, query.slug)
    if query.section is not None:
        section = query.section or None
    if query.slots is not None:
        slots = query.slots
    else:  # the slots of the page's plan: its device's, its section's variant's
        assert layout is not None
        devices = plans_of(layout).by_device
        plans = devices.get(query.device) or devices[DEVICE_CLASSES[0]]
        slots = plans.for_section(section).ad_slots
    if query.tags is not None:
        tags = query.tags
    default_path = f"/pages/{query.page_type}/{query.slug}" if query.slug else "/"
    page = PageRequest(
        slots=tuple(slots[:MAX_SLOTS]), now=ads.now(), device=query.device,
        page_type=query.page_type, slug=query.slug, section=section, tags=tags,
        path=query.path or default_path, key_values=dict(query.key_values),
        user_key=query.user_key,
    )
    snapshot, decision = ads.server.decide(page, explain=True)
    left_out = _left_out(ads, snapshot, page.slots)
    explained = []
    for code in page.slots:
        slot = snapshot.slots.get(code)
        status = "unknown slot" if slot is None else "ok" if slot.enabled else "disabled"
        chosen = decision.slots[code]
        explained.append(SlotExplanation(
            slot=code, status=status, decision=None if chosen.empty else chosen,
            considered=(*decision.considered.get(code, ()), *left_out.get(code, ())),
        ))
    return Explanation(page, snapshot, tuple(explained))


def _left_out(ads: AdsExtension, snapshot: Snapshot, codes: tuple[str, ...]
              ) -> dict[str, list[Consideration]]:
    """The line items targeting each slot that the snapshot the engine decides from leaves
    out, with why: their status (draft, paused), or, for an active one, that it has no
    creative to serve. "Why isn't it serving?" is most often answered by one of these."""
    found: dict[str, list[Consideration]] = {}
    with ads.sessions() as session:
        rows = session.execute(
            select(LineItem.id, LineItem.name, LineItem.status, LineItem.targeting)
            .order_by(LineItem.name)
        ).all()
    for line_item_id, name, status, targeting in rows:
        if line_item_id in snapshot.line_items:
            continue
        reason = str(status) if status != "active" else NO_CREATIVE
        targeted = (targeting or {}).get("slots") or codes
        for code in codes:
            if code in targeted:
                found.setdefault(code, []).append(
                    Consideration(line_item_id, name, False, reason))
    return found


def _page_subject(
    core: Core, layout: Layout | None, slug: str
) -> tuple[str | None, frozenset[str]]:
    """The section and tags of the page's subject, as the page itself would have them."""
    if layout is None or not slug:
        return None, frozenset()
    if layout.subject == "section":
        return slug, frozenset()
    article = core.content.article(slug, published_before=core.site_view().now)
    if not isinstance(article, ArticleView):
        return None, frozenset()
    return (article.section.slug if article.section else None), frozenset(article.tags)
