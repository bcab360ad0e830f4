"""The ``crawl_runs`` table: one row per source per crawl, with its figures."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, select, update

from aggregator.storage.engine import session_factory
from aggregator.storage.models import CrawlRun

logger = logging.getLogger("aggregator.store")


# A running row without process details (written before runs named their process) is
# taken as interrupted once this old: if its crawl still runs, its end overwrites that.
LEGACY_RUNNING = timedelta(days=1)


def this_host() -> str:
    """This machine, as far as pids go: the host name and the pid namespace (containers
    that share a host name do not share pids)."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()} {namespace}".strip()


def _process() -> dict[str, Any]:
    """Who runs a crawl: host, pid and the process's start (so a reused pid is not taken
    for the process that died)."""
    return {"host": this_host(), "pid": os.getpid(), "pid_start": _started(os.getpid())}


def _started(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            # The command name (field 2) may hold spaces and parentheses: count from its end.
            return f.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


def _gone(run: CrawlRun, now: datetime) -> bool:
    """Whether the process of a ``running`` run no longer runs: on this host, its pid is
    free or another process's; a run recorded before runs named their process, once
    :data:`LEGACY_RUNNING` old. Runs of other hosts cannot be judged."""
    details = (run.details or {}).get("process")
    if not details:
        started = run.started_at
        if started.tzinfo is None:
            started = started.replace(tzinfo=timezone.utc)
        return now - started > LEGACY_RUNNING
    pid = details.get("pid")
    if details.get("host") != this_host() or not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # it runs, as another user
    start = details.get("pid_start")
    return start is not None and _started(pid) not in (None, start)


@dataclass(frozen=True)
class RunFigures:
    """What a finished run records: the crawl computes it, storage stores it as given."""

    status: str
    """How the run ended: "finished", "failed", "incomplete" or Scrapy's finish reason."""
    pages: int = 0
    """Responses received."""
    new: int = 0
    """Articles stored for the first time."""
    updated: int = 0
    """Articles stored again (changed, or the same text under another URL)."""
    dropped: int = 0
    """Pages or items dropped, all reasons."""
    errors: int = 0
    """Errors counted, all kinds."""
    details: dict[str, Any] = field(default_factory=dict)
    """Per-reason and per-kind breakdowns (JSON), as ``crawl_runs.details`` keeps them."""


class RunRecorder:
    """Opens a run row when a crawl starts and fills in its figures when it ends."""

    def __init__(self, engine: Engine) -> None:
        self.sessions = session_factory(engine)
        self.run_id: int | None = None

    def start(self, source: str) -> int:
        """Open a ``running`` row; first mark the ``running`` rows of killed crawls
        ``interrupted`` (a killed process never records its end)."""
        self.interrupted()
        with self.sessions.begin() as s:
            run = CrawlRun(
                source=source,
                started_at=datetime.now(timezone.utc),
                status="running",
                details={"process": _process()},
            )
            s.add(run)
            s.flush()
            self.run_id = run.id
        return run.id

    def finish(self, figures: RunFigures) -> None:
        """Record the run's end and its figures."""
        if self.run_id is None:
            return
        values = asdict(figures)
        values["finished_at"] = datetime.now(timezone.utc)
        with self.sessions.begin() as s:
            s.execute(update(CrawlRun).where(CrawlRun.id == self.run_id).values(**values))

    def interrupted(self) -> int:
        """Mark ``interrupted`` the ``running`` rows whose process is gone; how many."""
        with self.sessions.begin() as s:
            running = s.execute(select(CrawlRun).where(CrawlRun.status == "running")).scalars()
            now = datetime.now(timezone.utc)
            dead = [r for r in running if _gone(r, now)]
            for run in dead:
                run.status = "interrupted"
        if dead:
            logger.info("%d run(s) of killed crawls marked interrupted: %s", len(dead),
                        ", ".join(f"#{r.id} {r.source}" for r in dead))  # fmt: skip
        return len(dead)

    def refused(self, sources: list[str], reason: str) -> None:
        """Record a run that did not start (another crawl held the lock)."""
        now = datetime.now(timezone.utc)
        with self.sessions.begin() as s:
            for source in sources:
                s.add(CrawlRun(source=source, started_at=now, finished_at=now, status="refused",
                               details={"reason": reason}))  # fmt: skip

    def history(self, limit: int = 50) -> list[CrawlRun]:
        with self.sessions() as s:
            stmt = select(CrawlRun).order_by(CrawlRun.id.desc()).limit(limit)
            return list(s.execute(stmt).scalars())
