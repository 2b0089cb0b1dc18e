"""Layouts in the console: every page type's layout, and its editor.

    GET  /admin/layouts                  each page type: published version, draft, problems
    GET  /admin/layouts/<page_type>      the editor: the draft (or, without one, the published
                                         version to start one from) region by region, each
                                         placement with its problems and the buttons of what
                                         the role may change; preview, publish, discard; the
                                         version history, each version restorable

The changes are posted to ``layout_actions`` (move, remove, publish, restore...) and
``placement_form`` (a placement's options); every one goes through ``layouts.store``, the API's
service: validated as ``layouts check`` validates a file, refused outside the role's part of
the layout (``layouts.edit_rights``), made from the draft state the page was made from (a
stale page is refused with 409: nothing is lost, the page shows the layout as it is now), and
audited with the user as actor.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from layoutserver.auth.roles import layout_parts
from layoutserver.console.access import current_user, may, requires
from layoutserver.console.blueprint import blueprint
from layoutserver.console.preview import suggestions
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.keyset import BadCursor, Window
from layoutserver.layouts import editing, store
from layoutserver.layouts.edit_rights import NOUNS, Part, part_of
from layoutserver.layouts.editing import Spot
from layoutserver.layouts.loader import compile_layout
from layoutserver.layouts.models import LayoutVersion, PageLayout
from layoutserver.layouts.problems import LayoutProblem
from layoutserver.layouts.toml_text import dump_layout, loads_document
from layoutserver.registry import WidgetRegistry

HISTORY_SIZE = 20
_POSITION = re.compile(r"^#(\d+)\b")


@dataclass(frozen=True)
class Card:
    """One placement as the editor shows it."""

    id: str
    widget: str
    variant: str | None
    """The section variant whose region holds it; None: the layout's own regions."""
    region: str
    index: int
    part: Part
    changeable: bool
    """Whether the signed-in role may change it (its part of the layout)."""
    options: str
    """Its options in one line, as the layout file writes them."""
    extra: str
    """Its other keys (besides widget, id and options), in one line."""
    problems: list[str] = field(default_factory=list)
    description: str = ""

    @property
    def anchor(self) -> str:
        return anchor(self.variant, self.id)


def anchor(variant: str | None, placement_id: str) -> str:
    """The editor page's id of a placement's card (ids repeat across variants)."""
    return f"p-{variant}--{placement_id}" if variant else f"p-{placement_id}"


@dataclass(frozen=True)
class RegionView:
    name: str
    element: str
    label: str
    cards: list[Card]


@dataclass(frozen=True)
class ScopeView:
    """The layout's own regions (``variant`` None), or a section variant's."""

    variant: str | None
    sections: list[str]
    regions: list[RegionView]


@dataclass(frozen=True)
class VersionView:
    number: int
    created_by: str
    created_at: str
    origin: str
    restored_from: int | None
    summary: str
    published: bool


@dataclass
class Editor:
    """Everything the editor page shows of one page type's layout."""

    page_type: str
    title: str
    state: str
    """The draft state the page's forms are made from (``store.draft_state``)."""
    published: int
    has_draft: bool
    draft_by: str | None
    draft_at: str | None
    draft_base: int | None
    pending_since: str | None
    document: dict[str, Any]
    scopes: list[ScopeView]
    problems: list[str]
    """Problems no placement claims."""
    parts: frozenset[Part]
    widgets: list[tuple[str, str]]
    """(name, description) of the widgets the role may add."""
    versions: list[VersionView]
    older: str | None
    """The cursor of the next page of the history."""

    def destinations(self, card: Card) -> list[tuple[str, str]]:
        """Where ``card`` may be moved (within its scope)."""
        return destinations(self.document, card.id, card.variant)


def destinations(document: Mapping[str, Any], moving: str | None = None,
                 variant: str | None = None) -> list[tuple[str, str]]:
    """(``region:index``, label) of every place a placement of the scope can go (``moving``:
    once it is taken out), as a move or add form's select offers them."""
    return [(f"{region}:{index}", f"{region}: at the top" if after is None
             else f"{region}: after {after}")
            for region, index, after in editing.places(document, moving, variant)]


def parts() -> frozenset[Part]:
    """The parts of a layout the signed-in user may change."""
    return layout_parts(current_user().role)


def site_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(get_core().timezone).strftime("%Y-%m-%d %H:%M")


def placement_problems(page_type: str, text: str, registry: WidgetRegistry, where: str
                       ) -> list[LayoutProblem]:
    """Every problem of a layout's text, as ``layouts check`` finds them in a file."""
    found: list[LayoutProblem] = []
    compile_layout(page_type, text, registry, found, where=where, source=Path(where))
    return found


Where = tuple[str | None, str, int]
"""A placement's variant, region and index."""


def problem_spot(problem: LayoutProblem) -> Where | None:
    """(variant, region, index) of the placement a problem names (``#3 (...)``: the third)."""
    found = _POSITION.match(problem.placement or "")
    if found is None or problem.region is None:
        return None
    return problem.variant, problem.region, int(found.group(1)) - 1


def shown_problem(problem: LayoutProblem) -> str:
    """A problem beside its placement: its field and message."""
    return f"{problem.field}: {problem.message}" if problem.field else problem.message


