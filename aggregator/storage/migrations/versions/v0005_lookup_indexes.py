"""Indexes for two per-article lookups that scanned a growing share of ``articles``.

* ``ix_articles_duplicate_of``: when an article turns out to be the original of copies
  stored before it (the copy was crawled first), the aggregation index re-points the
  group with ``UPDATE articles ... WHERE id IN (...) OR duplicate_of IN (...)``; without
  an index on ``duplicate_of`` that was a full scan of ``articles``, bodies included.
* ``ix_articles_body_hash_source``: the store's same-source twin lookup
  ``WHERE body_hash = ? AND source = ?`` was planned on ``ix_articles_source_published``
  (source only), i.e. it read every article of the source. With both columns in one
  index it is a single seek. (``ix_articles_body_hash`` stays: upgrades only add.)

Measured by ``python -m benchmarks.aggregation`` (insert time at 10k vs 200k stored articles).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_articles_duplicate_of", "articles", ["duplicate_of"])
    op.create_index("ix_articles_body_hash_source", "articles", ["body_hash", "source"])


def downgrade() -> None:
    op.drop_index("ix_articles_body_hash_source", table_name="articles")
    op.drop_index("ix_articles_duplicate_of", table_name="articles")
