"""Response headers shared by the API's resources."""

from __future__ import annotations

from flask import Response


def no_store(response: Response) -> Response:
    """``after_request`` of a blueprint whose answers (errors included) are per request:
    ``Cache-Control: no-store``."""
    response.headers["Cache-Control"] = "no-store"
    return response
