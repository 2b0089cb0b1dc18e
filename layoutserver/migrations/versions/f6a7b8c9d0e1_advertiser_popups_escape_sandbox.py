"""Advertisers' popups_escape_sandbox: whether windows opened by their HTML creatives leave the
creative's sandbox.

Revision ID: f6a7b8c9d0e1
Revises: e5f6a7b8c9d0
Create Date: 2026-12-07 17:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f6a7b8c9d0e1"
down_revision: str | Sequence[str] | None = "e5f6a7b8c9d0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # False for every advertiser: an opened window stays sandboxed unless one is allowed.
    with op.batch_alter_table("ad_advertisers") as batch:
        batch.add_column(sa.Column("popups_escape_sandbox", sa.Boolean(),
                                   server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("ad_advertisers") as batch:
        batch.drop_column("popups_escape_sandbox")
