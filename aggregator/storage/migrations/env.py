"""Alembic environment.

Normally run by :func:`aggregator.storage.migrate.upgrade`, which passes the connection
to migrate in ``config.attributes["connection"]``, inside its own transaction and lock
(Alembic then neither begins nor commits). Run by the ``alembic`` command from a checkout
(``alembic.ini`` at the project root), it opens the aggregator's database itself:
``-x db=URL``, else ``AGGREGATOR_DB_URL``, else ``./aggregator.db``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from aggregator.storage.migrate import include_object
from aggregator.storage.models import Base

config = context.config


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=Base.metadata,
        include_object=include_object,
        compare_type=True,
        **kwargs,  # type: ignore[arg-type]
    )


def _run(connection: Connection) -> None:
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def _cli_url() -> str:
    from aggregator.storage.engine import db_url

    return db_url(context.get_x_argument(as_dictionary=True).get("db"))


if context.is_offline_mode():  # `alembic upgrade --sql`: print the DDL for a DBA
    _configure(url=_cli_url(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    _run(given)
else:
    if config.config_file_name is not None:
        from logging.config import fileConfig

        fileConfig(config.config_file_name, disable_existing_loggers=False)
    from aggregator.storage.engine import connect

    with connect(_cli_url()).connect() as conn:
        _run(conn)
