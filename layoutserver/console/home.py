"""``/admin``: where to go, by role, with the number of each resource."""

from __future__ import annotations

from flask import render_template

from layoutserver.console.access import may
from layoutserver.console.blueprint import blueprint
from layoutserver.console.resources import RESOURCES
from layoutserver.db import get_database

#: The counts stop here ("10,000+"): counting a whole archive would read all of it.
COUNT_AT_MOST = 10_000


@blueprint.get("/")
def home() -> str:
    counts: dict[str, str] = {}
    with get_database().session() as session:
        for resource in RESOURCES:
            if may(resource.area):
                counts[resource.path] = shown_count(resource.count(session, COUNT_AT_MOST + 1))
    return render_template("console/home.html", resources=RESOURCES, counts=counts)


def shown_count(count: int) -> str:
    """``count`` as the console shows it: ``10,000+`` past :data:`COUNT_AT_MOST`."""
    return f"{COUNT_AT_MOST:,}+" if count > COUNT_AT_MOST else f"{count:,}"
