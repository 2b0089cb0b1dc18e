"""Articles' lead image and modified date, authors' profile URL (a page's head and structured
data say them).

Revision ID: e1f2a3b4c5d6
Revises: f6a7b8c9d0e1
Create Date: 2026-12-07 18:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from layoutserver.db import UTCDateTime

revision: str = "e1f2a3b4c5d6"
down_revision: str | Sequence[str] | None = "f6a7b8c9d0e1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("modified_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("image_url", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("image_alt", sa.String(length=500), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("image_width", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("image_height", sa.Integer(), nullable=True))
    with op.batch_alter_table("authors") as batch:
        batch.add_column(sa.Column("url", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("authors") as batch:
        batch.drop_column("url")
    with op.batch_alter_table("articles") as batch:
        for name in ("image_height", "image_width", "image_alt", "image_url", "modified_at"):
            batch.drop_column(name)
