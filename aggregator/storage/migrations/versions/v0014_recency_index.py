"""``ix_articles_recency``: the newest articles without reading them all.

``aggregator latest`` (and every listing "most recent first") orders by
``coalesce(published, first_seen) DESC, id DESC`` (an undated article counts from when
it was first seen). With no index on that expression, the database read every article
and sorted them to return the first 20: a cost in proportion to the whole archive. An
index on exactly that expression (and ``id``) is read backwards from its newest end and
stops after the page.

Measured by ``python -m benchmarks.million``.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# The expression as the query spells it (aggregator.storage.query.RECENCY): SQLite and
# PostgreSQL use an expression index only for the same expression.
INDEX = "ix_articles_recency"


def upgrade() -> None:
    op.create_index(INDEX, "articles", [sa.text("coalesce(published, first_seen)"), "id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="articles")
