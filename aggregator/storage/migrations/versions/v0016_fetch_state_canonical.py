"""fetch_state.canonical_url: the canonical URL of the article a fetched address gave.

A site may link one article under several addresses (with and without a tracking
parameter its source entry does not list): a run fetches each, stores the article once
under its canonical URL and drops the others as duplicates. Without the canonical URL the
fetch state could not tell that such an address belongs to a stored article, and every
later run fetched it again. Nullable: rows written before this revision, and fetches
that gave no article, have none.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("fetch_state", sa.Column("canonical_url", sa.String(2048), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fetch_state") as batch:
        batch.drop_column("canonical_url")
