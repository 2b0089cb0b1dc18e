"""Indexes for every list at archive scale: a section's and an author's articles newest first,
a tag's articles, the picks of an article, an advertiser's campaigns and creatives, a campaign's
line items, a creative's line items, and the audit log newest first by resource, resource type
or actor.

Revision ID: 1a2b3c4d5e6f
Revises: c9d0e1f2a3b4
Create Date: 2026-12-07 20:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "1a2b3c4d5e6f"
down_revision: str | Sequence[str] | None = "c9d0e1f2a3b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (index, table, columns) of the indexes this revision adds.
ADDED = (
    ("ix_articles_section_published", "articles", ["section_id", "published_at", "id"]),
    ("ix_articles_author_published", "articles", ["author_id", "published_at", "id"]),
    ("ix_article_tags_tag", "article_tags", ["tag_id", "article_id"]),
    ("ix_editorial_picks_article", "editorial_picks", ["article_id"]),
    ("ix_ad_campaigns_advertiser", "ad_campaigns", ["advertiser_id", "name"]),
    ("ix_ad_creatives_advertiser", "ad_creatives", ["advertiser_id", "name"]),
    ("ix_ad_line_items_campaign", "ad_line_items", ["campaign_id", "name"]),
    ("ix_ad_line_item_creatives_creative", "ad_line_item_creatives", ["creative_id"]),
    ("ix_audit_entries_type", "audit_entries", ["resource_type", "at", "id"]),
)
#: (index, its columns before, after): audit indexes that gain the log's order.
WIDENED = (
    ("ix_audit_entries_resource", ["resource_type", "resource_id"],
     ["resource_type", "resource_id", "at", "id"]),
    ("ix_audit_entries_actor", ["actor"], ["actor", "at", "id"]),
)


def upgrade() -> None:
    for name, table, columns in ADDED:
        op.create_index(name, table, columns, unique=False)
    for name, _, columns in WIDENED:
        op.drop_index(name, table_name="audit_entries")
        op.create_index(name, "audit_entries", columns, unique=False)


def downgrade() -> None:
    for name, columns, _ in WIDENED:
        op.drop_index(name, table_name="audit_entries")
        op.create_index(name, "audit_entries", columns, unique=False)
    for name, table, _ in reversed(ADDED):
        op.drop_index(name, table_name=table)
