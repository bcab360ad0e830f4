"""Engines: SQLite by default, PostgreSQL (or any SQLAlchemy URL) by setting; the
database URL, its errors and the write lock. Opening a database with its schema brought
to the current revision is :mod:`aggregator.storage.database`'s part.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from aggregator.storage.url import DatabaseURL, resolve

# How long a SQLite writer waits for another writer's lock before giving up (ms).
SQLITE_BUSY_TIMEOUT_MS = 30_000


class StorageError(RuntimeError):
    """The database cannot be used, for a reason worth a clear message (no traceback)."""


class StorageUnavailableError(StorageError):
    """The database refused a write for a reason of its own (down, full, locked, read-only),
    not because of what was written. ``done``: what was stored before it did."""

    def __init__(self, message: str, done: list[Any] | None = None) -> None:
        super().__init__(message)
        self.done = done or []


class DatabaseMissingError(StorageError):
    """A SQLite file opened for reading does not exist: readers never create a database
    (an empty one would answer every query with nothing, and hide a mistyped path)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no database at {path.absolute()}")
        self.path = path


def error_line(exc: BaseException) -> str:
    """What went wrong, in one line for a log or a message: the driver's own first line
    (drivers never echo a password), without SQLAlchemy's statement and parameters, which
    can be megabytes of article text."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


# What one item's values can cause (anything else a write raises is the database's, and
# would fail any item): SQLite TOOBIG, CONSTRAINT, MISMATCH, RANGE; PostgreSQL SQLSTATE
# classes 22 (data exception), 23 (integrity constraint) and 54 (program limit: a value
# too big to index).
_SQLITE_ITEM_CODES = {18, 19, 20, 25}
_SQLITE_ITEM_WORDS = ("too big", "constraint", "mismatch", "binding", "unsupported type")
_PG_ITEM_CLASSES = ("22", "23", "54")


def storage_failure(exc: BaseException) -> bool:
    """Whether ``exc``, raised while writing, means the database cannot take writes now
    (down, full, locked, read-only, no privilege: any other item would fail too) rather
    than that one item's values cannot be stored (an encoding or type the driver cannot
    send, a constraint, a value too big)."""
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError, StatementError

    if isinstance(exc, (UnicodeError, ValueError, OverflowError)):
        return False  # raised by the driver while sending the item's values
    if isinstance(exc, StatementError) and not isinstance(exc, DBAPIError):
        return False  # a column type refused a value (a naive datetime)
    if not isinstance(exc, DBAPIError) or exc.connection_invalidated:
        return isinstance(exc, SQLAlchemyError)  # pool timeouts and the like; not our bugs
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        code, message = _sqlite_code(orig)
        if isinstance(orig, (sqlite3.InterfaceError, sqlite3.ProgrammingError)):
            return False  # a parameter the module cannot bind
        if code is not None:
            return code & 0xFF not in _SQLITE_ITEM_CODES
        return not any(word in message for word in _SQLITE_ITEM_WORDS)  # Python 3.10
    state = str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")
    return state[:2] not in _PG_ITEM_CLASSES


def transient_failure(exc: BaseException) -> bool:
    """Whether a write failed only for another writer: a deadlock or serialization
    failure (PostgreSQL 40P01, 40001), a lock not had within the busy timeout (SQLite
    BUSY, LOCKED); trying again may succeed."""
    from sqlalchemy.exc import DBAPIError

    orig = exc.orig if isinstance(exc, DBAPIError) else None
    if isinstance(orig, sqlite3.Error):
        code, message = _sqlite_code(orig)
        if code is None:  # Python 3.10: only the message
            return "locked" in message
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    return str(getattr(orig, "sqlstate", None) or "") in ("40P01", "40001")


def db_url(url: str | None = None) -> str:
    """The database URL text (see :func:`aggregator.storage.url.resolve`)."""
    return resolve(url)


def safe_url(url: str | DatabaseURL) -> str:
    """The URL with any password masked, for logs and messages."""
    try:
        return DatabaseURL.of(url).shown
    except Exception:
        return "<unparseable database URL>"


def _database(url: str | URL | DatabaseURL) -> DatabaseURL:
    """``url`` as a :class:`DatabaseURL` (an engine's ``URL`` object too)."""
    if isinstance(url, URL):
        return DatabaseURL.of(url.render_as_string(hide_password=False))
    return DatabaseURL.of(url)


def sqlite_file(url: str | URL | DatabaseURL) -> Path | None:
    """The file of a SQLite database URL (see :attr:`DatabaseURL.sqlite_path`); None for
    an in-memory one, another backend, or a URL SQLAlchemy cannot read (messages about
    such a URL go through here too)."""
    try:
        return _database(url).sqlite_path
    except Exception:
        return None


# SQLite result codes (the low byte of the extended code): the database is read-only, or
# a file of it cannot be opened. Extended codes for a read-only database whose directory
# is at fault: the -wal and -shm files cannot be created beside it (READONLY_CANTINIT,
# READONLY_DIRECTORY).
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_CANTOPEN = 5, 6, 8, 14
_SQLITE_READONLY_DIRECTORY_CODES = {1288, 1544}
# PostgreSQL: a read-only transaction (a standby, default_transaction_read_only), and a
# user without the privilege to write.
_PG_READ_ONLY_STATES = {"25006", "42501"}


def _sqlite_code(exc: sqlite3.Error) -> tuple[int | None, str]:
    """The extended result code (None before Python 3.11) and the message, lowercased."""
    code = getattr(exc, "sqlite_errorcode", None)
    return (int(code) if code is not None else None), str(exc).lower()


def read_only(exc: BaseException) -> bool:
    """Whether ``exc`` says the database takes no writes from us: a read-only SQLite file,
    directory or URL; a read-only PostgreSQL transaction, or a user who may not write."""
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, sqlite3.Error):
        code, message = _sqlite_code(orig)
        return code & 0xFF == _SQLITE_READONLY if code is not None else "readonly" in message
    state = str(getattr(orig, "sqlstate", None) or "")
    return state in _PG_READ_ONLY_STATES


