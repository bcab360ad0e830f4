"""Aggregation: near-duplicate links and story clusters.

Adds ``articles.duplicate_of`` and ``articles.story_id``, the ``stories`` table, and the
two lookup tables that keep insertion cheap as the database grows: ``lsh_keys`` (MinHash
band keys of bodies) and ``story_terms`` (headline key terms with their time). Articles
stored before this revision are indexed by ``aggregator db reindex`` (the ``stories`` and
``feed`` commands do it for any article not indexed yet).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("duplicate_of", sa.Integer(), nullable=True))
    op.add_column("articles", sa.Column("story_id", sa.Integer(), nullable=True))
    op.create_index("ix_articles_story_id", "articles", ["story_id"])
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("headline", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("article_count", sa.Integer(), nullable=False),
        sa.Column("outlet_count", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_stories_first_seen", "stories", ["first_seen"])
    op.create_index("ix_stories_updated", "stories", ["updated"])
    op.create_index("ix_stories_outlet_count", "stories", ["outlet_count"])
    op.create_table(
        "lsh_keys",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "article_id"),
    )
    op.create_index("ix_lsh_keys_article_id", "lsh_keys", ["article_id"])
    op.create_table(
        "story_terms",
        sa.Column("term", sa.String(100), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("is_name", sa.Boolean(), nullable=False),
        sa.Column("published", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("term", "article_id"),
    )
    op.create_index("ix_story_terms_article_id", "story_terms", ["article_id"])
    op.create_index("ix_story_terms_term_published", "story_terms", ["term", "published"])


def downgrade() -> None:
    op.drop_table("story_terms")
    op.drop_table("lsh_keys")
    op.drop_table("stories")
    op.drop_index("ix_articles_story_id", table_name="articles")
    # Plain ALTER TABLE DROP COLUMN (SQLite 3.35+): a batch copy of the table would lose
    # the full-text triggers revision 0001 hangs on it.
    op.drop_column("articles", "story_id")
    op.drop_column("articles", "duplicate_of")
