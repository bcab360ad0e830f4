"""Schema migrations: every entry point brings its database to this version's schema.

The Alembic scripts live in ``aggregator/storage/migrations`` and are run from here, with
no ``alembic.ini`` (one at the project root only serves ``alembic revision`` in a checkout).

:func:`ensure_schema` runs at every start
(:func:`~aggregator.storage.database.make_engine`), so its common case must be cheap: a
database already at :data:`HEAD` costs a table check and one read, and Alembic is not
even imported. :data:`HEAD` is a constant rather than read from the scripts
because reading them means importing Alembic and parsing every revision file; a test
keeps the two equal.

Databases created before migrations existed (tables made by ``create_all``, no
``alembic_version``) are recognized by their tables, stamped at the revision they match
and then upgraded like any other.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, inspect, text

from aggregator.storage.engine import StorageError, write_lock

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger("aggregator.storage")

# The revisions in migrations/versions, oldest first (tests/test_migrations.py checks it):
# 0001 articles + crawl_runs (+ FTS5 index and triggers on SQLite): the first release's
# schema; 0002 + fetch_state; 0003 PostgreSQL full-text index; 0004 aggregation (stories,
# near-duplicate links and their lookup tables); 0005 lookup indexes (duplicate_of;
# body_hash + source); 0006 PostgreSQL search document folding accents; 0007 date
# precision (published_precision, modified_precision); 0008 PostgreSQL authors and tags
# as jsonb; 0009 search stemming (FTS5 porter, content="articles"; PostgreSQL per-language
# configurations); 0010 SQLite times as ISO 8601 UTC text (2022-07-20T16:30:00.000000Z);
# 0011 foreign keys (story_id, duplicate_of, lsh_keys and story_terms article_id); 0012
# import_files (the files `aggregator import-warc` read: CC-NEWS resumes from it); 0013
# PostgreSQL index on the headline part of the search document; 0014 recency index
# (coalesce(published, first_seen), id: the newest articles by an index); 0015
# story_terms keyed by (article_id, term), its article index dropped; 0016
# fetch_state.canonical_url (the article an address gave: its other addresses settle).
REVISIONS = (
    "0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010", "0011",
    "0012", "0013", "0014", "0015", "0016",
)  # fmt: skip
HEAD = REVISIONS[-1]
FIRST_SCHEMA, FETCH_STATE = REVISIONS[0], REVISIONS[1]
VERSION_TABLE = "alembic_version"
MIGRATIONS = Path(__file__).resolve().with_name("migrations")
# Key of the transaction-scoped advisory lock that serializes migrators of one PostgreSQL
# database (any 64-bit number no other application on that database uses: "aggmig").
_PG_LOCK_KEY = int.from_bytes(b"aggmig", "big")


class _AlembicChatter(logging.Filter):
    """Drops Alembic's set-up lines from the crawl log, keeping its "Running upgrade"
    ones. "Will assume non-transactional DDL" (SQLite) is untrue here anyway: the whole
    migration runs inside the transaction that :func:`_lock` opens."""

    NOISE = ("setup plugin", "setting up", "Context impl", "Will assume")

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.NOISE)


def _quiet_alembic() -> None:
    for name in ("alembic.runtime.plugins", "alembic.runtime.migration"):
        log = logging.getLogger(name)
        if not any(isinstance(f, _AlembicChatter) for f in log.filters):
            log.addFilter(_AlembicChatter())


class SchemaError(StorageError):
    """The database cannot be brought to this version's schema (it is newer, or odd)."""


@dataclass(frozen=True)
class UpgradeResult:
    """What :func:`upgrade` found and did."""

    before: str | None
    """The revision found; None for an empty database or one made before migrations."""
    stamped: str | None
    """The revision a database made before migrations was recognized as, if any."""
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def describe(self) -> str:
        """One line for people."""
        if not self.changed:
            return f"schema already at revision {self.after} (current); nothing to do"
        if self.stamped:
            done = "" if self.stamped == self.after else f", then upgraded to {self.after}"
            return (
                "database made before schema versions: recognized as revision "
                f"{self.stamped} and stamped{done}"
            )
        if self.before is None:
            return f"new database: schema created at revision {self.after}"
        return f"schema upgraded from revision {self.before} to {self.after}"


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Autogenerate filter: what the migrations make with raw DDL and the models do not
    describe (SQLite's FTS5 table and its shadow tables, PostgreSQL's full-text column and
    its indexes, the recency expression index)."""
    if type_ == "table" and name is not None and name.startswith("articles_fts"):
        return False
    if type_ == "column" and name == "search_vector":
        return False
    return not (
        type_ == "index"
        and name in ("ix_articles_search", "ix_articles_search_headline", "ix_articles_recency")
    )


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for the bundled scripts; ``connection`` is the one
    ``env.py`` migrates (in the caller's transaction)."""
    from alembic.config import Config

    cfg = Config()
    # Config values go through configparser interpolation: a literal % must be doubled.
    cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["connection"] = connection
    return cfg


