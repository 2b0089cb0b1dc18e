"""``/api/v1/layouts``: page layouts as versioned data (``layoutserver.layouts.store``).

Reading takes any role; changing a draft, publishing and restoring take a role that may change
a part of a layout (``auth.roles.layout_parts``): ``adops`` its ad placements, ``publisher``
the rest, ``admin`` both. A change outside the role's part is refused with 403 and each
difference located as a problem is. The draft carries an ETag: PUT and DELETE need it as
``If-Match`` (428 without one, 412 on a stale one), and a publish that sends one is refused
(412) when the draft changed since. A layout that does not validate is refused with 422 and
every problem, located as ``layoutserver layouts check`` locates a file's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields
from sqlalchemy.orm import Session

from layoutserver.api import paging, schemas
from layoutserver.api.auth import principal, require
from layoutserver.auth.roles import layout_parts
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.layouts import store
from layoutserver.layouts.edit_rights import Part
from layoutserver.layouts.models import LayoutVersion, PageLayout
from layoutserver.layouts.problems import LayoutProblem
from layoutserver.layouts.toml_text import loads_document
from layoutserver.validation import notes, rule

blp = Blueprint("layouts", __name__, url_prefix="/layouts",
                description="Page layouts: published versions, a draft each, the history.")


class LayoutSummary(schemas.Layout):
    published_version = fields.Integer(allow_none=True, metadata={
        "description": "The version served (null: the layout is served from its file, the "
                       "database not being seeded yet)."})
    draft = fields.Boolean(metadata={"description": "Whether there is a draft."})
    pending_file_since = fields.AwareDateTime(format="iso", allow_none=True, metadata={
        "description": "When a deployed file was held back because a newer version had been "
                       "published at runtime (docs/layouts.md, 'Deploys'); null: none."})
    problems = fields.List(fields.String(), metadata={
        "description": "Why the published version is not served as it is (a widget no longer "
                       "installed renders empty)."})


class Version(Schema):
    page_type = fields.String()
    number = fields.Integer()
    origin = fields.String(metadata={"enum": ["file", "import", "draft", "restore"]})
    restored_from = fields.Integer(allow_none=True)
    created_by = fields.String()
    created_at = fields.AwareDateTime(format="iso")
    summary = fields.String()
    digest = fields.String()
    published = fields.Boolean(metadata={"description": "Whether it is the one served."})


class VersionWithDocument(Version):
    document = fields.Dict(metadata={"description": "The layout, as its TOML file holds it."})


class Draft(Schema):
    page_type = fields.String()
    exists = fields.Boolean(metadata={
        "description": "False: there is no draft; ``document`` is the published version, the "
                       "starting point of one."})
    base_version = fields.Integer(allow_none=True, metadata={
        "description": "The version published when the draft was started."})
    published_version = fields.Integer()
    revision = fields.Integer()
    document = fields.Dict()
    updated_by = fields.String(allow_none=True)
    updated_at = fields.AwareDateTime(format="iso", allow_none=True)
    pending_file = fields.Dict(allow_none=True, metadata={
        "description": "A deployed file held back by a newer runtime version (null: none)."})


class DraftBody(Schema):
    document = fields.Dict(required=True, metadata=notes(rule(
        "It must validate as `layoutserver layouts check` validates a layout file (widgets "
        "installed, options by each widget's schema, no null): 422 lists every problem."),
        description="The layout in the JSON form of its TOML file: subject, title, regions "
                    "(name, element, label, placements: widget, id, options)."))


@contextmanager
def _session() -> Iterator[Session]:
    """A transaction whose store errors become HTTP errors: 404, 409, 422 with each problem."""
    try:
        with get_database().session() as session:
            yield session
    except store.NoSuchLayout as error:
        abort(404, message=str(error))
    except store.NoDraft as error:
        abort(409, message=str(error))
    except store.LayoutInvalid as error:
        abort(422, message=f"The layout is invalid: {len(error.problems)} problem(s).",
              errors={"json": {"document": [_problem(p) for p in error.problems]}})
    except store.NotPermitted as error:
        abort(403, message=f"Role {principal().role!r} may not make this change: "
                           f"{len(error.problems)} difference(s) outside its part of the layout.",
              errors={"json": {"document": [_problem(p) for p in error.problems]}})


def _parts() -> frozenset[Part]:
    """The parts of a layout the request's role may change."""
    return layout_parts(principal().role)


def _problem(problem: LayoutProblem) -> dict[str, Any]:
    """One problem: where (variant, region, placement, field), what, and the line ``layouts check``
    prints."""
    return {"variant": problem.variant, "region": problem.region,
            "placement": problem.placement, "field": problem.field,
            "message": problem.message, "text": str(problem)}


def _version(row: LayoutVersion, published: int, document: bool = False) -> dict[str, Any]:
    shown = {name: getattr(row, name) for name in (
        "page_type", "number", "origin", "restored_from", "created_by", "created_at",
        "summary", "digest")}
    shown["published"] = row.number == published
    if document:
        shown["document"] = loads_document(row.source)
    return shown


def _draft(session: Session, row: PageLayout) -> dict[str, Any]:
    source = row.draft_source
    if source is None:
        source = store.version(session, row.page_type, row.published).source
    return {
        "page_type": row.page_type, "exists": row.draft_source is not None,
        "base_version": row.draft_base, "published_version": row.published,
        "revision": row.draft_revision, "document": loads_document(source),
        "updated_by": row.draft_by, "updated_at": row.draft_at,
        "pending_file": None if row.pending_source is None else {
            "digest": row.pending_digest, "since": row.pending_since.isoformat()
            if row.pending_since else None,
            "document": loads_document(row.pending_source)},
    }


