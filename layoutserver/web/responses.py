"""HTTP done right for assembled HTML: Cache-Control from what is inside, a strong ETag with 304,
Server-Timing per widget, Vary for the request facts widgets vary on."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

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


def finish(
    body: bytes,
    mimetype: str,
    policy: ResponsePolicy,
    timings: Sequence[tuple[str, float, str]],
    vary_headers: Iterable[str] = (),
    etag: str | None = None,
) -> Response:
    response = Response(body, mimetype=mimetype)
    if policy.shared:
        response.headers["Cache-Control"] = f"public, max-age={policy.ttl}"
    else:
        response.headers["Cache-Control"] = "private, no-store"
    response.set_etag(etag or strong_etag(body))
    response.headers["Server-Timing"] = server_timing(timings)
    for header in vary_headers:
        response.vary.add(header)
    response.make_conditional(request)
    return response


def server_timing(timings: Sequence[tuple[str, float, str]]) -> str:
    entries = []
    for name, duration, description in timings:
        safe = description.replace('"', "'")
        entries.append(f'{name};dur={duration:.2f};desc="{safe}"')
    return ", ".join(entries)
