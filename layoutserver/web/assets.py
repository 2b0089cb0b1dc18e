"""Static assets under fingerprinted URLs, and a page's stylesheets inlined.

A file's URL names a digest of its bytes: ``/assets/<digest>/<file>`` for the core's static
folder, ``/assets/widgets/<widget>/<digest>/<file>`` for a widget's. Such a URL never changes
what it answers, so it is sent ``public, max-age=31536000, immutable``: a browser or an edge
keeps it for a year without asking again, and a new version of the file is a new URL. A URL
whose digest is not the file's (a page kept from before a deploy) still gets the file, for a
minute only. The plain ``/static/...`` URLs keep working.

With ``PAGE_CSS = "inline"`` (the default) a page carries its stylesheets (the core's and its
widgets', in page order) in one ``<style>`` element instead of ``<link>`` elements: on a slow
network the first paint waits for no stylesheet (the numbers are in docs/performance.md).
Regions and widgets (as ``Link`` headers), podlet manifests and the JSON envelope list the
fingerprinted URLs (``page_assets``), for a composition layer to link.

Digests and file texts are read once per process: static files change with a deploy, which
starts new processes.
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, current_app, send_from_directory
from markupsafe import Markup

from layoutserver.registry import WidgetRegistry
from layoutserver.settings import SettingsError
from layoutserver.widgets import Assets

blueprint = Blueprint("assets", __name__)
IMMUTABLE = "public, max-age=31536000, immutable"
#: A URL naming another version of the file (a page kept from before a deploy).
STALE_SECONDS = 60
WIDGET_ASSET = re.compile(r"^/static/widgets/(?P<widget>[^/]+)/(?P<path>.+)$")
CORE_STYLESHEET = "layoutserver.css"
EXTENSION_KEY = "layoutserver.assets"


class StaticFiles:
    def __init__(self, static_folder: str, registry: WidgetRegistry) -> None:
        self.static_folder = static_folder
        self.registry = registry

    def core_url(self, filename: str) -> str:
        return f"/assets/{_digest(self.static_folder, filename)}/{filename}"

    def url(self, url: str) -> str:
        """A page's asset URL (``widgets.Assets`` of the widget contract: a widget's own file, or an
        absolute path) as its fingerprinted URL; other URLs as they are."""
        found = WIDGET_ASSET.match(url)
        folder = self._widget_folder(found.group("widget")) if found else None
        if found is None or folder is None:
            return url
        widget, path = found.group("widget"), found.group("path")
        return f"/assets/widgets/{widget}/{_digest(folder, path)}/{path}"

    def stylesheet(self, urls: tuple[str, ...]) -> Markup:
        """The core stylesheet and those of ``urls`` (a page's) as one ``<style>`` element's
        text; a URL that is not a file of ours is left out (link it instead)."""
        return _stylesheet(self, urls)

    def text(self, url: str) -> str | None:
        """The text of a page's asset URL, or None when it is not one of our files."""
        found = WIDGET_ASSET.match(url)
        if found is None:
            return None
        folder = self._widget_folder(found.group("widget"))
        return None if folder is None else _text(folder, found.group("path"))

    def _widget_folder(self, widget: str) -> str | None:
        installed = self.registry.get(widget)
        folder = installed.widget.static_folder if installed is not None else None
        return None if folder is None else str(folder)


@functools.lru_cache(maxsize=64)
def _stylesheet(assets: StaticFiles, urls: tuple[str, ...]) -> Markup:
    parts = [_text(assets.static_folder, CORE_STYLESHEET)]
    parts += [text for text in map(assets.text, urls) if text is not None]
    # A stylesheet cannot end its <style> element: "</" is refused in our files' text.
    css = "\n".join(part for part in parts if part)
    return Markup(css.replace("</", "<\\/"))  # noqa: S704 - our own files, "</" escaped


def page_assets(files: StaticFiles, widget_assets: Assets) -> Assets:
    """Every asset a page (or any part of one) needs, at fingerprinted URLs, in the order a
    page loads them: the core stylesheet, then the widgets' stylesheets in page order; the
    widgets' scripts in page order. The page's own ``<link>`` elements (``PAGE_CSS = "link"``),
    a region's ``Link`` headers, a podlet's manifest and the JSON envelope all list this."""
    return Assets(css=(files.core_url(CORE_STYLESHEET), *map(files.url, widget_assets.css)),
                  js=tuple(map(files.url, widget_assets.js)))


def linked(assets: StaticFiles, urls: tuple[str, ...]) -> tuple[str, ...]:
    """The URLs of ``urls`` that inlining leaves to be linked (not files of ours)."""
    return tuple(url for url in urls if assets.text(url) is None)


@functools.lru_cache(maxsize=512)
def _digest(folder: str, path: str) -> str:
    return hashlib.sha256(_file(folder, path).read_bytes()).hexdigest()[:12]


@functools.lru_cache(maxsize=128)
def _text(folder: str, path: str) -> str:
    return _file(folder, path).read_text(encoding="utf-8")


def _file(folder: str, path: str) -> Path:
    root = Path(folder).resolve()
    found = (root / path).resolve()
    if root not in found.parents or not found.is_file():
        raise FileNotFoundError(path)
    return found


@blueprint.get("/assets/<digest>/<path:filename>")
def core_asset(digest: str, filename: str) -> Response:
    return _send(current_app.static_folder, digest, filename)


@blueprint.get("/assets/widgets/<widget>/<digest>/<path:filename>")
def widget_asset(widget: str, digest: str, filename: str) -> Response:
    folder = get_assets()._widget_folder(widget)
    if folder is None:
        abort(404, f"No static files for widget {widget!r}.")
    return _send(folder, digest, filename)


def _send(folder: str | None, digest: str, filename: str) -> Response:
    if folder is None:
        abort(404)
    try:
        current = _digest(folder, filename)
    except (FileNotFoundError, OSError):
        abort(404, f"No asset {filename!r}.")
    response = send_from_directory(folder, filename, max_age=STALE_SECONDS)
    if digest == current:
        response.headers["Cache-Control"] = IMMUTABLE
    return response


def get_assets() -> StaticFiles:
    assets: StaticFiles = current_app.extensions[EXTENSION_KEY]
    return assets


def init_app(app: Flask, registry: WidgetRegistry) -> None:
    if app.config["PAGE_CSS"] not in ("inline", "link"):
        raise SettingsError(f"PAGE_CSS must be 'inline' or 'link', not {app.config['PAGE_CSS']!r}")
    app.extensions[EXTENSION_KEY] = StaticFiles(str(app.static_folder), registry)
    app.register_blueprint(blueprint)
