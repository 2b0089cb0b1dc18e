"""Alembic's environment, configured from code (``layoutserver.migrate.alembic_config``), not
from an alembic.ini: the database URL comes in ``config.attributes["database_url"]``."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine, pool

from layoutserver.migrate import render_item, target_metadata

config = context.config
url: str = config.attributes["database_url"]
options: dict[str, Any] = {
    "target_metadata": target_metadata(),
    "render_item": render_item,
    # SQLite alters most things by copying the table: batch mode does that for us.
    "render_as_batch": url.startswith("sqlite"),
    "compare_type": True,
}

if context.is_offline_mode():
    context.configure(url=url, literal_binds=True, **options)
    with context.begin_transaction():
        context.run_migrations()
else:
    # A plain engine, not the app's: the app turns on SQLite's foreign keys, under which batch
    # mode's drop-and-recopy of a table would cascade deletes into the tables referring to it.
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, **options)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()
