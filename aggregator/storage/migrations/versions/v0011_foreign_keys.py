"""Foreign keys: ``articles.story_id``, ``articles.duplicate_of`` and the lookup tables.

Declared so that the database says what refers to what: Datasette links an article to its
story and to the article it copies, and a lookup row to its article; other programs
writing the database are held to it. All are checked when the transaction commits
(``DEFERRABLE INITIALLY DEFERRED``): the aggregation index moves a story's articles and
deletes the story in one transaction. Deleting an article deletes its ``lsh_keys`` and
``story_terms`` rows and clears ``duplicate_of`` in its copies; a story cannot be deleted
while articles name it.

Rows whose references dangle (nothing stopped another program, or a person, from leaving
them) would make the constraints fail, so they are cleaned first:

* ``lsh_keys`` and ``story_terms`` rows of articles that do not exist are deleted
  (lookup rows, derived from the article);
* an article whose ``duplicate_of`` names no article gets NULL (not a copy);
* an article whose ``story_id`` names no story gets NULL, as do its ``duplicate_of``, and
  its lookup rows are deleted: it is unindexed, and the next crawl's index catch-up (or
  ``aggregator db reindex``) places it in a story again.

SQLite cannot add a constraint to a table: ``articles``, ``lsh_keys`` and ``story_terms``
are rebuilt (Alembic's batch mode: copy, drop, rename; every row and index kept) with
foreign-key enforcement off for the rebuild (``migrate.upgrade`` turns it off around every
migration and runs ``PRAGMA foreign_key_check`` before committing), and the full-text
triggers on ``articles`` are made again (10,000 articles: 0.4 s). PostgreSQL: ``ALTER
TABLE ... ADD CONSTRAINT`` (0.1 s).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

from typing import Any

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

DEFERRED: dict[str, Any] = {"deferrable": True, "initially": "DEFERRED"}
# (name, table, column, referred table, ON DELETE)
KEYS = (
    ("fk_articles_duplicate_of", "articles", "duplicate_of", "articles", "SET NULL"),
    ("fk_articles_story_id", "articles", "story_id", "stories", None),
    ("fk_lsh_keys_article_id", "lsh_keys", "article_id", "articles", "CASCADE"),
    ("fk_story_terms_article_id", "story_terms", "article_id", "articles", "CASCADE"),
)
TABLES = ("articles", "lsh_keys", "story_terms")
# The full-text triggers on articles (revision 0009's), which a rebuild of the table drops.
FTS_TRIGGERS = (
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
_STORYLESS = (
    "SELECT id FROM articles WHERE story_id IS NOT NULL "
    "AND story_id NOT IN (SELECT id FROM stories)"
)
CLEANUP = (
    "DELETE FROM lsh_keys WHERE article_id NOT IN (SELECT id FROM articles)",
    "DELETE FROM story_terms WHERE article_id NOT IN (SELECT id FROM articles)",
    "UPDATE articles SET duplicate_of = NULL WHERE duplicate_of IS NOT NULL "
    "AND duplicate_of NOT IN (SELECT id FROM articles)",
    f"DELETE FROM lsh_keys WHERE article_id IN ({_STORYLESS})",
    f"DELETE FROM story_terms WHERE article_id IN ({_STORYLESS})",
    f"UPDATE articles SET story_id = NULL, duplicate_of = NULL WHERE id IN ({_STORYLESS})",
)


def _fts_triggers() -> None:
    for trigger in ("articles_fts_au", "articles_fts_ad", "articles_fts_ai"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for stmt in FTS_TRIGGERS:
        op.execute(stmt)


def upgrade() -> None:
    for stmt in CLEANUP:
        op.execute(stmt)
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            with op.batch_alter_table(table, recreate="always") as batch:
                for name, source, column, referred, ondelete in KEYS:
                    if source == table:
                        batch.create_foreign_key(
                            name, referred, [column], ["id"], ondelete=ondelete, **DEFERRED
                        )
        _fts_triggers()
        return
    for name, source, column, referred, ondelete in KEYS:
        op.create_foreign_key(
            name, source, referred, [column], ["id"], ondelete=ondelete, **DEFERRED
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            with op.batch_alter_table(table, recreate="always") as batch:
                for name, source, _column, _referred, _ondelete in KEYS:
                    if source == table:
                        batch.drop_constraint(name, type_="foreignkey")
        _fts_triggers()
        return
    for name, source, _column, _referred, _ondelete in KEYS:
        op.drop_constraint(name, source, type_="foreignkey")
