"""Schema migrations: Alembic, configured from code (no alembic.ini); the environment and the
revisions are in ``layoutserver/migrations``. ``layoutserver db upgrade`` runs ``upgrade``."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, create_engine, inspect, pool

import layoutserver.ads.models
import layoutserver.ads.traffic_models
import layoutserver.auth.models
import layoutserver.content.models
import layoutserver.edge.models
import layoutserver.layouts.models
from layoutserver.db import Base, UTCDateTime

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: Every models module: importing them puts all the tables in ``Base.metadata``.
MODELS = (layoutserver.content.models, layoutserver.ads.models, layoutserver.ads.traffic_models,
          layoutserver.auth.models, layoutserver.edge.models, layoutserver.layouts.models)
#: The first revision: the schema ``create_all`` made before there were migrations.
BASELINE = "8f2b1c4d5e6a"
VERSION_TABLE = "alembic_version"


def target_metadata() -> MetaData:
    return Base.metadata


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = database_url  # not a main option: no % interpolation
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database to ``revision``. One made by ``create_all`` (the tables, no
    version) is first stamped, not re-created: at the head when it already has the models'
    exact schema (``create_all`` of the current code), else at the baseline (``create_all``
    from before there were migrations), and upgraded from there."""
    config = alembic_config(database_url)
    with _engine(database_url) as engine:
        tables = set(inspect(engine).get_table_names())
    if VERSION_TABLE not in tables and tables & set(Base.metadata.tables):
        command.stamp(config, BASELINE if differences(database_url) else "head")
    command.upgrade(config, revision)


def current(database_url: str) -> str | None:
    """The database's revision; None before the first migration."""
    with _engine(database_url) as engine, engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str | None:
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def differences(database_url: str) -> list[Any]:
    """What the models and the (migrated) database disagree on, as Alembic's autogenerate diff:
    empty when every model change has its migration."""
    with _engine(database_url) as engine, engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def revision(message: str) -> str:
    """Autogenerate a revision from the models against a scratch SQLite database migrated to
    head; returns the new file's path (to be reviewed by hand)."""
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'scratch.sqlite3'}"
        upgrade(url)
        script = command.revision(alembic_config(url), message=message, autogenerate=True)
    scripts = script if isinstance(script, list) else [script]
    return ", ".join(str(item.path) for item in scripts if item is not None)


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Autogenerate hook: revisions use plain SQLAlchemy types, never layoutserver's."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


@contextmanager
def _engine(url: str) -> Iterator[Engine]:
    """A short-lived engine (no pool) for one operation."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        yield engine
    finally:
        engine.dispose()
