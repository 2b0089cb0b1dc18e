"""The read-only view of the request a widget gets: device class, locale, storage consent.

Built for every request that renders a per-request widget or keys a cache on the reader, so the
headers are read from the WSGI environ directly, and the answers for a User-Agent or an
Accept-Language value (a site sees the same few again and again) are kept in small memos.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType

from flask import Request
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from layoutserver.widgets import DEVICE_CLASSES

VIEWPORT_HINT = "Sec-CH-Viewport-Width"
"""The client hint with the width of the reader's viewport in CSS pixels (Chromium sends it to
a site that asked for it with ``Accept-CH``)."""
#: The device class of a viewport narrower than each width (CSS px); wider ones are desktop.
#: ``ads.js`` measures the viewport with the same breakpoints.
VIEWPORT_BREAKPOINTS = ((768, "mobile"), (1024, "tablet"))
LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?$")
TABLET_HINTS = ("ipad", "tablet", "kindle", "silk", "playbook")
MOBILE_HINTS = ("mobi", "iphone", "ipod", "android", "blackberry", "opera mini", "windows phone")
CONSENT_GIVEN = frozenset({"1", "yes", "true", "granted"})
CONSENT_DENIED = frozenset({"0", "no", "false", "denied"})
MEMO_SIZE = 512
"""Header values kept per memo; a full memo starts afresh (no header value is ever wrong)."""
NO_QUERY: Mapping[str, str] = MappingProxyType({})


def environ_key(header: str) -> str:
    """The WSGI environ key of a request header."""
    return "HTTP_" + header.upper().replace("-", "_")


def _memo(compute: Callable[[str], str]) -> Callable[[str], str]:
    known: dict[str, str] = {}

    def lookup(value: str) -> str:
        found = known.get(value)
        if found is None:
            if len(known) >= MEMO_SIZE:
                known.clear()
            found = known[value] = compute(value)
        return found

    return lookup


@_memo
def _agent_class(user_agent: str) -> str:
    agent = user_agent.lower()
    android_tablet = "android" in agent and "mobile" not in agent
    if android_tablet or any(hint in agent for hint in TABLET_HINTS):
        return "tablet"
    if any(hint in agent for hint in MOBILE_HINTS):
        return "mobile"
    return "desktop"


def viewport_class(width: str) -> str | None:
    """The device class of a viewport width (a client hint's value); None when not a width."""
    width = width.strip()
    if not width.isdigit() or len(width) > 6:
        return None
    pixels = int(width)
    return next((device for limit, device in VIEWPORT_BREAKPOINTS if pixels < limit), "desktop")


def device_class(request: Request, device_header: str) -> str:
    """From the site's or edge's own header when it sends one, else from the viewport's width
    when the browser sends it (``Sec-CH-Viewport-Width``), else from the User-Agent."""
    environ = request.environ
    stated = str(environ.get(environ_key(device_header), "")).strip().lower()
    if stated in DEVICE_CLASSES:
        return stated
    hinted = viewport_class(str(environ.get("HTTP_SEC_CH_VIEWPORT_WIDTH", "")))
    if hinted is not None:
        return hinted
    return _agent_class(str(environ.get("HTTP_USER_AGENT", "")))


@_memo
def _best_locale(accept_language: str) -> str:
    """The best well-formed tag of an Accept-Language value, normalised; "" for none."""
    best = parse_accept_header(accept_language, LanguageAccept).best
    if best and LOCALE.match(best):
        return best.replace("_", "-")
    return ""


def locale(request: Request, default: str) -> str:
    """The reader's preferred locale, normalised; only well-formed tags, as cache keys use it."""
    header = request.environ.get("HTTP_ACCEPT_LANGUAGE")
    return (_best_locale(header) if header else "") or default


def storage_consent(request: Request, consent_header: str,
                    unrecognised: bool | None = False) -> bool | None:
    """True for an explicit yes, False for a no, None when the header is absent or empty, and
    ``unrecognised`` for any other value (by default no consent: only a yes is consent)."""
    value = str(request.environ.get(environ_key(consent_header), "")).strip().lower()
    if not value:
        return None
    if value in CONSENT_GIVEN:
        return True
    if value in CONSENT_DENIED:
        return False
    return unrecognised


def header(request: Request, name: str) -> str | None:
    """One request header's value, or None: read from the environ, as the other request facts
    here are, without building the request's header view."""
    value = request.environ.get(environ_key(name))
    return None if value is None else str(value)


def query_view(request: Request) -> Mapping[str, str]:
    if not request.environ.get("QUERY_STRING"):
        return NO_QUERY
    return MappingProxyType({key: request.args.get(key, "") for key in request.args})
