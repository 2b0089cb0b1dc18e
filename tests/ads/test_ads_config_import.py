"""The ad configuration import: the demo document, idempotence, updates and validation."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from adsupport import DEMO_ADS, demo_document, small_config
from sqlalchemy import func, select

from layoutserver.ads.config_import import AdsImportError, ImportReport, import_ads, import_ads_file
from layoutserver.ads.models import AdSlot, AdsState, Creative, LineItem
from layoutserver.db import Database

TZ = ZoneInfo("America/New_York")


def version(database: Database) -> int:
    with database.session() as session:
        state = session.get(AdsState, 1)
        return 0 if state is None else state.version


def rows(database: Database, model: Any) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def errors_of(database: Database, document: dict[str, Any]) -> list[str]:
    with pytest.raises(AdsImportError) as caught:
        import_ads(database, document, TZ)
    return caught.value.messages


def test_the_demo_imports_once_and_then_changes_nothing(database: Database) -> None:
    first = import_ads_file(database, DEMO_ADS, TZ)
    assert first.created == 40 and first.updated == 0
    assert version(database) == 1
    assert rows(database, AdSlot) == 5
    second = import_ads_file(database, DEMO_ADS, TZ)
    assert second == ImportReport(created=0, updated=0, unchanged=40)
    assert version(database) == 1


def test_a_change_updates_the_row_and_bumps_the_version_once(database: Database) -> None:
    import_ads(database, small_config(), TZ)
    changed = small_config(weight=5, caps=[{"impressions": 2, "period": "day"}])
    report = import_ads(database, changed, TZ)
    assert (report.created, report.updated) == (0, 1)
    assert version(database) == 2
    with database.session() as session:
        acme = session.scalars(select(LineItem).where(LineItem.name == "acme")).one()
        assert acme.weight == 5
        assert acme.caps == [{"impressions": 2, "period": "day"}]


def test_order_of_lists_carries_no_meaning(database: Database) -> None:
    targeting = {"sections": ["world", "climate"], "tags": ["b", "a"]}
    import_ads(database, small_config(targeting=targeting), TZ)
    swapped = {"sections": ["climate", "world"], "tags": ["a", "b"]}
    assert not import_ads(database, small_config(targeting=swapped), TZ).changed
    assert version(database) == 1


def test_a_changed_creative_list_counts_as_an_update(database: Database) -> None:
    import_ads(database, small_config(), TZ)
    report = import_ads(database, small_config(creatives=["acme-1", "house-1"]), TZ)
    assert report.updated == 1
    assert version(database) == 2


def test_naive_flight_dates_are_site_local(database: Database) -> None:
    import_ads(database, small_config(start="2024-10-01T00:00:00", end="2024-10-02T00:00:00"),
               TZ)
    with database.session() as session:
        acme = session.scalars(select(LineItem).where(LineItem.name == "acme")).one()
        assert acme.start.astimezone(TZ).isoformat() == "2024-10-01T00:00:00-04:00"


def test_a_slot_code_a_layout_cannot_name_is_rejected(database: Database) -> None:
    document = small_config()
    document["slots"][0]["code"] = "Top_1"
    assert errors_of(database, document) == [
        "slots[0].code: Not a valid code: use lower-case letters, digits and single hyphens."
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"end": "2024-09-01T00:00:00-04:00"}, "line_items[0].end: Must be after start."),
        ({"weight": -1}, "line_items[0].weight: Must be greater than or equal to 0"),
        ({"caps": [{"impressions": -3, "period": "day"}]},
         "line_items[0].caps[0].impressions: Must be greater than or equal to 1"),
        ({"caps": [{"impressions": 3, "period": "fortnight"}]},
         "line_items[0].caps[0].period: Must be one of"),
        ({"targeting": {"slots": ["nowhere"]}},
         "line_items[0].targeting.slots[0]: Unknown slot 'nowhere'."),
        ({"creatives": ["missing"]}, "line_items[0].creatives[0]: Unknown creative 'missing'."),
        ({"campaign": "Nope"}, "line_items[0].campaign: Unknown campaign 'Nope'."),
        ({"tier": "gold"}, "line_items[0].tier: Must be one of"),
        ({"budget": 100}, "line_items[0].budget: Unknown field."),
        ({"dayparts": [{"start_hour": 9, "end_hour": 9}]},
         "line_items[0].dayparts[0].end_hour: start_hour and end_hour must differ."),
        ({"targeting": {"devices": ["watch"]}}, "line_items[0].targeting.devices[0]: Must be one"),
        ({"start": "not a date"}, "line_items[0].start: Not a valid datetime."),
    ],
)
def test_a_bad_line_item_is_named_and_nothing_is_written(
    database: Database, change: dict[str, Any], message: str
) -> None:
    messages = errors_of(database, small_config(**change))
    assert any(m.startswith(message) for m in messages), messages
    assert rows(database, LineItem) == rows(database, AdSlot) == 0
    assert version(database) == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("click_url", "javascript:alert(1)",
         "creatives[0].click_url: Not a valid URL: only http:// and https:// URLs are allowed."),
        ("click_url", "ftp://acme.example.com/",
         "creatives[0].click_url: Not a valid URL: only http:// and https:// URLs are allowed."),
        ("size", "300 by 250", "creatives[0].size: Not a size"),
        ("size", "0x250", "creatives[0].size: Not a size"),
        ("image_url", "//evil.example.com/a.png", "creatives[0].image_url: Not a valid URL"),
        ("alt", "", "creatives[0].alt: Required for a creative of kind image."),
        ("colour", "red", "creatives[0].colour: Unknown field."),
    ],
)
def test_a_bad_creative_is_named(database: Database, field: str, value: str,
                                 message: str) -> None:
    document = small_config()
    document["creatives"][0][field] = value
    messages = errors_of(database, document)
    assert any(m.startswith(message) for m in messages), messages
    assert rows(database, Creative) == 0


def test_bad_slots_are_named(database: Database) -> None:
    document = small_config()
    document["slots"].append({"code": "side", "name": "Side", "sizes": {"desktop": ["300x25O"]}})
    document["slots"].append({"code": "foot", "name": "Foot", "sizes": {"watch": ["300x250"]}})
    document["slots"].append({"code": "rail", "name": "Rail", "sizes": {"*": ["160x600"]},
                              "when_empty": "house"})
    messages = errors_of(database, document)
    assert messages == [
        "slots[1].sizes.desktop[0]: Not a size: use WIDTHxHEIGHT in pixels, e.g. 300x250.",
        "slots[2].sizes.watch: Must be one of: desktop, tablet, mobile, *.",
        "slots[3].house_creative: A slot that shows a house creative needs one.",
    ]


def test_duplicates_and_unfitting_house_creatives_are_named(database: Database) -> None:
    document = small_config()
    document["slots"].append({"code": "top", "name": "Again", "sizes": {"*": ["300x250"]}})
    document["slots"].append({"code": "rail", "name": "Rail", "sizes": {"*": ["160x600"]},
                              "when_empty": "house", "house_creative": "house-1"})
    document["campaigns"].append({"name": "Other", "advertiser": "Nobody"})
    assert errors_of(database, document) == [
        "slots[1].code: Duplicate 'top' (first at slots[0]).",
        "campaigns[1].advertiser: Unknown advertiser 'Nobody'.",
        "slots[2].house_creative: Its size 300x250 is not one the slot accepts.",
    ]


def test_references_may_name_what_is_already_stored(database: Database) -> None:
    import_ads(database, small_config(), TZ)
    later = {"line_items": [{"name": "more", "campaign": "Acme autumn", "tier": "standard",
                             "start": "2024-10-01T00:00:00-04:00",
                             "end": "2024-10-31T00:00:00-04:00",
                             "creatives": ["acme-1"], "targeting": {"slots": ["top"]}}]}
    assert import_ads(database, later, TZ).created == 1
    assert version(database) == 2


def test_a_document_that_is_no_object_is_rejected(database: Database) -> None:
    assert errors_of(database, ["slots"]) == ["(document): Must be a JSON object."]  # type: ignore[arg-type]


def test_the_demo_covers_the_demo_day() -> None:
    """The demo's clock is pinned to 2024-10-10 12:00 New York: every flight covers it."""
    now = datetime(2024, 10, 10, 12, tzinfo=TZ)
    for item in demo_document()["line_items"]:
        start = datetime.fromisoformat(item["start"])
        end = datetime.fromisoformat(item["end"])
        assert start <= now < end, item["name"]
        assert item["status"] == "active"


def test_the_documented_example_imports(database: Database) -> None:
    doc = (DEMO_ADS.parents[2] / "docs" / "ads.md").read_text(encoding="utf-8")
    example = re.search(r"```json\n(\{\n  \"slots\".*?)```", doc, re.S)
    assert example is not None
    report = import_ads(database, json.loads(example.group(1)), TZ)
    assert report.created == 5
