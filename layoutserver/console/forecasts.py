"""``/admin/forecasts``: the forecast of a proposed line item, as ``POST /api/v1/forecasts``
makes it (``layoutserver.ads.forecasts``), asked with the line item form's fields (less its name,
campaign, status and creatives; plus the creatives' sizes) and shown as figures, a chart per
day, the days and the line items it would take from. A ``GET`` form: a forecast changes nothing,
and its address can be shared. For the ``reports`` area. ``docs/forecasting.md`` says what each
figure means.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from flask import render_template, request
from markupsafe import Markup

from layoutserver.ads.extension import get_ads
from layoutserver.ads.forecasts import Report, load_proposal
from layoutserver.console.access import requires
from layoutserver.console.blueprint import blueprint
from layoutserver.console.charts import Series, bar_chart
from layoutserver.console.forms import (
    FORM_ERRORS,
    Field,
    FormState,
    field_errors,
    form_values,
    posted_values,
    read_form,
)
from layoutserver.console.resources import LINE_ITEM
from layoutserver.core import get_core
from layoutserver.services import Invalid

NOT_PROPOSED = ("name", "campaign", "status", "creatives")
FIELDS: tuple[Field, ...] = (
    Field("sizes", "Creative sizes", "list",
          help="The sizes of the creatives it would bring, e.g. 300x250, 320x50; empty: every "
               "size of the slots it targets."),
    *(spec for spec in LINE_ITEM.fields if spec.name not in NOT_PROPOSED),
)
ASKED = "forecast"
"""The query parameter the form's button sends: a forecast was asked for."""
WEEK = timedelta(days=8)
"""The form's suggested flight: from this hour to the end of the seventh day after today."""


@blueprint.get("/forecasts")
@requires("reports")
def forecasts() -> str:
    timezone = get_core().timezone
    ads = get_ads()
    if ASKED not in request.args:
        now = ads.now().astimezone(timezone).replace(minute=0, second=0, microsecond=0)
        suggested = {"start": now.isoformat(), "end": (now.replace(hour=0) + WEEK).isoformat(),
                     "tier": "standard", "priority": 5, "weight": 1, "pacing": "even",
                     "goal": {"period": "lifetime"}}
        form = FormState(FIELDS, form_values(FIELDS, suggested, timezone), {}, creating=True)
        return render_template("console/forecasts.html", form=form, report=None, charts=(),
                               share=share)
    data, errors = read_form(FIELDS, request.args, timezone, creating=True)
    report = None
    if not errors:
        try:
            ads.flush_counts()  # the delivery so far, Redis's counters too
            report = ads.forecasts.forecast(load_proposal(data), ads.snapshots.current(),
                                            ads.now())
        except Invalid as error:
            errors = field_errors(FIELDS, error.messages)
    form = FormState(FIELDS, posted_values(FIELDS, request.args), errors, creating=True)
    return render_template("console/forecasts.html", form=form, report=report,
                           charts=charts(report) if report else (), share=share,
                           form_errors=errors.get(FORM_ERRORS, []))


def charts(report: Report) -> Sequence[Markup]:
    """Available and forecast per day, the goal's daily pace drawn across."""
    found = report.forecast
    days = [day.day.isoformat() for day in found.days]
    goal = found.proposal.goal
    pace = None
    if goal is not None and goal.metric == "impressions":
        pace = goal.amount if goal.period == "daily" else goal.amount / max(len(days), 1)
    return (
        bar_chart(days, Series("Available", [round(d.available) for d in found.days],
                               "impressions", pace)),
        bar_chart(days, Series("Forecast", [round(d.forecast) for d in found.days],
                               "clicks", pace)),
    )


def share(part: float, whole: float) -> str:
    """``part`` as a percentage of ``whole``."""
    return f"{100 * part / whole:.0f} %" if whole else "—"
