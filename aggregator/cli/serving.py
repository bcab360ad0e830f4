"""``aggregator serve``: the collected news in a browser (see :mod:`aggregator.web`)."""

from __future__ import annotations

import socket
from typing import Annotated, Any

import typer

from aggregator.cli.app import DbOpt, app, fail
from aggregator.cli.database import raw_db


def open_read_only(db: str | None) -> Any:
    """The engine of an existing database whose schema is this version's, without writing
    to it (other commands create or upgrade the schema on start; a server must not); one
    clear line and exit 2 when it cannot be read."""
    from sqlalchemy.exc import SQLAlchemyError

    from aggregator.storage.engine import StorageError, connect, failure_reason, safe_url
    from aggregator.storage.migrate import HEAD, SchemaError, current_revision
    from aggregator.storage.url import DatabaseURL, resolve, storage_disabled

    if storage_disabled(raw_db(db)):
        raise fail("storage is off (--db none or AGGREGATOR_DB_URL=none): name a database")
    url = resolve(db)
    shown = safe_url(url)
    try:
        database = DatabaseURL.of(url)
    except (ValueError, SQLAlchemyError) as exc:
        raise fail(f"cannot open database {shown}: {exc}") from exc
    path = database.sqlite_path
    if database.backend == "sqlite" and (path is None or not path.is_file()):
        where = path if path is not None else "an in-memory database"
        raise fail(
            f"no database at {where}: crawl first (`aggregator demo --db FILE` builds one "
            "offline), or name one with --db"
        )
    try:
        engine = connect(database)
        revision = current_revision(engine)
    except (SQLAlchemyError, OSError, StorageError, SchemaError) as exc:
        raise fail(f"cannot open database {shown}: {failure_reason(exc, url)}") from exc
    if revision != HEAD:
        engine.dispose()
        found = f"schema revision {revision}" if revision else "no aggregator schema"
        raise fail(
            f"database {shown} has {found}; this version reads {HEAD}: "
            f"`aggregator db upgrade --db ...` brings it there"
        )
    return engine


@app.command()
def serve(
    db: DbOpt = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (other machines: 0.0.0.0).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8080,
    images: Annotated[
        bool,
        typer.Option(
            "--images/--no-images",
            help="Show the outlets' lead images (the reader's browser loads them from the "
            "outlets' hosts); off by default, so no page makes a request to another host.",
        ),
    ] = False,
) -> None:
    """Read the collected news in a browser: front page, stories, articles, search,
    sources, feeds and a JSON API. Read-only."""
    import uvicorn

    from aggregator.web.app import create_app

    engine = open_read_only(db)
    sock = listen(host, port)
    application = create_app(engine, images=images)
    server = uvicorn.Server(uvicorn.Config(application, log_level="warning", access_log=False))
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"aggregator: serving on http://{shown}:{port}/ (Ctrl-C stops)", err=True)
    server.run(sockets=[sock])


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, or one line and exit 2 (a port in use, an address
    not of this machine) before anything says the server is up."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise fail(f"cannot listen on {host}:{port}: {reason}") from None
    return sock
