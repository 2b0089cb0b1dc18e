"""HTTP done right for assembled HTML: Cache-Control from what is inside, a strong ETag with 304,
Server-Timing per widget, Vary for the request facts widgets vary on."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask import Response, request

from layoutserver.render.assembly import ResponsePolicy

#: The request headers behind each vary key, for the Vary response header.
VARY_HEADERS = {
    "device": ("User-Agent", "{device_header}"),
    "locale": ("Accept-Language",),
    "consent": ("{consent_header}",),
}


def strong_etag(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


#: Request headers that make a response conditional (or partial), as WSGI environ keys: looked
#: up in the environ directly, as this runs on every response.
CONDITIONAL_HEADERS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH", "HTTP_IF_MODIFIED_SINCE",
                       "HTTP_IF_UNMODIFIED_SINCE", "HTTP_RANGE")


def finish(
    body: bytes,
    mimetype: str,
    policy: ResponsePolicy,
    timing: str,
    vary_headers: Iterable[str] = (),
    etag: str | None = None,
    *,
    environ: Mapping[str, Any],
) -> Response:
    """The response for ``body``; ``timing`` is the Server-Timing value. The headers go in
    with the response rather than one by one (each ``headers[...] =`` scans the list)."""
    headers = [
        ("Cache-Control",
         f"public, max-age={policy.ttl}" if policy.shared else "private, no-store"),
        ("ETag", f'"{etag or strong_etag(body)}"'),
        ("Server-Timing", timing),
    ]
    if vary_headers:
        headers.append(("Vary", ", ".join(vary_headers)))
    response = Response(body, headers=headers, content_type=f"{mimetype}; charset=utf-8")
    if not environ.keys().isdisjoint(CONDITIONAL_HEADERS):
        response.make_conditional(request)
    return response


def server_timing(timings: Sequence[tuple[str, float, str]]) -> str:
    entries = []
    for name, duration, description in timings:
        safe = description.replace('"', "'")
        entries.append(f'{name};dur={duration:.2f};desc="{safe}"')
    return ", ".join(entries)