def _check_draft_etag(session: Session, page_type: str, required: bool) -> None:
    """412 unless ``If-Match`` names the draft's current ETag (a publish may send none)."""
    current = Draft().dump(_draft(session, store.page_layout(session, page_type)))
    if required:
        blp.check_etag(current)
    elif request.if_match and blp._generate_etag(current) not in request.if_match:
        abort(412, message="The draft changed since it was read.")


@blp.route("")
class Layouts(MethodView):
    @require(blp, "layouts")
    @blp.response(200, LayoutSummary(many=True))
    def get(self) -> Any:
        """Every layout served, with its published version, draft state and any problem."""
        core = get_core()
        with get_database().session() as session:
            rows = {row.page_type: row for row in store.page_layouts(session)}
        problems = core.layout_source.problems
        found = []
        for layout in core.layouts:
            row = rows.get(layout.page_type)
            found.append({
                "page_type": layout.page_type, "subject": layout.subject, "title": layout.title,
                "regions": [{"name": region.name, "placements": [
                    {"id": p.id, "widget": p.widget, "available": p.available}
                    for p in region.placements]} for region in layout.regions],
                "published_version": row.published if row else None,
                "draft": bool(row and row.draft_source is not None),
                "pending_file_since": row.pending_since if row else None,
                "problems": [str(p) for p in problems.get(layout.page_type, [])] + [
                    f"placement {p.id}: widget {p.widget!r} is not available; it renders empty"
                    for p in layout.placements() if not p.available],
            })
        return found


@blp.route("/<page_type>")
class PublishedVersion(MethodView):
    @require(blp, "layouts")
    @blp.response(200, VersionWithDocument)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, page_type: str) -> Any:
        """The published version, with its layout."""
        with _session() as session:
            row = store.page_layout(session, page_type)
            return _version(store.version(session, page_type, row.published), row.published,
                            document=True)


@blp.route("/<page_type>/versions")
class Versions(MethodView):
    @require(blp, "layouts")
    @blp.response(200, Version(many=True), headers={"Link": paging.LINK_HEADER})
    @blp.alt_response(404, response="NOT_FOUND")
    @paging.paginate(blp, Version())
    def get(self, page_type: str, pagination_parameters: paging.PageParameters) -> Any:
        """Every published version, newest first: who, when, what changed."""
        with _session() as session:
            row = store.page_layout(session, page_type)
            page = store.history(session, page_type, pagination_parameters.window())
            return page.map(lambda version: _version(version, row.published))


@blp.route("/<page_type>/versions/<int:number>")
class OneVersion(MethodView):
    @require(blp, "layouts")
    @blp.response(200, VersionWithDocument)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, page_type: str, number: int) -> Any:
        """One version, with its layout."""
        with _session() as session:
            row = store.page_layout(session, page_type)
            return _version(store.version(session, page_type, number), row.published,
                            document=True)


@blp.route("/<page_type>/versions/<int:number>/restore")
class Restore(MethodView):
    @require(blp, "layouts", write=True)
    @blp.response(201, VersionWithDocument)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self, page_type: str, number: int) -> Any:
        """Publish a new version equal to this one (refused, 422, if it no longer validates:
        a widget it places was uninstalled since)."""
        with _session() as session:
            created = store.restore(session, principal().name, page_type, number,
                                    get_core().registry, parts=_parts())
            return _version(created, created.number, document=True)


@blp.route("/<page_type>/draft")
class DraftItem(MethodView):
    @require(blp, "layouts")
    @blp.etag
    @blp.response(200, Draft)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, page_type: str) -> Any:
        """The draft, or (``exists`` false) the published version to start one from."""
        with _session() as session:
            return _draft(session, store.page_layout(session, page_type))

    @require(blp, "layouts", write=True)
    @blp.etag
    @blp.arguments(DraftBody)
    @blp.response(200, Draft)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def put(self, body: dict[str, Any], page_type: str) -> Any:
        """Create or replace the draft (validated as ``layouts check`` validates a file)."""
        with _session() as session:
            _check_draft_etag(session, page_type, required=True)
            row = store.save_draft(session, principal().name, page_type, body["document"],
                                   get_core().registry, parts=_parts())
            return _draft(session, row)

    @require(blp, "layouts", write=True)
    @blp.etag
    @blp.response(204)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def delete(self, page_type: str) -> None:
        """Discard the draft."""
        with _session() as session:
            _check_draft_etag(session, page_type, required=True)
            store.discard_draft(session, principal().name, page_type, get_core().registry,
                                parts=_parts())


@blp.route("/<page_type>/draft/publish")
class Publish(MethodView):
    @require(blp, "layouts", write=True)
    @blp.response(201, VersionWithDocument)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(412, response="PRECONDITION_FAILED")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self, page_type: str) -> Any:
        """Publish the draft as the next version: served by every process within
        ``VERSION_POLL_SECONDS``. An ``If-Match`` with the draft's ETag, when sent, must be
        current (412 otherwise); 409 when there is no draft."""
        with _session() as session:
            _check_draft_etag(session, page_type, required=False)
            created = store.publish_draft(session, principal().name, page_type,
                                          get_core().registry, parts=_parts())
            return _version(created, created.number, document=True)


BLUEPRINTS = (blp,)
