"""Date precision: how finely the page stated each article's publication and update time.

Adds ``articles.published_precision`` and ``articles.modified_precision``: ``month``,
``day``, ``hour``, ``minute`` or ``second`` (see ``ArticleItem.published_precision``).
Both nullable: rows stored before this revision get NULL, meaning unknown (shown and
scored as before, to the minute), and so does a row whose date is NULL. Adding a nullable
column without a default rewrites no row on either backend.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("published_precision", sa.String(8), nullable=True))
    op.add_column("articles", sa.Column("modified_precision", sa.String(8), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE DROP COLUMN (SQLite 3.35+): a batch copy of the table would lose
    # the full-text triggers revision 0001 hangs on it.
    op.drop_column("articles", "modified_precision")
    op.drop_column("articles", "published_precision")
