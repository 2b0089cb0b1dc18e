"""Edge purges (the queue, each endpoint's cursor, the layouts' digests) and page-view ad
decisions.

Revision ID: d4e5f6a7b8c9
Revises: c3d4e5f6a7b8
Create Date: 2026-12-07 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from layoutserver.db import UTCDateTime

revision: str = "d4e5f6a7b8c9"
down_revision: str | Sequence[str] | None = "c3d4e5f6a7b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "edge_purges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("keys", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edge_purges")),
    )
    op.create_table(
        "edge_purge_cursors",
        sa.Column("endpoint", sa.String(length=500), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("endpoint", name=op.f("pk_edge_purge_cursors")),
    )
    op.create_table(
        "edge_layout_digests",
        sa.Column("page_type", sa.String(length=100), nullable=False),
        sa.Column("digest", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("page_type", name=op.f("pk_edge_layout_digests")),
    )
    op.create_table(
        "ad_page_views",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_ad_page_views")),
    )
    op.create_index(op.f("ix_ad_page_views_created_at"), "ad_page_views", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ad_page_views_created_at"), table_name="ad_page_views")
    op.drop_table("ad_page_views")
    op.drop_table("edge_layout_digests")
    op.drop_table("edge_purge_cursors")
    op.drop_table("edge_purges")
