"""ad_traffic_kinds, ad_traffic, ad_traffic_profile: the traffic record forecasts are made from
(ad requests per kind of page and UTC hour, and their sums per site-local hour of the week).

Revision ID: 6f708192a3b4
Revises: 5e6f708192a3
Create Date: 2026-12-08 00:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from layoutserver.db import UTCDateTime

revision: str = "6f708192a3b4"
down_revision: str | Sequence[str] | None = "5e6f708192a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ad_traffic_kinds",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("slots", sa.Text(), nullable=False),
        sa.Column("device", sa.String(length=20), nullable=False),
        sa.Column("section", sa.Text(), nullable=False),
        sa.Column("page_type", sa.Text(), nullable=False),
        sa.Column("keyed", sa.Boolean(), nullable=False),
        sa.Column("key_values", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_ad_traffic_kinds")),
    )
    op.create_table(
        "ad_traffic",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hour", UTCDateTime(), nullable=False),
        sa.Column("week_hour", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ad_traffic")),
        sa.UniqueConstraint("hour", "kind", name=op.f("uq_ad_traffic_hour_kind")),
    )
    op.create_index(op.f("ix_ad_traffic_hour"), "ad_traffic", ["hour"], unique=False)
    op.create_table(
        "ad_traffic_profile",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("week_hour", sa.Integer(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "week_hour", name=op.f("pk_ad_traffic_profile")),
    )


def downgrade() -> None:
    op.drop_table("ad_traffic_profile")
    op.drop_index(op.f("ix_ad_traffic_hour"), table_name="ad_traffic")
    op.drop_table("ad_traffic")
    op.drop_table("ad_traffic_kinds")
