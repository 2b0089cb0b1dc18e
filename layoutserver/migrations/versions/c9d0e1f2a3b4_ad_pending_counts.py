"""ad_pending_counts: counts taken while Redis was unreachable, applied through Redis's replay
guard when it answers again.

Revision ID: c9d0e1f2a3b4
Revises: e1f2a3b4c5d6
Create Date: 2026-12-07 18:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from layoutserver.db import UTCDateTime

revision: str = "c9d0e1f2a3b4"
down_revision: str | Sequence[str] | None = "e1f2a3b4c5d6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ad_pending_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.String(length=150), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("line_item_id", sa.Integer(), nullable=False),
        sa.Column("creative_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=100), nullable=False),
        sa.Column("user_key", sa.String(length=128), nullable=True),
        sa.Column("counted_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ad_pending_counts")),
        sa.UniqueConstraint("token_id", "kind",
                            name=op.f("uq_ad_pending_counts_token_id_kind")),
    )


def downgrade() -> None:
    op.drop_table("ad_pending_counts")
