"""A resource family: a collection (GET a page, filtered; POST a new one) and an item (GET,
PATCH, DELETE) under one path, the same for content and for ads. Items carry an ETag; PATCH and
DELETE need a matching ``If-Match`` (428 without one, 412 on a stale one), checked against the
item read with a row lock on PostgreSQL, so no other change lands in between. What differs between
the domains is passed in: the permission area, the service doing the rules, and how its errors
become HTTP errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema
from sqlalchemy.orm import Session

from layoutserver.api import paging
from layoutserver.api.auth import principal, require
from layoutserver.auth.roles import Area
from layoutserver.db import get_database
from layoutserver.keyset import Page, Window
from layoutserver.services import Conflict, Invalid, NotFound

SessionScope = Callable[[], AbstractContextManager[Session]]
"""A transaction whose service errors become HTTP errors."""


@contextmanager
def service_session() -> Iterator[Session]:
    """A transaction whose service errors (``layoutserver.services``, every domain's) become
    HTTP errors: 404, 422 with the fields' messages, 409."""
    try:
        with get_database().session() as session:
            yield session
    except NotFound as error:
        abort(404, message=str(error))
    except Invalid as error:
        abort(422, message="The input is invalid.", errors={"json": error.messages})
    except Conflict as error:
        abort(409, message=str(error), errors={"json": error.messages})


class FamilyService(Protocol):
    """The service calls a family's views make (``layoutserver.content.service``,
    ``layoutserver.ads.config_service``). ``kind`` is the domain's own kind literal."""

    def list_items(self, session: Session, kind: Any, window: Window,
                   filters: dict[str, Any]) -> Page[Any]: ...

    def get(self, session: Session, kind: Any, key: str, *, lock: bool = False) -> Any: ...

    def create(self, session: Session, actor: str, kind: Any, body: dict[str, Any]) -> Any: ...

    def update(self, session: Session, actor: str, kind: Any, key: str,
               body: dict[str, Any]) -> Any: ...

    def delete(self, session: Session, actor: str, kind: Any, key: str) -> None: ...


def resource_family(
    *, kind: str, path: str, key: str, name: str, import_name: str, area: Area,
    service: FamilyService, scope: SessionScope, shown: type[Schema], created: type[Schema],
    updated: type[Schema], query: type[Schema] | None = None, key_rule: str = "",
) -> Blueprint:
    """The blueprint of one family. ``key`` names the item's path parameter; ``key_rule`` is
    its converter (``path`` for names that may hold a slash)."""
    noun = kind.replace("_", " ")
    blp = Blueprint(name, import_name, url_prefix=path, description=f"{noun.capitalize()}s.")
    ids = {method: f"{method}_{kind}" for method in ("list", "create", "get", "patch", "delete")}

    @blp.route("")
    class Collection(MethodView):
        @require(blp, area)
        @blp.etag
        @blp.doc(operationId=ids["list"])
        @blp.arguments(query or Schema, location="query", as_kwargs=True)
        @blp.response(200, shown(many=True), headers={"Link": paging.LINK_HEADER})
        @paging.paginate(blp, shown())
        def get(self, pagination_parameters: paging.PageParameters, **filters: Any) -> Any:
            """List them, one page at a time (capped by count and by bytes)."""
            with scope() as session:
                return service.list_items(session, kind, pagination_parameters.window(),
                                          filters)

        @require(blp, area, write=True)
        @blp.etag
        @blp.doc(operationId=ids["create"], responses={201: {"links": _links(ids, key)}})
        @blp.arguments(created)
        @blp.response(201, shown)
        @blp.alt_response(409, response="CONFLICT")
        def post(self, _loaded: Any) -> Any:
            """Create one."""
            with scope() as session:
                return service.create(session, principal().name, kind, raw_body())

    rule = f"/<{key_rule}:{key}>" if key_rule else f"/<{key}>"

    @blp.route(rule)
    class Item(MethodView):
        @require(blp, area)
        @blp.etag
        @blp.doc(operationId=ids["get"], responses={200: {"links": _links(ids, key, get=False)}})
        @blp.response(200, shown)
        @blp.alt_response(404, response="NOT_FOUND")
        def get(self, **keys: str) -> Any:
            """Get one."""
            with scope() as session:
                return service.get(session, kind, keys[key])

        @require(blp, area, write=True)
        @blp.etag
        @blp.doc(operationId=ids["patch"])
        @blp.arguments(updated)
        @blp.response(200, shown)
        @blp.alt_response(404, response="NOT_FOUND")
        def patch(self, _loaded: Any, **keys: str) -> Any:
            """Change the fields given (the result is validated as a whole)."""
            with scope() as session:
                blp.check_etag(service.get(session, kind, keys[key], lock=True))
                return service.update(session, principal().name, kind, keys[key], raw_body())

        @require(blp, area, write=True)
        @blp.etag
        @blp.doc(operationId=ids["delete"])
        @blp.response(204)
        @blp.alt_response(404, response="NOT_FOUND")
        @blp.alt_response(409, response="CONFLICT")
        def delete(self, **keys: str) -> None:
            """Delete one that nothing references any more (409 otherwise)."""
            with scope() as session:
                blp.check_etag(service.get(session, kind, keys[key], lock=True))
                service.delete(session, principal().name, kind, keys[key])

    Collection.__name__ = f"{kind.title().replace('_', '')}s"
    Item.__name__ = kind.title().replace("_", "")
    return blp


def _links(ids: dict[str, str], key: str, *, get: bool = True) -> dict[str, Any]:
    """OpenAPI links from a response showing an item to the operations on that item: its key
    from the body, and (to change it) its ETag as ``If-Match``."""
    found = {f"{method.capitalize()}It": {
        "operationId": ids[method],
        "parameters": {key: f"$response.body#/{key}",
                       **({} if method == "get" else {"header.If-Match": "$response.header.ETag"})},
    } for method in ("get", "patch", "delete")}
    if not get:
        del found["GetIt"]
    return found


def raw_body() -> dict[str, Any]:
    """The JSON body as sent: the service validates it itself (the console sends it too)."""
    body: dict[str, Any] = request.get_json()
    return body
