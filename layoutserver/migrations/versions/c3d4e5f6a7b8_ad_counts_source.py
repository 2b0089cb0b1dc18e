"""ad_counts.source: who wrote a row ("" counted one by one, else the Redis epoch a flush copied),
part of the unique key, so flushed absolute values and direct increments never mix in one row.

Revision ID: c3d4e5f6a7b8
Revises: b7c1d2e3f4a5
Create Date: 2026-11-29 04:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3d4e5f6a7b8"
down_revision: str | Sequence[str] | None = "b7c1d2e3f4a5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "uq_ad_counts_line_item_id_creative_id_slot_hour"
NEW = "uq_ad_counts_line_item_id_creative_id_slot_hour_source"


def upgrade() -> None:
    with op.batch_alter_table("ad_counts") as batch:
        batch.add_column(sa.Column("source", sa.String(length=40), server_default="",
                                   nullable=False))
        batch.drop_constraint(OLD, type_="unique")
        batch.create_unique_constraint(
            NEW, ["line_item_id", "creative_id", "slot", "hour", "source"])


def downgrade() -> None:
    flushed = op.get_bind().scalar(sa.text("SELECT count(*) FROM ad_counts WHERE source <> ''"))
    if flushed:
        raise RuntimeError(
            f"ad_counts holds {flushed} rows flushed from Redis; the old schema cannot keep them "
            "apart from the rest. Nothing was changed."
        )
    with op.batch_alter_table("ad_counts") as batch:
        batch.drop_constraint(NEW, type_="unique")
        batch.create_unique_constraint(OLD, ["line_item_id", "creative_id", "slot", "hour"])
        batch.drop_column("source")
