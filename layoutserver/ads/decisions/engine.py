"""Decide every ad slot of a page at once.

Order of a page decision (deterministic for a given ``random.Random`` state):

1. the requested slots, duplicates dropped; an unknown or disabled slot gets an empty decision;
2. roadblocks, best ``(tier, priority)`` first (see :mod:`.roadblocks`), each filling all the
   slots it targets on the page or none;
3. the remaining slots in request order, each by the priority waterfall: the best
   ``(tier, priority)`` group with an eligible line item wins the slot, and a weighted lottery
   (weights with pacing, see :mod:`.pacing`) picks the line item inside the group, then a
   creative among its fitting ones not yet on the page, uniformly;
4. a slot nothing filled shows its house creative (``when_empty="house"``, known, fitting and not
   already on the page) or collapses.

Page rules hold across all slots: the same creative never twice on one page (house creatives
included); two different line items sharing an exclusion label never on one page (one line item
may fill several slots); a line item's frequency caps count the impressions this page already
gives it.

Eligibility of a line item for a slot, checked in this order (the first failure is the reason
the explain view shows): schedule (``start <= now < end``), day-parting (site-local weekday and
hour), targeting (rule by rule), consent (capped line items need a ``user_key``), size, goal,
caps, pacing; then the page rules: exclusion labels, creatives already on the page.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from .buckets import Group
from .context import Notes, PageContext, SharedVerdicts, SlotRun
from .entries import Candidate
from .lottery import draw
from .model import (
    Consideration,
    CreativeSpec,
    DeliveryState,
    PageDecision,
    PageRequest,
    SlotDecision,
)
from .roadblocks import place_roadblocks
from .snapshot import Snapshot

SCAN_UP_TO = 8
"""Groups up to this size are decided by checking every candidate; larger ones by sampling."""
MAX_DRAWS = 48
"""Draws before sampling gives up on a group and checks every candidate."""


def decide_page(
    snapshot: Snapshot,
    request: PageRequest,
    state: DeliveryState,
    rng: random.Random,
    explain: bool = False,
    shared: SharedVerdicts | None = None,
    new_reader: bool = False,
) -> PageDecision:
    """Decide the slots of one page. With ``explain``, also say for every candidate of every
    slot why it was or was not chosen (the decisions are the same either way). ``shared``:
    delivery verdicts to reuse and add to, for pages deciding on the same counts;
    ``new_reader``: the reader's key was just made, so it has no impressions (see
    :class:`.context.PageContext`)."""
    page = PageContext(snapshot, request, state, shared, new_reader)
    notes: Notes | None = {} if explain else None
    plan = snapshot.plan(request.slots, request.section, request.device)
    codes = plan.codes
    runs = {p.slot.code: SlotRun(p.slot, p.fitting, p.size_key) for p in plan.slots}
    place_roadblocks(page, plan, list(runs.values()), rng, notes)
    for run in runs.values():
        if run.decision is None:
            run.decision = _waterfall(page, run, rng, notes) or _house(snapshot, page, run)
    decisions: dict[str, SlotDecision] = {}
    for code in codes:
        run_decision = runs[code].decision if code in runs else None
        decisions[code] = run_decision or SlotDecision(code, None)
    if notes is None:
        return PageDecision(decisions)
    return PageDecision(decisions, _considered(snapshot, page, codes, runs, notes))


def _waterfall(
    page: PageContext, run: SlotRun, rng: random.Random, notes: Notes | None
) -> SlotDecision | None:
    for group in run.fitting.groups:
        picked = None
        if group.size > SCAN_UP_TO:
            picked = _sample(page, run, group, rng)
            if picked is not None and notes is not None:
                _note_group(page, run, group, picked[0], notes)
        if picked is None:
            picked = _scan(page, run, group, rng, notes)
        if picked is not None:
            winner, creatives = picked
            creative = creatives[0] if len(creatives) == 1 else rng.choice(creatives)
            page.use(winner.entry, [creative])
            return SlotDecision(run.slot.code, creative.size, winner.entry.item.id, creative)
    return None


Picked = tuple[Candidate, tuple[CreativeSpec, ...]]


def _scan(
    page: PageContext, run: SlotRun, group: Group, rng: random.Random, notes: Notes | None
) -> Picked | None:
    """The lottery over every usable candidate of the group."""
    pool: list[Picked] = []
    weights: list[float] = []
    explain = notes is not None
    for candidate in group.candidates:
        reason, creatives = page.usable(candidate, run.size_key, explain)
        if reason is None:
            pool.append((candidate, creatives))
            weights.append(page.delivery(candidate.entry).weight)
        elif notes is not None:
            notes[(run.slot.code, candidate.entry.item.id)] = reason
    if not pool:
        return None
    picked = pool[draw(weights, rng)]
    if notes is not None:
        for candidate, _ in pool:
            reason = "chosen" if candidate is picked[0] else "lost the lottery"
            notes[(run.slot.code, candidate.entry.item.id)] = reason
    return picked


def _sample(page: PageContext, run: SlotRun, group: Group, rng: random.Random) -> Picked | None:
    """The same lottery as :func:`_scan` without checking the whole group (rejection
    sampling): draw a candidate in proportion to ``weight * envelope`` (its envelope is the
    most pacing may multiply its weight by: ``MAX_BOOST`` for even line items with a goal, else
    1), keep it with probability ``pacing factor / envelope`` if it is usable, else draw again.
    A kept candidate is distributed exactly as in the lottery over the usable ones (in
    proportion to weight times pacing factor); after ``MAX_DRAWS`` misses (few usable
    candidates) the caller falls back to the full scan, which draws from the same distribution.
    """
    total = group.total
    for _ in range(MAX_DRAWS):
        candidate = group.pick(rng.random() * total)
        reason, creatives = page.usable(candidate, run.size_key, False)
        if reason is not None:
            continue
        envelope = candidate.entry.envelope
        if envelope == 1.0:
            return candidate, creatives
        if rng.random() * envelope < page.delivery(candidate.entry).factor:
            return candidate, creatives
    return None


def _note_group(
    page: PageContext, run: SlotRun, group: Group, winner: Candidate, notes: Notes
) -> None:
    """Explain mode, after a sampled win: the reason of every other candidate of the group."""
    for candidate in group.candidates:
        reason = "chosen"
        if candidate is not winner:
            reason = page.usable(candidate, run.size_key, True)[0] or "lost the lottery"
        notes[(run.slot.code, candidate.entry.item.id)] = reason


def _house(snapshot: Snapshot, page: PageContext, run: SlotRun) -> SlotDecision | None:
    slot = run.slot
    if slot.when_empty != "house" or slot.house_creative_id is None:
        return None
    creative = snapshot.creatives.get(slot.house_creative_id)
    if creative is None or creative.id in page.used_creatives:
        return None
    if creative.size not in slot.sizes_for(page.request.device):
        return None
    page.used_creatives.add(creative.id)
    return SlotDecision(slot.code, creative.size, None, creative, house=True)


def _roadblock_reason(snapshot: Snapshot, run: SlotRun) -> str:
    """``roadblock: <name>``: the line item whose roadblock holds the slot, which is the
    question a trafficker asks next."""
    holder_id = run.decision.line_item_id if run.decision else None
    holder = snapshot.line_items.get(holder_id) if holder_id is not None else None
    return f"roadblock: {holder.name}" if holder is not None else "roadblock"


def _considered(
    snapshot: Snapshot,
    page: PageContext,
    codes: Sequence[str],
    runs: Mapping[str, SlotRun],
    notes: Notes,
) -> dict[str, tuple[Consideration, ...]]:
    """Every candidate of every slot with its reason. Candidates the decision never looked at
    (groups below the winner, slots a roadblock took) get their eligibility reason, or "lower
    priority" / "roadblock" when they were eligible."""
    considered: dict[str, tuple[Consideration, ...]] = {}
    for code in codes:
        run = runs.get(code)
        if run is None:
            considered[code] = ()
            continue
        rows = []
        for candidate in snapshot.bucket(code, page.request.section).candidates():
            item = candidate.entry.item
            reason = notes.get((code, item.id))
            if reason is None:
                reason = page.reason(candidate, run.size_key) or (
                    _roadblock_reason(snapshot, run) if run.roadblock else "lower priority"
                )
            rows.append(Consideration(item.id, item.name, reason == "chosen", reason))
        considered[code] = tuple(rows)
    return considered
