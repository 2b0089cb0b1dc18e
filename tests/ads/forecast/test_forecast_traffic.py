"""The traffic profile (means per hour of the week, and what stands in for hours never
recorded), and how requests are folded into bounded kinds."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from forecastworld import SLOTS

from layoutserver.ads.decisions.model import (
    CreativeSpec,
    LineItemSpec,
    PageRequest,
    Size,
    Targeting,
    Tier,
)
from layoutserver.ads.decisions.snapshot import Snapshot
from layoutserver.ads.forecast.folding import OTHER, Folder, Targeted, TargetedFollower
from layoutserver.ads.forecast.traffic import (
    WEEK_HOURS,
    PageKind,
    TrafficProfile,
    hours_per_week_hour,
    week_hour,
)

TZ = ZoneInfo("America/New_York")
MONDAY = datetime(2024, 9, 2, tzinfo=TZ)
DESKTOP = PageKind(("top",), "desktop", "world", "article", True)
MOBILE = DESKTOP._replace(device="mobile")


def test_an_hour_of_the_week_is_its_mean_over_the_recorded_ones() -> None:
    hours = [0.0] * WEEK_HOURS
    hours[9] = 4  # Monday 09:00, four weeks of it
    hours[24 + 9] = 1  # Tuesday 09:00, one
    profile = TrafficProfile(TZ, [(9, DESKTOP, 400), (9, MOBILE, 100), (33, DESKTOP, 70)],
                             hours)
    assert profile.expected(9).counts() == {DESKTOP: 100.0, MOBILE: 25.0}
    # Wednesday 09:00 was never recorded: the same hour of the days that were
    assert profile.expected(48 + 9).counts() == {DESKTOP: 94.0, MOBILE: 20.0}
    # 03:00 never either: the mean of every recorded hour
    assert profile.expected(3).total == (400 + 100 + 70) / 5
    assert profile.mix_at(MONDAY + timedelta(hours=9, minutes=59)).total == 125.0


def test_recorded_hours_are_counted_per_hour_of_the_week_in_site_time() -> None:
    start = MONDAY.astimezone(UTC)
    counts = hours_per_week_hour(start, start + timedelta(weeks=2, hours=3, minutes=30), TZ)
    assert counts[:4] == [3, 3, 3, 2.5] and counts[4:] == [2] * (WEEK_HOURS - 4)
    assert week_hour(datetime(2024, 9, 8, 23, 30, tzinfo=TZ), TZ) == WEEK_HOURS - 1
    assert week_hour(datetime(2024, 9, 9, 4, 0, tzinfo=UTC), TZ) == 0  # 00:00 in New York


def _item(item_id: int, **targeting: object) -> LineItemSpec:
    return LineItemSpec(
        id=item_id, name=f"li-{item_id}", campaign_id=1, advertiser_id=1,
        tier=Tier.STANDARD, priority=5, start=MONDAY, end=MONDAY + timedelta(days=30),
        creatives=(CreativeSpec(item_id, "image", Size(300, 250), "https://x.example/"),),
        targeting=Targeting(**targeting))  # type: ignore[arg-type]


def test_key_values_tags_and_paths_are_folded_to_what_targeting_tells_apart() -> None:
    snapshot = Snapshot.build(SLOTS, [
        _item(1, key_values={"lang": frozenset({"es"})}, tags=frozenset({"china"})),
        _item(2, paths=("/pages/article/*",)),
        _item(3, paths=("/pages/article/*", "/pages/front/*")),
    ], TZ, version=1)
    folder = Folder(Targeted.of(snapshot, keys=("topic",)), values_per_key=2)

    def fold(**page: object) -> PageKind:
        request = PageRequest(slots=("top",), now=MONDAY, **page)  # type: ignore[arg-type]
        return folder.fold(request, ("top",))

    values = [fold(key_values={"lang": lang, "topic": topic, "utm": "x"}).key_values
              for lang, topic in (("es", "a"), ("en", "b"), ("fr", "a"), ("de", "c"))]
    # a targeted value always; others while the key has had fewer than two; untargeted keys
    # not named by the setting never
    assert values == [(("lang", "es"), ("topic", "a")), (("lang", "en"), ("topic", "b")),
                      (("lang", "fr"), ("topic", "a")), (("lang", OTHER), ("topic", OTHER))]
    assert fold(tags=frozenset({"china", "trade"})).tags == ("china",)
    first = fold(path="/pages/article/first").path
    assert fold(path="/pages/article/second").path == first == "/pages/article/first"
    assert fold(path="/pages/front/x").path == "/pages/front/x"  # another set of rules matched
    assert fold(path="/elsewhere").path == "/"
    for pattern in folder.targeted.paths:  # the kept path matches as the page's did
        assert bool(pattern.match(first)) == bool(re.match(pattern, "/pages/article/second"))
    folder.new_hour()
    assert fold(key_values={"lang": "de"}).key_values == (("lang", "de"),)
    assert fold(key_values={"lang": "x" * 300}).key_values == (("lang", OTHER),)


def test_what_line_items_target_follows_each_revision() -> None:
    snapshot = Snapshot.build(SLOTS, [_item(n, key_values={"lang": frozenset({f"l{n}"})})
                                      for n in range(1, 6)], TZ, version=1)
    follow = TargetedFollower(keys=("topic",))
    assert follow(snapshot) == Targeted.of(snapshot, keys=("topic",))
    revised = snapshot.with_line_items([
        _item(9, tags=frozenset({"china"}), paths=("/pages/front/*",)),
        _item(2, key_values={"lang": frozenset({"new"})})], version=2)
    followed = follow(revised)
    assert followed.values == {"topic": frozenset(),
                               "lang": frozenset({"l1", "l2", "l3", "l4", "l5", "new"})}
    assert followed.tags == {"china"}
    assert [p.pattern for p in followed.paths] == [p.pattern for p in Targeted.of(revised).paths]
    assert follow(snapshot) == Targeted.of(snapshot, keys=("topic",))  # the base's own
    # enough changes that the line items fold into a new base: exact again, "l2" gone
    folded = revised.with_line_items([_item(n) for n in range(100, 400)], version=3)
    assert follow(folded) == Targeted.of(folded, keys=("topic",))
    assert "l2" not in follow(folded).values["lang"]
