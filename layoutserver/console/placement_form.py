"""A placement's form: its id and its widget's options, the form made from the widget's options
schema (``option_fields``).

    GET/POST  /admin/layouts/<page_type>/placements/<id>    change a placement
    GET/POST  /admin/layouts/<page_type>/add?widget=&to=    add one (to: ``region:index``)

(``variant``: the section variant whose regions hold it, if it is one's.) Besides the options,
the form has the placement's id, devices, and the placement it sits inside at which position
(``placement_keys``).

Saved through ``layouts.store.save_draft`` like every change of the editor. A layout that does
not validate is refused with each problem beside the field it names (``options.count``, ``id``)
as ``layouts check`` words it, the others above the form; a form made from a draft that changed
since is refused with 409, what was typed kept and the form now made from the layout as it is
(saving again applies it there). Nothing typed is lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from layoutserver.console.access import current_user, may, requires
from layoutserver.console.blueprint import blueprint
from layoutserver.console.forms import FORM_ERRORS, Errors, Field, FormState, field_errors
from layoutserver.console.layout_actions import destination, scope
from layoutserver.console.layouts import anchor, destinations, parts
from layoutserver.console.option_fields import (
    OptionField,
    option_fields,
    posted_options,
    read_options,
    shown_options,
)
from layoutserver.console.placement_keys import key_fields, posted_keys, shown_keys, with_keys
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.layouts import editing, store
from layoutserver.layouts.edit_rights import part_of
from layoutserver.layouts.problems import LayoutProblem
from layoutserver.layouts.toml_text import loads_document
from layoutserver.registry import InstalledWidget
from layoutserver.services import ServiceError

ID_FIELD = Field("id", "Placement id", help="Unique in the layout: lower-case letters, digits, "
                 "- and _. It names the placement in the page's markup, in its cache entries "
                 "and in the version history.", group="Placement")
NEW_ID_HELP = " Leave it empty for the widget's name (numbered when taken)."


@dataclass
class Draft:
    """The draft (or the published version) as it is now, every placement's id written."""

    page_type: str
    state: str = ""
    document: dict[str, Any] = field(default_factory=dict)

    def load(self) -> Draft:
        try:
            with get_database().session() as session:
                row = store.page_layout(session, self.page_type)
                self.state = store.draft_state(row)
                self.document = editing.with_ids(loads_document(
                    store.draft_source(session, row)))
        except store.NoSuchLayout as error:
            abort(404, f"{str(error).capitalize()}.")
        return self


@dataclass
class Page:
    """One placement form as the template shows it."""

    draft: Draft
    installed: InstalledWidget
    specs: list[OptionField]
    placement: str | None
    """The id of the placement changed; None when adding one."""
    variant: str | None
    fields: list[Field]
    to: str = ""
    """Adding: where (``region:index``)."""


def _installed(name: str) -> InstalledWidget:
    installed = get_core().registry.get(name)
    if installed is None:
        abort(409, f"Widget {name!r} is not installed: its options cannot be edited here. "
                   "Remove its placement, or install the widget.")
    return installed


def _page(draft: Draft, installed: InstalledWidget, placement: str | None,
          variant: str | None) -> Page:
    specs = option_fields(installed.widget.options_schema())
    id_field = ID_FIELD if placement else Field(
        ID_FIELD.name, ID_FIELD.label, help=ID_FIELD.help + NEW_ID_HELP, group="Placement")
    placing = [] if placement else [Field(
        "to", "Where", kind="select", group="Placement",
        choices=lambda: destinations(draft.document, None, variant))]
    keys = key_fields(draft.document, variant, get_core().registry, placement)
    return Page(draft, installed, specs, placement, variant,
                [*placing, id_field, *keys, *(spec.field for spec in specs)])


@blueprint.route("/layouts/<page_type>/placements/<placement_id>", methods=["GET", "POST"])
@requires("layouts")
def layout_placement(page_type: str, placement_id: str) -> ResponseReturnValue:
    if request.method == "POST" and not may("layouts", write=True):
        abort(403, f"Your role ({current_user().role}) may not change layouts.")
    draft = Draft(page_type).load()
    variant = scope()
    try:
        _, table = editing.find(draft.document, placement_id, variant)
    except editing.EditError as error:
        abort(404, f"{str(error).capitalize()}: it may have been removed or renamed since.")
    page = _page(draft, _installed(str(table["widget"])), placement_id, variant)
    stored = table.get("options") or {}
    if request.method == "GET":
        return _show(page, {"id": placement_id, **shown_keys(table),
                            **shown_options(page.specs, stored)},
                     writable=part_of(table, get_core().registry.places_ads) in parts())
    options, errors = read_options(page.specs, request.form, stored)
    new_id = request.form.get("id", "").strip() or placement_id
    changed = {**with_keys(table, request.form), "id": new_id, "options": options}
    if not options:
        del changed["options"]
    if errors:
        return _refused(page, errors, 422)
    try:
        document = editing.replace(draft.document, placement_id, changed, variant)
    except editing.EditError as error:
        return _refused(page, {"id": [f"{str(error).capitalize()}."]}, 422)
    spot, _ = editing.find(document, new_id, variant)
    return _save(page, document, spot, f"Saved {new_id}.", new_id)


