"""article_tags.published_at: each link carries its article's date, so that a tag's articles,
newest first, are read from one index range, ``(tag_id, published_at, article_id)``, which
replaces ``(tag_id, article_id)``.

Revision ID: 92a3b4c5d6e7
Revises: 6f708192a3b4
Create Date: 2026-12-07 23:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from layoutserver.db import UTCDateTime

revision: str = "92a3b4c5d6e7"
down_revision: str | Sequence[str] | None = "6f708192a3b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COPY_DATES = ("UPDATE article_tags SET published_at = "
              "(SELECT published_at FROM articles WHERE articles.id = article_tags.article_id)")


def upgrade() -> None:
    with op.batch_alter_table("article_tags") as batch:
        batch.add_column(sa.Column("published_at", UTCDateTime(), nullable=True))
    op.execute(COPY_DATES)
    with op.batch_alter_table("article_tags") as batch:
        batch.alter_column("published_at", existing_type=UTCDateTime(), nullable=False)
        batch.drop_index("ix_article_tags_tag")
        batch.create_index("ix_article_tags_tag_published",
                           ["tag_id", "published_at", "article_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("article_tags") as batch:
        batch.drop_index("ix_article_tags_tag_published")
        batch.create_index("ix_article_tags_tag", ["tag_id", "article_id"], unique=False)
        batch.drop_column("published_at")
