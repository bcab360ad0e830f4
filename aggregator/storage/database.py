"""Opening a database: an engine whose schema is at the current revision.

The schema is Alembic's (``aggregator/storage/migrations``): :func:`make_engine` brings
every database it opens to the current revision, so the CLI, the pipelines and the demo
all migrate on start. The engine alone (:func:`~aggregator.storage.engine.connect`) and
the migrations (:mod:`aggregator.storage.migrate`) sit below this module.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from aggregator.storage.engine import connect, schema_failure
from aggregator.storage.migrate import ensure_schema
from aggregator.storage.url import DatabaseURL


def make_engine(
    url: str | DatabaseURL | None = None, *, create: bool = True, must_exist: bool = False
) -> Engine:
    """An engine for ``url`` (see :func:`~aggregator.storage.engine.db_url`); with
    ``create``, the schema is created or upgraded to the current revision (a table check
    and one read when it is already current; concurrent starts are serialized by a lock,
    see :func:`aggregator.storage.migrate.ensure_schema`). With ``must_exist`` (readers),
    a missing SQLite file raises ``DatabaseMissingError`` and is never created."""
    database = DatabaseURL.of(url)
    engine = connect(database, must_exist=must_exist)
    if create:
        try:
            ensure_schema(engine)
        except DBAPIError as exc:
            failure = schema_failure(exc, database.text)
            if failure is None:
                raise
            raise failure from exc
    return engine


_SHARED: dict[str, Engine] = {}


def shared_engine(url: str | DatabaseURL | None = None) -> Engine:
    """One engine per database URL for the whole process (pipelines and middlewares of
    every crawler in a run share its connection pool)."""
    key = DatabaseURL.of(url).text
    engine = _SHARED.get(key)
    if engine is None:
        engine = _SHARED[key] = make_engine(key)
    return engine
