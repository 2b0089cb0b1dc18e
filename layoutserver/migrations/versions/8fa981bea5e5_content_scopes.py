"""Content scopes: per-part content versions, so an edit invalidates only the fragments it affects.

Revision ID: 8fa981bea5e5
Revises: 93e43c66dcbb
Create Date: 2026-11-29 03:01:01.594120
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8fa981bea5e5"
down_revision: str | Sequence[str] | None = "93e43c66dcbb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "content_scopes",
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_content_scopes")),
    )


def downgrade() -> None:
    op.drop_table("content_scopes")
