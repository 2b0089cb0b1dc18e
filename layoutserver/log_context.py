"""The request id log lines carry, as a context variable: set by the web layer for each request
(``layoutserver.web.request_id``), read by the log filter (``layoutserver.logs``), and carried
by the renderer into its render threads (:func:`carrying_request_id`), so a widget's log lines
there name their request too. Imports nothing of Flask."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

REQUEST_ID: ContextVar[str] = ContextVar("layoutserver_request_id", default="-")


def carrying_request_id(task: Callable[[], T]) -> Callable[[], T]:
    """``task``, run with the request id of the thread that made it, wherever it runs. Only the
    id is carried, not the whole context: Flask keeps its request and app contexts in context
    variables too, and a render thread must not share them (nor what they hold) with the
    request thread."""
    request_id = REQUEST_ID.get()

    def run() -> T:
        token = REQUEST_ID.set(request_id)
        try:
            return task()
        finally:
            REQUEST_ID.reset(token)

    return run
