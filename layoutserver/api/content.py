"""``/api/v1/sections``, ``/authors``, ``/articles`` and ``/editorial-lists``.

Each family is a collection (GET a page, POST a new one) and an item (GET, PATCH, DELETE) named
by its slug (editorial lists: by name). Reading takes any role, changing ``publisher`` or
``admin``. Items carry an ETag; PATCH and DELETE need a matching ``If-Match`` (428 without one,
412 on a stale one). The rules themselves are in :mod:`layoutserver.api.services.content`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from flask_smorest.pagination import PaginationParameters
from marshmallow import Schema
from sqlalchemy.orm import Session

from layoutserver.api import schemas
from layoutserver.api.auth import principal, require
from layoutserver.api.services import content as service
from layoutserver.db import get_database


@contextmanager
def _session() -> Iterator[Session]:
    """A transaction whose service errors become HTTP errors."""
    try:
        with get_database().session() as session:
            yield session
    except service.NotFound as error:
        abort(404, message=str(error))
    except service.Invalid as error:
        abort(422, message="The input is invalid.", errors={"json": error.messages})
    except service.Conflict as error:
        abort(409, message=str(error), errors={"json": error.messages})


def _family(
    kind: service.Kind, path: str, key: str, shown: type[Schema], created: type[Schema],
    updated: type[Schema], query: type[Schema] | None = None,
) -> Blueprint:
    noun = kind.replace("_", " ")
    blp = Blueprint(path.strip("/"), __name__, url_prefix=path,
                    description=f"{noun.capitalize()}s.")
    query_schema = query or Schema

    @blp.route("")
    class Collection(MethodView):
        @require(blp, "content")
        @blp.etag
        @blp.arguments(query_schema, location="query", as_kwargs=True)
        @blp.response(200, shown(many=True))
        @blp.paginate()
        def get(self, pagination_parameters: PaginationParameters, **filters: Any) -> Any:
            """List them, one page at a time."""
            page = pagination_parameters
            with _session() as session:
                items, total = service.list_items(
                    session, kind, offset=schemas.page_offset(page), limit=page.page_size,
                    filters=service.ArticleFilters(**filters) if query else None,
                )
            page.item_count = total
            return items

        @require(blp, "content", write=True)
        @blp.etag
        @blp.arguments(created)
        @blp.response(201, shown)
        @blp.alt_response(409, response="CONFLICT")
        def post(self, _loaded: Any) -> Any:
            """Create one."""
            with _session() as session:
                return service.create(session, principal().name, kind, _raw_body())

    @blp.route(f"/<{key}>")
    class Item(MethodView):
        @require(blp, "content")
        @blp.etag
        @blp.response(200, shown)
        @blp.alt_response(404, response="NOT_FOUND")
        def get(self, **keys: str) -> Any:
            """Get one."""
            with _session() as session:
                return service.get(session, kind, keys[key])

        @require(blp, "content", write=True)
        @blp.etag
        @blp.arguments(updated)
        @blp.response(200, shown)
        @blp.alt_response(404, response="NOT_FOUND")
        def patch(self, _loaded: Any, **keys: str) -> Any:
            """Change the fields given."""
            with _session() as session:
                blp.check_etag(service.get(session, kind, keys[key]))
                return service.update(session, principal().name, kind, keys[key], _raw_body())

        @require(blp, "content", write=True)
        @blp.etag
        @blp.response(204)
        @blp.alt_response(404, response="NOT_FOUND")
        @blp.alt_response(409, response="CONFLICT")
        def delete(self, **keys: str) -> None:
            """Delete one (a section or author only when no article names it)."""
            with _session() as session:
                blp.check_etag(service.get(session, kind, keys[key]))
                service.delete(session, principal().name, kind, keys[key])

    Collection.__name__ = f"{kind.title().replace('_', '')}s"
    Item.__name__ = kind.title().replace("_", "")
    return blp


def _raw_body() -> dict[str, Any]:
    """The JSON body as sent: the service validates it itself (the console sends it too)."""
    body: dict[str, Any] = request.get_json()
    return body


sections = _family("section", "/sections", "slug", schemas.Section, schemas.Section,
                   schemas.SectionUpdate)
authors = _family("author", "/authors", "slug", schemas.Author, schemas.Author,
                  schemas.AuthorUpdate)
articles = _family("article", "/articles", "slug", schemas.Article, schemas.ArticleCreate,
                   schemas.ArticleUpdate, schemas.ArticleQuery)
editorial_lists = _family("editorial_list", "/editorial-lists", "name", schemas.EditorialList,
                          schemas.EditorialList, schemas.EditorialListUpdate)

BLUEPRINTS = (sections, authors, articles, editorial_lists)
