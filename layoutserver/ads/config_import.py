"""Import an ad configuration from a JSON document (format: docs/ads.md), idempotently.

The whole document is validated first (schemas, then duplicates and references against the
document and the database); nothing is written when anything is wrong, and every message starts
with the path of the problem (``line_items[2].end: Must be after start.``). Rows are matched by
name (slots by code) and only rewritten where a value differs; the ads config version is bumped
in the same transaction only when something changed, so importing a document twice changes
nothing. Objects missing from the document are left alone.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

from marshmallow import ValidationError
from sqlalchemy.orm import Session

from layoutserver.ads.decisions.model import Size
from layoutserver.ads.models import AdSlot, Advertiser, Campaign, Creative, LineItem
from layoutserver.ads.schemas import AdsDocumentSchema
from layoutserver.ads.version import bump_ads_version
from layoutserver.db import Database, upsert
from layoutserver.importing import ImportReport, fetch_by_keys, flatten, read_json, run_import

__all__ = ["AdsImportError", "ImportReport", "import_ads", "import_ads_file", "load_ads_document"]

Item = dict[str, Any]
KINDS = ("advertisers", "creatives", "slots", "campaigns", "line_items")
KEY = {"advertisers": "name", "creatives": "name", "slots": "code", "campaigns": "name",
       "line_items": "name"}
MODEL: dict[str, Any] = {"advertisers": Advertiser, "creatives": Creative, "slots": AdSlot,
                         "campaigns": Campaign, "line_items": LineItem}


class AdsImportError(ValueError):
    """The document is invalid; each of ``messages`` starts with the path of the problem."""

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = list(messages)
        super().__init__("invalid ads document:\n" + "\n".join(self.messages))


def load_ads_document(document: Mapping[str, Any], timezone: tzinfo) -> dict[str, list[Item]]:
    """Validate ``document`` on its own (no database) or raise AdsImportError. Line item
    start and end without a UTC offset are taken as site-local (``timezone``)."""
    if not isinstance(document, Mapping):
        raise AdsImportError(["(document): Must be a JSON object."])
    try:
        loaded: dict[str, list[Item]] = AdsDocumentSchema().load(document)
    except ValidationError as error:
        raise AdsImportError(list(flatten(error.messages))) from error
    for item in loaded["line_items"]:
        for name in ("start", "end"):
            moment: datetime = item[name]
            if moment.tzinfo is None:
                item[name] = moment.replace(tzinfo=timezone)
    return loaded


def _references(doc: dict[str, list[Item]]) -> dict[str, list[str]]:
    """Every key of each kind the document names, as an object or as a reference."""
    refs = {kind: [item[KEY[kind]] for item in doc[kind]] for kind in KINDS}
    refs["advertisers"] += [x["advertiser"] for x in doc["campaigns"] + doc["creatives"]
                            if x["advertiser"]]
    refs["creatives"] += [x["house_creative"] for x in doc["slots"] if x["house_creative"]]
    refs["creatives"] += [name for x in doc["line_items"] for name in x["creatives"]]
    refs["campaigns"] += [x["campaign"] for x in doc["line_items"]]
    refs["slots"] += [code for x in doc["line_items"] for code in x["targeting"]["slots"]]
    return refs


class AdsImport:
    """One import in one session, with the existing rows it touches by name or code:
    :meth:`errors` first, then :meth:`write`. The ads config service writes through it too."""

    def __init__(self, session: Session, doc: dict[str, list[Item]]) -> None:
        self.session, self.doc = session, doc
        self.rows: dict[str, dict[str, Any]] = {
            kind: fetch_by_keys(session, MODEL[kind], getattr(MODEL[kind], KEY[kind]), keys)
            for kind, keys in _references(doc).items()
        }
        self.statuses: Counter[str] = Counter()

    def errors(self) -> list[str]:
        errors: list[str] = []
        known: dict[str, set[str]] = {}
        for kind in KINDS:
            first: dict[str, int] = {}
            for i, item in enumerate(self.doc[kind]):
                key = item[KEY[kind]]
                if first.setdefault(key, i) != i:
                    errors.append(f"{kind}[{i}].{KEY[kind]}: Duplicate '{key}' "
                                  f"(first at {kind}[{first[key]}]).")
            known[kind] = set(first) | set(self.rows[kind])

        def check(path: str, kind: str, key: str | None) -> None:
            if key is not None and key not in known[kind]:
                errors.append(f"{path}: Unknown {kind[:-1].replace('_', ' ')} '{key}'.")

        for i, x in enumerate(self.doc["campaigns"]):
            check(f"campaigns[{i}].advertiser", "advertisers", x["advertiser"])
        for i, x in enumerate(self.doc["creatives"]):
            check(f"creatives[{i}].advertiser", "advertisers", x["advertiser"])
        for i, x in enumerate(self.doc["slots"]):
            check(f"slots[{i}].house_creative", "creatives", x["house_creative"])
            errors += self._house_fits(i, x)
        for i, x in enumerate(self.doc["line_items"]):
            check(f"line_items[{i}].campaign", "campaigns", x["campaign"])
            for j, name in enumerate(x["creatives"]):
                check(f"line_items[{i}].creatives[{j}]", "creatives", name)
            for j, code in enumerate(x["targeting"]["slots"]):
                check(f"line_items[{i}].targeting.slots[{j}]", "slots", code)
        return errors

    def _house_fits(self, index: int, slot: Item) -> list[str]:
        name = slot["house_creative"]
        sizes = {size for accepted in slot["sizes"].values() for size in accepted}
        creative = next((c for c in self.doc["creatives"] if c["name"] == name), None)
        size = creative["size"] if creative else None
        row = self.rows["creatives"].get(name)
        if size is None and row is not None:
            size = f"{row.width}x{row.height}"
        if size is None or size in sizes:
            return []
        return [f"slots[{index}].house_creative: Its size {size} is not one the slot accepts."]

    def write(self) -> ImportReport:
        rows = self.rows
        for x in self.doc["advertisers"]:
            self._upsert("advertisers", x["name"], x)
        for x in self.doc["creatives"]:
            size = Size.parse(x.pop("size"))
            values = {**x, "width": size.width, "height": size.height,
                      "advertiser": rows["advertisers"].get(x["advertiser"] or "")}
            self._upsert("creatives", x["name"], values)
        for x in self.doc["slots"]:
            sizes = {key: list(dict.fromkeys(accepted)) for key, accepted in x["sizes"].items()}
            house = rows["creatives"][x["house_creative"]] if x["house_creative"] else None
            self._upsert("slots", x["code"], {**x, "sizes": sizes, "house_creative": house})
        for x in self.doc["campaigns"]:
            self._upsert("campaigns", x["name"],
                         {**x, "advertiser": rows["advertisers"][x["advertiser"]]})
        for x in self.doc["line_items"]:
            creatives = [rows["creatives"][name] for name in dict.fromkeys(x["creatives"])]
            row, status = self._upsert("line_items", x["name"], _line_item_values(x, rows))
            if {c.name for c in row.creatives} != {c.name for c in creatives}:
                row.creatives = creatives
                if status == "unchanged":
                    self.statuses.update(unchanged=-1, updated=1)
        counts = self.statuses
        return ImportReport(counts["created"], counts["updated"], counts["unchanged"])

    def _upsert(self, kind: str, key: str, values: Mapping[str, Any]) -> tuple[Any, str]:
        row, status = upsert(self.session, self.rows[kind], MODEL[kind], key, values)
        self.statuses[status] += 1
        return row, status


def _line_item_values(x: Item, rows: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The row values of a loaded line item, lists sorted so that equal documents compare
    equal (order carries no meaning in any of them)."""
    goal = x["goal"] or {}
    targeting = x["targeting"]
    return {
        **{k: x[k] for k in ("name", "tier", "priority", "start", "end", "pacing", "weight",
                             "roadblock", "status")},
        "campaign": rows["campaigns"][x["campaign"]],
        "dayparts": sorted(
            ({**part, "weekdays": sorted(set(part["weekdays"]))} for part in x["dayparts"]),
            key=lambda part: json.dumps(part, sort_keys=True),
        ),
        "goal_metric": goal.get("metric"),
        "goal_amount": goal.get("amount"),
        "goal_period": goal.get("period"),
        "caps": sorted(x["caps"], key=lambda cap: (cap["period"], cap["impressions"])),
        "targeting": {
            **{k: sorted(set(v)) for k, v in targeting.items() if k != "key_values"},
            "key_values": {k: sorted(set(v)) for k, v in sorted(targeting["key_values"].items())},
        },
        "exclusion_labels": sorted(set(x["exclusion_labels"])),
    }


def import_ads(database: Database, document: Mapping[str, Any], timezone: tzinfo) -> ImportReport:
    """Validate ``document``, then upsert it in one transaction; raise AdsImportError."""
    doc = load_ads_document(document, timezone)
    return run_import(database, lambda session: AdsImport(session, doc), AdsImportError,
                      lambda session, _: bump_ads_version(session))


def import_ads_file(
    database: Database, path: str | os.PathLike[str], timezone: tzinfo
) -> ImportReport:
    """Import a UTF-8 JSON file of the format :func:`import_ads` takes."""
    return import_ads(database, read_json(path, AdsImportError), timezone)
