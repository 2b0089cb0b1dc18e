"""The site-facing HTTP layer: pages, fragments and single widgets, error responses, request ids
and the health probes."""

from flask import Flask

from layoutserver.web import errors, health, pages, request_id


def init_app(app: Flask) -> None:
    request_id.init_app(app)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(health.blueprint)
    errors.init_app(app)
