"""First schema: articles and crawl_runs, and on SQLite the FTS5 index with its triggers.

Exactly what the first release (commit 78d2f97) made with ``create_all`` plus raw FTS5
DDL, so a database from that release stamped at this revision is indistinguishable from
one created by it (tests/test_migrations.py compares the two). Frozen: a later schema
change is a new revision, never an edit here.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

FTS_DDL = (
    "CREATE VIRTUAL TABLE articles_fts USING fts5("
    "title, body, content='articles', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER articles_fts_ai AFTER INSERT ON articles BEGIN "
    "INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER articles_fts_ad AFTER DELETE ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER articles_fts_au AFTER UPDATE OF title, body ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
)


def _when() -> sa.DateTime:
    """The models' UTCDateTime as the database sees it."""
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("canonical_url", sa.String(2048), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("source", sa.String(64), nullable=True),
        sa.Column("site_name", sa.String(200), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("subtitle", sa.Text(), nullable=True),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("published", _when(), nullable=True),
        sa.Column("published_offset", sa.Integer(), nullable=True),
        sa.Column("published_raw", sa.String(200), nullable=True),
        sa.Column("modified", _when(), nullable=True),
        sa.Column("modified_offset", sa.Integer(), nullable=True),
        sa.Column("modified_raw", sa.String(200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=True),
        sa.Column("image", sa.String(2048), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("section", sa.String(200), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("fetched_at", _when(), nullable=True),
        sa.Column("first_seen", _when(), nullable=False),
        sa.Column("last_seen", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("canonical_url"),
    )
    op.create_index("ix_articles_source", "articles", ["source"])
    op.create_index("ix_articles_published", "articles", ["published"])
    op.create_index("ix_articles_body_hash", "articles", ["body_hash"])
    op.create_index("ix_articles_last_seen", "articles", ["last_seen"])
    op.create_index("ix_articles_source_published", "articles", ["source", "published"])
    op.create_table(
        "crawl_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("started_at", _when(), nullable=False),
        sa.Column("finished_at", _when(), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("dropped", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_crawl_runs_source", "crawl_runs", ["source"])
    if op.get_bind().dialect.name == "sqlite":
        for stmt in FTS_DDL:
            op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("articles_fts_au", "articles_fts_ad", "articles_fts_ai"):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE articles_fts")
    op.drop_table("crawl_runs")
    op.drop_table("articles")
