"""Ad serving: slots, campaigns, line items and creatives; the decision engine; tracking.

``decisions/`` is the engine (pure Python); the rest binds it to the database and the web:
``models`` and ``config_import`` (the configuration), ``snapshot_source`` and ``delivery`` (what
the engine decides against), ``extension`` (the per-app state, ``get_ads``), ``binding``
(``init_app``), ``service`` (``PageContext.ads``), ``markup``, ``tokens``, ``counting`` and
``reader`` (user key and consent), ``routes`` and ``api`` (HTTP).

This package imports nothing, so that importing ``decisions`` does not load Flask or SQLAlchemy.
"""
