"""Standard output that may not be writable, for every command of the console script:
a full disk is one line and exit 2, a reader that went away (``| head -1``) a quiet exit 0.

It imports nothing of the project, so the console script's fast path
(:mod:`aggregator.console`) and the full command line (:mod:`aggregator.cli`) share it
without one importing the other.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable

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
