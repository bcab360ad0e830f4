"""fetch_state: what the crawler last saw at each URL (incremental crawls, conditional GET).

Made by ``create_all`` from commit 9394fbd until migrations existed; a database that has
the table but no ``alembic_version`` is stamped at this revision.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fetch_state",
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("source", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(512), nullable=True),
        sa.Column("last_modified", sa.String(64), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("url"),
    )
    op.create_index("ix_fetch_state_source", "fetch_state", ["source"])


def downgrade() -> None:
    op.drop_table("fetch_state")
