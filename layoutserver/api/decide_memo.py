"""The ``/ads/decide`` bodies a process has validated, kept by their bytes: a fast path.

Every reader of one page sends ``ads.js``'s same decide body: the page, its slots and its
key-values; the reader's key travels in the cookie. Parsing that body, checking its nesting and
validating it with the operation's schema is ~85 µs of a ~600 µs decide request: more than the
page itself costs to assemble around its ads when the server decides them in the page, so a
cached page with client-side ads would cost the origin more per page view than the page served
whole (docs/edge.md, "Which mode"). Validation is a pure function of the bytes, so a body seen
before, byte for byte, is answered with what validating it gave, without reading it again.

* Only bodies that validated, of at most :data:`MAX_BODY_BYTES`, and that name no user key
  (one reader's body helps no other) are kept; a refused body is validated (and refused) every
  time.
* At most ``DECIDE_BODY_MEMO`` bodies per process, all forgotten when it is full (the ones in
  use come back at once); ``DECIDE_BODY_MEMO = 0`` turns the fast path off.
* What is kept is shared by the requests that send the same bytes: the view must not change it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, current_app, request
from webargs.flaskparser import FlaskParser

EXTENSION_KEY = "layoutserver.api.decide_memo"
SETTING = "DECIDE_BODY_MEMO"
DEFAULT_SIZE = 1024
#: ads.js's body for a page of a dozen slots and tags is a few hundred bytes.
MAX_BODY_BYTES = 4096


class DecideBodyMemo:
    """Validated bodies by their bytes (see the module doc)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: dict[bytes, Mapping[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, raw: bytes) -> Mapping[str, Any] | None:
        return self._kept.get(raw)

    def put(self, raw: bytes, parsed: Mapping[str, Any]) -> None:
        if len(raw) > MAX_BODY_BYTES:
            return
        with self._lock:
            if len(self._kept) >= self.size:
                self._kept.clear()
            self._kept[raw] = parsed

    def __len__(self) -> int:
        return len(self._kept)


def init_app(app: Flask) -> None:
    size = app.config.setdefault(SETTING, DEFAULT_SIZE)
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ValueError(f"{SETTING} must be a whole number of bodies, 0 (off) or more, not "
                         f"{size!r}")
    app.extensions[EXTENSION_KEY] = DecideBodyMemo(size) if size else None


def get_memo(app: Flask | None = None) -> DecideBodyMemo | None:
    memo: DecideBodyMemo | None = (app or current_app).extensions.get(EXTENSION_KEY)
    return memo


def known_body() -> bool:
    """Whether this request's body is one validated before (read within the body limit set
    before this is asked). Only a JSON body is looked for: the same bytes under another
    content type are no JSON body to validation."""
    memo = get_memo()
    return (memo is not None and request.is_json
            and memo.get(request.get_data(cache=True)) is not None)


class MemoParser(FlaskParser):
    """webargs' Flask parser, answering a JSON body kept in the app's :class:`DecideBodyMemo`
    from it; ``admit(parsed)`` says whether a newly validated body may be kept. The memo is
    keyed by the bytes alone: one operation's parser (``/ads/decide``'s) uses it."""

    def __init__(self, admit: Callable[[Mapping[str, Any]], bool]) -> None:
        super().__init__()
        self._admit = admit

    def parse(self, argmap: Any, req: Any = None, *, location: str | None = None,
              **kwargs: Any) -> Any:
        memo = get_memo()
        if memo is None or location != "json" or not request.is_json:
            return super().parse(argmap, req, location=location, **kwargs)
        raw = request.get_data(cache=True)
        kept = memo.get(raw)
        if kept is not None:
            return kept
        parsed = super().parse(argmap, req, location=location, **kwargs)
        if self._admit(parsed):
            memo.put(raw, parsed)
        return parsed
