"""The ``aggregator`` command: crawl, query, export, extract, demo.

Every listing command prints a readable table, or JSON Lines with ``--json`` (one object
per line, every field), through one output layer (:mod:`aggregator.cli.output`). The
commands register on :data:`app` when their modules are imported here.
"""

from aggregator.cli import (  # noqa: F401
    crawling,
    distributed,
    extracting,
    importing,
    queries,
    registry,
    schema,
    serving,
)
from aggregator.cli.app import app, main, unwrap_help

unwrap_help(app)

__all__ = ["app", "main"]
