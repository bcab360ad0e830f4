"""``story_terms`` keyed by ``(article_id, term)``, without its separate article index.

The table had two indexes led by the term, the primary key ``(term, article_id)`` and
``ix_story_terms_term_published`` (the lookup of the articles sharing a term within the
story window), and one on ``article_id``. A new article's row for a term goes to the end
of that term's part of each term-led index: a page of its own per term, and per index,
which past a few hundred thousand articles is rarely in the buffer cache, so each
indexed article read and wrote one such page more per headline term for a primary key
that no query reads. Led by ``article_id`` (every new article's id is the largest), the
primary key takes its rows at its last page, and serves what ``ix_story_terms_article_id``
did (the terms of an article; the cascade when an article is deleted). The same rows, the
same uniqueness: one term-led index, as the lookup needs.

SQLite cannot change a table's primary key: the table is rebuilt (Alembic's batch mode:
copy, drop, rename; every row kept). PostgreSQL: the key is replaced in place.

Measured by ``python -m benchmarks.million``.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

import warnings

from alembic import op
from sqlalchemy.exc import SAWarning

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TABLE = "story_terms"
ARTICLE_INDEX = "ix_story_terms_article_id"
# PostgreSQL's name for the table's primary key (it named the first one so).
PG_KEY = "story_terms_pkey"


def _key(columns: list[str], *, article_index: bool) -> None:
    if op.get_bind().dialect.name == "sqlite":
        # The copy reflects ``articles`` (its foreign key's table), whose expression index
        # (revision 0014) SQLAlchemy cannot reflect and says so on stderr: it is not copied
        # (only story_terms is), so there is nothing to say to the user.
        with warnings.catch_warnings(), op.batch_alter_table(TABLE, recreate="always") as batch:
            warnings.filterwarnings(
                "ignore",
                "Skipped unsupported reflection of expression-based index ix_articles_recency$",
                SAWarning,
            )
            if article_index:
                batch.create_index(ARTICLE_INDEX, ["article_id"])
            else:
                batch.drop_index(ARTICLE_INDEX)
            batch.create_primary_key(PG_KEY, columns)
        return
    op.drop_constraint(PG_KEY, TABLE, type_="primary")
    op.create_primary_key(PG_KEY, TABLE, columns)
    if article_index:
        op.create_index(ARTICLE_INDEX, TABLE, ["article_id"])
    else:
        op.drop_index(ARTICLE_INDEX, table_name=TABLE)


def upgrade() -> None:
    _key(["article_id", "term"], article_index=False)


def downgrade() -> None:
    _key(["term", "article_id"], article_index=True)
