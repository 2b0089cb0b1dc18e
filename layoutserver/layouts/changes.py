"""What changed between two versions of a layout, in words, for the version history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from layoutserver.layouts.model import Layout, Placement, Variant


def summarize(before: Layout | None, after: Layout) -> str:
    """Placements added, removed and moved (to another region, or to another place among the
    placements of their region that both versions have), placements whose options, devices or
    inner position changed, variants added, removed or changed, and changes of title, subject
    or regions; ``first version`` without ``before``."""
    if before is None:
        return "first version"
    old = {p.id: p for p in before.placements()}
    new = {p.id: p for p in after.placements()}
    parts: list[str] = []
    added = [f"{p.id} ({p.widget}) in {p.region}" for p in after.placements() if p.id not in old]
    removed = [f"{p.id} ({p.widget})" for p in before.placements() if p.id not in new]
    moved = [f"{pid} ({old[pid].region} -> {new[pid].region})"
             for pid in new if pid in old and old[pid].region != new[pid].region]
    moved += [f"{pid} (within {new[pid].region})" for pid in _reordered(before, after, old, new)]
    options = [pid for pid in new if pid in old and old[pid].options_key != new[pid].options_key]
    widgets = [f"{pid} ({old[pid].widget} -> {new[pid].widget})"
               for pid in new if pid in old and old[pid].widget != new[pid].widget]
    placed = [pid for pid in new if pid in old and _where(old[pid]) != _where(new[pid])]
    variants = sorted({v.name for v in before.variants} ^ {v.name for v in after.variants}
                      | {v.name for v in after.variants
                         if _variant(v) != _variant(_named(before.variants, v.name))})
    for label, items in (("added", added), ("removed", removed), ("moved", moved),
                         ("options changed", options), ("widget changed", widgets),
                         ("devices or inner position changed", placed),
                         ("variants changed", variants)):
        if items:
            parts.append(f"{label}: {', '.join(items)}")
    if before.title != after.title:
        parts.append(f"title {before.title!r} -> {after.title!r}")
    if before.subject != after.subject:
        parts.append(f"subject {before.subject} -> {after.subject}")
    shape = [(r.name, r.element, r.label) for r in before.regions]
    if shape != [(r.name, r.element, r.label) for r in after.regions]:
        parts.append("regions changed: " + ", ".join(r.name for r in after.regions))
    return "; ".join(parts) or "no change"


def _where(placement: Placement) -> tuple[object, ...]:
    return (placement.devices, placement.inside, placement.position)


def _named(variants: Sequence[Variant], name: str) -> Variant | None:
    return next((variant for variant in variants if variant.name == name), None)


def _variant(variant: Variant | None) -> object:
    """What a variant is, to compare two versions' (options by their text)."""
    if variant is None:
        return None
    return (variant.sections, [(r.name, r.element, r.label, [
        (p.id, p.widget, p.options_key, _where(p)) for p in r.placements])
        for r in variant.regions])


def _reordered(before: Layout, after: Layout, old: Mapping[str, Placement],
               new: Mapping[str, Placement]) -> list[str]:
    """Ids of placements kept in the same region whose order among the others kept there
    changed."""
    moved: list[str] = []
    for region in after.regions:
        was = before.region(region.name)
        if was is None:
            continue
        kept_after = [p.id for p in region.placements if p.id in old]
        kept_before = [p.id for p in was.placements if p.id in new]
        common = set(kept_after) & set(kept_before)
        order_after = [pid for pid in kept_after if pid in common]
        order_before = [pid for pid in kept_before if pid in common]
        moved += out_of_order(order_before, order_after)
    return moved


def out_of_order(before: list[str], after: list[str]) -> list[str]:
    """The fewest ids of ``after`` (a reordering of ``before``) that moved: those outside a
    longest run kept in the old order (a longest increasing subsequence of old positions)."""
    position = {pid: index for index, pid in enumerate(before)}
    ranks = [position[pid] for pid in after]
    best: list[list[int]] = []  # best[i]: indexes into ``after`` of the longest run ending at i
    for i, rank in enumerate(ranks):
        runs = [best[j] for j in range(i) if ranks[j] < rank]
        best.append([*_longest(runs), i])
    kept = set(_longest(best))
    return [pid for i, pid in enumerate(after) if i not in kept]


def _longest(runs: list[list[int]]) -> list[int]:
    return max(runs, key=len) if runs else []
