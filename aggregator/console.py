"""What the ``aggregator`` console script runs before anything else: the fast way into
``aggregator extract --manifest``, under the standard-output guard every command shares
(:mod:`aggregator.stdout`).

This module imports no command-line framework: the batch form of ``aggregator extract``
(``--manifest PAGES.jsonl``, what the extraction benchmark and scripts run) starts
without Typer and Pydantic, about 0.1 s of CPU per process, which on a small batch is a
large share of the run. Every other command line goes to :mod:`aggregator.cli`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aggregator.stdout import guard_output


def manifest_of(args: list[str]) -> Path | None:
    """The manifest of ``extract --manifest PAGES.jsonl`` when that is the whole command
    line; None for any other (help, other options, pages as arguments, other commands),
    which the full command line interface parses."""
    if len(args) != 3 or args[:2] != ["extract", "--manifest"]:
        return None
    return Path(args[2]) if args[2] and not args[2].startswith("-") else None


def extract_manifest(manifest: Path) -> None:
    """``aggregator extract --manifest PAGES.jsonl``, as :func:`aggregator.cli.extracting.
    extract` runs it: a manifest that cannot be read or holds no page is one line on
    stderr and exit 2; exit 1 when some page failed."""
    from aggregator.extract.batch import exit_status, read_manifest

    try:
        specs = list(read_manifest(manifest))
    except (OSError, ValueError) as exc:
        print(f"aggregator: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    try:
        status = exit_status(specs)
    except KeyboardInterrupt:
        raise SystemExit(130) from None  # as Typer ends any command on Ctrl-C
    if status:
        raise SystemExit(status)


def main() -> None:
    """Console-script entry point."""
    manifest = manifest_of(sys.argv[1:])
    if manifest is not None:
        guard_output(lambda: extract_manifest(manifest))
        return
    from aggregator.cli import main as cli_main

    cli_main()
