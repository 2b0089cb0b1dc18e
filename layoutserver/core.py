"""The per-app state of layoutserver, bound by ``init_app``: installed widgets, layouts, content
queries and the renderer. Routes and commands find it with :func:`get_core`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, Request, current_app
from flask_caching import Cache

from layoutserver.ads import reader
from layoutserver.content.repository import ContentRepository
from layoutserver.db import Database
from layoutserver.layouts import Layout, LayoutError, LayoutSet, load_layouts
from layoutserver.layouts.source import LayoutSource
from layoutserver.registry import WidgetRegistry
from layoutserver.render import request_view
from layoutserver.render.admission import BYTES_PER_REMEMBERED_KEY, Doorkeeper
from layoutserver.render.fragment_cache import FragmentCache
from layoutserver.render.pool import RenderPool
from layoutserver.render.renderer import Renderer
from layoutserver.render.strategy import batch_strategy
from layoutserver.settings import site_now, site_timezone
from layoutserver.widgets import AdSource, PageContext, RequestView, SiteView, Subject

EXTENSION_KEY = "layoutserver"



class Core:
    def __init__(
        self, app: Flask, database: Database, cache: Cache, registry: WidgetRegistry
    ) -> None:
        config = app.config
        self.config = config
        self.registry = registry
        self.content = ContentRepository(database)
        # The backend itself, not the Cache proxy, which finds it through the app context on
        # every call.
        backend = app.extensions["cache"][cache]
        self.fragments = FragmentCache(
            backend, enabled=config["CACHE_TYPE"] != "NullCache",
            local_max_bytes=config["CACHE_MEMO_MAX_BYTES"],
            doorkeeper=Doorkeeper(config["CACHE_ADMIT_AFTER"],
                                  config["CACHE_MAX_BYTES"] // BYTES_PER_REMEMBERED_KEY))
        self.pool = RenderPool(config["RENDER_THREADS"])
        self.renderer = Renderer(registry, self.fragments, self.pool,
                                 config["WIDGET_BUDGET_MS"] / 1000,
                                 scope_versions=self.content.scope_versions,
                                 batch=batch_strategy(config["RENDER_ON_MAIN_THREAD"]))
        self.timezone = site_timezone(config)
        self.pinned_now = site_now(config)
        self.layout_source = LayoutSource(database, registry)
        self.layout_error: LayoutError | None = None
        self.user_cookie = reader.UserCookie(config)
        self.unrecognised_consent: bool | None = (
            None if config["CONSENT_UNRECOGNISED"] == "unstated" else False)
        """What a consent header value that is neither a yes nor a no means."""
        """The ``Set-Cookie`` value that stores a new reader's key."""
        self.ads: AdSource | None = None
        """Set by ``layoutserver.ads.binding.init_app``; every page context carries it."""

    def load_layouts(self, directory: Path, strict: bool) -> None:
        """Validate every layout; raise on error when ``strict`` (serving), else keep the error
        for the caller to report (the CLI: ``layoutserver layouts check``)."""
        try:
            layouts = load_layouts(directory, self.registry)
            texts = {layout.page_type: layout.source.read_bytes().decode("utf-8")
                     for layout in layouts}
            self.layout_source.use_files(layouts, texts)
            self.layout_error = None
        except LayoutError as exc:
            self.layout_error = exc
            if strict:
                raise

    @property
    def layouts(self) -> LayoutSet:
        """The layouts served: the files until the process's first request seeds the database
        from them, then the published versions (``layouts.source``)."""
        return self.layout_source.current()

    def site_view(self) -> SiteView:
        now = self.pinned_now or datetime.now(self.timezone)
        return SiteView(
            name=self.config["SITE_NAME"],
            timezone=self.config["SITE_TIMEZONE"],
            locale=self.config["SITE_LOCALE"],
            now=now.astimezone(self.timezone),
            base_url=self.config["SITE_BASE_URL"],
            publisher_logo=self.config["SITE_PUBLISHER_LOGO"],
        )

    def request_view(self, request: Request) -> RequestView:
        """What widgets and the ad server may know of ``request`` (the web layer's)."""
        consent = request_view.storage_consent(request, self.config["CONSENT_HEADER"],
                                               self.unrecognised_consent)
        user_key, new_user_key = reader.user_key(self.config, consent, request)
        return RequestView(
            device=request_view.device_class(request, self.config["DEVICE_HEADER"]),
            locale=request_view.locale(request, self.config["SITE_LOCALE"]),
            consent=consent,
            path=request.path,
            query=request_view.query_view(request),
            page_view=request_view.header(request, self.config["PAGE_VIEW_HEADER"]) or None,
            user_key=user_key,
            new_user_key=new_user_key,
            script_root=request.root_path,
        )

    def subject(self, layout: Layout, slug: str, site: SiteView) -> Subject | None:
        """What the page is about; an article scheduled for later is not there yet."""
        if layout.subject == "section":
            return self.content.section(slug)
        return self.content.article(slug, published_before=site.now)

    def page_context(
        self, layout: Layout, slug: str, subject: Subject, request: RequestView, site: SiteView
    ) -> PageContext:
        return PageContext(page_type=layout.page_type, slug=slug, subject=subject, site=site,
                           request=request, content=self.content, ads=self.ads,
                           page_slots=layout.ad_slots)

    def close(self) -> None:
        self.pool.shutdown()


def get_core(app: Any = None) -> Core:
    core: Core = (app or current_app).extensions[EXTENSION_KEY]
    return core
