"""``/api/v1/reports/delivery``: impressions, clicks and CTR, measurable and viewable impressions
and the viewability rate, over a range of site-local dates, by day or hour, optionally grouped
by line item, creative and slot, as JSON or CSV.

CSV is answered for ``Accept: text/csv`` (preferred over JSON) or ``format=csv``. Line items and
creatives are filtered by name, slots by code, as the ads resources name them. Reading takes the
``reports`` area (``admin``, ``adops``, ``viewer``). The report itself is
:func:`layoutserver.ads.reports.delivery_report`; its ``ValueError`` (end before start, a range too
long) answers 422.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from layoutserver.ads.extension import get_ads
from layoutserver.ads.models import Creative, LineItem
from layoutserver.ads.reports import Report, delivery_report, to_csv
from layoutserver.api.auth import require
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.validation import references, rule

GROUPS = ("line_item", "creative", "slot")
MEASURABLE = "Impressions whose viewability the reader's browser measured."
VIEWABLE = ("Measurable impressions with at least 50 % of the creative's pixels (30 % from "
            "242,500 px) in view for one continuous second.")
VIEWABILITY = "viewable / measurable; null when nothing was measured."

blp = Blueprint("reports", __name__, url_prefix="/reports",
                description="Delivery reports (JSON or CSV).")


def _names(**metadata: Any) -> fields.List[str]:
    return fields.List(fields.String(validate=validate.Length(min=1, max=200)),
                       validate=validate.Length(max=100), metadata=metadata)


class DeliveryQuery(Schema):
    start = fields.Date(required=True, metadata={"description": "First site-local day."})
    end = fields.Date(required=True, metadata={
        "description": "Last site-local day (included).",
        **rule("Not before start, and at most 366 days from it (31 by hour)."),
    })
    granularity = fields.String(load_default="day", validate=validate.OneOf(("day", "hour")))
    group_by = fields.List(fields.String(validate=validate.OneOf(GROUPS)), load_default=list)
    line_item = _names(description="Line item names.", **references("line items' names"))
    creative = _names(description="Creative names.", **references("creatives' names"))
    slot = _names(description="Slot codes.", **references("ad slots' codes"))
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")),
                           metadata={"description": "csv: the same as Accept: text/csv."})


class ReportRow(Schema):
    period = fields.String()
    line_item_id = fields.Integer(allow_none=True)
    line_item_name = fields.String(allow_none=True)
    creative_id = fields.Integer(allow_none=True)
    creative_name = fields.String(allow_none=True)
    slot = fields.String(allow_none=True)
    impressions = fields.Integer()
    clicks = fields.Integer()
    ctr = fields.Float(allow_none=True)
    measurable = fields.Integer(metadata={"description": MEASURABLE})
    viewable = fields.Integer(metadata={"description": VIEWABLE})
    viewability = fields.Float(allow_none=True, metadata={"description": VIEWABILITY})


class Totals(Schema):
    impressions = fields.Integer()
    clicks = fields.Integer()
    ctr = fields.Float(allow_none=True)
    measurable = fields.Integer(metadata={"description": MEASURABLE})
    viewable = fields.Integer(metadata={"description": VIEWABLE})
    viewability = fields.Float(allow_none=True, metadata={"description": VIEWABILITY})


class DeliveryReport(Schema):
    start = fields.Date()
    end = fields.Date()
    timezone = fields.String()
    granularity = fields.String()
    group_by = fields.List(fields.String())
    rows = fields.List(fields.Nested(ReportRow))
    totals = fields.Nested(Totals)


@blp.route("/delivery")
class Delivery(MethodView):
    @require(blp, "reports")
    @blp.arguments(DeliveryQuery, location="query")
    @blp.response(200, DeliveryReport)
    @blp.alt_response(200, success=True, content_type="text/csv", schema={"type": "string"},
                      description="The report: JSON, or CSV for Accept: text/csv or format=csv.")
    def get(self, query: dict[str, Any]) -> Any:
        """The delivery report of a date range."""
        timezone = get_core(current_app).timezone
        get_ads().flush_counts()  # counts still in Redis, too
        with get_database().session() as session:
            line_items = _ids(session, LineItem, query.get("line_item"), "line_item")
            creatives = _ids(session, Creative, query.get("creative"), "creative")
            try:
                report = delivery_report(
                    session, start=query["start"], end=query["end"], timezone=timezone,
                    granularity=query["granularity"], group_by=tuple(query["group_by"]),
                    line_item_ids=line_items, creative_ids=creatives, slots=query.get("slot"),
                )
            except ValueError as error:
                abort(422, message=str(error), errors={"query": {"end": [str(error)]}})
        if query["format"] == "csv" or _wants_csv():
            return Response(to_csv(report), mimetype="text/csv",
                            headers={"Content-Disposition": 'attachment; filename="delivery.csv"'})
        return _shown(report)


def _wants_csv() -> bool:
    return request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"


def _ids(session: Any, model: type[LineItem] | type[Creative], names: list[str] | None,
         field: str) -> list[int] | None:
    if names is None:
        return None
    found = dict(session.execute(select(model.name, model.id).where(model.name.in_(names))).all())
    unknown = [name for name in names if name not in found]
    if unknown:
        what = field.replace("_", " ")
        abort(422, message="The input is invalid.",
              errors={"query": {field: [f"Unknown {what} {name!r}." for name in unknown]}})
    return [found[name] for name in names]


def _shown(report: Report) -> dict[str, Any]:
    return {
        "start": report.start, "end": report.end, "timezone": report.timezone.key,
        "granularity": report.granularity, "group_by": list(report.group_by),
        "rows": [asdict(row) for row in report.rows], "totals": asdict(report.totals),
    }


BLUEPRINTS = (blp,)
