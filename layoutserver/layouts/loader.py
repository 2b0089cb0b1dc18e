"""Reading layout files and validating them against the installed widgets.

A layout file is ``config/layouts/<page_type>.toml``::

    subject = "article"           # what the slug in /pages/article/<slug> names
    title = "Article"

    [[regions]]
    name = "main"
    element = "main"              # optional: header, main, aside, footer, nav, section or div;
                                  # defaults to the name when that is one of the first five
    label = "Top stories"         # optional: the region's accessible name (aria-label)

    [[regions.placements]]
    widget = "latest_news"
    id = "latest-news"            # optional; defaults to the widget name (-2, -3 when repeated)
    options = { count = 4, heading = "Latest news" }
    devices = ["desktop"]         # optional: shown only to these device classes

    [[regions.placements]]        # inside another placement of the region, at an inner
    widget = "ad_spot"            # position its widget offers (Widget.positions)
    options = { slot = "inline-1" }
    inside = "article"
    position = "after-paragraph-3"

    [[variants]]                  # on the pages of these sections, these regions replace
    name = "sports"               # the layout's own of the same names
    sections = ["sports"]
    [[variants.regions]]
    name = "aside"
    [[variants.regions.placements]]
    widget = "latest_news"

Every problem in every file is collected before anything is reported, and each names the file,
region, placement and field it concerns.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tomllib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from layoutserver.layouts.model import (
    REGION_ELEMENTS,
    SUBJECT_KINDS,
    Layout,
    LayoutSet,
    Placement,
    Region,
    default_element,
)
from layoutserver.layouts.placing import check_inline, placed_where
from layoutserver.layouts.plans import with_plans
from layoutserver.layouts.problems import LayoutProblem
from layoutserver.layouts.variants import load_variants
from layoutserver.registry import WidgetRegistry
from layoutserver.widgets import AD_SLOT_CODE, Widget

log = logging.getLogger(__name__)

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
FILE_KEYS = {"subject", "title", "regions", "variants"}
REGION_KEYS = {"name", "element", "label", "placements"}
PLACEMENT_KEYS = {"widget", "id", "options", "devices", "inside", "position"}


class LayoutError(ValueError):
    """One or more layout files are invalid."""

    def __init__(self, problems: list[LayoutProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{len(problems)} layout problem(s):\n{lines}")


def load_layouts(directory: Path, registry: WidgetRegistry) -> LayoutSet:
    """Load and validate every ``*.toml`` in ``directory``; raise LayoutError with all problems."""
    problems: list[LayoutProblem] = []
    if not directory.is_dir():
        raise LayoutError([LayoutProblem(str(directory), "layouts directory not found")])
    layouts: dict[str, Layout] = {}
    for path in sorted(directory.glob("*.toml")):
        layout = _load_file(path, registry, problems)
        if layout is not None:
            layouts[layout.page_type] = layout
    if not layouts and not problems:
        problems.append(LayoutProblem(str(directory), "no layout files (*.toml) found"))
    if problems:
        raise LayoutError(problems)
    return LayoutSet(layouts)


def _load_file(
    path: Path, registry: WidgetRegistry, problems: list[LayoutProblem]
) -> Layout | None:
    raw_bytes = path.read_bytes()
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(LayoutProblem(str(path), f"not valid TOML: {exc}"))
        return None
    return compile_layout(path.stem, text, registry, problems, where=str(path), source=path)


def compile_layout(
    page_type: str,
    text: str,
    registry: WidgetRegistry,
    problems: list[LayoutProblem],
    *,
    where: str,
    source: Path,
    uninstalled_render_empty: bool = False,
) -> Layout | None:
    """Validate one layout's TOML ``text`` and compile it; append each problem, located at
    ``where`` (a file's path, or a stored version's name), to ``problems``.

    ``uninstalled_render_empty``: a placement of a widget that is not installed renders empty
    (and is logged) instead of being a problem. Stored published versions are loaded so: one of
    them naming a widget uninstalled since must not take the page down."""
    file = where
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.append(LayoutProblem(file, f"not valid TOML: {exc}"))
        return None
    before = len(problems)
    if not NAME.match(page_type):
        problems.append(LayoutProblem(file, f"page type {page_type!r} (the file name) must match "
                                            f"{NAME.pattern}"))
    for key in sorted(set(document) - FILE_KEYS):
        problems.append(LayoutProblem(file, "unknown key", field=key))
    subject = document.get("subject", "article")
    if subject not in SUBJECT_KINDS:
        problems.append(LayoutProblem(file, f"must be one of {', '.join(SUBJECT_KINDS)}",
                                      field="subject"))
    regions_raw = document.get("regions")
    if not isinstance(regions_raw, list) or not regions_raw:
        problems.append(LayoutProblem(file, "needs at least one [[regions]] table",
                                      field="regions"))
        return None
    regions: list[Region] = []
    placement_ids: set[str] = set()
    for index, region_raw in enumerate(regions_raw, start=1):
        region = _load_region(file, index, region_raw, registry, placement_ids, problems,
                              uninstalled_render_empty)
        if region is not None:
            if any(existing.name == region.name for existing in regions):
                problems.append(LayoutProblem(file, "region name used twice", region=region.name))
            if region.element == "main" and any(r.element == "main" for r in regions):
                problems.append(LayoutProblem(
                    file, "a page has one main landmark: another region is main already",
                    region=region.name, field="element"))
            regions.append(region)
    variants = load_variants(
        file, document.get("variants", []), regions, problems,
        lambda index, raw, ids: _load_region(file, index, raw, registry, ids, problems,
                                             uninstalled_render_empty, regions))
    if len(problems) > before:
        return None
    by_id = {placement.id: placement for region in regions for placement in region.placements}
    layout = Layout(
        page_type=page_type,
        subject=str(subject),
        title=str(document.get("title", page_type.title())),
        source=source,
        regions=tuple(regions),
        digest=layout_digest(text),
        _placements=by_id,
        variants=variants,
    )
    return with_plans(layout)


def layout_digest(text: str) -> str:
    """A hash of a layout's TOML text: the same for a file and the version seeded from it, so
    seeding the database leaves every cached body valid; another text, another digest."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _load_region(
    file: str,
    index: int,
    raw: Any,
    registry: WidgetRegistry,
    placement_ids: set[str],
    problems: list[LayoutProblem],
    uninstalled_render_empty: bool = False,
    bases: Sequence[Region] = (),
) -> Region | None:
    """One ``[[regions]]`` table; ``bases``: in a variant, the layout's own regions, whose
    element and label a region of the same name keeps unless it gives its own."""
    if not isinstance(raw, dict):
        problems.append(LayoutProblem(file, f"regions[{index}] must be a table"))
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        problems.append(LayoutProblem(file, f"regions[{index}]: name must match {NAME.pattern}",
                                      field="name"))
        return None
    base = next((region for region in bases if region.name == name), None)
    for key in sorted(set(raw) - REGION_KEYS):
        problems.append(LayoutProblem(file, "unknown key", region=name, field=key))
    element = raw.get("element", base.element if base is not None else default_element(name))
    if element not in REGION_ELEMENTS:
        problems.append(LayoutProblem(file, f"must be one of {', '.join(REGION_ELEMENTS)}",
                                      region=name, field="element"))
        return None
    label = raw.get("label", base.label if base is not None else None)
    if label is not None and (not isinstance(label, str) or not 0 < len(label.strip()) <= 100):
        problems.append(LayoutProblem(file, "must be a text of 1 to 100 characters",
                                      region=name, field="label"))
        return None
    placements_raw = raw.get("placements", [])
    if not isinstance(placements_raw, list):
        problems.append(LayoutProblem(file, "must be an array of tables", region=name,
                                      field="placements"))
        return None
    placements = []
    numbers: dict[str, int] = {}
    for position, placement_raw in enumerate(placements_raw, start=1):
        placement = _load_placement(file, name, position, placement_raw, registry, placement_ids,
                                    problems, uninstalled_render_empty)
        if placement is not None:
            placements.append(placement)
            numbers[placement.id] = position
    region = Region(name=name, placements=tuple(placements), element=str(element),
                    label=None if label is None else label.strip())
    return check_inline(file, region, numbers, registry, problems)


