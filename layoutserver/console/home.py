"""``/admin``: where to go, by role, with the number of each resource."""

from __future__ import annotations

from flask import render_template

from layoutserver.console.access import may
from layoutserver.console.blueprint import blueprint
from layoutserver.console.resources import RESOURCES
from layoutserver.db import get_database


@blueprint.get("/")
def home() -> str:
    counts: dict[str, int] = {}
    with get_database().session() as session:
        for resource in RESOURCES:
            if may(resource.area):
                counts[resource.path] = resource.list_items(session, 0, 1, {})[1]
    return render_template("console/home.html", resources=RESOURCES, counts=counts)
