"""Engines and schema: SQLite by default, any SQLAlchemy URL by setting."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from aggregator.storage.models import Base

DEFAULT_DB_URL = "sqlite:///aggregator.db"
ENV_DB_URL = "AGGREGATOR_DB_URL"
# How long a SQLite writer waits for another writer's lock before giving up (ms).
SQLITE_BUSY_TIMEOUT_MS = 30_000

_FTS_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5("
    "title, body, content='articles', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS articles_fts_ai AFTER INSERT ON articles BEGIN "
    "INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER IF NOT EXISTS articles_fts_ad AFTER DELETE ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER IF NOT EXISTS articles_fts_au AFTER UPDATE OF title, body ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
)


def db_url(url: str | None = None) -> str:
    """The database URL: the argument, else ``AGGREGATOR_DB_URL``, else ``./aggregator.db``.

    A bare file path (``data/news.db``) is taken as a SQLite file."""
    url = url or os.environ.get(ENV_DB_URL) or DEFAULT_DB_URL
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser()}"
    return url


def safe_url(url: str) -> str:
    """The URL with any password masked, for logs and messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str | None = None, *, create: bool = True) -> Engine:
    """An engine for ``url`` (see :func:`db_url`), with the schema created if ``create``.

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
    engine = create_engine(url, **kwargs)
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
    """Create missing tables (and SQLite's full-text index with its triggers)."""
    Base.metadata.create_all(engine)
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            for stmt in _FTS_DDL:
                conn.execute(text(stmt))


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine`` that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)