def _load_placement(
    file: str,
    region: str,
    position: int,
    raw: Any,
    registry: WidgetRegistry,
    placement_ids: set[str],
    problems: list[LayoutProblem],
    uninstalled_render_empty: bool = False,
) -> Placement | None:
    label = f"#{position}"
    if not isinstance(raw, dict):
        problems.append(LayoutProblem(file, "must be a table", region=region, placement=label))
        return None
    widget = raw.get("widget")
    if isinstance(widget, str):
        label = f"#{position} ({widget})"
    for key in sorted(set(raw) - PLACEMENT_KEYS):
        problems.append(LayoutProblem(file, "unknown key", region, label, key))
    if not isinstance(widget, str):
        problems.append(LayoutProblem(file, "required: the widget's name", region, label, "widget"))
        return None
    placement_id = raw.get("id") or default_id(widget, placement_ids)
    if not isinstance(placement_id, str) or not NAME.match(placement_id):
        problems.append(LayoutProblem(file, f"must match {NAME.pattern}", region, label, "id"))
        return None
    if placement_id in placement_ids:
        problems.append(LayoutProblem(file, f"id {placement_id!r} is used twice in this layout",
                                      region, label, "id"))
        return None
    placement_ids.add(placement_id)
    label = f"#{position} ({widget}, id {placement_id!r})"
    options_raw = raw.get("options", {})
    if not isinstance(options_raw, dict):
        problems.append(LayoutProblem(file, "must be a table", region, label, "options"))
        return None
    options_key = json.dumps(options_raw, sort_keys=True, separators=(",", ":"), default=str)
    placed = placed_where(raw, LayoutProblem(file, "", region, label), problems)
    if placed is None:
        return None
    devices, inside, at = placed

    installed = registry.get(widget)
    if installed is None:
        failure = registry.failure(widget)
        if failure is not None or widget in registry.disabled:
            # Installed but broken or switched off: the page still renders, without this widget.
            # Switched off is on purpose (WIDGETS_DISABLED): information, not an error.
            why = "is disabled" if failure is None else f"failed to load ({failure.error})"
            log.log(logging.INFO if failure is None else logging.ERROR,
                    "%s: region %r placement %s: widget %r %s; it renders empty",
                    file, region, label, widget, why)
            return Placement(placement_id, widget, region, options_raw, options_key, False,
                             devices=devices, inside=inside, position=at)
        if uninstalled_render_empty:
            log.error("%s: region %r placement %s: widget %r is not installed; it renders empty",
                      file, region, label, widget)
            return Placement(placement_id, widget, region, options_raw, options_key, False,
                             devices=devices, inside=inside, position=at)
        installed_names = ", ".join(registry.names()) or "(none)"
        problems.append(LayoutProblem(
            file, f"unknown widget {widget!r}; installed widgets: {installed_names}",
            region, label, "widget"))
        return None
    try:
        options = installed.widget.options_schema().load(options_raw)
    except ValidationError as exc:
        for field_name, messages in _flatten(exc.messages):
            problems.append(LayoutProblem(file, messages, region, label, f"options.{field_name}"))
        return None
    slots = _ad_slots(installed.widget, options, problems, LayoutProblem(file, "", region, label))
    if slots is None:
        return None
    return Placement(placement_id, widget, region, options, options_key, ad_slots=slots,
                     devices=devices, inside=inside, position=at)


