"""Pages of a list, capped by count and by bytes.

A list endpoint answers ``page_size`` items (at most ``MAX_PAGE_SIZE``) from ``page`` (1-based)
or from ``offset`` (0-based, instead of ``page``). A page also stops before the item that would
take its JSON over ``API_PAGE_MAX_BYTES`` (it always holds at least one item): a page of large
articles is shorter, never tens of megabytes. ``X-Pagination`` says what the page holds
(``offset``, ``count``, ``truncated`` when cut short by bytes) and where the next one starts
(``next_offset``); ``Link: <...>; rel="next"`` is the URL of the next page (by ``page`` while
pages are whole, by ``offset`` after a short one), so a client that follows it reaches every
item exactly once. ``next_page`` and ``previous_page`` are given only while they are right: not
on a short page, nor for an ``offset`` that is not on a page boundary.
"""

from __future__ import annotations

import http
import json
from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from flask import current_app, request
from flask_smorest import Blueprint
from flask_smorest.utils import unpack_tuple_response
from marshmallow import Schema, fields, post_load, validate
from webargs.flaskparser import FlaskParser

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 10
#: Past this many rows every page is empty; the database's 64-bit OFFSET ends a little after.
MAX_OFFSET = 2**62
HEADER = "X-Pagination"
#: The default of ``API_PAGE_MAX_BYTES``: the most bytes a page's JSON may take (unless its
#: one item is larger).
DEFAULT_PAGE_MAX_BYTES = 2 * 1024 * 1024
_PARSER = FlaskParser()


class PageParameters:
    """What a list view reads: ``first_item`` (the SQL OFFSET) and ``page_size`` (the LIMIT);
    it sets ``item_count`` (the total)."""

    def __init__(self, page: int, page_size: int, offset: int | None) -> None:
        self.page, self.page_size, self.offset = page, page_size, offset
        self.item_count: int | None = None

    @property
    def first_item(self) -> int:
        first = self.offset if self.offset is not None else (self.page - 1) * self.page_size
        return min(first, MAX_OFFSET)


class PageArguments(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1),
                          metadata={"description": "The page (1-based), of page_size items."})
    page_size = fields.Integer(
        load_default=DEFAULT_PAGE_SIZE, validate=validate.Range(min=1, max=MAX_PAGE_SIZE),
        metadata={"description": "The most items a page holds; fewer when they would take "
                                 "it over the byte budget (see X-Pagination)."})
    offset = fields.Integer(
        validate=validate.Range(min=0),
        metadata={"description": "The first item's position (0-based), instead of page: the "
                                 "next link of a page cut short by bytes gives it."})

    class Meta:
        unknown = "exclude"

    @post_load
    def _parameters(self, data: dict[str, Any], **_: Any) -> PageParameters:
        return PageParameters(data["page"], data["page_size"], data.get("offset"))


class PageMetadata(Schema):
    total = fields.Integer(metadata={"description": "Items in the whole list."})
    total_pages = fields.Integer(metadata={"description": "Pages of page_size items."})
    first_page = fields.Integer()
    last_page = fields.Integer()
    page = fields.Integer(metadata={"description": "This page's number, when on a boundary."})
    previous_page = fields.Integer()
    next_page = fields.Integer(metadata={"description": "Absent after a truncated page."})
    offset = fields.Integer(metadata={"description": "This page's first item (0-based)."})
    count = fields.Integer(metadata={"description": "Items on this page."})
    next_offset = fields.Integer(metadata={"description": "The next page's first item; "
                                                          "absent on the last page."})
    truncated = fields.Boolean(metadata={
        "description": "The page holds fewer than page_size items because more would take "
                       "it over API_PAGE_MAX_BYTES; continue at next_offset."})


LINK_HEADER = {
    "description": 'The next page, `<URL>; rel="next"` (RFC 8288); absent on the last page.',
    "schema": {"type": "string"},
}


def paginate(blp: Blueprint, item_schema: Schema) -> Callable[..., Any]:
    """The decorator of a list view (under ``blp.response``): passes
    ``pagination_parameters`` (set its ``item_count``), returns the page that fits the byte
    budget, with ``X-Pagination`` and ``Link``. ``item_schema`` dumps one item as shown."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            page: PageParameters = _PARSER.parse(PageArguments, request, location="query")
            kwargs["pagination_parameters"] = page
            items, status, headers = unpack_tuple_response(view(*args, **kwargs))
            items = list(items)
            shown = _fitting(items, item_schema, int(current_app.config["API_PAGE_MAX_BYTES"]))
            metadata = _metadata(page, len(shown), truncated=len(shown) < len(items))
            headers = dict(headers or {})
            headers[HEADER] = json.dumps(metadata)
            link = _next_link(page, metadata)
            if link:
                headers["Link"] = link
            return shown, status, headers

        wrapper._apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))  # type: ignore[attr-defined]
        wrapper._apidoc["pagination"] = {  # type: ignore[attr-defined]
            "parameters": {"in": "query", "schema": PageArguments},
            "response": {422: http.HTTPStatus(422).name},
        }
        return wrapper

    return decorator


def _fitting(items: list[Any], schema: Schema, budget: int) -> list[Any]:
    """The first of ``items`` whose JSON array fits ``budget`` bytes (at least one)."""
    used = 2  # the brackets
    for count, item in enumerate(items):
        used += len(current_app.json.dumps(schema.dump(item)).encode()) + (1 if count else 0)
        if used > budget and count:
            return items[:count]
    return items


def _metadata(page: PageParameters, count: int, *, truncated: bool) -> dict[str, Any]:
    total = page.item_count or 0
    first = page.first_item
    size = page.page_size
    found: dict[str, Any] = {"total": total, "offset": first, "count": count,
                             "truncated": truncated}
    if first + count < total:
        found["next_offset"] = first + count
    pages = (total + size - 1) // size
    found["total_pages"] = pages
    if total:
        found["first_page"], found["last_page"] = 1, pages
    if first % size == 0:
        number = first // size + 1
        found["page"] = number
        if 1 < number <= pages:
            found["previous_page"] = number - 1
        if number < pages and not truncated:
            found["next_page"] = number + 1
    return dict(PageMetadata().dump(found))


def _next_link(page: PageParameters, metadata: dict[str, Any]) -> str | None:
    if "next_offset" not in metadata:
        return None
    args = [(key, value) for key, value in request.args.items(multi=True)
            if key not in ("page", "offset")]
    if "next_page" in metadata and page.offset is None:
        args.append(("page", str(metadata["next_page"])))
    else:
        args.append(("offset", str(metadata["next_offset"])))
    return f'<{request.base_url}?{urlencode(args)}>; rel="next"'
