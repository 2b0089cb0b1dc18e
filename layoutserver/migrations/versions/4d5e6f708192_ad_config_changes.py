"""ad_config_changes: the change log of the ad configuration (what each ads config version
changed, by kind and id), read by every serving process to revise its ad snapshot instead of
building it again.

Revision ID: 4d5e6f708192
Revises: 92a3b4c5d6e7
Create Date: 2026-12-09 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4d5e6f708192"
down_revision: str | Sequence[str] | None = "92a3b4c5d6e7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ad_config_changes",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("entity_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("version", "kind", "entity_id",
                                name=op.f("pk_ad_config_changes")),
    )


def downgrade() -> None:
    op.drop_table("ad_config_changes")
