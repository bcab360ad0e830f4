"""One crawl of a source at a time per database: overlapping runs are refused, not queued.

Locks are per source, so two crawls of *different* outlets may write the same database at
once (SQLite in WAL mode with a busy timeout takes that), while an hourly ``--all`` that is
still running makes the next one exit at once.

On SQLite the locks are files beside the database (``flock``: the database is a file on
this machine). On PostgreSQL they are the server's session advisory locks, keyed by
database, schema and source, so crawls on different machines exclude each other too; a
killed crawl's connection closes and its locks go with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import IO, TypeVar

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from aggregator.storage.url import DatabaseURL

# Exit status of a run refused because another holds the lock (sysexits' EX_TEMPFAIL:
# "try again later"; cron wrappers and monitoring can tell it from a failure).
EXIT_LOCKED = 75


class LockedError(RuntimeError):
    """Another crawl holds the lock."""


def lock_dir(db_url: str | DatabaseURL) -> Path:
    """``<database file>.locks/`` for SQLite (the URI form ``file:news.db?mode=...``
    names its file too); a directory in the temp dir named after the URL (password
    excluded) for in-memory or other non-file databases (PostgreSQL uses
    :class:`PgSourceLocks` instead)."""
    database = DatabaseURL.of(db_url)
    path = database.sqlite_path
    if path is not None:
        return path.resolve().with_suffix(".locks")
    key = hashlib.sha1(database.shown.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"aggregator-{key}.locks"


def source_lock_path(db_url: str, source: str) -> Path:
    """The lock file of one source's crawls into the database at ``db_url``."""
    return lock_dir(db_url) / f"{source}.lock"


_L = TypeVar("_L", bound="_Lock")


class _Lock:
    """``with lock:`` takes it (or raises :class:`LockedError`) and gives it back."""

    def acquire(self) -> None:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError

    def __enter__(self: _L) -> _L:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class CrawlLock(_Lock):
    """An exclusive, non-blocking ``flock`` on a file; released when the process ends,
    so a killed crawl never leaves a stale lock behind."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown process"
            fh.close()
            raise LockedError(
                f"another crawl is running on this database (lock {self.path}, held by "
                f"{holder}); this run exits without crawling"
            ) from None
        fh.seek(0)
        fh.truncate()
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        fh.write(json.dumps({"pid": os.getpid(), "started": started}))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            import fcntl

            self._fh.seek(0)
            self._fh.truncate()
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


class SourceLocks(_Lock):
    """The locks of several sources, taken together or not at all."""

    def __init__(self, db_url: str, sources: list[str]) -> None:
        self.locks = [CrawlLock(source_lock_path(db_url, s)) for s in sources]
        self.sources = sources

    def acquire(self) -> None:
        taken: list[CrawlLock] = []
        busy: list[str] = []
        for source, lock in zip(self.sources, self.locks, strict=True):
            try:
                lock.acquire()
                taken.append(lock)
            except LockedError:
                busy.append(source)
        if busy:
            for lock in taken:
                lock.release()
            raise LockedError(
                f"another crawl of {', '.join(busy)} is running on this database "
                f"(locks in {self.locks[0].path.parent}); this run exits without crawling"
            )

    def release(self) -> None:
        for lock in self.locks:
            lock.release()


# The key is computed by the server from what names the data, not from the URL's spelling
# (two machines reach one server by different host names).
_PG_TRY_LOCK = text(
    "SELECT pg_try_advisory_lock(hashtextextended("
    "'aggregator-crawl:' || current_database() || '.' || current_schema() || '.' || :source,"
    " 0))"
)


class PgSourceLocks(_Lock):
    """The sources' PostgreSQL advisory locks, taken together or not at all, held by one
    connection of their own (in autocommit: no transaction stays open for the crawl)."""

    def __init__(self, db_url: str, sources: list[str]) -> None:
        self.db_url = db_url
        self.sources = sources
        self._conn: Connection | None = None

    def acquire(self) -> None:
        engine = create_engine(self.db_url, poolclass=NullPool)
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            busy = [
                s for s in self.sources if not conn.execute(_PG_TRY_LOCK, {"source": s}).scalar()
            ]
            if busy:
                raise LockedError(
                    f"another crawl of {', '.join(busy)} is running on this database "
                    "(PostgreSQL advisory lock); this run exits without crawling"
                )
        except BaseException:
            conn.close()  # releases the ones taken (also when a query failed)
            engine.dispose()
            raise
        self._conn = conn

    def release(self) -> None:
        if self._conn is not None:
            engine = self._conn.engine
            self._conn.close()  # the session's advisory locks end with it
            engine.dispose()
            self._conn = None


def source_locks(db_url: str, sources: list[str]) -> SourceLocks | PgSourceLocks:
    """The crawl locks of ``sources`` on the database at ``db_url``."""
    if DatabaseURL.of(db_url).backend == "postgresql":
        return PgSourceLocks(db_url, sources)
    return SourceLocks(db_url, sources)


def crawl_locks(raw_url: str | None, sources: list[str]) -> SourceLocks | PgSourceLocks | None:
    """The taken crawl locks of ``sources`` on the database the ``AGGREGATOR_DB_URL``
    setting names (``raw_url``; None: the environment's or the default), or None when
    storage is off. When another crawl holds one, the refusal is recorded in
    ``crawl_runs`` (when the database opens) and :class:`LockedError` raised."""
    from aggregator.storage.url import resolve, storage_disabled

    if storage_disabled(raw_url):
        return None
    url = resolve(raw_url)
    lock = source_locks(url, sources)
    try:
        lock.acquire()
    except LockedError as exc:
        _record_refusal(url, sources, str(exc))
        raise
    return lock


def _record_refusal(url: str, sources: list[str], reason: str) -> None:
    """Best effort: a database that does not open is reported by the crawl that holds it."""
    from sqlalchemy.exc import SQLAlchemyError

    from aggregator.storage.database import shared_engine
    from aggregator.storage.engine import StorageError
    from aggregator.storage.runs import RunRecorder

    with contextlib.suppress(SQLAlchemyError, StorageError, OSError, ValueError):
        RunRecorder(shared_engine(url)).refused(sources, reason)
