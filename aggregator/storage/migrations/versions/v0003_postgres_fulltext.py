"""PostgreSQL full-text search: a GIN index on the articles' weighted tsvector.

Title words weigh A, body words B, with the 'simple' configuration (no stemming or stop
words: the corpus mixes languages). An expression index rather than a stored column: no
extra column for the models, the writers or the exports to know about. ``Query.search``
matches with ``@@`` on the same expression (``models.SEARCH_VECTOR``) and ranks with
``ts_rank``. SQLite keeps its FTS5 table (revision 0001); other databases have no index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SEARCH_VECTOR = (
    "setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', body), 'B')"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index(
        "ix_articles_search", "articles", [sa.text(f"({SEARCH_VECTOR})")], postgresql_using="gin"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_articles_search", table_name="articles")
