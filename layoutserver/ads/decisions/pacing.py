"""Even pacing: what is left of a goal, spread over the time left, one site-local hour at a time.

An ``even`` line item with a goal of ``G`` has a window ``[s, e)``: the flight ``[start, end)``
for a lifetime goal, the site-local day clipped to the flight for a daily goal. Time is cut
into slices, the site-local hours (clipped to the window). At time ``t`` in the slice
``[a, b)``, with ``D`` delivered in the window and ``Dh`` of it in this slice::

    budget   = (G - (D - Dh)) * (b - a) / (e - a)
               what was left when the slice began, spread evenly over the time left: this
               slice's part. A shortfall (a traffic trough, a stronger competitor) is spread
               over the rest of the window instead of being caught up at once, and an hour
               never gets much more than its share.
    expected = budget * (t - a) / (b - a)          the straight line inside the slice

    Dh + 0.5 > expected  ->  ahead of schedule: not eligible for this request, so the rest
                             of its group or a lower group fills the slot
                             ("pacing: ahead of schedule"). The half impression rounds the
                             line to the nearest impression, so that a budget below one
                             impression per hour still spreads instead of front-loading.

    otherwise            ->  lottery weight = weight * min(MAX_BOOST, max(1, need / plan))
                             need = (budget - Dh) / (b - t)    rate still required this slice
                             plan = budget / (b - a)           the slice's straight-line rate

On schedule the factor is 1; behind it grows, and grows faster towards the end of the slice, so
a line item competing in a lottery wins more often until it is back on its line. ``MAX_BOOST``
keeps one starved line item from taking its whole group. The schedule is wall-clock time: the
engine has no traffic forecast.

``asap`` line items, and line items without a goal, use their weight as it is.
"""

from __future__ import annotations

MAX_BOOST = 4.0


def even_factor(
    goal: int,
    delivered: int,
    in_slice: int,
    window: tuple[float, float],
    slice_: tuple[float, float],
    now: float,
) -> float | None:
    """The factor for the lottery weight of an even line item; None when it is ahead.

    ``delivered``: in the window; ``in_slice``: in the current slice (part of ``delivered``).
    ``window`` and ``slice_`` are ``(start, end)`` POSIX timestamps, ``slice_`` inside
    ``window``, ``now`` inside ``slice_``."""
    end = window[1]
    start, stop = slice_
    length = stop - start
    if length <= 0 or end - start <= 0:
        return 1.0
    budget = (goal - (delivered - in_slice)) * length / (end - start)
    expected = budget * (now - start) / length
    if in_slice + 0.5 > expected:
        return None
    left = stop - now
    if left <= 0 or budget <= 0:
        return MAX_BOOST
    need_over_plan = (budget - in_slice) * length / (budget * left)
    return min(MAX_BOOST, max(1.0, need_over_plan))
