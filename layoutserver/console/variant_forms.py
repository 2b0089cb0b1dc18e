"""The editor's forms of section variants, each a plain form post:

    POST /admin/layouts/<page_type>/variants/add     name, sections, regions, state
    POST /admin/layouts/<page_type>/variants/change  variant, sections, regions, state
    POST /admin/layouts/<page_type>/variants/remove  variant, state

``sections`` is comma-separated slugs; ``regions`` (checkboxes) the layout's regions the
variant replaces. A region newly replaced starts as a copy of the layout's own, one no longer
replaced is dropped with its placements (``layouts.editing.change_variant``).

Saved through ``layouts.store`` like every change of the editor, with the user's parts of the
layout: a variant's name, sections and regions are the publisher's part, and a region copied
in or dropped that holds ad placements adds or removes ad placements too. A refused form is
shown again in the editor with what was typed and each problem beside the field it concerns
(the name, the sections, the regions), in the words of ``layouts check``; one made from a
layout changed since is refused with 409, what was typed kept in the form now made from the
layout as it is (saving it again applies it there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from layoutserver.console.access import current_user, requires
from layoutserver.console.blueprint import blueprint
from layoutserver.console.forms import FORM_ERRORS, Errors
from layoutserver.console.layout_actions import (
    STALE,
    Edit,
    apply,
    refusal,
    required,
    save_edit,
)
from layoutserver.console.layouts import show_editor
from layoutserver.layouts import editing, store
from layoutserver.layouts.problems import LayoutProblem
from layoutserver.services import ServiceError

FIELDS = ("name", "sections", "regions")
NOT_SAVED = "Nothing was saved: see the messages beside the variant's fields."


@dataclass(frozen=True)
class VariantForm:
    """A variant form as it was posted, with each problem beside its field (``FIELDS``, or
    ``FORM_ERRORS`` for the form as a whole)."""

    variant: str | None
    """The variant changed; None: the form adding one."""
    name: str
    sections: str
    """As typed."""
    regions: list[str]
    errors: Errors = field(default_factory=dict)

    @property
    def html_id(self) -> str:
        """The id of the form's card on the editor page."""
        return f"v-{self.variant}" if self.variant else "add-variant"


def _posted(variant: str | None) -> VariantForm:
    name = variant or request.form.get("name", "").strip()
    return VariantForm(variant, name, request.form.get("sections", "").strip(),
                       request.form.getlist("regions"))


def _slugs(text: str) -> list[str]:
    return [slug.strip() for slug in text.split(",") if slug.strip()]


def beside_fields(name: str, problems: Sequence[LayoutProblem]) -> tuple[Errors, list[str]]:
    """The problems of variant ``name`` by the field they concern, and every other problem's
    whole line (a problem elsewhere in the layout: shown above the editor)."""
    errors: Errors = {}
    elsewhere: list[str] = []
    for problem in problems:
        if problem.variant != name:
            elsewhere.append(str(problem))
        elif problem.region is None and problem.field in ("name", "sections"):
            errors.setdefault(problem.field, []).append(problem.message)
        elif problem.region is not None or problem.field == "regions":
            errors.setdefault("regions", []).append(problem.inner())
        else:
            errors.setdefault(FORM_ERRORS, []).append(problem.inner())
    return errors, elsewhere


def _save(page_type: str, form: VariantForm, edit: Edit, done: str) -> ResponseReturnValue:
    try:
        save_edit(page_type, edit)
    except editing.EditError as error:
        key = error.key if error.key in FIELDS else FORM_ERRORS
        return _refused(page_type, form, {key: [f"{str(error).capitalize()}."]}, [], 422)
    except store.StaleDraft:
        return show_editor(page_type, 409, message=STALE, variant_form=form)
    except (store.LayoutInvalid, store.NotPermitted) as error:
        errors, elsewhere = beside_fields(form.name, error.problems)
        if isinstance(error, store.NotPermitted):
            return _refused(page_type, form, errors, elsewhere, 403,
                            f"Your role ({current_user().role}) may not make this change: "
                            "nothing was saved.")
        return _refused(page_type, form, errors, elsewhere, 422)
    except ServiceError as error:
        return refusal(page_type, error)
    flash(done)
    return redirect(url_for("console.layout_editor", page_type=page_type) + f"#v-{form.name}")


def _refused(page_type: str, form: VariantForm, errors: Errors, elsewhere: list[str],
             status: int, message: str = NOT_SAVED) -> ResponseReturnValue:
    shown = VariantForm(form.variant, form.name, form.sections, form.regions, errors)
    return show_editor(page_type, status, elsewhere, message, variant_form=shown)


@blueprint.post("/layouts/<page_type>/variants/add")
@requires("layouts", write=True)
def layout_add_variant(page_type: str) -> ResponseReturnValue:
    """A section variant, its regions copies of the layout's (to be changed from there)."""
    form = _posted(None)
    return _save(page_type, form, lambda doc: editing.add_variant(
        doc, form.name, _slugs(form.sections), form.regions),
        f"Added variant {form.name}: change its regions below.")


@blueprint.post("/layouts/<page_type>/variants/change")
@requires("layouts", write=True)
def layout_change_variant(page_type: str) -> ResponseReturnValue:
    """A variant's sections and the regions it replaces."""
    variant = required("variant")
    form = _posted(variant)
    return _save(page_type, form, lambda doc: editing.change_variant(
        doc, variant, _slugs(form.sections), form.regions),
        f"Variant {variant}: sections {', '.join(_slugs(form.sections))}; replaces "
        f"{', '.join(form.regions)}.")


@blueprint.post("/layouts/<page_type>/variants/remove")
@requires("layouts", write=True)
def layout_remove_variant(page_type: str) -> ResponseReturnValue:
    name = required("variant")
    return apply(page_type, lambda doc: editing.remove_variant(doc, name),
                 f"Removed variant {name}.")
