"""``aggregator serve``: the collected news in a browser (see :mod:`aggregator.web`)."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from aggregator.cli.app import DbOpt, app, fail
from aggregator.cli.database import open_engine


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

    engine = open_engine(db)
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
    # IPPROTO_TCP named, not left 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only
    # on sockets whose proto says TCP, and accepted sockets copy this one's. With Nagle on,
    # a response written as headers then body waits for the client's delayed ACK: 40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise fail(f"cannot listen on {host}:{port}: {reason}") from None
    return sock
