"""The editor's one-click changes, each a plain form post (no script needed):

    POST /admin/layouts/<page_type>/move       placement, to (``region:index``), state
    POST /admin/layouts/<page_type>/step       placement, direction (up, down), state
    POST /admin/layouts/<page_type>/remove     placement, state

(each with ``variant``, the section variant whose region holds the placement, if it is one's)
    POST /admin/layouts/<page_type>/variants/add       name, sections, regions, state
    POST /admin/layouts/<page_type>/variants/sections  variant, sections, state
    POST /admin/layouts/<page_type>/variants/remove    variant, state
    POST /admin/layouts/<page_type>/publish    state
    POST /admin/layouts/<page_type>/discard    state
    POST /admin/layouts/<page_type>/restore/<number>

Each goes through ``layouts.store`` with the user's parts of the layout and the draft state the
page was made from. Refused, the editor is shown again with why: 409 when the layout changed
since the page was made (it shows the layout as it is now: make the change again), 403 for a
difference outside the role's part, 422 for a layout that does not validate; each problem as
``layouts check`` prints it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from layoutserver.console.access import current_user, requires
from layoutserver.console.blueprint import blueprint
from layoutserver.console.layouts import anchor, parts, show_editor
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.layouts import editing, store
from layoutserver.layouts.toml_text import loads_document
from layoutserver.services import ServiceError

STALE = ("Someone changed this layout since you opened the page: your change was not made. "
         "The layout below is as it is now; make your change again if it still applies.")
Edit = Callable[[dict[str, Any]], dict[str, Any]]


def _form(name: str) -> str:
    value = request.form.get(name, "").strip()
    if not value:
        abort(400, f"The form has no {name}.")
    return value


def refusal(page_type: str, error: ServiceError) -> ResponseReturnValue:
    """The editor again, saying why ``error`` refused the change."""
    if isinstance(error, store.StaleDraft):
        return show_editor(page_type, 409, message=STALE)
    if isinstance(error, store.NotPermitted):
        return show_editor(page_type, 403, [str(p) for p in error.problems],
                           f"Your role ({current_user().role}) may not make this change: "
                           "nothing was saved.")
    if isinstance(error, store.LayoutInvalid):
        return show_editor(page_type, 422, [str(p) for p in error.problems],
                           "The layout would not be valid: nothing was saved.")
    if isinstance(error, store.NoDraft):
        return show_editor(page_type, 409, message=f"{str(error).capitalize()}.")
    if isinstance(error, store.NoSuchLayout):
        abort(404, f"{str(error).capitalize()}.")
    raise error


def apply(page_type: str, edit: Edit, done: str) -> ResponseReturnValue:
    """Save the draft ``edit`` makes of the draft (or the published version) as it was when
    the page was made; back to the editor, at the placement changed."""
    try:
        with get_database().session() as session:
            row = store.page_layout(session, page_type)
            document = edit(loads_document(store.draft_source(session, row)))
            store.save_draft(session, current_user().actor, page_type, document,
                             get_core().registry, parts=parts(), expected=_form("state"))
    except editing.EditError as error:
        return show_editor(page_type, 409, message=f"Not changed: {error}.")
    except ServiceError as error:
        return refusal(page_type, error)
    flash(done)
    placement = request.form.get("placement", "")
    return redirect(url_for("console.layout_editor", page_type=page_type)
                    + (f"#{anchor(scope(), placement)}" if placement else ""))


def scope() -> str | None:
    """The section variant a form's placement is in (None: the layout's own regions)."""
    return request.form.get("variant") or request.args.get("variant") or None


def destination(text: str) -> tuple[str, int]:
    """``region:index`` (what the move select posts) as (region, index)."""
    region, _, index = text.rpartition(":")
    if not region or not index.isdigit():
        abort(400, f"Not a place in the layout: {text!r} (region:index).")
    return region, int(index)


@blueprint.post("/layouts/<page_type>/move")
@requires("layouts", write=True)
def layout_move(page_type: str) -> ResponseReturnValue:
    placement = _form("placement")
    region, index = destination(_form("to"))
    variant = scope()
    return apply(page_type, lambda doc: editing.move(doc, placement, region, index, variant),
                 f"Moved {placement} to {region}, position {index + 1}.")


@blueprint.post("/layouts/<page_type>/step")
@requires("layouts", write=True)
def layout_step(page_type: str) -> ResponseReturnValue:
    placement = _form("placement")
    direction = _form("direction")
    offset = {"up": -1, "down": 1}.get(direction)
    if offset is None:
        abort(400, "Give a direction: up or down.")
    variant = scope()
    return apply(page_type, lambda doc: editing.step(doc, placement, offset, variant),
                 f"Moved {placement} {direction}.")


@blueprint.post("/layouts/<page_type>/remove")
@requires("layouts", write=True)
def layout_remove(page_type: str) -> ResponseReturnValue:
    placement = _form("placement")
    variant = scope()
    return apply(page_type, lambda doc: editing.remove(doc, placement, variant),
                 f"Removed {placement}.")


def _sections() -> list[str]:
    return [slug.strip() for slug in request.form.get("sections", "").split(",") if slug.strip()]


@blueprint.post("/layouts/<page_type>/variants/add")
@requires("layouts", write=True)
def layout_add_variant(page_type: str) -> ResponseReturnValue:
    """A section variant, its regions copies of the layout's (to be changed from there)."""
    name, sections = _form("name"), _sections()
    replaced = request.form.getlist("regions")
    return apply(page_type, lambda doc: editing.add_variant(doc, name, sections, replaced),
                 f"Added variant {name}: change its regions below.")


