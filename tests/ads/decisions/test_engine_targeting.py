"""Targeting rule by rule, day-parting and schedules at the site time zone's boundaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from adfactory import TZ, chosen, decide, line_item, reasons, request, slot, snapshot

from layoutserver.ads.decisions.model import DayPart, PageRequest, Targeting

SLOTS = [slot("top"), slot("side")]


def serves(targeting: Targeting, req: PageRequest, code: str = "top") -> bool:
    snap = snapshot(SLOTS, [line_item(1, targeting=targeting)])
    return chosen(decide(snap, req))[code] == 1


def failure(targeting: Targeting, req: PageRequest) -> str:
    snap = snapshot(SLOTS, [line_item(1, targeting=targeting)])
    return reasons(decide(snap, req, explain=True), "top")[1]


CASES: list[tuple[str, Targeting, dict[str, Any], dict[str, Any], str]] = [
    (
        "page type",
        Targeting(page_types=frozenset({"article", "gallery"})),
        {"page_type": "article"},
        {"page_type": "front"},
        "targeting: page type",
    ),
    (
        "tags, any of",
        Targeting(tags=frozenset({"elections", "climate"})),
        {"tags": frozenset({"climate", "europe"})},
        {"tags": frozenset({"sport"})},
        "targeting: tags",
    ),
    (
        "device",
        Targeting(devices=frozenset({"desktop"})),
        {"device": "desktop"},
        {"device": "tablet"},
        "targeting: device",
    ),
    (
        "key-values, any value of each key",
        Targeting(key_values={"lang": frozenset({"en", "fr"}), "sub": frozenset({"yes"})}),
        {"key_values": {"lang": "fr", "sub": "yes", "other": "x"}},
        {"key_values": {"lang": "fr", "sub": "no"}},
        "targeting: key-values",
    ),
    (
        "key-values, key missing",
        Targeting(key_values={"lang": frozenset({"en"})}),
        {"key_values": {"lang": "en"}},
        {"key_values": {}},
        "targeting: key-values",
    ),
    (
        "path patterns",
        Targeting(paths=("/pages/article/*", "/world/?ews")),
        {"path": "/world/news"},
        {"path": "/pages/front"},
        "targeting: path",
    ),
    (
        "path patterns are case-sensitive",
        Targeting(paths=("/pages/article/*",)),
        {"path": "/pages/article/some-slug"},
        {"path": "/PAGES/article/some-slug"},
        "targeting: path",
    ),
]


@pytest.mark.parametrize(
    ("targeting", "match", "miss", "reason"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_targeting_rule(
    targeting: Targeting, match: dict[str, Any], miss: dict[str, Any], reason: str
) -> None:
    assert serves(targeting, request(**match))
    assert not serves(targeting, request(**miss))
    assert failure(targeting, request(**miss)) == reason


def test_untargeted_line_items_serve_everywhere() -> None:
    assert serves(Targeting(), request(page_type="x", section="y", device="desktop"))
    assert serves(Targeting(), request("side"), code="side")


def test_slot_targeting() -> None:
    targeting = Targeting(slots=frozenset({"side"}))
    assert serves(targeting, request("top", "side"), code="side")
    assert not serves(targeting, request("top", "side"), code="top")


def test_section_targeting() -> None:
    targeting = Targeting(sections=frozenset({"world", "politics"}))
    assert serves(targeting, request(section="world"))
    assert not serves(targeting, request(section="sport"))
    assert not serves(targeting, request(section=None))


def test_every_rule_must_match() -> None:
    targeting = Targeting(page_types=frozenset({"article"}), devices=frozenset({"mobile"}))
    assert not serves(targeting, request(page_type="article", device="desktop"))
    assert failure(targeting, request(page_type="front", device="desktop")) == (
        "targeting: page type"
    )


# -- day-parting: [9, 17) on weekdays, site-local (America/New_York) -----------------------------

WORKING_HOURS = (DayPart(frozenset(range(5)), 9, 17),)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (local(2024, 10, 10, 8, 59, 59), False),
        (local(2024, 10, 10, 9, 0, 0), True),
        (local(2024, 10, 10, 16, 59, 59), True),
        (local(2024, 10, 10, 17, 0, 0), False),
        (local(2024, 10, 12, 12, 0, 0), False),  # a Saturday
        # the same instants given in UTC: the engine converts to the site time zone
        (datetime(2024, 10, 10, 12, 59, 59, tzinfo=UTC), False),
        (datetime(2024, 10, 10, 13, 0, 0, tzinfo=UTC), True),
        (datetime(2024, 10, 10, 21, 0, 0, tzinfo=UTC), False),
        # after the DST change (EST, UTC-5) 09:00 local is 14:00 UTC
        (datetime(2024, 11, 4, 13, 59, 59, tzinfo=UTC), False),
        (datetime(2024, 11, 4, 14, 0, 0, tzinfo=UTC), True),
        (datetime(2024, 11, 4, 21, 59, 59, tzinfo=UTC), True),
        (datetime(2024, 11, 4, 22, 0, 0, tzinfo=UTC), False),
    ],
)
def test_dayparts_at_site_local_boundaries(moment: datetime, expected: bool) -> None:
    item = line_item(1, dayparts=WORKING_HOURS, end=local(2024, 12, 31))
    snap = snapshot(SLOTS, [item])
    decided = decide(snap, request(now=moment), explain=True)
    assert (chosen(decided)["top"] == 1) is expected
    if not expected:
        assert reasons(decided, "top")[1] == "daypart"


def test_daypart_over_midnight_and_several_parts() -> None:
    parts = (DayPart(frozenset({4}), 22, 2), DayPart(frozenset({6}), 10, 11))
    snap = snapshot(SLOTS, [line_item(1, dayparts=parts)])

    def at(*args: int) -> bool:
        return chosen(decide(snap, request(now=local(*args))))["top"] == 1

    assert at(2024, 10, 11, 23, 30)  # Friday 23:30
    assert at(2024, 10, 11, 1, 0)  # Friday 01:00
    assert not at(2024, 10, 11, 2, 0)
    assert not at(2024, 10, 12, 1, 0)  # Saturday 01:00: not a Friday
    assert at(2024, 10, 13, 10, 15)  # Sunday
    assert not at(2024, 10, 13, 11, 0)


def test_daypart_in_the_repeated_hour_of_a_dst_change() -> None:
    """2024-11-03 01:00-02:00 happens twice in New York; both are hour 1 locally."""
    snap = snapshot(SLOTS, [line_item(1, dayparts=(DayPart(frozenset({6}), 1, 2),))])
    for utc_hour in (5, 6):  # 01:xx EDT, then 01:xx EST
        moment = datetime(2024, 11, 3, utc_hour, 30, tzinfo=UTC)
        assert chosen(decide(snap, request(now=moment)))["top"] == 1
    assert (
        chosen(decide(snap, request(now=datetime(2024, 11, 3, 7, 30, tzinfo=UTC))))["top"] is None
    )


# -- schedule: start <= now < end -----------------------------------------------------------------


def test_schedule_boundaries() -> None:
    start = local(2024, 10, 10, 0, 0)
    end = local(2024, 10, 17, 0, 0)
    snap = snapshot(SLOTS, [line_item(1, start=start, end=end)])

    def at(moment: datetime) -> str:
        return reasons(decide(snap, request(now=moment), explain=True), "top")[1]

    assert at(start - timedelta(microseconds=1)) == "schedule: not started"
    assert at(start) == "chosen"
    assert at(end - timedelta(microseconds=1)) == "chosen"
    assert at(end) == "schedule: ended"
    assert at(start.astimezone(UTC)) == "chosen"


def test_naive_schedule_datetimes_are_site_local() -> None:
    item = line_item(1, start=datetime(2024, 10, 10, 9, 0), end=datetime(2024, 10, 10, 17, 0))
    snap = snapshot(SLOTS, [item])
    assert chosen(decide(snap, request(now=local(2024, 10, 10, 8, 59))))["top"] is None
    assert chosen(decide(snap, request(now=local(2024, 10, 10, 9, 0))))["top"] == 1
    assert chosen(decide(snap, request(now=local(2024, 10, 10, 17, 0))))["top"] is None


def test_a_naive_request_time_is_refused() -> None:
    snap = snapshot(SLOTS, [line_item(1)])
    with pytest.raises(ValueError, match="aware"):
        decide(snap, request(now=datetime(2024, 10, 10, 12, 0)))
