"""Forecasts of proposed line items: the service the API (``/api/v1/forecasts``) and the console
(``/admin/forecasts``) call. It checks a proposal against the ad configuration, reads the
traffic profile and the delivery so far, and runs the forecast core
(``layoutserver.ads.forecast.forecaster``). Nothing here knows about HTTP.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import ValidationError, fields, validate
from sqlalchemy.orm import Session

from layoutserver.ads.decisions.model import (
    DayPart,
    FrequencyCap,
    Goal,
    LineItemSpec,
    Size,
    Targeting,
)
from layoutserver.ads.decisions.snapshot import Snapshot
from layoutserver.ads.forecast.forecaster import Forecast, Settings, forecast
from layoutserver.ads.forecast.proposal import PROPOSAL_ID, stand_in_creatives
from layoutserver.ads.forecast.traffic import TrafficProfile
from layoutserver.ads.forecast_source import (
    KindCache,
    click_rates,
    delivered_so_far,
    traffic_profile,
)
from layoutserver.ads.schemas import (
    MAX_SIZE_TEXT,
    MAX_SIZES,
    SIZE_ERROR,
    SIZE_PATTERN,
    LineItemSchema,
)
from layoutserver.ads.specs import TIERS
from layoutserver.ads.specs import targeting as targeting_spec
from layoutserver.db import Database
from layoutserver.services import Invalid
from layoutserver.validation import notes, pattern, rule

RATE_WEEKS = 4
"""Weeks of delivery a line item's click rate is measured over."""


class ProposalSchema(LineItemSchema):
    """A proposed line item: a line item's fields (``docs/ads.md``) but its name, campaign,
    status and creatives; ``sizes`` stand for the creatives it would bring."""

    class Meta:
        exclude = ("name", "campaign", "status", "creatives")

    tier = fields.String(load_default="standard",
                         validate=validate.OneOf(("sponsorship", "standard", "house")))
    end = fields.DateTime(format="iso", required=True, metadata=rule(
        "After start, and after now; at most ADS_FORECAST_MAX_DAYS (92) days from now; start "
        "and end both with a UTC offset or both without."))
    sizes = fields.List(
        fields.String(validate=[validate.Length(max=MAX_SIZE_TEXT),
                                pattern(SIZE_PATTERN, SIZE_ERROR)]),
        load_default=list, validate=validate.Length(max=MAX_SIZES),
        metadata=notes(rule("One of them a size a slot it targets takes (any slot when it "
                            "targets none)."),
                       description="The sizes of the creatives it would bring (WIDTHxHEIGHT); "
                                   "default: every size the slots it targets take."))


PROPOSAL = ProposalSchema()


@dataclass(frozen=True)
class Report:
    """A forecast with what it was made from."""

    forecast: Forecast
    timezone: ZoneInfo
    recorded_since: datetime | None
    recorded_hours: float
    notes: tuple[str, ...]
    """What the figures rest on that the reader should know (little traffic recorded, values
    never recorded)."""


