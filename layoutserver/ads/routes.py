"""Tracking and files: the impression, click and viewability URLs, ``/ads.txt``, the client
scripts and the demo creatives.

``GET /ads/i/<token>`` counts an impression once per token and answers 204 (a 1x1 GIF with
``?f=gif``); ``GET /ads/c/<token>`` counts a click once per token and redirects (302) to the
creative's stored click URL, looked up by creative id in the ad snapshot held in memory (so
clicks redirect while the database is unreachable): the destination never comes from the
request. ``GET /ads/v/<token>`` is the viewability beacon (docs/viewability.md): with ``?s=m`` it
counts the impression measurable, without it viewable (and measurable, if that beacon was
lost); each once per token. A tampered, expired or foreign token gets 400 with a short message,
no redirect and no count. Counts are durable (in Redis, or committed to the database) before
the response is sent; a replay is answered like the first use but not counted again.
"""

from __future__ import annotations

import base64
from importlib import resources
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, redirect, request, send_from_directory
from werkzeug.wrappers import Response as BaseResponse

from layoutserver.ads.counting import Kind, Tracked
from layoutserver.ads.extension import get_ads
from layoutserver.ads.models import Creative
from layoutserver.ads.tokens import TokenError

blueprint = Blueprint("ads", __name__)
R = TypeVar("R", bound=BaseResponse)

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
STATIC = Path(__file__).resolve().parent / "static"
CREATIVES = resources.files("layoutserver") / "demo" / "creatives"
VIEWABILITY_STATES = ("m", "v")
CREATIVE_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"


def _verified(kind: Kind, token: str) -> Tracked:
    try:
        return get_ads().tokens().verify(kind, token)
    except TokenError as error:
        abort(400, f"Not counted: {error}.")


def _no_store(response: R) -> R:
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/ads/i/<token>")
def impression(token: str) -> Response:
    tracked = _verified("impression", token)
    ads = get_ads()
    ads.tally.record("impression", tracked, ads.now())
    if request.args.get("f") == "gif":
        return _no_store(Response(GIF, mimetype="image/gif"))
    return _no_store(Response(status=204))


@blueprint.get("/ads/v/<token>")
def viewability(token: str) -> Response:
    state = request.args.get("s", "v")
    if state not in VIEWABILITY_STATES:
        abort(400, "Not counted: s is m (measurable) or v (viewable).")
    tracked = _verified("viewable", token)
    ads = get_ads()
    now = ads.now()
    # a viewable impression is a measured one: its measurable count is made first (a replay
    # when the measurable beacon came), so measurable >= viewable whatever was lost
    ads.tally.record("measurable", tracked, now)
    if state == "v":
        ads.tally.record("viewable", tracked, now)
    return _no_store(Response(status=204))


@blueprint.get("/ads/c/<token>")
def click(token: str) -> BaseResponse:
    tracked = _verified("click", token)
    ads = get_ads()
    destination = _destination(tracked.creative_id)
    if not _is_http(destination):
        abort(404, "This ad is no longer available.")
    ads.tally.record("click", tracked, ads.now())
    response = redirect(destination, 302)
    response.headers["Referrer-Policy"] = "no-referrer"
    return _no_store(response)


def _destination(creative_id: int) -> str:
    """The creative's click URL from the ad snapshot (in memory: a click redirects while the
    database is unreachable), else from the database (a creative the snapshot does not hold)."""
    ads = get_ads()
    spec = ads.snapshots.current().creatives.get(creative_id)
    if spec is not None:
        return spec.click_url
    with ads.sessions.begin() as session:
        creative = session.get(Creative, creative_id)
        return "" if creative is None else creative.click_url


def _is_http(url: str) -> bool:
    """Checked again on the way out, though imports only store http(s) URLs."""
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


@blueprint.get("/ads/viewability.js")
def viewability_script() -> Response:
    """Lazy slots' creatives rendered near the viewport, and viewability measured: the ad
    spot's script, and loaded by ``ads.js`` for the slots it fills."""
    return send_from_directory(STATIC, "viewability.js", mimetype="text/javascript",
                               max_age=3600)


@blueprint.get("/ads.txt")
def ads_txt() -> Response:
    text = str(current_app.config["ADS_TXT"] or "")
    if not text.strip():
        abort(404, "This site publishes no ads.txt.")
    response = Response(text if text.endswith("\n") else text + "\n",
                        mimetype="text/plain")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@blueprint.get("/ads/ads.js")
def script() -> Response:
    """The client-side path: fills ``<div data-slot>`` elements with one ``/ads/decide``."""
    return send_from_directory(STATIC, "ads.js", mimetype="text/javascript", max_age=3600)


@blueprint.get("/ads/creatives/<path:filename>")
def creative_file(filename: str) -> Response:
    """Creatives shipped with layoutserver (the demo's SVGs), served from the package. The
    policy keeps an SVG opened on its own from running anything."""
    with resources.as_file(CREATIVES) as folder:
        response = send_from_directory(folder, filename, max_age=86400)
    response.headers["Content-Security-Policy"] = CREATIVE_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
