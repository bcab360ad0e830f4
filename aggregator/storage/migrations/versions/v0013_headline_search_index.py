"""PostgreSQL: a GIN index on the headline part of each article's search document.

A search lists the articles whose headline matches first (``Query.search``: the document's
weight-A words, ``ts_filter(search_vector, '{a}')``), then the others, each part by
``ts_rank``. Without an index on the headline part, finding the few headline matches of a
common word meant reading, matching and ranking every article that has the word anywhere
(thousands: each stored document read from its TOAST table), to keep the best 20. With
this index the headline matches are found as body matches are, and only when they do not
fill the page are the others read.

The index is on an expression of the stored column (revision 0009), so writers and the
models know nothing of it; PostgreSQL keeps it current, without GIN's pending list
(``fastupdate = off``): a headline is a few words, cheap to index as it is stored, while
entries left in the pending list are read by every search until a vacuum merges them.
SQLite has nothing to do: FTS5 ranks every match cheaply.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

INDEX = "ix_articles_search_headline"
# The expression as the search spells it (aggregator.storage.query.PG_HEADLINE_VECTOR):
# PostgreSQL uses an expression index only for the same expression.
HEADLINE_VECTOR = "ts_filter(search_vector, '{a}'::\"char\"[])"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index(
        INDEX,
        "articles",
        [sa.text(HEADLINE_VECTOR)],
        postgresql_using="gin",
        postgresql_with={"fastupdate": "off"},
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(INDEX, table_name="articles")