def _sqlite_access_problem(exc: BaseException, url: str | URL | None) -> tuple[str, str] | None:
    """For a SQLite file that cannot be written, or opened for want of write access: what
    is at fault ("file", "url", "directory") and what to say; None for other failures."""
    orig = getattr(exc, "orig", None) or exc
    path = sqlite_file(url) if url is not None else None
    if path is None or not isinstance(orig, sqlite3.Error):
        return None
    code, message = _sqlite_code(orig)
    if code is not None:
        readonly, cantopen = code & 0xFF == _SQLITE_READONLY, code & 0xFF == _SQLITE_CANTOPEN
    else:
        readonly, cantopen = "readonly" in message, "unable to open" in message
    if not (readonly or cantopen):
        return None
    directory = path.absolute().parent
    directory_writable = os.access(directory, os.W_OK)
    if not path.exists():
        if directory_writable:
            return None
        return "directory", (
            f"cannot create it: its directory {directory} is read-only; make the directory "
            "writable, or choose another place"
        )
    # A WAL database (ours always are) cannot even be read without its -shm file, which
    # SQLite creates beside it.
    shm = path.with_name(path.name + "-shm")
    if (
        code in _SQLITE_READONLY_DIRECTORY_CODES
        or (cantopen and not directory_writable)
        or (code is None and readonly and not directory_writable and not shm.exists())
    ):
        # Quoted twice: once for SQLite's URI filename, once for the URL around it.
        uri_path = quote(quote(str(path.absolute())))
        immutable = f"sqlite:///file:{uri_path}?immutable=1&uri=true"
        return "directory", (
            f"its directory {directory} is read-only, and SQLite must create "
            f"{path.name}-wal and {path.name}-shm there, even to read; make the directory "
            f"writable, copy the database elsewhere, or read it unchanged as {immutable}"
        )
    if not readonly:
        return None
    if url is not None and _database(url).read_only:
        return "url", "the URL opens it read-only (mode=ro or immutable); drop that to write to it"
    return "file", (
        "the file is read-only (its permissions, an immutable flag or a read-only file "
        "system); make it writable, or use a writable copy"
    )


