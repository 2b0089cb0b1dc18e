"""Forecasting: what a proposed line item would get before it is booked, and what the line
items already booked would lose to it.

Pure Python, like the decision engine it runs: it imports neither Flask nor SQLAlchemy. The
recorded traffic (``layoutserver.ads.traffic`` keeps it per hour and kind of page) is read
into a :class:`~.traffic.TrafficProfile` (hour of the week x kind of page); sampled page views
of the weeks to come (:mod:`.sampling`) go through the engine's own ``decide_page`` against the
snapshot with and without the proposal (:mod:`.simulation`, :mod:`.proposal`); entry point:
:func:`.forecaster.forecast`. See ``docs/forecasting.md``.
"""
