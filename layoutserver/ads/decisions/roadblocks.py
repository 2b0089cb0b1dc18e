"""Roadblocks: a line item that fills every slot of the page it targets, or none.

A roadblock "targets" a slot of the page when the slot is among its targeted slots (all slots
when it names none) and the page matches the rest of its targeting. It is placed only if, for
every slot it targets on the page:

* the slot is still free (an earlier roadblock did not take it),
* one of its creatives fits the slot's sizes for the request's device, distinct across the slots
  and not yet on the page (the same creative is never twice on one page),
* no line item of a better ``(tier, priority)`` is eligible for the slot (a roadblock competes
  in the waterfall like any line item; on a tie of rank the roadblock wins, since it is decided
  first);

and if its frequency caps allow as many impressions as it has slots and it shares no exclusion
label with a line item already on the page. Otherwise it is not used on this page at all.

Roadblocks are tried best ``(tier, priority)`` first; within one rank in a weighted random order
(weights with pacing, as in the slot lottery). Goal and pacing are checked once for the page, so
a roadblock may pass its goal by at most its number of slots less one; caps are never exceeded.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from .context import Notes, PageContext, SlotRun
from .lottery import weighted_order
from .model import CreativeSpec, SlotDecision
from .snapshot import Candidate, Entry, Rank

Targets = list[tuple[SlotRun, Candidate]]


def place_roadblocks(
    page: PageContext, runs: Sequence[SlotRun], rng: random.Random, notes: Notes | None
) -> None:
    """Fill slots of ``runs`` with roadblocks, before the per-slot waterfall."""
    targets: dict[int, Targets] = {}
    for run in runs:
        for candidate in run.fitting.roadblocks:
            targets.setdefault(candidate.entry.item.id, []).append((run, candidate))
    if not targets:
        return
    by_rank: dict[Rank, list[tuple[Entry, Targets, float]]] = {}
    for targeted in targets.values():
        entry = targeted[0][1].entry
        reason = page.static_reason(entry) or page.delivery(entry).reason
        if reason is not None:
            _note(notes, targeted, reason)
            continue
        contender = (entry, targeted, page.delivery(entry).weight)
        by_rank.setdefault(entry.rank, []).append(contender)
    for rank in sorted(by_rank):
        contenders = by_rank[rank]
        ordered = weighted_order(contenders, [weight for _, _, weight in contenders], rng)
        for entry, targeted, _ in ordered:
            reason = _try(page, entry, targeted, rng, notes is not None)
            _note(notes, targeted, reason or "chosen")


def _note(notes: Notes | None, targeted: Targets, reason: str) -> None:
    if notes is not None:
        for run, candidate in targeted:
            notes[(run.slot.code, candidate.entry.item.id)] = reason


def _try(
    page: PageContext, entry: Entry, targeted: Targets, rng: random.Random, explain: bool
) -> str | None:
    """Place the roadblock on all its slots and return None, or return why it cannot be."""
    for run, candidate in targeted:
        if run.size_key not in candidate.fits:
            return f"roadblock: no creative fits {run.slot.code}" if explain else "roadblock"
    for run, _ in targeted:
        if run.decision is not None:
            return "roadblock: slot taken" if explain else "roadblock"
    if page.delivery(entry).headroom < len(targeted):
        return "cap reached"
    label = page.conflict(entry)
    if label is not None:
        return f"exclusion: {label}" if explain else "exclusion"
    for run, _ in targeted:
        if _better_eligible(page, run, entry.rank):
            return "lower priority"
    options = []
    for run, candidate in targeted:
        fitting = list(page.unused(candidate.fits[run.size_key]))
        if len(fitting) > 1:
            rng.shuffle(fitting)
        options.append(fitting)
    chosen = assign_distinct(options)
    if chosen is None:
        return "creative already on page"
    for (run, _), creative in zip(targeted, chosen, strict=True):
        run.decision = SlotDecision(run.slot.code, creative.size, entry.item.id, creative)
        run.roadblock = True
    page.use(entry, chosen)
    return None


def _better_eligible(page: PageContext, run: SlotRun, rank: Rank) -> bool:
    for group in run.fitting.groups:
        if group.rank >= rank:
            return False
        for candidate in group.candidates:
            if page.reason(candidate, run.size_key) is None:
                return True
    return False


def assign_distinct(options: Sequence[Sequence[CreativeSpec]]) -> list[CreativeSpec] | None:
    """One creative per slot, no creative twice (a bipartite matching by augmenting paths; a
    page has a handful of slots). ``options[i]``: the creatives that fit slot ``i``, in order
    of preference. None when no such assignment exists."""
    ids = [creative.id for fitting in options for creative in fitting]
    if len(set(ids)) == len(ids):  # no creative fits two slots: each takes its first
        return [fitting[0] for fitting in options] if all(options) else None
    owner: dict[int, int] = {}
    by_id: dict[int, CreativeSpec] = {}

    def augment(slot: int, seen: set[int]) -> bool:
        for creative in options[slot]:
            if creative.id in seen:
                continue
            seen.add(creative.id)
            holder = owner.get(creative.id)
            if holder is None or augment(holder, seen):
                owner[creative.id] = slot
                by_id[creative.id] = creative
                return True
        return False

    for slot in range(len(options)):
        if not augment(slot, set()):
            return None
    chosen: list[CreativeSpec | None] = [None] * len(options)
    for creative_id, slot in owner.items():
        chosen[slot] = by_id[creative_id]
    return [creative for creative in chosen if creative is not None]
