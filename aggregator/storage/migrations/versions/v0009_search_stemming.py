"""Full-text search with stemming; SQLite's index findable by other tools.

SQLite: ``articles_fts`` is made again, with

* ``content="articles"`` in double quotes. Revision 0001 wrote ``content='articles'``;
  Datasette and sqlite-utils find a table's FTS index by looking for ``content="articles"``
  or ``content=[articles]`` in its SQL, so Datasette's ``?_search=`` ignored the search
  (every row came back) and ``sqlite-utils search`` said the table was not configured for
  full-text search.
* ``tokenize='porter unicode61 remove_diacritics 2'``: the Porter stemmer (English: "renew"
  finds "renewed", "renews") wrapping 0001's tokenizer (accents ignored). FTS5 has no
  stemmer for other languages; words Porter does not know pass through unchanged.

The index is rebuilt from ``articles`` (10,000 articles: 0.25 s); the triggers that keep
it current are made again as they were.

PostgreSQL: the stored document (revision 0006) is built with the text-search
configuration of the article's language (``english`` for ``en`` or ``en-US``, ``german``
for ``de``, ...: :data:`CONFIGS`), ``simple`` (no stemming, no stop words) for any other
language or none. Accents are folded as before. ``aggregator.storage.search`` reads the
query with the same configuration per article, from :func:`config_sql`. The column is
dropped and added again (the table is rewritten; 10,000 articles: 2.8 s).

The SQL is frozen here; changing it needs a new revision.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import logging

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Article language (its primary subtag, lowercased) -> PostgreSQL text-search
# configuration: the stemmers every PostgreSQL since 8.3 has built in.
CONFIGS = {
    "da": "danish",
    "de": "german",
    "en": "english",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "hu": "hungarian",
    "it": "italian",
    "nb": "norwegian",
    "nl": "dutch",
    "nn": "norwegian",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sv": "swedish",
    "tr": "turkish",
}
MARKS = "[\u0300-\u036f]"
COLUMN = "search_vector"

FTS_TABLE = (
    "CREATE VIRTUAL TABLE articles_fts USING fts5("
    'title, body, content="articles", content_rowid="id", '
    "tokenize='{tokenize}')"
)
TOKENIZE = "porter unicode61 remove_diacritics 2"
OLD_TOKENIZE = "unicode61 remove_diacritics 2"
TRIGGERS = (
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
# 0001's table, made again by the downgrade.
OLD_FTS_TABLE = (
    "CREATE VIRTUAL TABLE articles_fts USING fts5("
    "title, body, content='articles', content_rowid='id', "
    f"tokenize='{OLD_TOKENIZE}')"
)


def config_sql(language: str) -> str:
    """The configuration of an article whose language is the SQL expression
    ``language``."""
    primary = f"lower(split_part(replace(coalesce({language}, ''), '_', '-'), '-', 1))"
    arms = " ".join(f"WHEN '{code}' THEN '{name}'::regconfig" for code, name in CONFIGS.items())
    return f"(CASE {primary} {arms} ELSE 'simple'::regconfig END)"


def vector(fold: bool, config: str) -> str:
    """The weighted document (title words A, body words B) in configuration ``config``."""

    def doc(col: str) -> str:
        return f"regexp_replace(normalize({col}, NFD), '{MARKS}', '', 'g')" if fold else col

    return (
        f"setweight(to_tsvector({config}, {doc('title')}), 'A')"
        f" || setweight(to_tsvector({config}, {doc('body')}), 'B')"
    )


def _sqlite_fts(table: str) -> None:
    for trigger in ("articles_fts_au", "articles_fts_ad", "articles_fts_ai"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS articles_fts")
    op.execute(table)
    for stmt in TRIGGERS:
        op.execute(stmt)
    op.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")


def _pg_vector(expression: str) -> None:
    op.drop_index("ix_articles_search", table_name="articles")
    op.drop_column("articles", COLUMN)
    op.execute(
        f"ALTER TABLE articles ADD COLUMN {COLUMN} tsvector "
        f"GENERATED ALWAYS AS ({expression}) STORED"
    )
    op.create_index("ix_articles_search", "articles", [COLUMN], postgresql_using="gin")


def _folds() -> bool:
    encoding = op.get_bind().exec_driver_sql("SHOW server_encoding").scalar()
    if encoding != "UTF8":
        logging.getLogger(__name__).warning(
            "PostgreSQL server encoding is %s, not UTF8: full-text search will not ignore "
            "accents on this database",
            encoding,
        )
    return encoding == "UTF8"


def upgrade() -> None:
    name = op.get_bind().dialect.name
    if name == "sqlite":
        _sqlite_fts(FTS_TABLE.format(tokenize=TOKENIZE))
    elif name == "postgresql":
        _pg_vector(vector(_folds(), config_sql("language")))


def downgrade() -> None:
    name = op.get_bind().dialect.name
    if name == "sqlite":
        _sqlite_fts(OLD_FTS_TABLE)
    elif name == "postgresql":
        _pg_vector(vector(_folds(), "'simple'"))