@blueprint.post("/layouts/<page_type>/variants/sections")
@requires("layouts", write=True)
def layout_variant_sections(page_type: str) -> ResponseReturnValue:
    name, sections = _form("variant"), _sections()
    return apply(page_type, lambda doc: editing.set_sections(doc, name, sections),
                 f"Variant {name}: sections {', '.join(sections) or '(none)'}.")


@blueprint.post("/layouts/<page_type>/variants/remove")
@requires("layouts", write=True)
def layout_remove_variant(page_type: str) -> ResponseReturnValue:
    name = _form("variant")
    return apply(page_type, lambda doc: editing.remove_variant(doc, name),
                 f"Removed variant {name}.")


@blueprint.post("/layouts/<page_type>/publish")
@requires("layouts", write=True)
def layout_publish(page_type: str) -> ResponseReturnValue:
    try:
        with get_database().session() as session:
            created = store.publish_draft(session, current_user().actor, page_type,
                                          get_core().registry, parts=parts(),
                                          expected=_form("state"))
            number, summary = created.number, created.summary
    except ServiceError as error:
        return refusal(page_type, error)
    flash(f"Published version {number} ({summary}): served within a second.")
    return redirect(url_for("console.layout_editor", page_type=page_type))


@blueprint.post("/layouts/<page_type>/discard")
@requires("layouts", write=True)
def layout_discard(page_type: str) -> ResponseReturnValue:
    try:
        with get_database().session() as session:
            store.discard_draft(session, current_user().actor, page_type, get_core().registry,
                                parts=parts(), expected=_form("state"))
    except ServiceError as error:
        return refusal(page_type, error)
    flash("Discarded the draft.")
    return redirect(url_for("console.layout_editor", page_type=page_type))


@blueprint.post("/layouts/<page_type>/restore/<int:number>")
@requires("layouts", write=True)
def layout_restore(page_type: str, number: int) -> ResponseReturnValue:
    """Roll back: publish a new version equal to version ``number`` (the draft is kept)."""
    try:
        with get_database().session() as session:
            created = store.restore(session, current_user().actor, page_type, number,
                                    get_core().registry, parts=parts())
            new = created.number
    except ServiceError as error:
        return refusal(page_type, error)
    flash(f"Restored version {number} as version {new}: served within a second.")
    return redirect(url_for("console.layout_editor", page_type=page_type))
