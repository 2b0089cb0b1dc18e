"""Pages of a list, by cursor, capped by count and by bytes.

A list endpoint answers ``page_size`` items (at most ``MAX_PAGE_SIZE``) in the list's order
(:mod:`layoutserver.keyset`: a unique last sort column). The next page starts ``after`` the
opaque cursor that ``Link: <...>; rel="next"`` and ``X-Pagination``'s ``next_after`` give: the
database seeks to it, so the last page of a million articles costs what the first does, and a
client following ``Link`` reaches every item that exists throughout its walk exactly once,
whatever is inserted or deleted meanwhile. A page also stops before the item that would take
its JSON over ``API_PAGE_MAX_BYTES`` (it always holds at least one item); the cursor then
continues after the last item shown.

``page`` (1-based) and ``offset`` (0-based) are still read, for clients of numbered pages:
slower (the database reads and skips every item before the page), and unstable while the list
changes. The total (``count(*)`` over the filtered list, which reads all of it) is given only
with ``total=true``.
"""

from __future__ import annotations

import http
import json
from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import Any, NoReturn
from urllib.parse import urlencode

from flask import current_app, request
from flask_smorest import Blueprint, abort
from flask_smorest.utils import unpack_tuple_response
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema
from webargs.flaskparser import FlaskParser

from layoutserver.keyset import MAX_CURSOR_LENGTH, BadCursor, Page, Window

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 10
#: Past this many rows every page is empty; the database's 64-bit OFFSET ends a little after.
MAX_OFFSET = 2**62
HEADER = "X-Pagination"
#: The default of ``API_PAGE_MAX_BYTES``: the most bytes a page's JSON may take (unless its
#: one item is larger).
DEFAULT_PAGE_MAX_BYTES = 2 * 1024 * 1024
#: The query parameters that say where a page starts: the next link replaces them.
POSITION = ("after", "page", "offset")
_PARSER = FlaskParser()


class PageParameters:
    """What a list view reads: :meth:`window`, the rows of its page."""

    def __init__(self, page_size: int, after: str | None, page: int | None,
                 offset: int | None, total: bool) -> None:
        self.page_size, self.after, self.page, self.total = page_size, after, page, total
        self.offset = offset
        if offset is None and page is not None:
            self.offset = (page - 1) * page_size
        if self.offset is not None:
            self.offset = min(self.offset, MAX_OFFSET)

    def window(self) -> Window:
        return Window(self.page_size, after=self.after, offset=self.offset,
                      count_total=self.total)


class PageArguments(Schema):
    page_size = fields.Integer(
        load_default=DEFAULT_PAGE_SIZE, validate=validate.Range(min=1, max=MAX_PAGE_SIZE),
        metadata={"description": "The most items a page holds; fewer when they would take "
                                 "it over the byte budget (see X-Pagination)."})
    after = fields.String(
        validate=validate.Length(min=1, max=MAX_CURSOR_LENGTH),
        metadata={"description": "Where the page starts: the cursor of the item before it, "
                                 "as the previous page's Link header (rel=\"next\") or "
                                 "X-Pagination next_after gives it. Opaque.",
                  "x-rule": "A cursor this list gave; any other string is 422."})
    page = fields.Integer(
        validate=validate.Range(min=1),
        metadata={"description": "Slower than after: the page (1-based), of page_size "
                                 "items; the database reads every item before it."})
    offset = fields.Integer(
        validate=validate.Range(min=0),
        metadata={"description": "Slower than after: the first item's position (0-based), "
                                 "instead of page (which it overrides); the database reads "
                                 "every item before it."})
    total = fields.Boolean(
        load_default=False,
        metadata={"description": "Count the whole (filtered) list into X-Pagination's "
                                 "total: that reads all of it, so only when asked."})

    class Meta:
        unknown = "exclude"

    @validates_schema
    def _one_start(self, data: dict[str, Any], **_: Any) -> None:
        if "after" in data and ("page" in data or "offset" in data):
            raise ValidationError("Give after, or page or offset, not both.", "after")

    @post_load
    def _parameters(self, data: dict[str, Any], **_: Any) -> PageParameters:
        return PageParameters(data["page_size"], data.get("after"), data.get("page"),
                              data.get("offset"), data["total"])


