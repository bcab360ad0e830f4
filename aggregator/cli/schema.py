"""``aggregator db``: the schema (upgrade, current) and the story index (reindex)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from aggregator.cli.app import DbOpt, db_app, fail
from aggregator.cli.database import open_engine, schema_engine
from aggregator.cli.output import plural


def _schema_failure(engine: Any, shown: str, exc: Exception) -> typer.Exit:
    """The reason in one line: the driver's own (drivers never echo a password), not
    SQLAlchemy's wrapper with its statement and documentation link; for a SQLite file
    that is read-only, or in a read-only directory, what to do."""
    from aggregator.storage.engine import failure_reason

    return fail(f"database {shown}: {failure_reason(exc, engine.url)}")


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None) -> None:
    """Upgrade the schema to this version's, creating it in a new database.

    Every command that writes (crawl, demo, import-warc, db reindex) does this on start;
    this one says what it did. A database made before
    schema versions existed is recognized by its tables and stamped first.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from aggregator.storage.engine import StorageError
    from aggregator.storage.migrate import upgrade

    engine, shown = schema_engine(db, must_exist=False)
    try:
        result = upgrade(engine)
    except (SQLAlchemyError, OSError, StorageError) as exc:
        raise _schema_failure(engine, shown, exc) from exc
    finally:
        engine.dispose()
    typer.echo(f"{shown}: {result.describe()}")


@db_app.command("reindex")
def db_reindex(
    db: DbOpt = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Rebuild the whole aggregation index from scratch.")
    ] = False,
) -> None:
    """Index stored articles for near-duplicates and stories (those not indexed yet)."""
    from sqlalchemy.exc import SQLAlchemyError

    from aggregator.aggregate.index import catch_up
    from aggregator.sources import source_categories
    from aggregator.storage.engine import db_url, failure_reason, safe_url

    engine = open_engine(db, write=True)
    try:
        n = catch_up(engine, source_categories(), everything=everything)
    except SQLAlchemyError as exc:
        url = db_url(db)
        raise fail(f"database {safe_url(url)}: {failure_reason(exc, url)}") from exc
    typer.echo(f"indexed {plural(n, 'article')}")


@db_app.command("current")
def db_current(db: DbOpt = None) -> None:
    """Print the database's schema revision; changes nothing.

    "none" means an empty database, or one made before schema versions existed.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from aggregator.storage.engine import StorageError
    from aggregator.storage.migrate import HEAD, current_revision

    engine, shown = schema_engine(db, must_exist=True)
    try:
        revision = current_revision(engine)
    except (SQLAlchemyError, OSError, StorageError) as exc:
        raise _schema_failure(engine, shown, exc) from exc
    finally:
        engine.dispose()
    typer.echo(revision or "none")
    if revision != HEAD:
        typer.echo(
            f"aggregator: this version's schema is revision {HEAD}; `aggregator db upgrade` "
            "(or any command that writes) brings the database there",
            err=True,
        )