def _read_version(conn: Connection) -> str | None:
    if not conn.dialect.has_table(conn, VERSION_TABLE):
        return None
    rows = list(conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())
    if len(rows) > 1:
        raise SchemaError(f"the database has several schema revisions ({', '.join(rows)})")
    return str(rows[0]) if rows else None


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision, None if it has none (empty, or made before
    migrations)."""
    with engine.connect() as conn:
        return _read_version(conn)


def ensure_schema(engine: Engine) -> None:
    """Bring the database to :data:`HEAD`; when it is there already, a table check and
    one read, without importing Alembic."""
    if current_revision(engine) != HEAD:
        upgrade(engine)


def _lock(conn: Connection) -> None:
    """Make this connection the only migrator until it commits.

    Two processes starting on a new or old database at once must not both migrate it:
    the second waits, then finds it current. On SQLite the lock also covers DDL, so a
    failed migration leaves nothing half-done; PostgreSQL's DDL is transactional anyway.
    """
    write_lock(conn, _PG_LOCK_KEY)


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """A connection holding the migration lock, committed when the block ends well.

    On SQLite, foreign-key enforcement is off meanwhile, as SQLite's documented way to
    change a table's schema goes: a revision that rebuilds a table (Alembic's batch mode
    copies it, drops it and renames the copy) would otherwise have the drop checked against
    every row that refers to it. The pragma is a no-op inside a transaction, hence before
    the lock; ``PRAGMA foreign_key_check`` before the commit refuses to leave a reference
    dangling, and enforcement is back on for the connection's next user.
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            _lock(conn)
            yield conn
            if sqlite:
                dangling = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                if dangling:
                    table, rowid, parent, _ = dangling[0]
                    raise SchemaError(
                        f"{len(dangling)} reference(s) would dangle after the migration "
                        f"(first: {table} row {rowid} -> {parent}); nothing was changed"
                    )
            conn.commit()
        finally:
            if sqlite:
                conn.rollback()
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def _pre_migration_revision(conn: Connection) -> str | None:
    """The revision a database without ``alembic_version`` matches: None if it has no
    aggregator tables, else FIRST_SCHEMA or FETCH_STATE by whether ``fetch_state`` exists."""
    tables = set(inspect(conn).get_table_names())
    if "articles" not in tables:
        return None
    return FETCH_STATE if "fetch_state" in tables else FIRST_SCHEMA


def upgrade(engine: Engine, revision: str = "head") -> UpgradeResult:
    """Upgrade the schema to ``revision``, in one transaction, holding the migration lock;
    a database made before migrations is stamped at its revision first."""
    _quiet_alembic()  # before the import: Alembic sets its plugins up then
    from alembic import command
    from alembic.util import CommandError

    with _migrating(engine) as conn:
        before = _read_version(conn)
        cfg = alembic_config(conn)
        stamped = None
        try:
            if before is None:
                stamped = _pre_migration_revision(conn)
                if stamped is not None:
                    command.stamp(cfg, stamped)
            command.upgrade(cfg, revision)
        except CommandError as exc:
            if before is not None and before not in REVISIONS:
                raise SchemaError(
                    f"the database is at schema revision {before!r}, which this version of "
                    f"the aggregator does not know (its newest is {HEAD!r}): a newer version "
                    "has upgraded it; upgrade the aggregator"
                ) from exc
            raise SchemaError(str(exc)) from exc
        after = _read_version(conn)
    result = UpgradeResult(before, stamped, after)
    if result.changed:
        logger.info("%s", result.describe())
    return result


def downgrade(engine: Engine, revision: str) -> str | None:
    """Downgrade the schema to ``revision`` ("base": no tables), under the same lock and
    in one transaction; for the tests and for people undoing a release by hand. Returns
    the revision reached."""
    _quiet_alembic()
    from alembic import command

    with _migrating(engine) as conn:
        command.downgrade(alembic_config(conn), revision)
        after = _read_version(conn)
    return after
