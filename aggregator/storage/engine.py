"""Engines and schema: SQLite by default, PostgreSQL (or any SQLAlchemy URL) by setting.

The schema is Alembic's (``aggregator/storage/migrations``): :func:`make_engine` brings
every database it opens to the current revision, so the CLI, the pipelines and the demo
all migrate on start.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DB_URL = "sqlite:///aggregator.db"
ENV_DB_URL = "AGGREGATOR_DB_URL"
# How long a SQLite writer waits for another writer's lock before giving up (ms).
SQLITE_BUSY_TIMEOUT_MS = 30_000

# URL schemes without a driver name mean the driver the `postgres` extra installs
# (SQLAlchemy's default for them, psycopg2, is not a dependency).
_PG_SCHEMES = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}


class StorageError(RuntimeError):
    """The database cannot be used, for a reason worth a clear message (no traceback)."""


def db_url(url: str | None = None) -> str:
    """The database URL: the argument, else ``AGGREGATOR_DB_URL``, else ``./aggregator.db``.

    A bare file path (``data/news.db``) is taken as a SQLite file; ``postgresql://`` and
    ``postgres://`` mean ``postgresql+psycopg://``."""
    url = url or os.environ.get(ENV_DB_URL) or DEFAULT_DB_URL
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser()}"
    scheme, sep, rest = url.partition("://")
    return f"{_PG_SCHEMES.get(scheme, scheme)}{sep}{rest}"


def safe_url(url: str) -> str:
    """The URL with any password masked, for logs and messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # Switching a new database to WAL needs an exclusive lock and SQLite does not wait
    # for it (the busy timeout does not apply): two processes opening a fresh file at once
    # got "database is locked" in 2 of 60 tries. Retry within the busy timeout instead.
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str | None = None, *, create: bool = True) -> Engine:
    """An engine for ``url`` (see :func:`db_url`); with ``create``, the schema is created
    or upgraded to the current revision (see :mod:`aggregator.storage.migrate`).

    SQLite gets WAL (readers never block the writer), a busy timeout so concurrent
    writers wait instead of failing, and ``synchronous=NORMAL`` (durable at checkpoints,
    safe against application crashes).
    """
    url = db_url(url)
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    try:
        engine = create_engine(url, **kwargs)
    except ImportError as exc:  # the URL names a driver that is not installed
        hint = ""
        if exc.name == "psycopg":
            hint = " (pip install 'entertainment-news-aggregator[postgres]')"
        raise StorageError(f"database driver not installed: {exc.name or exc}{hint}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if create:
        ensure_schema(engine)
    return engine


_SHARED: dict[str, Engine] = {}


def shared_engine(url: str | None = None) -> Engine:
    """One engine per database URL for the whole process (pipelines and middlewares of
    every crawler in a run share its connection pool)."""
    key = db_url(url)
    engine = _SHARED.get(key)
    if engine is None:
        engine = _SHARED[key] = make_engine(key)
    return engine


def storage_disabled(url: str | None) -> bool:
    """True for the values that turn storage off (``none``, ``off``, empty)."""
    return url is not None and str(url).strip().lower() in ("", "none", "off", "false", "0")


def ensure_schema(engine: Engine) -> None:
    """Create the schema, or upgrade it to the current revision (a table check and one
    read when it is already current). Concurrent starts on one database are serialized
    by a lock; see :func:`aggregator.storage.migrate.ensure_schema`."""
    from aggregator.storage.migrate import ensure_schema as migrate_to_head

    migrate_to_head(engine)


def write_lock(conn: Connection, pg_key: int) -> None:
    """Make this connection's transaction the only holder of a write lock until it ends.

    SQLite: ``BEGIN IMMEDIATE`` takes the database's write lock (other writers wait up to
    the busy timeout) and, unlike pysqlite's implicit transactions, also covers DDL.
    PostgreSQL: the transaction-scoped advisory lock ``pg_key`` (one key per purpose).
    """
    name = conn.dialect.name
    if name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": pg_key})


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine`` that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)
