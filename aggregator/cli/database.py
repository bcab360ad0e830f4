"""Opening the database for a command: one clear line and exit 2 when it cannot be."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import typer

from aggregator.cli.app import fail


def raw_db(db: str | None) -> str | None:
    """The database as the user gave it (``--db``, else ``AGGREGATOR_DB_URL``), before
    :func:`~aggregator.storage.engine.db_url` reads it: ``none`` turns storage off."""
    from aggregator.storage.url import ENV_DB_URL

    return db if db is not None else os.environ.get(ENV_DB_URL)


MISSING_HINT = (
    "`aggregator crawl` or `aggregator demo` fills one, `aggregator db upgrade` creates an "
    "empty one; or name another with --db"
)


def missing_database(path: Path) -> typer.Exit:
    """The error of a read command given a SQLite file that does not exist: it names the
    file (absolute: the command may run from another directory) and what makes one."""
    return fail(f"no database at {path.absolute()}: {MISSING_HINT}")


def missing_sqlite_file(db: str | None) -> Path | None:
    """The SQLite file ``db`` names when it does not exist, else None (it exists, or the
    database is not a SQLite file, or ``db`` is no URL: opening it will say why)."""
    from aggregator.storage.url import DatabaseURL, storage_disabled

    if storage_disabled(raw_db(db)):
        return None
    try:
        path = DatabaseURL.of(db).sqlite_path
    except ValueError:
        return None
    return path if path is not None and not path.exists() else None


def open_engine(db: str | None, *, write: bool = False) -> Any:
    """The engine of ``db``, or one clear line and exit 2. Commands that only read never
    write: a SQLite file that does not exist is an error (never created), and so is a
    schema that is not this version's (never upgraded: `aggregator db upgrade` does it).
    With ``write`` (commands that store), the database is created or upgraded if need
    be, and it is an error when it takes no writes."""
    from sqlalchemy.exc import SQLAlchemyError

    from aggregator.storage import make_engine
    from aggregator.storage.engine import (
        DatabaseMissingError,
        StorageError,
        failure_reason,
        require_writable,
        safe_url,
    )
    from aggregator.storage.migrate import HEAD, REVISIONS, SchemaError, current_revision
    from aggregator.storage.url import resolve, storage_disabled

    if storage_disabled(raw_db(db)):
        raise fail("storage is off (--db none or AGGREGATOR_DB_URL=none): name a database")
    url = resolve(db)
    try:
        engine = make_engine(url, create=write, must_exist=not write)
        revision = HEAD if write else current_revision(engine)
    except DatabaseMissingError as exc:
        raise missing_database(exc.path) from exc
    except (SQLAlchemyError, OSError, StorageError, SchemaError, ValueError) as exc:
        # The driver's own first line says what is wrong (no password: drivers never echo
        # it); SQLAlchemy's wrapper would add the statement and a documentation link.
        raise fail(f"cannot open database {safe_url(url)}: {failure_reason(exc, url)}") from exc
    if revision != HEAD:
        engine.dispose()
        found = f"schema revision {revision}" if revision else "no aggregator schema"
        if revision is not None and revision not in REVISIONS:
            what = "a newer version of the aggregator wrote it: upgrade the aggregator"
        else:
            what = "`aggregator db upgrade --db ...` brings it there"
        raise fail(f"database {safe_url(url)} has {found}; this version reads {HEAD}: {what}")
    if write:
        try:
            require_writable(engine)
        except (SQLAlchemyError, StorageError) as exc:
            engine.dispose()
            reason = failure_reason(exc, url)
            raise fail(f"cannot write to database {safe_url(url)}: {reason}") from exc
    return engine


def schema_engine(db: str | None, *, must_exist: bool) -> tuple[Any, str]:
    """An engine that leaves the schema alone, and the URL to show (password masked)."""
    from sqlalchemy.exc import SQLAlchemyError

    from aggregator.storage.engine import StorageError, connect, safe_url
    from aggregator.storage.url import DatabaseURL, resolve, storage_disabled

    if storage_disabled(raw_db(db)):
        raise fail("storage is off (--db none or AGGREGATOR_DB_URL=none): name a database")
    url = resolve(db)
    shown = safe_url(url)
    try:
        database = DatabaseURL.of(url)
        path = database.sqlite_path
        if must_exist and path is not None and not path.exists():
            raise missing_database(path)
        return connect(database, must_exist=must_exist), shown
    except (StorageError, SQLAlchemyError, ValueError, ImportError) as exc:
        raise fail(f"cannot open database {shown}: {exc}") from exc


def filters(
    source: str | None, author: str | None, since: str | None, until: str | None, limit: int | None
) -> Any:
    """The query filters of the listing options; a bad ``--since``/``--until`` is exit 2."""
    from aggregator.normalize.dates import parse_since
    from aggregator.storage import Filters

    now = datetime.now(timezone.utc)
    try:
        return Filters(source, author, parse_since(since, now), parse_since(until, now), limit)
    except ValueError as exc:
        raise fail(str(exc)) from exc


def since_option(since: str | None) -> datetime | None:
    """``--since`` as a time; a bad one is exit 2."""
    from aggregator.normalize.dates import parse_since

    try:
        return parse_since(since, datetime.now(timezone.utc))
    except ValueError as exc:
        raise fail(str(exc)) from exc
