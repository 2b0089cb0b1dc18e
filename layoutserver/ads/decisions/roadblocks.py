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

from .buckets import members
from .context import Notes, PageContext, SlotRun
from .entries import Candidate, Entry, Rank
from .lottery import weighted_order
from .model import CreativeSpec, SlotDecision
from .snapshot import PagePlan, PlannedRoadblock

Targets = list[tuple[SlotRun, Candidate]]


def place_roadblocks(
    page: PageContext, plan: PagePlan, runs: Sequence[SlotRun], rng: random.Random,
    notes: Notes | None,
) -> None:
    """Fill slots of ``runs`` (the plan's slots, in its order) with roadblocks, before the
    per-slot waterfall.

    Rank by rank, a roadblock that cannot be placed whatever the order of its rank (a slot it
    cannot fill, a slot already taken, a better line item eligible for one of its slots, or
    its schedule, targeting or consent) is passed over before its delivery counters are read
    and before the lottery orders its rank: leaving out a contender that never places does
    not change the order of the others (each draws its key alone), so only the cost differs.
    Only the plan's placeable roadblocks can be contenders; once a slot all the remaining
    ones target is taken or known to be held by a better line item, none is left to draw
    for, and the rest is only explained."""
    if notes is None:
        _place(page, plan, runs, rng)
    else:
        _place_explained(page, plan, runs, rng, notes)


def _place(page: PageContext, plan: PagePlan, runs: Sequence[SlotRun],
           rng: random.Random) -> None:
    """:func:`place_roadblocks` without explanations: the same contenders, drawn the same."""
    for (rank, planned), shared in zip(plan.placeable, plan.shared, strict=True):
        for position in shared:
            run = runs[position]
            if run.decision is not None or (run.best is not None and run.best < rank):
                return
        contenders = []
        for roadblock in planned:
            entry = roadblock.entry
            if (_placeable(page, runs, roadblock, rank) or page.static_reason(entry)
                    or page.delivery(entry).reason):
                continue
            contenders.append((entry, _targeted(runs, roadblock), page.delivery(entry).weight))
        ordered = weighted_order(contenders, [weight for _, _, weight in contenders], rng)
        for entry, targeted, _ in ordered:
            _try(page, entry, targeted, rng, False)


def _place_explained(page: PageContext, plan: PagePlan, runs: Sequence[SlotRun],
                     rng: random.Random, notes: Notes) -> None:
    """:func:`_place` with every roadblock's reason noted: the same contenders, drawn the
    same (a roadblock :func:`_place` leaves out is never one)."""
    for rank, planned in plan.roadblocks:
        contenders = []
        for roadblock in planned:
            entry = roadblock.entry
            targeted = _targeted(runs, roadblock)
            if (_placeable(page, runs, roadblock, rank) or page.static_reason(entry)
                    or page.delivery(entry).reason):
                _note(notes, targeted, _explained(page, entry, targeted, rank))
                continue
            contenders.append((entry, targeted, page.delivery(entry).weight))
        ordered = weighted_order(contenders, [weight for _, _, weight in contenders], rng)
        for entry, targeted, _ in ordered:
            _note(notes, targeted, _try(page, entry, targeted, rng, True) or "chosen")


def _targeted(runs: Sequence[SlotRun], roadblock: PlannedRoadblock) -> Targets:
    return [(runs[position], candidate) for position, candidate in roadblock.targets]


def _note(notes: Notes, targeted: Targets, reason: str) -> None:
    for run, candidate in targeted:
        notes[(run.slot.code, candidate.entry.item.id)] = reason


def _placeable(page: PageContext, runs: Sequence[SlotRun], roadblock: PlannedRoadblock,
               rank: Rank) -> str | None:
    """What keeps the roadblock off the page whatever the others of its rank do and needs no
    counters of its own: a slot it cannot fill, a slot taken, a better line item eligible
    for one of its slots (the detail is :func:`_explained`'s)."""
    for position, candidate in roadblock.targets:
        run = runs[position]
        if run.decision is not None or run.size_key not in candidate.fits:
            return "roadblock"
    for position, _ in roadblock.targets:
        if _better_eligible(page, runs[position], rank):
            return "lower priority"
    return None


def _explained(page: PageContext, entry: Entry, targeted: Targets, rank: Rank) -> str:
    """Why a roadblock passed over is not placed, as the checks of :func:`_try` find it."""
    return (page.static_reason(entry) or page.delivery(entry).reason
            or _blocked(page, entry, targeted, rank, True) or "roadblock")


def _blocked(page: PageContext, entry: Entry, targeted: Targets, rank: Rank,
             explain: bool) -> str | None:
    """Why the roadblock cannot take its slots now, page rules included; None if it can."""
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
        if _better_eligible(page, run, rank):
            return "lower priority"
    return None


def _try(
    page: PageContext, entry: Entry, targeted: Targets, rng: random.Random, explain: bool
) -> str | None:
    """Place the roadblock on all its slots and return None, or return why it cannot be."""
    reason = _blocked(page, entry, targeted, entry.rank, explain)
    if reason is not None:
        return reason
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
    """Whether a line item of a better rank than ``rank`` is eligible for the slot (page rules
    aside). What is found is kept for the page: eligibility does not change before the
    waterfall (only roadblocks are placed, and they are in no group)."""
    if run.best is not None:
        return run.best < rank
    groups = run.fitting.groups
    while run.clear < len(groups):
        group = groups[run.clear]
        if group.rank >= rank:
            return False
        for candidate in members(group):
            if page.reason(candidate, run.size_key) is None:
                run.best = group.rank
                return True
        run.clear += 1
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
