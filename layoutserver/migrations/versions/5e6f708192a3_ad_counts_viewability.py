"""ad_counts' measurable and viewable columns: impressions whose viewability the browser
measured, and those of them that met the viewability rule (docs/viewability.md). Rows counted
before have 0 of each, which reports show as "not measured".

Revision ID: 5e6f708192a3
Revises: 3c4d5e6f7081
Create Date: 2026-12-08 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e6f708192a3"
down_revision: str | Sequence[str] | None = "3c4d5e6f7081"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ad_counts") as batch:
        batch.add_column(sa.Column("measurable", sa.Integer(), server_default="0",
                                   nullable=False))
        batch.add_column(sa.Column("viewable", sa.Integer(), server_default="0",
                                   nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("ad_counts") as batch:
        batch.drop_column("viewable")
        batch.drop_column("measurable")
