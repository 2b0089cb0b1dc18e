"""Read-only ``/api/v1/widgets`` and (admin only) ``/api/v1/audit``."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from layoutserver.api import paging, schemas
from layoutserver.api.auth import require
from layoutserver.auth.audit import audit_page
from layoutserver.core import get_core
from layoutserver.db import get_database

widgets = Blueprint("widgets", __name__, url_prefix="/widgets",
                    description="The installed widgets and their options (read-only).")
audit = Blueprint("audit", __name__, url_prefix="/audit",
                  description="Who changed what, when (admin only).")


@widgets.route("")
class Widgets(MethodView):
    @require(widgets, "widgets")
    @widgets.response(200, schemas.Widget(many=True))
    def get(self) -> Any:
        """Every installed widget, with its options."""
        from layoutserver.cli import describe_options  # the CLI imports the app factory

        return [
            {
                "name": installed.name, "version": installed.widget.version,
                "description": installed.widget.description,
                "distribution": installed.distribution,
                "distribution_version": installed.distribution_version,
                "options": describe_options(installed.widget.options_schema),
            }
            for installed in get_core().registry
        ]


@audit.route("")
class Audit(MethodView):
    @require(audit, "audit")
    @audit.arguments(schemas.AuditQuery, location="query", as_kwargs=True)
    @audit.response(200, schemas.AuditEntry(many=True), headers={"Link": paging.LINK_HEADER})
    @paging.paginate(audit, schemas.AuditEntry())
    def get(self, pagination_parameters: paging.PageParameters, **filters: str) -> Any:
        """Changes, newest first, filtered by resource type, resource id and actor."""
        with get_database().session() as session:
            return audit_page(session, pagination_parameters.window(), **filters)


BLUEPRINTS = (widgets, audit)