def failure_reason(exc: BaseException, url: str | URL | None = None) -> str:
    """What went wrong with the database at ``url``, in one line: for a SQLite file that
    cannot be written, or opened for want of write access, which file or directory is at
    fault and what to do; else the driver's own line (:func:`error_line`). Our own
    errors (:class:`StorageError`) are written to be shown whole."""
    if isinstance(exc, StorageError):
        return " ".join(str(exc).split())
    problem = _sqlite_access_problem(exc, url)
    return problem[1] if problem else error_line(exc)


def require_writable(engine: Engine) -> None:
    """Raise :class:`StorageError` saying what to do when the database takes no writes
    (see :func:`read_only`): for commands that write, before they start rather than at
    their first write, deep inside a crawl."""
    from sqlalchemy.exc import DBAPIError

    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        try:
            if sqlite:
                # SQLite refuses to write a read-only database before it takes any lock:
                # one that another writer holds (busy) is writable, no need to wait.
                conn.exec_driver_sql("PRAGMA busy_timeout=0")
            # A write of nothing, rolled back: checked like any other write.
            conn.exec_driver_sql("UPDATE articles SET id = id WHERE 1 = 0")
        except DBAPIError as exc:
            if transient_failure(exc):  # another writer holds the lock: it is writable
                return
            raise StorageError(failure_reason(exc, engine.url)) from exc
        finally:
            conn.rollback()
            if sqlite:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def _sqlite_text(value: bytes) -> str:
    """SQLite text as ``str``: bytes that are not UTF-8 (another program may have stored
    them; SQLite does not check) become U+FFFD instead of failing the whole query."""
    return value.decode("utf-8", "replace")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.text_factory = _sqlite_text
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


def _sqlite_no_create(database: DatabaseURL, path: Path) -> URL:
    """``database`` opened with SQLite's ``mode=rw``: read and written like any file, but
    never created when it is missing (SQLite's default, ``rwc``, would). A URL that names
    its own mode (``mode=ro``) keeps it."""
    query = dict(database.url.query)
    if query.get("mode") is not None:
        return database.url
    if str(query.get("uri", "")).lower() not in ("true", "1"):
        database_part = f"file:{quote(str(path.absolute()))}"
        return database.url.set(
            database=database_part, query={**query, "mode": "rw", "uri": "true"}
        )
    return database.url.update_query_dict({"mode": "rw"})


def connect(url: str | DatabaseURL | None = None, *, must_exist: bool = False) -> Engine:
    """An engine for ``url`` (see :func:`db_url`), the schema as it is.

    SQLite gets WAL (readers never block the writer), a busy timeout so concurrent
    writers wait instead of failing, and ``synchronous=NORMAL`` (durable at checkpoints,
    safe against application crashes). A SQLite file's directory is created, unless
    ``must_exist`` (commands that only read): then a missing file raises
    :class:`DatabaseMissingError`, and the file is opened so that SQLite cannot create it
    either (``mode=rw``). Other backends ignore ``must_exist``: their server says whether
    the database exists.
    """
    database = DatabaseURL.of(url)
    kwargs: dict[str, Any] = {}
    target: str | URL = database.text
    if database.backend == "sqlite":
        path = database.sqlite_path
        if path is not None and must_exist:
            if not path.exists():
                raise DatabaseMissingError(path)
            target = _sqlite_no_create(database, path)
        elif path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    try:
        engine = create_engine(target, **kwargs)
    except ImportError as exc:  # the URL names a driver that is not installed
        hint = ""
        if exc.name == "psycopg":
            hint = " (pip install 'entertainment-news-aggregator[postgres]')"
        raise StorageError(f"database driver not installed: {exc.name or exc}{hint}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def schema_failure(exc: BaseException, url: str | URL | None) -> StorageError | None:
    """The clear error for a database whose schema could not be created or upgraded
    because of where it lives (read-only file or directory), None for other causes."""
    problem = _sqlite_access_problem(exc, url)
    if problem is None:
        return None
    at_fault, reason = problem
    if at_fault != "directory":
        # A current schema is only read: this one had to be created or upgraded.
        reason = f"this version must create or upgrade its schema, which writes, but {reason}"
    return StorageError(reason)


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


def upsert_insert(engine: Engine, table: Table) -> Any:
    """An INSERT on ``table`` that can take ``on_conflict_do_update`` (SQLite's and
    PostgreSQL's dialect insert), or None for a backend without one."""
    name = engine.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
    else:
        return None
    return insert(table)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine`` that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)
