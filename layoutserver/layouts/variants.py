"""Section variants (``[[variants]]``): on the pages of some sections, regions that replace the
layout's own of the same names, in place (a sports article's other sidebar)::

    [[variants]]
    name = "sports"
    sections = ["sports"]

    [[variants.regions]]
    name = "aside"                 # keeps the element and label of the layout's aside

    [[variants.regions.placements]]
    widget = "latest_news"
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from layoutserver.content.schemas import SLUG_PATTERN
from layoutserver.layouts.model import Region, Variant
from layoutserver.layouts.problems import LayoutProblem

VARIANT_KEYS = {"name", "sections", "regions"}
VARIANT_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
SECTION_SLUG = re.compile(SLUG_PATTERN)

RegionLoader = Callable[[int, Any, set[str]], Region | None]
"""Loads the ``index``-th region table with the placement ids taken so far."""


def load_variants(file: str, raw: Any, regions: Sequence[Region],
                  problems: list[LayoutProblem], load_region: RegionLoader
                  ) -> tuple[Variant, ...]:
    """Every ``[[variants]]`` table, checked: a name used once, one or more section slugs
    each in one variant only, regions that are the layout's own (by name), placement ids
    unique on the variant's pages. Each problem names the variant."""
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        problems.append(LayoutProblem(file, "must be an array of tables ([[variants]])",
                                      field="variants"))
        return ()
    variants: list[Variant] = []
    sections_taken: dict[str, str] = {}
    for index, table in enumerate(raw, start=1):
        before = len(problems)
        variant = _load_variant(file, index, table, regions, sections_taken, problems,
                                load_region)
        label = table.get("name") if isinstance(table.get("name"), str) else f"#{index}"
        problems[before:] = [replace(problem, variant=problem.variant or label)
                             for problem in problems[before:]]
        if variant is not None:
            if any(known.name == variant.name for known in variants):
                problems.append(LayoutProblem(file, "variant name used twice", field="name",
                                              variant=variant.name))
            variants.append(variant)
    return tuple(variants)


def _load_variant(file: str, index: int, table: dict[str, Any], regions: Sequence[Region],
                  sections_taken: dict[str, str], problems: list[LayoutProblem],
                  load_region: RegionLoader) -> Variant | None:
    before = len(problems)
    for key in sorted(set(table) - VARIANT_KEYS):
        problems.append(LayoutProblem(file, "unknown key", field=key))
    name = table.get("name")
    if not isinstance(name, str) or not VARIANT_NAME.match(name):
        problems.append(LayoutProblem(file, f"required, matching {VARIANT_NAME.pattern}",
                                      field="name"))
        name = f"#{index}"
    sections = _sections(file, name, table.get("sections"), sections_taken, problems)
    regions_raw = table.get("regions")
    if not isinstance(regions_raw, list) or not regions_raw:
        problems.append(LayoutProblem(file, (
            "needs at least one [[variants.regions]] table: the regions it replaces"),
            field="regions"))
        return None
    own = {region.name for region in regions}
    replaced = {item.get("name") for item in regions_raw if isinstance(item, dict)}
    # Ids must be unique on the variant's pages: the kept regions' ids are taken, the
    # replaced regions' ids free to use again.
    taken = {p.id for region in regions if region.name not in replaced
             for p in region.placements}
    loaded: list[Region] = []
    for number, region_raw in enumerate(regions_raw, start=1):
        region = load_region(number, region_raw, taken)
        if region is None:
            continue
        if region.name not in own:
            problems.append(LayoutProblem(file, (
                "not a region of the layout: a variant replaces the layout's regions by "
                f"name ({', '.join(sorted(own))})"), region=region.name, field="name"))
        elif any(known.name == region.name for known in loaded):
            problems.append(LayoutProblem(file, "region replaced twice in this variant",
                                          region=region.name))
        else:
            loaded.append(region)
    mains = [r for r in _replaced(regions, loaded) if r.element == "main"]
    for region in mains[1:] if any(r in loaded for r in mains) else ():
        problems.append(LayoutProblem(
            file, "a page has one main landmark: another region is main already",
            region=region.name, field="element"))
    if len(problems) > before or sections is None:
        return None
    return Variant(name, sections, tuple(loaded))


def _replaced(regions: Sequence[Region], replacing: Sequence[Region]) -> list[Region]:
    """The regions of a variant's pages: the layout's, each replaced by the variant's own of
    its name."""
    by_name = {region.name: region for region in replacing}
    return [by_name.get(region.name, region) for region in regions]


def _sections(file: str, name: str, raw: Any, taken: dict[str, str],
              problems: list[LayoutProblem]) -> tuple[str, ...] | None:
    if (not isinstance(raw, list) or not raw
            or not all(isinstance(slug, str) and SECTION_SLUG.match(slug) for slug in raw)):
        problems.append(LayoutProblem(file, (
            "required: a list of one or more section slugs, e.g. sections = [\"sports\"]"),
            field="sections"))
        return None
    for slug in raw:
        if taken.get(slug, name) != name:
            problems.append(LayoutProblem(file, (
                f"section {slug!r} is in variant {taken[slug]!r} already: a section's pages "
                "follow one variant"), field="sections"))
        taken.setdefault(slug, name)
    return tuple(dict.fromkeys(raw))
