"""Page preview: any page type and slug rendered with every widget and ad slot outlined and
labelled.

``/admin/preview`` is the form and, below it, the page in an iframe (as wide as the device
chosen), of the layout served or (``version``) of the draft or any version by number;
``/admin/preview/page`` is that page: every placement rendered by the site's renderer (the
same cache, budget and fallbacks, so the times shown are those the page's ``Server-Timing``
reports), each wrapped in an outline labelled with its widget, placement and
render time and outcome. Ad slots are not decided by the renderer (that could count an
impression or set a reader cookie): each shows the creative that explain
(``layoutserver.ads.explain.explain_page``) chose for a reader with no history, with its slot
code, the chosen line item and why; every line item considered and the reason it lost are
listed for the roles that may use explain (admin, adops). Nothing here counts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from flask import abort, render_template, request
from markupsafe import Markup

from layoutserver.ads.decisions.model import Consideration
from layoutserver.ads.explain import ExplainQuery, explain_page
from layoutserver.ads.extension import get_ads
from layoutserver.ads.markup import Links, slot_html
from layoutserver.ads.schemas import DEVICES
from layoutserver.console.access import may, requires
from layoutserver.console.blueprint import blueprint
from layoutserver.content import service as content_service
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.keyset import Window
from layoutserver.layouts import Layout, store
from layoutserver.layouts.models import PageLayout
from layoutserver.layouts.plans import plans_of
from layoutserver.render.assembly import Assembly
from layoutserver.render.renderer import RenderedPlacement
from layoutserver.web.pages import SLUG
from layoutserver.widgets import POSITION_MARK

SUGGESTIONS = 20


@dataclass(frozen=True)
class SlotNote:
    """What the preview says about one ad slot."""

    code: str
    status: str
    html: Markup
    chosen: Consideration | None
    """The chosen line item as explain lists it; None when nothing serves."""
    why: str
    """Why the chosen one won: its tier and priority, and how many others lost."""
    house: bool
    considered: tuple[Consideration, ...]


@dataclass(frozen=True)
class Box:
    rendered: RenderedPlacement
    slot: SlotNote | None
    inner: tuple[tuple[Markup, tuple[Box, ...]], ...] = ()
    """The placements inside this one, by the mark of their position in its output (where
    they are outlined; a mark the output lacks, a shorter article's, shows none of them)."""


def _choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    value = request.args.get(name, default)
    return value if value in allowed else default


@blueprint.get("/preview")
@requires("layouts")
def preview() -> str:
    core = get_core()
    page_types = sorted(core.layouts.layouts)
    page_type = request.args.get("page_type", "")
    slug = request.args.get("slug", "").strip()
    device = _choice("device", DEVICES, "desktop")
    version = request.args.get("version", "")
    return render_template("console/preview.html", page_types=page_types, page_type=page_type,
                           slug=slug, device=device, devices=DEVICES, version=version,
                           versions=_versions(page_type, version), suggestions=suggestions())


def _versions(page_type: str, chosen: str) -> list[tuple[str, str]]:
    """The layouts the preview can show: the one served, the draft when there is one, and
    the version asked for."""
    found = [("", "as served")]
    with get_database().session() as session:
        row = session.get(PageLayout, page_type) if page_type else None
        if row is not None and row.draft_source is not None:
            found.append(("draft", f"the draft (from version {row.draft_base})"))
    if chosen.isdigit():
        found.append((chosen, f"version {chosen}"))
    return found


def preview_layout(page_type: str, version: str) -> Layout:
    """The layout to preview: the one served (``version`` empty), the draft, or a version by
    its number, compiled as a stored version is served (a widget uninstalled since renders
    empty); 404 for none, 422 for one that does not compile."""
    core = get_core()
    if not version:
        served = core.layouts.get(page_type)
        if served is None:
            abort(404, f"Unknown page type {page_type!r}; page types: "
                       f"{', '.join(sorted(core.layouts.layouts)) or '(none)'}.")
        return served
    if version != "draft" and not version.isdigit():
        abort(404, f"Not a version: {version!r} (a number, or draft).")
    try:
        with get_database().session() as session:
            row = store.page_layout(session, page_type)
            if version == "draft":
                if row.draft_source is None:
                    abort(404, f"Layout {page_type!r} has no draft.")
                text, where = row.draft_source, store.version_name(page_type)
            else:
                text = store.version(session, page_type, int(version)).source
                where = store.version_name(page_type, int(version))
    except store.NoSuchLayout as error:
        abort(404, f"{str(error).capitalize()}.")
    layout, problems = store.compile_leniently(page_type, text, core.registry, where)
    if layout is None:
        abort(422, "This layout does not validate: " + "; ".join(map(str, problems)))
    return layout


def suggestions() -> list[tuple[str, str]]:
    """(slug, title) of the latest articles and of the sections, for the slug field."""
    with get_database().session() as session:
        articles = content_service.list_items(session, "article", Window(SUGGESTIONS)).items
        sections = content_service.list_items(session, "section", Window(SUGGESTIONS)).items
    return ([(row["slug"], row["title"]) for row in articles]
            + [(row["slug"], f"section: {row['name']}") for row in sections])


@blueprint.get("/preview/page")
@requires("layouts")
def preview_page() -> str:
    core = get_core()
    page_type, slug = request.args.get("page_type", ""), request.args.get("slug", "")
    device = _choice("device", DEVICES, "desktop")
    layout = preview_layout(page_type, request.args.get("version", ""))
    if not SLUG.match(slug) or len(slug) > 200:
        abort(404, f"Not a slug: {slug!r}.")
    site = core.site_view()
    subject = core.subject(layout, slug, site)
    if subject is None:
        abort(404, f"No {layout.subject} {slug!r} (or not published yet).")
    reader = replace(core.request_view(request), device=device, consent=None,
                     path=f"/pages/{page_type}/{slug}", query={})
    # What this device is shown on this page: its device's and section's plan.
    layout = plans_of(layout).for_device(device).for_subject(subject)
    context = replace(core.page_context(layout, slug, subject, reader, site), ads=None)
    started = time.perf_counter()
    rendered = core.renderer.render(layout, context, list(layout.placements()),
                                    core.content.version())
    total_ms = (time.perf_counter() - started) * 1000
    slots = _slot_notes(layout, page_type, slug, device)

    def box(item: RenderedPlacement, inner: list[Box] | None = None) -> Box:
        codes = item.placement.ad_slots
        return Box(item, slots.get(codes[0]) if codes else None,
                   _inner(item, inner) if inner else ())

    inside: dict[str, list[Box]] = {}
    for item in rendered:
        if item.placement.inside is not None:
            inside.setdefault(item.placement.inside, []).append(box(item))
    boxes: dict[str, list[Box]] = {}
    for item in rendered:
        if item.placement.inside is None:
            boxes.setdefault(item.placement.region, []).append(
                box(item, inside.get(item.placement.id)))
    assembly = Assembly(layout, subject, rendered)
    return render_template(
        "console/preview_page.html", layout=layout, slug=slug, device=device,
        regions=[(region.name, boxes.get(region.name, [])) for region in layout.regions],
        assets=assembly.assets(core.registry), total_ms=total_ms,
        explained=may("explain"), version=request.args.get("version", ""),
    )


def _inner(host: RenderedPlacement, boxes: list[Box]) -> tuple[tuple[Markup, tuple[Box, ...]],
                                                                 ...]:
    return tuple((Markup(POSITION_MARK.format(host.placement.id, position)),  # noqa: S704
                  tuple(box for box in boxes if box.rendered.placement.position == position))
                 for position in host.placement.filled)


def _slot_notes(layout: Layout, page_type: str, slug: str, device: str) -> dict[str, SlotNote]:
    """Explain's decision for each slot of the page, with the chosen creative's markup."""
    report = explain_page(ExplainQuery(page_type=page_type, slug=slug, device=device,
                                       slots=layout.ad_slots), get_core(), get_ads())
    snapshot = report.snapshot
    notes: dict[str, SlotNote] = {}
    for entry in report.slots:
        code, decision, chosen = entry.slot, entry.decision, entry.chosen
        html = Markup("")
        slot = snapshot.slots.get(code)
        if decision is not None and decision.creative is not None and slot is not None:
            creative = decision.creative
            # drawn at once, lazy or not: the preview runs no script to render it later
            html = slot_html(replace(slot, lazy=False), creative, decision.size or creative.size,
                             Links(click=creative.click_url, impression=None))
        why = ""
        if chosen is not None:
            spec = snapshot.line_items.get(chosen.line_item_id)
            lost = len(entry.considered) - 1
            why = (f"{spec.tier.name.lower()} tier, priority {spec.priority}; " if spec else ""
                   ) + f"{lost} other line item(s) lost"
        notes[code] = SlotNote(code, entry.status, html, chosen, why,
                               bool(decision and decision.house), entry.considered)
    return notes