class PageMetadata(Schema):
    count = fields.Integer(metadata={"description": "Items on this page."})
    truncated = fields.Boolean(metadata={
        "description": "The page holds fewer than page_size items because more would take "
                       "it over API_PAGE_MAX_BYTES; the next page continues after it."})
    next_after = fields.String(metadata={"description": "The cursor of the next page (its "
                                                        "after); absent on the last page."})
    total = fields.Integer(metadata={"description": "Items in the whole list: only with "
                                                    "total=true."})
    total_pages = fields.Integer(metadata={"description": "Pages of page_size items: only "
                                                          "with total=true."})
    first_page = fields.Integer()
    last_page = fields.Integer()
    offset = fields.Integer(metadata={"description": "This page's first item (0-based): only "
                                                     "for a page asked for by page or offset."})
    next_offset = fields.Integer(metadata={"description": "The next page's first item, when "
                                                          "this one was asked for by page or "
                                                          "offset; absent on the last page."})
    page = fields.Integer(metadata={"description": "This page's number, when asked for by "
                                                   "page or by an offset on a boundary."})
    previous_page = fields.Integer()
    next_page = fields.Integer(metadata={"description": "Absent after a truncated page."})


LINK_HEADER = {
    "description": 'The next page, `<URL>; rel="next"` (RFC 8288), by cursor (after); absent '
                   "on the last page.",
    "schema": {"type": "string"},
}


def paginate(blp: Blueprint, item_schema: Schema) -> Callable[..., Any]:
    """The decorator of a list view (under ``blp.response``): passes
    ``pagination_parameters``; the view returns a :class:`~layoutserver.keyset.Page`. Answers
    the part of it that fits the byte budget, with ``X-Pagination`` and ``Link``; a cursor the
    list did not make is 422. ``item_schema`` dumps one item as shown."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            parameters: PageParameters = _PARSER.parse(PageArguments, request,
                                                       location="query")
            kwargs["pagination_parameters"] = parameters
            try:
                result = view(*args, **kwargs)
            except BadCursor as error:
                _bad_cursor(error)
            found, status, headers = unpack_tuple_response(result)
            page: Page[Any] = found
            shown = _fitting(page.items, item_schema,
                             int(current_app.config["API_PAGE_MAX_BYTES"]))
            truncated = len(shown) < len(page.items)
            following = page.cursors[len(shown) - 1] if shown and (truncated or page.more) \
                else None
            metadata = _metadata(parameters, page, len(shown), truncated, following)
            headers = dict(headers or {})
            headers[HEADER] = json.dumps(metadata)
            if following is not None:
                headers["Link"] = _next_link(following)
            return shown, status, headers

        wrapper._apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))  # type: ignore[attr-defined]
        wrapper._apidoc["pagination"] = {  # type: ignore[attr-defined]
            "parameters": {"in": "query", "schema": PageArguments},
            "response": {422: http.HTTPStatus(422).name},
        }
        return wrapper

    return decorator


def _bad_cursor(error: BadCursor) -> NoReturn:
    abort(422, message="The input is invalid.", errors={"query": {"after": [str(error)]}})
    raise AssertionError("abort returned")  # pragma: no cover


def _fitting(items: list[Any], schema: Schema, budget: int) -> list[Any]:
    """The first of ``items`` whose JSON array fits ``budget`` bytes (at least one)."""
    used = 2  # the brackets
    for count, item in enumerate(items):
        used += len(current_app.json.dumps(schema.dump(item)).encode()) + (1 if count else 0)
        if used > budget and count:
            return items[:count]
    return items


def _metadata(parameters: PageParameters, page: Page[Any], count: int, truncated: bool,
              following: str | None) -> dict[str, Any]:
    size = parameters.page_size
    found: dict[str, Any] = {"count": count, "truncated": truncated}
    if following is not None:
        found["next_after"] = following
    if page.total is not None:
        pages = (page.total + size - 1) // size
        found["total"], found["total_pages"] = page.total, pages
        if page.total:
            found["first_page"], found["last_page"] = 1, pages
    first = parameters.offset
    if first is not None:
        found["offset"] = first
        if following is not None:
            found["next_offset"] = first + count
        if first % size == 0:
            number = first // size + 1
            found["page"] = number
            if number > 1:
                found["previous_page"] = number - 1
            if following is not None and not truncated:
                found["next_page"] = number + 1
    return dict(PageMetadata().dump(found))


def _next_link(cursor: str) -> str:
    args = [(key, value) for key, value in request.args.items(multi=True)
            if key not in POSITION]
    args.append(("after", cursor))
    return f'<{request.base_url}?{urlencode(args)}>; rel="next"'
