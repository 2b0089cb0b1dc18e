"""Ad serving: slots, campaigns, line items and creatives; the decision engine; tracking.

``decisions/`` is the engine (pure Python); the rest binds it to the database and the web:
``models`` and ``config_import`` (the configuration), ``config_service`` (its one write path for
the API and the console), ``change_log`` (what each configuration version changed),
``snapshot_source``, ``specs`` and ``delivery`` (what the engine decides against),
``extension`` (the per-app state, ``get_ads``), ``binding`` (``init_app``), ``service``
(``PageContext.ads``), ``page_views`` (one decision per edge page view), ``markup``, ``tokens``,
``counting`` and ``reader`` (user key and consent), ``explain`` (why each line item won or lost),
``routes`` (tracking and files; ``/ads/decide`` and ``/ads/explain`` are in
``layoutserver.api``).

This package imports nothing, so that importing ``decisions`` does not load Flask or SQLAlchemy.
"""
