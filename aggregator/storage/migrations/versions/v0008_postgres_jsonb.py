"""PostgreSQL: ``articles.authors`` and ``articles.tags`` as ``jsonb``, not ``json``.

``json`` keeps the text as written and has no operators worth indexing; ``jsonb`` is
parsed once, compares by value and has containment (``authors @> '["Zoë Kravitz"]'``),
which a GIN index can answer. ``jsonb`` prints non-ASCII letters as themselves (``json``
kept the ``\\u00eb`` escapes the writer sent): ``Filters.author`` looks for both
spellings. SQLite has no such type: nothing changes there. The conversion rewrites the
table (10,000 articles: 0.6 s); writers wait for it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = ("authors", "tags")


def _retype(kind: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    changes = ", ".join(f"ALTER COLUMN {c} TYPE {kind} USING {c}::{kind}" for c in COLUMNS)
    op.execute(f"ALTER TABLE articles {changes}")


def upgrade() -> None:
    _retype("jsonb")


def downgrade() -> None:
    _retype("json")
