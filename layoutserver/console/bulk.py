"""Pausing or resuming a whole campaign or advertiser: ``POST /admin/campaigns/pause/<name>``
and ``/admin/advertisers/pause/<name>`` with ``action`` ``pause`` (active line items become
paused) or ``resume`` (paused ones become active; drafts stay drafts). Campaigns and advertisers
have no status of their own: their line items do. Each line item is changed through the ads
service (an audit entry each), all in one transaction: all of them or none."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from layoutserver.ads import config_service as ads_service
from layoutserver.console.access import current_user, requires
from layoutserver.console.blueprint import blueprint
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.keyset import Window
from layoutserver.services import Invalid, NotFound

MAX_ITEMS = 10_000
#: action -> (the status changed, the status it becomes)
CHANGES = {"pause": ("active", "paused"), "resume": ("paused", "active")}


def line_items_of(session: Session, kind: str, name: str) -> list[str]:
    """The names of the line items of campaign (or advertiser) ``name``; ``NotFound``."""
    ads_service.get(session, "campaign" if kind == "campaign" else "advertiser", name)
    campaigns = [name] if kind == "campaign" else [
        row["name"] for row in ads_service.list_items(
            session, "campaign", Window(MAX_ITEMS), {"advertiser": name}).items]
    found: list[str] = []
    for campaign in campaigns:
        rows = ads_service.list_items(session, "line_item", Window(MAX_ITEMS),
                                      {"campaign": campaign}).items
        found.extend(row["name"] for row in rows)
    return found


@blueprint.post("/<any(campaigns, advertisers):path>/pause/<path:name>")
@requires("ads", write=True)
def pause_all(path: str, name: str) -> Response:
    action = request.form.get("action", "")
    if action not in CHANGES:
        abort(400, "The action is pause or resume.")
    before, after = CHANGES[action]
    kind = "campaign" if path == "campaigns" else "advertiser"
    changed: list[str] = []
    try:
        with get_database().session() as session:
            for item in line_items_of(session, kind, name):
                if ads_service.get(session, "line_item", item)["status"] == before:
                    ads_service.update(session, current_user().actor, "line_item", item,
                                       {"status": after}, get_core().timezone)
                    changed.append(item)
    except NotFound as error:
        abort(404, str(error))
    except Invalid as error:
        flash(f"Nothing changed: {error}", "error")
    else:
        flash(f"{action.capitalize()}d {len(changed)} line item(s) of {kind} {name}"
              + (f": {', '.join(changed)}." if changed else "."))
    return redirect(url_for("console.edit", path=path, key=name))
