"""What the ``aggregator`` console script runs before anything else: the standard-output
guard every command shares, and the fast way into ``aggregator extract --manifest``.

This module imports no command-line framework: the batch form of ``aggregator extract``
(``--manifest PAGES.jsonl``, what the extraction benchmark and scripts run) starts
without Typer and Pydantic, about 0.1 s of CPU per process, which on a small batch is a
large share of the run. Every other command line goes to :mod:`aggregator.cli`.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path

# What writing our output can fail with (a full disk or quota, a file size limit, a
# device error, a closed pipe): the OSError of a stream, which names no file.
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EIO, errno.EPIPE} | {
    getattr(errno, "EDQUOT", errno.ENOSPC)  # not on every platform
}


def _stdout_file() -> tuple[int, int] | None:
    """Which file standard output is (device, inode), to see whether it was replaced."""
    try:
        st = os.fstat(sys.__stdout__.fileno() if sys.__stdout__ else 1)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def _reader_gone(stdout_was: tuple[int, int] | None) -> bool:
    """Whether the command exited 1 because standard output's reader went away. Typer
    (like Click) answers EPIPE by wrapping both streams in ``PacifyFlushWrapper`` and
    exiting 1; rich (tables, --help) by pointing standard output at /dev/null and exiting
    1. Neither says so otherwise."""
    return type(sys.stdout).__name__ == "PacifyFlushWrapper" or _stdout_file() != stdout_was


def _discard_stdout() -> None:
    """Send what is still buffered for standard output nowhere: written at exit, it would
    fail again ("Exception ignored ... BrokenPipeError")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.__stdout__.fileno() if sys.__stdout__ else 1)


def guard_output(command: Callable[[], object]) -> None:
    """Run a command whose standard output may not be writable. Output that cannot be
    written (a full disk, ``> /dev/full``) is one line and exit 2, not a traceback. A
    reader that stopped early (``| head -1``) is not an error: the reader had what it
    wanted, so the command stops quietly with exit 0 and a ``set -o pipefail`` script
    goes on."""
    stdout_was = _stdout_file()
    try:
        try:
            command()
        finally:
            sys.stdout.flush()  # here, not at interpreter exit, where it cannot be reported
    except SystemExit as exc:
        if exc.code == 1 and _reader_gone(stdout_was):
            _discard_stdout()
            raise SystemExit(0) from None
        raise
    except OSError as exc:
        if exc.filename is not None or exc.errno not in _OUTPUT_ERRNOS:
            raise
        _discard_stdout()
        if exc.errno == errno.EPIPE:
            raise SystemExit(0) from None
        print(f"aggregator: cannot write the output: {exc.strerror}", file=sys.stderr)
        raise SystemExit(2) from None


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
    from aggregator.extract.batch import read_manifest, run

    try:
        specs = list(read_manifest(manifest))
    except (OSError, ValueError) as exc:
        print(f"aggregator: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if not specs:
        print(
            "aggregator: give saved pages, - (standard input), URLs or --manifest PAGES.jsonl",
            file=sys.stderr,
        )
        raise SystemExit(2)
    try:
        _ok, failed = run(specs)
    except KeyboardInterrupt:
        raise SystemExit(130) from None  # as Typer ends any command on Ctrl-C
    if failed:
        raise SystemExit(1)


def main() -> None:
    """Console-script entry point."""
    manifest = manifest_of(sys.argv[1:])
    if manifest is not None:
        guard_output(lambda: extract_manifest(manifest))
        return
    from aggregator.cli import main as cli_main

    cli_main()
