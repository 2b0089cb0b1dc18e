"""Reordering an editorial list (the Must read list's order) one step at a time:
``POST /admin/editorial-lists/move/<name>`` with ``index`` and ``direction`` (up or down),
saved through the content service like any other change."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from layoutserver.console.access import current_user, requires
from layoutserver.console.blueprint import blueprint
from layoutserver.content import service as content_service
from layoutserver.db import get_database
from layoutserver.services import NotFound

PATH = "editorial-lists"


@blueprint.post(f"/{PATH}/move/<path:name>")
@requires("content", write=True)
def move(name: str) -> Response:
    index = request.form.get("index", type=int)
    direction = request.form.get("direction", "")
    step = {"up": -1, "down": 1}.get(direction)
    if index is None or step is None:
        abort(400, "Give the article's index and a direction, up or down.")
    try:
        with get_database().session() as session:
            articles = list(content_service.get(session, "editorial_list", name)["articles"])
            target = index + step
            if not (0 <= index < len(articles) and 0 <= target < len(articles)):
                abort(400, f"Article {index + 1} cannot move {direction}.")
            articles[index], articles[target] = articles[target], articles[index]
            content_service.update(session, current_user().actor, "editorial_list", name,
                                   {"articles": articles})
    except NotFound as error:
        abort(404, str(error))
    flash(f"Moved {articles[target]} {direction}.")
    return redirect(url_for("console.edit", path=PATH, key=name))
