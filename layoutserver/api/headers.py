"""Response headers and error messages shared by the API's resources."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response
from werkzeug.exceptions import HTTPException

IF_MATCH_MESSAGES = {
    428: "This change needs the resource's ETag as If-Match: read the resource (GET: its ETag "
         "header), then send this request again with the header If-Match: <that ETag>.",
    412: "The resource changed since the ETag sent as If-Match: read it again (GET), check "
         "what changed, and send the change with its new ETag.",
}
"""What a client must send, for the answers flask-smorest's ETag check gives without a
message."""


def no_store(response: Response) -> Response:
    """``after_request`` of a blueprint whose answers (errors included) are per request:
    ``Cache-Control: no-store``."""
    response.headers["Cache-Control"] = "no-store"
    return response


def explained_errors(handler: Callable[[HTTPException], Any]
                     ) -> Callable[[HTTPException], Any]:
    """``handler`` (flask-smorest's), with a message for the errors that come without one and
    whose fix is not obvious from the status alone (428, 412: :data:`IF_MATCH_MESSAGES`)."""

    def handle(error: HTTPException) -> Any:
        message = IF_MATCH_MESSAGES.get(error.code or 0)
        if message is not None and not getattr(error, "data", None):
            error.data = {"message": message}  # type: ignore[attr-defined]
        return handler(error)

    return handle
