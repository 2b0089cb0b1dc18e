"""Index ad_counts by hour: delivery reports select a range of hours across every line item.

Revision ID: 93e43c66dcbb
Revises: f93463993d34
Create Date: 2026-11-29 02:33:12.426864
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "93e43c66dcbb"
down_revision: str | Sequence[str] | None = "f93463993d34"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_ad_counts_hour"), "ad_counts", ["hour"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ad_counts_hour"), table_name="ad_counts")
