"""Ctrl-C that is not lost: for long commands that must stop at the first Ctrl-C."""

from __future__ import annotations

import signal
import threading
from typing import Any


class CtrlC:
    """While installed (``with CtrlC() as c``), Ctrl-C raises KeyboardInterrupt where the
    program is, as Python's own handler does, and is remembered. Python swallows an
    exception raised inside a weakref callback or ``__del__`` (SQLAlchemy runs some during
    garbage collection): a KeyboardInterrupt can be lost there ("Exception ignored in
    ..."), and a long import would go on to its end; :meth:`check`, called often (between
    records, before each read of a file), raises it again. Installed only in the main
    thread, and not where SIGINT is ignored (a background job started with ``&``)."""

    def __init__(self) -> None:
        self.pressed = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> CtrlC:
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            if previous is not signal.SIG_IGN:
                self._previous = signal.signal(signal.SIGINT, self._handler)
                self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def _handler(self, signum: int, frame: Any) -> None:
        self.pressed = True
        raise KeyboardInterrupt

    def check(self) -> None:
        """Raise KeyboardInterrupt if Ctrl-C was pressed (its first raise may be lost)."""
        if self.pressed:
            raise KeyboardInterrupt
