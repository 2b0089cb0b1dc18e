"""The read-only view of the request a widget gets: device class, locale, storage consent."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from flask import Request

DEVICE_CLASSES = ("desktop", "tablet", "mobile")
LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?$")
TABLET_HINTS = ("ipad", "tablet", "kindle", "silk", "playbook")
MOBILE_HINTS = ("mobi", "iphone", "ipod", "android", "blackberry", "opera mini", "windows phone")
CONSENT_GIVEN = frozenset({"1", "yes", "true", "granted"})
CONSENT_DENIED = frozenset({"0", "no", "false", "denied"})


def device_class(request: Request, device_header: str) -> str:
    """From the site's or edge's own header when it sends one, else from the User-Agent."""
    stated = request.headers.get(device_header, "").strip().lower()
    if stated in DEVICE_CLASSES:
        return stated
    agent = request.headers.get("User-Agent", "").lower()
    android_tablet = "android" in agent and "mobile" not in agent
    if android_tablet or any(hint in agent for hint in TABLET_HINTS):
        return "tablet"
    if any(hint in agent for hint in MOBILE_HINTS):
        return "mobile"
    return "desktop"


def locale(request: Request, default: str) -> str:
    """The reader's preferred locale, normalised; only well-formed tags, as cache keys use it."""
    best = request.accept_languages.best
    if best and LOCALE.match(best):
        return best.replace("_", "-")
    return default


def storage_consent(request: Request, consent_header: str) -> bool | None:
    value = request.headers.get(consent_header, "").strip().lower()
    if value in CONSENT_GIVEN:
        return True
    if value in CONSENT_DENIED:
        return False
    return None


def query_view(request: Request) -> Mapping[str, str]:
    return MappingProxyType({key: request.args.get(key, "") for key in request.args})
