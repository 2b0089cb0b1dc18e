"""List, create, edit, delete and one-click changes of every resource, through its service.

Routes (``<path>`` is the resource's: ``slots``, ``line-items``, ``articles``...):

    GET       /admin/<path>                    the list (filters from the query string)
    GET/POST  /admin/<path>/new                create
    GET/POST  /admin/<path>/edit/<key>         edit
    POST      /admin/<path>/delete/<key>       delete
    POST      /admin/<path>/set/<key>          one of the resource's actions (pause, enable...)

A refused change (the service's ``Invalid`` or ``Conflict``) shows the form again, with what
was typed and each message beside its field, answered 422 (409 for a conflict).
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import missing
from werkzeug.wrappers import Response

from layoutserver.console.access import current_user, may
from layoutserver.console.blueprint import blueprint
from layoutserver.console.extras import extra_context
from layoutserver.console.forms import (
    FORM_ERRORS,
    FormState,
    field_errors,
    form_values,
    posted_values,
    read_form,
)
from layoutserver.console.home import COUNT_AT_MOST, shown_count
from layoutserver.console.resources import RESOURCES_BY_PATH, Resource
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.keyset import BadCursor, Window
from layoutserver.services import Conflict, Invalid, NotFound

PAGE_SIZE = 50
SEEN_FIELD = "_seen"
STALE = ("Someone changed this since you opened the page: nothing was saved. Your changes are "
         "below; the page's side panels show what is stored now. Saving again replaces their "
         "change with yours.")


def _resource(path: str, write: bool = False) -> Resource:
    resource = RESOURCES_BY_PATH.get(path)
    if resource is None:
        abort(404, f"There is no {path!r} in the console.")
    if not may(resource.area, write):
        what = "change" if write else "see"
        abort(403, f"Your role ({current_user().role}) may not {what} {resource.title.lower()}.")
    return resource


@blueprint.get("/<path>")
def listing(path: str) -> str:
    """A page of the list by keyset, like the API's: ``?after=`` the cursor of the row before
    it, so the last page of an archive costs what the first does."""
    resource = _resource(path)
    after = request.args.get("after") or None
    filters = {name: _filter_value(request.args[name]) for name in resource.filters
               if request.args.get(name)}
    try:
        with get_database().session() as session:
            page = resource.list_items(session, Window(PAGE_SIZE, after=after), filters)
            if resource.add_columns is not None and page.items:
                resource.add_columns(session, page.items)
            total = None if filters else shown_count(resource.count(session,
                                                                    COUNT_AT_MOST + 1))
    except BadCursor as error:
        abort(400, f"{error} Start again from the list's first page.")
    following = page.cursors[-1] if page.more else None
    return render_template("console/list.html", resource=resource, rows=page.items,
                           total=total, after=after, following=following, filters=filters)


def _filter_value(text: str) -> Any:
    return {"true": True, "false": False}.get(text, text)


@blueprint.route("/<path>/new", methods=["GET", "POST"])
def create(path: str) -> ResponseReturnValue:
    resource = _resource(path, write=True)
    timezone = get_core().timezone
    if request.method == "GET":
        values = form_values(resource.fields, _defaults(resource), timezone)
        values.update(_prefilled(resource))
        return _form(resource, FormState(resource.fields, values, creating=True))
    data, errors = read_form(resource.fields, request.form, timezone, creating=True)
    if not errors:
        try:
            with get_database().session() as session:
                created = resource.create(session, current_user().actor, data)
        except (Invalid, Conflict) as error:
            errors = field_errors(resource.fields, getattr(error, "messages", {}))
            if isinstance(error, Conflict) and not errors:
                errors = {FORM_ERRORS: [str(error)]}
            status = 409 if isinstance(error, Conflict) else 422
            return _form(resource, _refused(resource, errors, True), status)
        flash(f"Created {resource.noun} {created[resource.key]}.")
        return redirect(url_for("console.edit", path=path, key=created[resource.key]))
    return _form(resource, _refused(resource, errors, True), 422)


@blueprint.route("/<path>/edit/<path:key>", methods=["GET", "POST"])
def edit(path: str, key: str) -> ResponseReturnValue:
    resource = _resource(path, write=request.method == "POST")
    timezone = get_core().timezone
    if request.method == "GET":
        try:
            with get_database().session() as session:
                shown = resource.get(session, key)
        except NotFound as error:
            abort(404, str(error))
        state = FormState(resource.fields, form_values(resource.fields, shown, timezone),
                          creating=False, seen=fingerprint(shown))
        return _form(resource, state, 200, key, shown)
    data, errors = read_form(resource.fields, request.form, timezone, creating=False)
    seen, status = request.form.get(SEEN_FIELD, ""), 422
    current: dict[str, Any] | None = None
    try:
        with get_database().session() as session:
            current = resource.get(session, key)
            if seen and seen != fingerprint(current):
                errors, seen, status = {FORM_ERRORS: [STALE]}, fingerprint(current), 409
            elif not errors:
                resource.update(session, current_user().actor, key, data)
                flash(f"Saved {resource.noun} {key}.")
                return redirect(url_for("console.edit", path=path, key=key))
    except NotFound as error:
        abort(404, str(error))
    except (Invalid, Conflict) as error:
        errors = field_errors(resource.fields, getattr(error, "messages", {}))
        errors = errors or {FORM_ERRORS: [str(error)]}
    state = _refused(resource, errors, False)
    state.seen = seen
    return _form(resource, state, status, key, current)


def fingerprint(shown: dict[str, Any]) -> str:
    """A short digest of a resource as the service shows it: the form carries the one it was
    made from, so a save over someone else's change since is caught (the API's ETag)."""
    text = json.dumps(shown, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def _refused(resource: Resource, errors: dict[str, list[str]], creating: bool) -> FormState:
    return FormState(resource.fields, posted_values(resource.fields, request.form), errors,
                     creating=creating)


def _form(resource: Resource, state: FormState, status: int = 200, key: str | None = None,
          shown: dict[str, Any] | None = None) -> ResponseReturnValue:
    context = extra_context(resource, key, shown) if key is not None else {}
    html = render_template("console/form.html", resource=resource, form=state, key=key,
                           shown=shown, writable=may(resource.area, True), **context)
    return html if status == 200 else (html, status)


def _prefilled(resource: Resource) -> dict[str, Any]:
    """Values a link to the new form gives in its query string (``?campaign=Spring``), as the
    form shows them."""
    return {spec.name: (request.args.getlist(spec.name) if spec.kind == "multi"
                        else request.args[spec.name])
            for spec in resource.fields if spec.name in request.args}


def _defaults(resource: Resource) -> dict[str, Any]:
    """What a new resource's form starts with: the schema's defaults; a line item in the
    standard tier (not sponsorship, the tier that beats every other: a hurried save must not
    launch one), its flight from the start of the site's today for 30 days; an article
    published now. A select with a prompt (a line item's campaign) starts on no choice."""
    schema = resource.service().input_schema(resource.kind)
    defaults: dict[str, Any] = {"enabled": True}
    for name, spec in schema.fields.items():
        default = spec.load_default() if callable(spec.load_default) else spec.load_default
        if default is not missing:
            defaults[name] = default
    now = get_core().site_view().now
    if resource.kind == "line_item":
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        defaults["tier"] = "standard"
        defaults["start"] = today.isoformat()
        defaults["end"] = (today + timedelta(days=30)).isoformat()
    if resource.kind == "article":
        defaults["published_at"] = now.isoformat()
    return defaults


@blueprint.post("/<path>/delete/<path:key>")
def delete(path: str, key: str) -> Response:
    resource = _resource(path, write=True)
    try:
        with get_database().session() as session:
            resource.delete(session, current_user().actor, key)
    except NotFound as error:
        abort(404, str(error))
    except Conflict as error:
        flash(f"Not deleted: {error}.", "error")
        return redirect(url_for("console.edit", path=path, key=key))
    flash(f"Deleted {resource.noun} {key}.")
    return redirect(url_for("console.listing", path=path))


@blueprint.post("/<path>/set/<path:key>")
def act(path: str, key: str) -> Response:
    resource = _resource(path, write=True)
    label = request.form.get("action", "")
    action = next((a for a in resource.actions if a.label == label), None)
    if action is None:
        abort(400, f"{resource.title} have no action {label!r}.")
    try:
        with get_database().session() as session:
            resource.update(session, current_user().actor, key, {action.field: action.value})
    except NotFound as error:
        abort(404, str(error))
    except Invalid as error:
        flash(f"Not changed: {error}", "error")
    else:
        flash(f"{resource.noun.capitalize()} {key}: {label.lower()}d.")
    back = request.form.get("back", "")
    if back.startswith(url_for("console.home")) and "//" not in back:
        return redirect(back)
    return redirect(url_for("console.edit", path=path, key=key))


