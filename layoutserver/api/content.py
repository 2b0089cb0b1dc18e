"""``/api/v1/sections``, ``/authors``, ``/articles`` and ``/editorial-lists``.

Each family is a collection (GET a page, POST a new one) and an item (GET, PATCH, DELETE) named
by its slug (editorial lists: by name). Reading takes any role, changing ``publisher`` or
``admin``. Items carry an ETag; PATCH and DELETE need a matching ``If-Match`` (428 without one,
412 on a stale one). The rules themselves are in :mod:`layoutserver.content.service`.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema
from sqlalchemy.orm import Session

from layoutserver.api import schemas
from layoutserver.api.families import resource_family, service_session
from layoutserver.content import service as service
from layoutserver.keyset import Page, Window


class _ContentService:
    """The content service as a family's views call it (article lists take filters). Each call
    looks the service function up when made."""

    @staticmethod
    def list_items(session: Session, kind: service.Kind, window: Window,
                   filters: dict[str, Any]) -> Page[Any]:
        found = service.ArticleFilters(**filters) if kind == "article" else None
        return service.list_items(session, kind, window, found)

    @staticmethod
    def get(session: Session, kind: service.Kind, key: str, *, lock: bool = False) -> Any:
        return service.get(session, kind, key, lock=lock)

    @staticmethod
    def create(session: Session, actor: str, kind: service.Kind, body: dict[str, Any]) -> Any:
        return service.create(session, actor, kind, body)

    @staticmethod
    def update(session: Session, actor: str, kind: service.Kind, key: str,
               body: dict[str, Any]) -> Any:
        return service.update(session, actor, kind, key, body)

    @staticmethod
    def delete(session: Session, actor: str, kind: service.Kind, key: str) -> None:
        service.delete(session, actor, kind, key)


def _family(
    kind: service.Kind, path: str, key: str, shown: type[Schema], created: type[Schema],
    updated: type[Schema], query: type[Schema] | None = None,
) -> Blueprint:
    return resource_family(
        kind=kind, path=path, key=key, name=path.strip("/"), import_name=__name__,
        area="content", service=_ContentService(), scope=service_session, shown=shown,
        created=created, updated=updated, query=query,
    )


sections = _family("section", "/sections", "slug", schemas.Section, schemas.Section,
                   schemas.SectionUpdate)
authors = _family("author", "/authors", "slug", schemas.Author, schemas.Author,
                  schemas.AuthorUpdate)
articles = _family("article", "/articles", "slug", schemas.Article, schemas.ArticleCreate,
                   schemas.ArticleUpdate, schemas.ArticleQuery)
editorial_lists = _family("editorial_list", "/editorial-lists", "name", schemas.EditorialList,
                          schemas.EditorialList, schemas.EditorialListUpdate)

BLUEPRINTS = (sections, authors, articles, editorial_lists)
