"""Importing an ad configuration of any size (docs/ads.md, "Importing"): the ads format of
:mod:`layoutserver.streaming_import`, which reads it item by item and writes it in batches.

Each batch is validated and written by :func:`~layoutserver.ads.config_import.import_ads` in a
transaction of its own, which also bumps the ads config version (every process then rebuilds its
snapshot once). A reference (a campaign's advertiser, a line item's campaign, creatives and
slots, a slot's house creative) must name something in the database, in an earlier batch or in
the same batch: the JSON Lines keys and the document's lists, in the order advertisers,
creatives, slots, campaigns, line items, keep that so.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import tzinfo
from functools import partial
from typing import Any

from layoutserver import streaming_import
from layoutserver.ads.config_import import KINDS, AdsImportError, import_ads
from layoutserver.db import Database
from layoutserver.importing import ImportReport
from layoutserver.streaming_import import BATCH_SIZE, Progress

LINE_KINDS = {"advertiser": "advertisers", "creative": "creatives", "slot": "slots",
              "campaign": "campaigns", "line_item": "line_items"}


def ads_format(timezone: tzinfo) -> streaming_import.DocumentFormat:
    """The ads format; line items' start and end without a UTC offset are in ``timezone``."""
    return streaming_import.DocumentFormat(
        kinds=KINDS, line_kinds=LINE_KINDS, error=AdsImportError,
        write_batch=partial(_write_batch, timezone=timezone))


def _write_batch(database: Database, document: dict[str, list[Any]],
                 timezone: tzinfo) -> ImportReport:
    return import_ads(database, document, timezone)


def import_path(database: Database, path: str | os.PathLike[str], timezone: tzinfo,
                batch_size: int = BATCH_SIZE,
                on_batch: Callable[[Progress], None] | None = None) -> Progress:
    """Import the ads file ``path`` (JSON, or JSON Lines for ``.jsonl``/``.ndjson``)."""
    return streaming_import.import_path(database, path, ads_format(timezone), batch_size,
                                        on_batch)