@blueprint.route("/layouts/<page_type>/add", methods=["GET", "POST"])
@requires("layouts", write=True)
def layout_add(page_type: str) -> ResponseReturnValue:
    draft = Draft(page_type).load()
    widget = request.values.get("widget", "")
    installed = _installed(widget)
    if ("ads" if installed.places_ads else "content") not in parts():
        kind = "an ad widget" if installed.places_ads else "a content widget"
        abort(403, f"Your role ({current_user().role}) may not place {kind} ({widget}).")
    variant = scope()
    page = _page(draft, installed, None, variant)
    page.to = request.values.get("to", "") or destinations(draft.document, None, variant)[-1][0]
    if request.method == "GET":
        return _show(page, {"to": page.to, "id": "", **shown_keys({}),
                            **shown_options(page.specs, {})})
    options, errors = read_options(page.specs, request.form, {})
    region, index = destination(page.to)
    new = with_keys({"widget": widget, **({"id": request.form["id"].strip()}
                                          if request.form.get("id", "").strip() else {})},
                    request.form)
    if options:
        new["options"] = options
    if errors:
        return _refused(page, errors, 422)
    try:
        document = editing.add(draft.document, region, new, index, variant)
    except editing.EditError as error:
        return _refused(page, {"id" if error.key == "id" else "to": [
            f"{str(error).capitalize()}."]}, 422)
    added = str(editing.at(document, region, index, variant)["id"])
    spot, _ = editing.find(document, added, variant)
    return _save(page, document, spot, f"Added {added} ({widget}) to {region}.", added)


def _save(page: Page, document: dict[str, Any], spot: editing.Spot, done: str,
          placement_id: str) -> ResponseReturnValue:
    draft = page.draft
    try:
        with get_database().session() as session:
            store.save_draft(session, current_user().actor, draft.page_type, document,
                             get_core().registry, parts=parts(),
                             expected=request.form.get("state", ""))
    except store.StaleDraft:
        return _refused(page, {FORM_ERRORS: [STALE_FORM]}, 409, state=draft.state)
    except (store.LayoutInvalid, store.NotPermitted) as error:
        status = 403 if isinstance(error, store.NotPermitted) else 422
        return _refused(page, problem_errors(page.fields, error.problems, spot), status)
    except ServiceError as error:
        return _refused(page, {FORM_ERRORS: [f"{str(error).capitalize()}."]}, 409)
    flash(done)
    return redirect(url_for("console.layout_editor", page_type=draft.page_type)
                    + f"#{anchor(page.variant, placement_id)}")


STALE_FORM = ("Someone changed this layout since you opened the form: nothing was saved. What "
              "you typed is below; saving again applies it to the layout as it is now.")


def problem_errors(fields: Sequence[Field], problems: Sequence[LayoutProblem],
                   spot: editing.Spot) -> Errors:
    """Each problem beside the field it names when it is about this placement (at ``spot``),
    its words as ``layouts check`` prints them; any other above the form, whole."""
    errors: Errors = {}
    label = f"#{spot.index + 1} "
    for problem in problems:
        here = ((problem.variant, problem.region) == (spot.variant, spot.region)
                and (problem.placement or "").startswith(label))
        if here and problem.field:
            for name, messages in field_errors(fields, {problem.field: [problem.message]}
                                               ).items():
                errors.setdefault(name, []).extend(messages)
        else:
            errors.setdefault(FORM_ERRORS, []).append(str(problem))
    return errors


def _refused(page: Page, errors: Errors, status: int, state: str | None = None
             ) -> ResponseReturnValue:
    values = {"id": request.form.get("id", ""), "to": request.form.get("to", ""),
              **posted_keys(request.form), **posted_options(page.specs, request.form)}
    return _show(page, values, errors, status, request.form.get("state", "") if state is None
                 else state)


def _show(page: Page, values: Mapping[str, Any], errors: Errors | None = None,
          status: int = 200, state: str | None = None, writable: bool = True
          ) -> ResponseReturnValue:
    form = FormState(page.fields, dict(values), errors or {}, creating=page.placement is None,
                     seen=page.draft.state if state is None else state)
    html = render_template("console/placement_form.html", page=page, form=form,
                           writable=writable and may("layouts", write=True))
    return html if status == 200 else (html, status)
