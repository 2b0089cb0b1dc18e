"""Streaming ads import (``ads/streaming.py`` over ``streaming_import.py``): JSON and JSON Lines
read item by item, written in batches of one transaction each; a bad item stops at its batch and
a re-run completes it; messages name the item or line; memory stays bounded as the document
grows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from adsupport import DEMO_ADS
from sqlalchemy import func, select
from support import import_peak

from layoutserver.ads.config_import import KINDS, import_ads_file
from layoutserver.ads.models import AdSlot, Advertiser, Campaign, Creative, LineItem
from layoutserver.ads.streaming import LINE_KINDS, import_path
from layoutserver.db import Database
from layoutserver.scratch import create_tables
from layoutserver.streaming_import import StoppedImport

TZ = ZoneInfo("America/New_York")
LINE_KEY = {kind: key for key, kind in LINE_KINDS.items()}
MODELS = (Advertiser, Creative, AdSlot, Campaign, LineItem)


def demo_in_order() -> dict[str, list[Any]]:
    """The demo configuration with its lists in the order references allow across batches."""
    document = json.loads(DEMO_ADS.read_text(encoding="utf-8"))
    return {kind: document[kind] for kind in KINDS}


def write_lines(path: Path, document: dict[str, list[Any]]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for kind in KINDS:
            for item in document[kind]:
                handle.write(json.dumps({LINE_KEY[kind]: item}) + "\n")
    return path


def rows(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every ads row, by table, as comparable tuples (ids left out)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with database.session() as session:
        for model in MODELS:
            columns = [c for c in model.__table__.columns if c.name != "id"
                       and not c.name.endswith("_id") and c.name != "updated_at"]
            found[model.__tablename__] = sorted(
                tuple(str(value) for value in row)
                for row in session.execute(select(*columns)))
    return found


@pytest.mark.parametrize("json_lines", [False, True])
def test_batches_write_what_one_import_writes(database: Database, tmp_path: Path,
                                              layoutserver_new_database: Any,
                                              json_lines: bool) -> None:
    document = demo_in_order()
    path = (write_lines(tmp_path / "ads.jsonl", document) if json_lines else tmp_path / "ads.json")
    if not json_lines:
        path.write_text(json.dumps(document))
    done = import_path(database, path, TZ, batch_size=3)
    total = sum(len(items) for items in document.values())
    assert done.items == total and done.batches == -(-total // 3)
    assert done.report.created == total and done.report.updated == 0

    whole = Database(layoutserver_new_database(create_tables))
    try:
        import_ads_file(whole, DEMO_ADS, TZ)
        assert rows(database) == rows(whole)
    finally:
        whole.dispose()
    again = import_path(database, path, TZ, batch_size=3)
    assert again.report.created == again.report.updated == 0
    assert again.report.unchanged == total


def test_a_bad_item_stops_at_its_batch_and_a_rerun_completes(database: Database,
                                                              tmp_path: Path) -> None:
    document = demo_in_order()
    document["line_items"][3]["end"] = "2020-01-01T00:00:00Z"  # before its start
    path = write_lines(tmp_path / "ads.jsonl", document)
    with pytest.raises(StoppedImport) as stopped:
        import_path(database, path, TZ, batch_size=4)
    before_bad = sum(len(document[kind]) for kind in KINDS[:-1]) + 3
    line = before_bad + 1
    assert stopped.value.done.items == (before_bad // 4) * 4
    assert any(message.startswith(f"line {line} (line_item).end:")
               for message in stopped.value.messages), stopped.value.messages
    with database.session() as session:
        written = {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                   for model in MODELS}
    assert written["ad_advertisers"] == len(document["advertisers"])
    assert written["ad_line_items"] < len(document["line_items"])

    document["line_items"][3]["end"] = "2030-01-01T00:00:00Z"
    write_lines(path, document)
    done = import_path(database, path, TZ, batch_size=4)
    assert done.report.unchanged == stopped.value.done.items
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(LineItem)) == \
            len(document["line_items"])


def test_a_reference_to_a_later_batch_is_named(database: Database, tmp_path: Path) -> None:
    document = demo_in_order()
    path = tmp_path / "ads.json"
    # line items first: their campaigns are in a later batch
    path.write_text(json.dumps({"line_items": document["line_items"],
                                **{k: v for k, v in document.items() if k != "line_items"}}))
    with pytest.raises(StoppedImport) as stopped:
        import_path(database, path, TZ, batch_size=2)
    assert stopped.value.done.items == 0
    assert any(message.startswith("line_items[0].campaign:")
               for message in stopped.value.messages), stopped.value.messages


def test_unreadable_documents_name_the_place(database: Database, tmp_path: Path) -> None:
    lines = tmp_path / "ads.jsonl"
    lines.write_text('{"advertiser": {"name": "Acme"}}\n{"line_item": ]\n')
    with pytest.raises(StoppedImport) as stopped:
        import_path(database, lines, TZ)
    assert stopped.value.messages[0].startswith("line 2, column")
    document = tmp_path / "ads.json"
    document.write_text('{"advertisers": [{"name": "Acme"}], "budgets": []}')
    with pytest.raises(StoppedImport) as stopped:
        import_path(database, document, TZ)
    assert stopped.value.messages == ["budgets: Unknown field."]


WRITE = """
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps({"advertiser": {"name": "Acme"}}) + "\\n")
        handle.write(json.dumps({"creative": {"name": "acme-1", "advertiser": "Acme",
            "kind": "html", "size": "300x250", "click_url": "https://acme.example.com/",
            "html": "<p>" + "An ad. " * 100 + "</p>"}})
            + "\\n")
        handle.write(json.dumps({"slot": {"code": "sidebar", "name": "Sidebar",
            "sizes": {"desktop": ["300x250"]}}}) + "\\n")
        handle.write(json.dumps({"campaign": {"name": "Fall", "advertiser": "Acme"}}) + "\\n")
        for n in range(count):
            handle.write(json.dumps({"line_item": {
                "name": f"line item {n}", "campaign": "Fall", "creatives": ["acme-1"],
                "tier": "standard", "priority": 8,
                "start": "2024-10-01T00:00:00Z", "end": "2030-01-01T00:00:00Z",
                "targeting": {"slots": ["sidebar"], "key_values": {"topic": [f"t{n}"]}},
                "exclusion_labels": [f"label-{n % 50}"]}}) + "\\n")
"""


def peak_bytes(url: str, path: Path, count: int) -> int:
    peak, created = import_peak(
        WRITE, "from datetime import UTC\nfrom layoutserver.ads.streaming import import_path",
        "import_path(database, path, UTC, batch_size=200)", url, path, count)
    assert created == count + 4
    return peak


def test_memory_stays_bounded_as_the_document_grows(layoutserver_new_database: Any,
                                                    tmp_path: Path) -> None:
    """Four times the line items take about the same peak memory: one batch's, not the
    document's."""
    small = peak_bytes(layoutserver_new_database(create_tables), tmp_path / "small.jsonl", 400)
    large = peak_bytes(layoutserver_new_database(create_tables), tmp_path / "large.jsonl", 1600)
    assert large < small * 1.3, (small, large)