def load_editor(session: Session, page_type: str, history_after: str | None = None) -> Editor:
    """The editor of ``page_type`` (``store.NoSuchLayout`` when there is none)."""
    row = store.page_layout(session, page_type)
    registry = get_core().registry
    text = store.draft_source(session, row)
    document = editing.with_ids(loads_document(text))
    allowed = parts()
    problems = placement_problems(page_type, text, registry, store.version_name(
        page_type, None if row.draft_source is not None else row.published))
    claimed: dict[Where, list[str]] = {}
    unclaimed: list[str] = []
    for problem in problems:
        spot = problem_spot(problem)
        if spot is None:
            unclaimed.append(str(problem))
        else:
            claimed.setdefault(spot, []).append(shown_problem(problem))
    scopes = [ScopeView(variant, _sections(document, variant), [RegionView(
        str(region.get("name", "")), str(region.get("element", "")),
        str(region.get("label", "")),
        [_card(registry, Spot(variant, str(region.get("name", "")), number, index), table,
               allowed, claimed)
         for index, table in enumerate(editing.placements_of(region))])
        for number, region in enumerate(editing.regions(document, variant))])
        for variant in editing.scopes(document)]
    versions = store.history(session, page_type, Window(HISTORY_SIZE, after=history_after))
    return Editor(
        page_type=page_type, title=str(document.get("title", page_type.title())),
        state=store.draft_state(row), published=row.published,
        has_draft=row.draft_source is not None, draft_by=row.draft_by,
        draft_at=site_time(row.draft_at), draft_base=row.draft_base,
        pending_since=site_time(row.pending_since), document=document, scopes=scopes,
        problems=unclaimed, parts=allowed, widgets=addable(registry, allowed),
        versions=[_version(v, row.published) for v in versions.items],
        older=versions.cursors[-1] if versions.more else None)


def _sections(document: Mapping[str, Any], variant: str | None) -> list[str]:
    table = next((v for v in editing.variants(document) if v.get("name") == variant), {})
    sections = table.get("sections")
    return [str(slug) for slug in sections] if isinstance(sections, list) else []


def _card(registry: WidgetRegistry, spot: Spot, table: Mapping[str, Any],
          allowed: frozenset[Part], claimed: Mapping[Where, list[str]]) -> Card:
    widget = str(table.get("widget", ""))
    part = part_of(table, registry.places_ads)
    problems = list(claimed.get((spot.variant, spot.region, spot.index), []))
    failure = registry.failure(widget)
    if failure is not None:
        problems.append(f"widget {widget!r} failed to load ({failure.error}): it renders empty")
    elif widget in registry.disabled:
        problems.append(f"widget {widget!r} is disabled (WIDGETS_DISABLED): it renders empty")
    installed = registry.get(widget)
    options = table.get("options")
    return Card(
        id=str(table.get("id", "")), widget=widget, variant=spot.variant, region=spot.region,
        index=spot.index, part=part, changeable=part in allowed,
        options=one_line(options) if isinstance(options, dict) else "",
        extra=one_line({k: v for k, v in table.items()
                        if k not in ("widget", "id", "options")}),
        problems=problems,
        description=installed.widget.description if installed is not None else "")


def one_line(values: Mapping[str, Any]) -> str:
    """``count = 4, heading = "Latest news"``: a table's keys as its layout file writes them."""
    return ", ".join(dump_layout({key: value}).strip().replace("\n", " ")
                     for key, value in values.items())


def addable(registry: WidgetRegistry, allowed: frozenset[Part]) -> list[tuple[str, str]]:
    """(name, description) of the installed widgets whose placements ``allowed`` covers."""
    return [(installed.name, installed.widget.description) for installed in registry
            if ("ads" if installed.places_ads else "content") in allowed]


def _version(row: LayoutVersion, published: int) -> VersionView:
    return VersionView(row.number, row.created_by, site_time(row.created_at) or "", row.origin,
                       row.restored_from, row.summary, row.number == published)


@dataclass(frozen=True)
class Listed:
    page_type: str
    title: str
    published: int | None
    has_draft: bool
    draft_by: str | None
    pending: bool
    problems: list[str]


@blueprint.get("/layouts")
@requires("layouts")
def layouts() -> str:
    core = get_core()
    with get_database().session() as session:
        rows: dict[str, PageLayout] = {row.page_type: row for row in store.page_layouts(session)}
        listed = [Listed(
            layout.page_type, layout.title,
            rows[layout.page_type].published if layout.page_type in rows else None,
            layout.page_type in rows and rows[layout.page_type].draft_source is not None,
            rows[layout.page_type].draft_by if layout.page_type in rows else None,
            layout.page_type in rows and rows[layout.page_type].pending_since is not None,
            [str(p) for p in core.layout_source.problems.get(layout.page_type, [])] + [
                f"placement {p.id}: widget {p.widget!r} is not available; it renders empty"
                for p in layout.placements() if not p.available])
            for layout in core.layouts]
    changes = " and ".join(NOUNS[part] for part in sorted(parts()))
    return render_template("console/layouts.html", listed=listed, changes=changes)


@blueprint.get("/layouts/<page_type>")
@requires("layouts")
def layout_editor(page_type: str) -> ResponseReturnValue:
    return show_editor(page_type)


def show_editor(page_type: str, status: int = 200, refused: Sequence[str] = (),
                message: str = "") -> ResponseReturnValue:
    """The editor page; after a refused change, with ``message`` and the ``refused`` problems
    above it, answered ``status``."""
    try:
        with get_database().session() as session:
            view = load_editor(session, page_type, request.args.get("after") or None)
    except store.NoSuchLayout as error:
        abort(404, f"{str(error).capitalize()}.")
    except BadCursor as error:
        abort(400, f"{error} Start again from the newest version.")
    html = render_template("console/layout_editor.html", editor=view,
                           writable=may("layouts", True), suggestions=suggestions(),
                           refused=refused, message=message)
    return html if status == 200 else (html, status)
