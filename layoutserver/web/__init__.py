"""The site-facing HTTP layer: pages, fragments and single widgets, error responses, request ids
and the health probes."""

from flask import Flask

from layoutserver.core import get_core
from layoutserver.render.page import PagePipeline
from layoutserver.web import errors, fragment_errors, health, pages, request_id, site_files


def init_app(app: Flask) -> None:
    app.extensions[pages.PIPELINE_KEY] = PagePipeline(get_core(app))
    request_id.init_app(app)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(site_files.blueprint)
    errors.init_app(app)
    fragment_errors.init_app(app, ("/fragments/", "/widgets/"), pages.INCLUDED_ENDPOINTS)
