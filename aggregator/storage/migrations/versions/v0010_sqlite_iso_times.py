"""SQLite: times stored as ISO 8601 UTC text, ``2022-07-20T16:30:00.000000Z``.

SQLAlchemy's SQLite ``DATETIME`` wrote ``2022-07-20 16:30:00.000000``: a space where ISO
8601 has ``T`` and no zone. Other programs reading the file (Datasette, sqlite-utils, a
spreadsheet) compared those strings wrongly with ISO times (``published >
'2022-07-20T10:00:00Z'`` was false for every time of that day, as ' ' sorts before 'T')
and could not tell they were UTC. ``models.UTCDateTime`` now writes
``2022-07-20T16:30:00.000000Z``: always six decimals, so that text order stays time order
(``...:00Z`` would sort after ``...:00.250000Z``); this revision rewrites the stored rows
the same way (10,000 articles: 0.4 s). Text in a time column that is not in the old form
(another program's) is left as it is. PostgreSQL's ``timestamp with time zone`` is
unchanged.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Callable

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COLUMNS = {
    "articles": ("published", "modified", "fetched_at", "first_seen", "last_seen"),
    "crawl_runs": ("started_at", "finished_at"),
    "fetch_state": ("fetched_at",),
    "stories": ("first_seen", "updated"),
    "story_terms": ("published",),
}
_DATE = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
_CLOCK = "[0-9][0-9]:[0-9][0-9]:[0-9][0-9]"
_FRACTION = ".[0-9][0-9][0-9][0-9][0-9][0-9]"


def _old_to_iso(col: str) -> str:
    """``YYYY-MM-DD HH:MM:SS[.ffffff]`` -> ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    return (
        f"UPDATE {{table}} SET {col} = substr({col}, 1, 10) || 'T' || substr({col}, 12, 8) || "
        f"CASE WHEN length({col}) = 19 THEN '.000000' ELSE substr({col}, 20) END || 'Z' "
        f"WHERE {col} GLOB '{_DATE} {_CLOCK}' OR {col} GLOB '{_DATE} {_CLOCK}{_FRACTION}'"
    )


def _iso_to_old(col: str) -> str:
    """The reverse: the form SQLAlchemy's SQLite ``DATETIME`` reads and writes."""
    return (
        f"UPDATE {{table}} SET {col} = substr({col}, 1, 10) || ' ' || substr({col}, 12, 15) "
        f"WHERE {col} GLOB '{_DATE}T{_CLOCK}{_FRACTION}Z'"
    )


def _run(statement: Callable[[str], str]) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in COLUMNS.items():
        for col in columns:
            op.execute(statement(col).format(table=table))


def upgrade() -> None:
    _run(_old_to_iso)


def downgrade() -> None:
    _run(_iso_to_old)