def _ad_slots(widget: Widget, options: Any, problems: list[LayoutProblem],
              where: LayoutProblem) -> tuple[str, ...] | None:
    """The widget's ``ad_slots(options)`` as a tuple of slot codes; None (and a problem) when
    the hook raises or answers something else."""
    try:
        declared = widget.ad_slots(options)
    except Exception as exc:  # a plugin's hook: its failure is a layout problem, not a crash
        problems.append(replace(where, message=f"ad_slots raised {exc!r}", field="options"))
        return None
    if isinstance(declared, str) or not all(
            isinstance(code, str) and AD_SLOT_CODE.match(code) for code in declared):
        problems.append(replace(where, field="options", message=(
            f"ad_slots of widget {widget.name!r} must return slot codes (lower-case letters, "
            f"digits and single hyphens), not {declared!r}")))
        return None
    return tuple(dict.fromkeys(declared))


def default_id(widget: str, taken: set[str]) -> str:
    """The id of a placement that gives none: its widget's name with hyphens (``latest-news``),
    numbered from 2 when taken (``latest-news-2``)."""
    candidate = widget.replace("_", "-")
    number = 2
    while candidate in taken:
        candidate = f"{widget.replace('_', '-')}-{number}"
        number += 1
    return candidate


def _flatten(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    """marshmallow's nested message dict as (dotted field, joined messages) pairs."""
    if isinstance(messages, dict):
        flat: list[tuple[str, str]] = []
        for key, value in messages.items():
            flat.extend(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        return [(prefix or "_schema", " ".join(messages))]
    return [(prefix or "_schema", str(messages))]
