"""``POST /api/v1/forecasts``: what a proposed line item would get before it is booked, and what
the line items already booked would lose (``layoutserver.ads.forecasts``; ``docs/forecasting.md``
says what each figure means). The ``reports`` area (``admin``, ``adops``, ``viewer``): a
forecast changes nothing.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from layoutserver.ads.extension import get_ads
from layoutserver.ads.forecasts import PROPOSAL, Report
from layoutserver.ads.specs import TIERS
from layoutserver.api.auth import require
from layoutserver.api.headers import no_store
from layoutserver.services import Invalid

blp = Blueprint("forecasts", __name__, url_prefix="/forecasts",
                description="Forecasts of proposed line items (nothing is booked).")
blp.after_request(no_store)
TIER_NAMES = {tier: name for name, tier in TIERS.items()}


class ForecastDay(Schema):
    date = fields.Date()
    requests = fields.Integer(metadata={"description": "Ad requests expected site-wide."})
    matched = fields.Integer(metadata={
        "description": "Slot opportunities its targeting, day-parts and sizes match."})
    available = fields.Integer(metadata={
        "description": "What it would get with weight 0 and no goal: what the line items of "
                       "its tier and priority and above leave of the matched."})
    forecast = fields.Integer(metadata={"description": "What it would deliver as proposed."})


class ForecastCompetitor(Schema):
    line_item_id = fields.Integer()
    name = fields.String()
    tier = fields.String()
    priority = fields.Integer()
    without = fields.Integer(metadata={"description": "Its forecast delivery up to the "
                                                      "proposal's end, the proposal not booked."})
    beside = fields.Integer(metadata={"description": "The same with the proposal booked."})
    loss = fields.Integer()


class ForecastTraffic(Schema):
    recorded_since = fields.DateTime(allow_none=True)
    recorded_hours = fields.Float()
    samples = fields.Integer(metadata={"description": "Sampled ad requests per run."})
    weight = fields.Float(metadata={"description": "Ad requests one sample stands for where "
                                                   "the proposal may serve."})


class ForecastDocument(Schema):
    start = fields.DateTime(metadata={"description": "The proposal's start, or now if later."})
    end = fields.DateTime()
    timezone = fields.String()
    matched = fields.Integer()
    available = fields.Integer()
    forecast = fields.Integer()
    margin = fields.Integer(metadata={
        "description": "About two standard errors of the forecast from sampling."})
    goal = fields.Integer(allow_none=True, metadata={"description": "The goal's amount."})
    reachable = fields.Boolean(allow_none=True, metadata={
        "description": "The forecast meets the goal (null without one)."})
    short_days = fields.List(fields.Date(), metadata={
        "description": "Days a daily goal is not met."})
    click_rate = fields.Float(allow_none=True, metadata={
        "description": "The click rate a click goal is forecast with."})
    days = fields.List(fields.Nested(ForecastDay))
    competitors = fields.List(fields.Nested(ForecastCompetitor), metadata={
        "description": "Booked line items that would deliver less, the largest loss first."})
    traffic = fields.Nested(ForecastTraffic)
    notes = fields.List(fields.String())


@blp.route("")
class Forecasts(MethodView):
    @require(blp, "reports")
    @blp.arguments(PROPOSAL)
    @blp.response(200, ForecastDocument)
    def post(self, proposal: dict[str, Any]) -> Any:
        """Forecast a proposed line item from the recorded traffic, against the line items
        booked now."""
        ads = get_ads()
        ads.flush_counts()  # the delivery so far, Redis's counters too
        try:
            report = ads.forecasts.forecast(proposal, ads.snapshots.current(), ads.now())
        except Invalid as error:
            abort(422, message="The input is invalid.", errors={"json": error.messages})
        return shown(report)


def shown(report: Report) -> dict[str, Any]:
    """The document of a report (the API's, and what the console shows)."""
    found = report.forecast
    goal = found.proposal.goal
    return {
        "start": found.start.astimezone(report.timezone),
        "end": found.end.astimezone(report.timezone), "timezone": report.timezone.key,
        "matched": round(found.matched), "available": round(found.available),
        "forecast": round(found.forecast), "margin": round(found.margin),
        "goal": None if goal is None else goal.amount, "reachable": found.reachable,
        "short_days": list(found.short_days),
        "click_rate": found.click_rate if goal is not None and goal.metric == "clicks" else None,
        "days": [{"date": day.day, "requests": round(day.requests), "matched": round(day.matched),
                  "available": round(day.available), "forecast": round(day.forecast)}
                 for day in found.days],
        "competitors": [{
            "line_item_id": c.line_item.id, "name": c.line_item.name,
            "tier": TIER_NAMES[c.line_item.tier], "priority": c.line_item.priority,
            "without": round(c.without), "beside": round(c.beside), "loss": round(c.loss),
        } for c in found.competitors],
        "traffic": {"recorded_since": report.recorded_since,
                    "recorded_hours": report.recorded_hours, "samples": found.samples,
                    "weight": found.weight},
        "notes": list(report.notes),
    }


BLUEPRINTS = (blp,)