def load_proposal(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a proposal as the API and the console take it; :class:`Invalid` with the
    messages by field."""
    if not isinstance(data, Mapping):
        raise Invalid({"_schema": ["Send a JSON object: the proposed line item."]})
    try:
        loaded: dict[str, Any] = PROPOSAL.load(data)
    except ValidationError as error:
        messages = error.messages
        raise Invalid(messages if isinstance(messages, dict) else {"_schema": messages}
                      ) from error
    return loaded


def proposal_spec(loaded: Mapping[str, Any], snapshot: Snapshot, now: datetime,
                  max_days: int) -> LineItemSpec:
    """The engine's line item for a loaded proposal: its slots must be known (checked first,
    alone), its sizes taken by one of them, its flight end after ``now`` and within
    ``max_days`` of it."""
    zone = snapshot.timezone
    targeting = targeting_spec(loaded["targeting"])
    unknown = sorted(targeting.slots - set(snapshot.slots))
    if unknown:  # names first: the rules below read the slots
        raise Invalid({"targeting": {"slots": [f"Unknown slot {code!r}." for code in unknown]}})
    errors: dict[str, Any] = {}
    start, end = (_aware(loaded[name], zone) for name in ("start", "end"))
    if end <= now:
        errors["end"] = [f"The flight ended before now ({now.isoformat()}): nothing to "
                         "forecast."]
    elif end > now + timedelta(days=max_days):
        errors["end"] = [f"A forecast reaches at most {max_days} days ahead."]
    sizes = _sizes(loaded["sizes"], targeting, snapshot)
    if not sizes:
        errors["sizes"] = ["No size: give the sizes of its creatives, or target slots."]
    elif loaded["sizes"] and not any(size in _accepted(targeting, snapshot) for size in sizes):
        errors["sizes"] = ["No slot it targets takes any of these sizes."]
    if errors:
        raise Invalid(errors)
    goal = loaded["goal"]
    return LineItemSpec(
        id=PROPOSAL_ID, name="proposal", campaign_id=0, advertiser_id=0,
        tier=TIERS[loaded["tier"]], priority=loaded["priority"], start=start, end=end,
        creatives=stand_in_creatives(PROPOSAL_ID, sizes), weight=loaded["weight"],
        pacing=loaded["pacing"],
        goal=None if goal is None else Goal(goal["metric"], goal["amount"], goal["period"]),
        caps=tuple(FrequencyCap(cap["impressions"], cap["period"]) for cap in loaded["caps"]),
        dayparts=tuple(_daypart(part) for part in loaded["dayparts"]),
        targeting=targeting, exclusion_labels=frozenset(loaded["exclusion_labels"]),
        roadblock=loaded["roadblock"],
    )


def _aware(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _daypart(part: Mapping[str, Any]) -> DayPart:
    return DayPart(frozenset(part["weekdays"]), part["start_hour"], part["end_hour"])


def _accepted(targeting: Targeting, snapshot: Snapshot) -> set[Size]:
    codes = targeting.slots or set(snapshot.slots)
    return {size for code in codes if code in snapshot.slots
            for accepted in snapshot.slots[code].sizes.values() for size in accepted}


def _sizes(given: list[str], targeting: Targeting, snapshot: Snapshot) -> list[Size]:
    if given:
        return [Size.parse(text) for text in given]
    return sorted(_accepted(targeting, snapshot))


class Forecasts:
    """One app's forecasts: the settings, and the traffic kinds read so far."""

    def __init__(self, database: Database, config: Mapping[str, Any]) -> None:
        self.database = database
        self.settings = Settings(samples=int(config["ADS_FORECAST_SAMPLES"]),
                                 pages_per_reader=float(config["ADS_FORECAST_PAGES_PER_READER"]))
        self.max_days = int(config["ADS_FORECAST_MAX_DAYS"])
        self._kinds = KindCache()
        self._lock = threading.Lock()
        self._profile: tuple[int, TrafficProfile, datetime | None] | None = None
        """The profile read this hour: it holds whole hours only, so it is read again only
        once the hour under way is over (a fraction of a second per 100,000 rows)."""

    def forecast(self, loaded: Mapping[str, Any], snapshot: Snapshot, now: datetime) -> Report:
        """Forecast the proposal ``loaded`` (by :data:`PROPOSAL`) against ``snapshot`` at
        ``now``; :class:`Invalid` for a proposal the configuration refuses."""
        proposal = proposal_spec(loaded, snapshot, now, self.max_days)
        zone = snapshot.timezone
        goals = [item.id for item in snapshot.line_items.values() if item.goal is not None]
        clicks = [item.id for item in snapshot.line_items.values()
                  if item.goal is not None and item.goal.metric == "clicks"]
        with self.database.session() as session, self._lock:
            profile, since = self._read_profile(session, zone, now)
            delivered = delivered_so_far(session, goals, now, zone)
            rates, network_rate = click_rates(session, clicks, now - timedelta(weeks=RATE_WEEKS))
        found = forecast(snapshot, profile, proposal, now, delivered, rates, network_rate,
                         self.settings)
        return Report(found, zone, since, profile.recorded_hours,
                      tuple(caveats(profile, proposal, found)))

    def _read_profile(self, session: Session, zone: ZoneInfo, now: datetime
                      ) -> tuple[TrafficProfile, datetime | None]:
        hour = int(now.timestamp()) // 3600
        kept = self._profile
        if kept is None or kept[0] != hour:
            profile, since = traffic_profile(session, zone, now, self._kinds)
            kept = self._profile = (hour, profile, since)
        return kept[1], kept[2]


def caveats(profile: TrafficProfile, proposal: LineItemSpec, found: Forecast) -> list[str]:
    """What the figures rest on that ad ops should know."""
    said = []
    hours = profile.recorded_hours
    if not hours:
        said.append("No traffic is recorded yet: every figure is zero until pages are served "
                    "(the record is written every ADS_TRAFFIC_FLUSH_SECONDS).")
    elif hours < 7 * 24:
        said.append(f"Only {hours:.0f} hours of traffic are recorded: hours of the week not "
                    "recorded yet are forecast from the same hour of the days recorded.")
    if hours and not found.matched:
        said.append("No recorded request matches its targeting: a key-value or tag no line "
                    "item targeted is recorded only once a line item targets it, or when the "
                    "settings ADS_FORECAST_KEYS and ADS_FORECAST_TAGS name it.")
    if proposal.goal is not None and proposal.goal.metric == "clicks":
        said.append(f"Clicks are forecast at {100 * found.click_rate:.2f} % of impressions "
                    f"(the whole network's click rate over the last {RATE_WEEKS} weeks).")
    return said
