"""HTTP for assembled HTML: the headers a response goes out with, a strong ETag with 304,
Server-Timing per widget."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import Response, request

#: Request headers that make a response conditional (or partial), as WSGI environ keys: looked
#: up in the environ directly, as this runs on every response.
CONDITIONAL_HEADERS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH", "HTTP_IF_MODIFIED_SINCE",
                       "HTTP_IF_UNMODIFIED_SINCE", "HTTP_RANGE")


def finish(
    body: bytes,
    mimetype: str,
    timing: str,
    etag: str | None = None,
    *,
    headers: Sequence[tuple[str, str]] = (),
    environ: Mapping[str, Any],
) -> Response:
    """The response for ``body`` with ``headers``; ``timing`` is the Server-Timing value;
    ``etag`` None: no ETag (a body an edge assembles per reader must not have one)."""
    all_headers = [*headers, ("Server-Timing", timing)]
    if etag is not None:
        all_headers.append(("ETag", f'"{etag}"'))
    response = Response(body, headers=all_headers, content_type=f"{mimetype}; charset=utf-8")
    if etag is not None and not environ.keys().isdisjoint(CONDITIONAL_HEADERS):
        response.make_conditional(request)
    return response
