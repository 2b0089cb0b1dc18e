"""Initial schema: every table as ``Base.metadata.create_all`` made them before there were
migrations (databases made that way are stamped at this revision, not re-created).

Revision ID: 8f2b1c4d5e6a
Revises:
Create Date: 2026-11-29 02:23:38.933725
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8f2b1c4d5e6a"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ad_advertisers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ad_advertisers")),
        sa.UniqueConstraint("name", name=op.f("uq_ad_advertisers_name")),
    )
    op.create_table(
        "ad_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_item_id", sa.Integer(), nullable=False),
        sa.Column("creative_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=100), nullable=False),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("impressions", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ad_counts")),
        sa.UniqueConstraint(
            "line_item_id",
            "creative_id",
            "slot",
            "hour",
            name=op.f("uq_ad_counts_line_item_id_creative_id_slot_hour"),
        ),
    )
    op.create_table(
        "ad_token_uses",
        sa.Column("token_id", sa.String(length=150), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token_id", "kind", name=op.f("pk_ad_token_uses")),
    )
    op.create_index(op.f("ix_ad_token_uses_used_at"), "ad_token_uses", ["used_at"], unique=False)
    op.create_table(
        "ad_user_counts",
        sa.Column("user_key", sa.String(length=128), nullable=False),
        sa.Column("line_item_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("impressions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_key", "line_item_id", "hour", name=op.f("pk_ad_user_counts")),
    )
    op.create_table(
        "ads_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ads_state")),
    )
    op.create_table(
        "authors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("bio", sa.Text(), nullable=False),
        sa.Column("avatar_url", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authors")),
        sa.UniqueConstraint("slug", name=op.f("uq_authors_slug")),
    )
    op.create_table(
        "content_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_state")),
    )
    op.create_table(
        "editorial_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_editorial_lists")),
        sa.UniqueConstraint("name", name=op.f("uq_editorial_lists_name")),
    )
    op.create_table(
        "sections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sections")),
        sa.UniqueConstraint("slug", name=op.f("uq_sections_slug")),
    )
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("name", name=op.f("uq_tags_name")),
    )
    op.create_table(
        "ad_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("advertiser_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["advertiser_id"],
            ["ad_advertisers.id"],
            name=op.f("fk_ad_campaigns_advertiser_id_ad_advertisers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ad_campaigns")),
        sa.UniqueConstraint("name", name=op.f("uq_ad_campaigns_name")),
    )
    op.create_table(
        "ad_creatives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("advertiser_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("click_url", sa.String(length=2000), nullable=False),
        sa.Column("image_url", sa.String(length=2000), nullable=False),
        sa.Column("alt", sa.String(length=500), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["advertiser_id"],
            ["ad_advertisers.id"],
            name=op.f("fk_ad_creatives_advertiser_id_ad_advertisers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ad_creatives")),
        sa.UniqueConstraint("name", name=op.f("uq_ad_creatives_name")),
    )
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["authors.id"], name=op.f("fk_articles_author_id_authors")
        ),
        sa.ForeignKeyConstraint(
            ["section_id"], ["sections.id"], name=op.f("fk_articles_section_id_sections")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_articles")),
        sa.UniqueConstraint("slug", name=op.f("uq_articles_slug")),
    )
    op.create_index(op.f("ix_articles_published_at"), "articles", ["published_at"], unique=False)
    op.create_table(
        "ad_line_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=12), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("dayparts", sa.JSON(), nullable=False),
        sa.Column("goal_metric", sa.String(length=12), nullable=True),
        sa.Column("goal_amount", sa.Integer(), nullable=True),
        sa.Column("goal_period", sa.String(length=10), nullable=True),
        sa.Column("pacing", sa.String(length=5), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("caps", sa.JSON(), nullable=False),
        sa.Column("targeting", sa.JSON(), nullable=False),
        sa.Column("exclusion_labels", sa.JSON(), nullable=False),
        sa.Column("roadblock", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["ad_campaigns.id"],
            name=op.f("fk_ad_line_items_campaign_id_ad_campaigns"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ad_line_items")),
        sa.UniqueConstraint("name", name=op.f("uq_ad_line_items_name")),
    )
    op.create_table(
        "ad_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sizes", sa.JSON(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("when_empty", sa.String(length=10), nullable=False),
        sa.Column("house_creative_id", sa.Integer(), nullable=True),
        sa.Column("lazy", sa.Boolean(), nullable=False),
        sa.Column("count_on_render", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["house_creative_id"],
            ["ad_creatives.id"],
            name=op.f("fk_ad_slots_house_creative_id_ad_creatives"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ad_slots")),
        sa.UniqueConstraint("code", name=op.f("uq_ad_slots_code")),
    )
    op.create_table(
        "article_tags",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_tags_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_article_tags_tag_id_tags"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("article_id", "tag_id", name=op.f("pk_article_tags")),
    )
    op.create_table(
        "editorial_picks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_editorial_picks_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["editorial_lists.id"],
            name=op.f("fk_editorial_picks_list_id_editorial_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_editorial_picks")),
        sa.UniqueConstraint(
            "list_id", "position", name=op.f("uq_editorial_picks_list_id_position")
        ),
    )
    op.create_table(
        "ad_line_item_creatives",
        sa.Column("line_item_id", sa.Integer(), nullable=False),
        sa.Column("creative_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["creative_id"],
            ["ad_creatives.id"],
            name=op.f("fk_ad_line_item_creatives_creative_id_ad_creatives"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["line_item_id"],
            ["ad_line_items.id"],
            name=op.f("fk_ad_line_item_creatives_line_item_id_ad_line_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "line_item_id", "creative_id", name=op.f("pk_ad_line_item_creatives")
        ),
    )


def downgrade() -> None:
    op.drop_table("ad_line_item_creatives")
    op.drop_table("editorial_picks")
    op.drop_table("article_tags")
    op.drop_table("ad_slots")
    op.drop_table("ad_line_items")
    op.drop_index(op.f("ix_articles_published_at"), table_name="articles")
    op.drop_table("articles")
    op.drop_table("ad_creatives")
    op.drop_table("ad_campaigns")
    op.drop_table("tags")
    op.drop_table("sections")
    op.drop_table("editorial_lists")
    op.drop_table("content_state")
    op.drop_table("authors")
    op.drop_table("ads_state")
    op.drop_table("ad_user_counts")
    op.drop_index(op.f("ix_ad_token_uses_used_at"), table_name="ad_token_uses")
    op.drop_table("ad_token_uses")
    op.drop_table("ad_counts")
    op.drop_table("ad_advertisers")
