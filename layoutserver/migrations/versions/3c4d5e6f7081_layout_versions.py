"""layouts, layout_versions, layouts_state: each page type's layout as versioned data (a
published version, at most one draft, every published version kept), and the version every
serving process polls. Filled from ``config/layouts/*.toml`` at the first start. Drops
edge_layout_digests: a layout change now queues its edge purge in its own transaction.

Revision ID: 3c4d5e6f7081
Revises: 1a2b3c4d5e6f
Create Date: 2026-12-07 20:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from layoutserver.db import UTCDateTime

revision: str = "3c4d5e6f7081"
down_revision: str | Sequence[str] | None = "1a2b3c4d5e6f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "layouts",
        sa.Column("page_type", sa.String(length=64), nullable=False),
        sa.Column("published", sa.Integer(), nullable=False),
        sa.Column("draft_source", sa.Text(), nullable=True),
        sa.Column("draft_base", sa.Integer(), nullable=True),
        sa.Column("draft_revision", sa.Integer(), nullable=False),
        sa.Column("draft_by", sa.String(length=150), nullable=True),
        sa.Column("draft_at", UTCDateTime(), nullable=True),
        sa.Column("seeded_digest", sa.String(length=16), nullable=True),
        sa.Column("seeded_version", sa.Integer(), nullable=True),
        sa.Column("pending_source", sa.Text(), nullable=True),
        sa.Column("pending_digest", sa.String(length=16), nullable=True),
        sa.Column("pending_since", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("page_type", name=op.f("pk_layouts")),
    )
    op.create_table(
        "layout_versions",
        sa.Column("page_type", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("restored_from", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=150), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["page_type"], ["layouts.page_type"],
                                name=op.f("fk_layout_versions_page_type_layouts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("page_type", "number", name=op.f("pk_layout_versions")),
    )
    op.create_table(
        "layouts_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_layouts_state")),
    )
    op.drop_table("edge_layout_digests")


def downgrade() -> None:
    op.create_table(
        "edge_layout_digests",
        sa.Column("page_type", sa.String(length=100), nullable=False),
        sa.Column("digest", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("page_type", name=op.f("pk_edge_layout_digests")),
    )
    op.drop_table("layouts_state")
    op.drop_table("layout_versions")
    op.drop_table("layouts")
