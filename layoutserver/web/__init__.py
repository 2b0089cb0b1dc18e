"""The site-facing HTTP layer: pages, fragments and single widgets, and error responses."""

from flask import Flask

from layoutserver.web import errors, pages


def init_app(app: Flask) -> None:
    app.register_blueprint(pages.blueprint)
    errors.init_app(app)
