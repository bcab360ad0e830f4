"""Fleet benchmark: a distributed crawl (``aggregator crawl --redis`` + ``aggregator worker``)
of a generated mirror, with 1, 2 and 4 crawling processes, into PostgreSQL.

Run from the project root: ``.venv/bin/python -m benchmarks.fleet [--pages 10000]
[--outlets 20] [--fleets 1,2,4]`` (``--pages 1000`` is a quick run).

Method
------
1. **Site.** ``--pages`` distinct articles (:mod:`aggregator.sitegen`, the crawl
   benchmark's generator: every body distinct) dealt round-robin to ``--outlets``
   generated outlets ``www.outletNN.example``. Each outlet gets its pages (the
   DualShockers fixture page re-branded: its host and name replaced), ``robots.txt``, a
   Google News sitemap listing all its pages and an RSS feed of its newest 10 (which
   overlap the sitemap: the shared duplicate filter drops the repeats), and an entry in
   a generated source registry (``--sources``). :class:`aggregator.mirror.MirrorServer`
   serves every outlet from this process; ``AGGREGATOR_HOST_MAP`` routes the outlets'
   hosts to it, so spiders, extractors and stored URLs see ``https://www.outletNN.example/``.
2. **Services.** Redis: a ``redis-server`` of the benchmark's own on a free port (no
   persistence), so that ``INFO commandstats`` and the server's CPU time are this
   benchmark's alone (``--redis URL`` uses an existing server instead: its commandstats
   are then the whole server's); keys under a prefix of the benchmark's own. PostgreSQL
   (``--pg``, default ``$AGGREGATOR_TEST_PG_URL`` or the test server): a database of the
   benchmark's own (dropped at the end), so that ``pg_stat_database`` counts this
   benchmark's transactions only, and a fresh schema per crawl, created with ``aggregator
   db upgrade`` before the crawl's figures start.
3. **Crawls.** A fleet of N crawling processes is the coordinator (``aggregator crawl
   <every outlet> --redis``, which seeds the run and crawls too) and N-1 ``aggregator
   worker`` processes, started first and waiting for the run. Settings: AutoThrottle off,
   ``DOWNLOAD_DELAY=0``, everything else the project's (16 requests per crawler, 4 per
   domain, for the whole fleet: ``AGGREGATOR_FLEET_CONCURRENCY_PER_DOMAIN`` defaults to
   ``CONCURRENT_REQUESTS_PER_DOMAIN``). ``--fleets`` sizes (1, 2, 4) each crawl into a
   fresh schema. Then the **kill** crawl: a fleet of ``--kill-fleet`` (2) processes, one
   worker killed with SIGKILL when the mirror has answered half of the article pages
   (``AGGREGATOR_FLEET_TTL=10`` so the run notices within 10 s), and **the next run**
   (the coordinator alone) into the same schema.

What is measured and checked
----------------------------
* **pages/s**: the steady crawl rate, article requests at the mirror from the 5th to the
  85th percentile of the crawl's article requests over the time between them (no
  start-up, no tail: each crawling process indexes stories as its sources close, in its
  reactor thread, and its downloads wait meanwhile), and **pages/s wall**, N stored over
  the wall time (coordinator start to the last process's exit: start-up, seeding, the
  tail and story indexing included). **Scaling efficiency** = pages/s at N processes /
  (N x pages/s at 1). **Longest gap**: the longest time between two article requests of
  the fleet (the whole fleet stalled).
* **CPU seconds** of each crawling process (``wait4`` rusage; a worker's CPU spent
  before the coordinator started, its start-up, is subtracted), of the mirror (this
  process), of Redis (its ``/proc`` entry; a private server only), of the PostgreSQL
  backends serving the crawl (found in ``pg_stat_activity`` by their
  ``application_name``, read from ``/proc`` every 0.25 s: a lower bound), and the whole
  machine's busy CPU from ``/proc/stat`` (the remainder is PostgreSQL's own processes and
  any other load: the machine is shared), and **CPU wait %**: the share of the wall time
  in which some runnable task waited for a CPU (``/proc/pressure/cpu``): near 100 % the
  machine was oversubscribed and every figure is bounded by CPU. With 2 cores, more than
  2 processes share them: the CPU figures show where the time goes.
* **Redis operations per page**: ``INFO commandstats`` calls before and after the crawl
  (the benchmark's own ``INFO`` left out), divided by N; per command in the JSON.
* **PostgreSQL writes per page**: ``pg_stat_database`` deltas of ``xact_commit`` and of
  rows inserted/updated/deleted (read once every crawler has exited, so every backend has
  flushed its counters), divided by N; rows per table from ``pg_stat_user_tables``.
* **Checks** (any failure: exit status 1): every process exits 0 (the kill run: the
  coordinator 1, its run recorded ``incomplete`` with the killed worker in
  ``details.workers_lost``); every article page requested exactly once across the fleet
  (the mirror's log); exactly N articles stored, every expected URL, no duplicate URL;
  one ``crawl_runs`` row per outlet with N members; after the kill, the next run stores
  the rest (exactly N, no duplicates).

Results go to the terminal (a table) and to ``benchmarks/results/fleet.json``; the crawl
logs to ``benchmarks/results/fleet_logs/``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from aggregator.mirror import MirrorServer
from aggregator.sitegen import (
    SEED,
    Page,
    feed_xml,
    generate_pages,
    render_page,
    sitemap_xml,
    template_path,
)
from benchmarks.gendb import PG_SERVER

PROJECT = Path(__file__).resolve().parent.parent
RESULTS_DIR = PROJECT / "benchmarks" / "results"
RESULTS_JSON = RESULTS_DIR / "fleet.json"
LOG_DIR = RESULTS_DIR / "fleet_logs"
BIN = Path(sys.executable).parent
AGGREGATOR = str(BIN / "aggregator")
CLK_TCK = os.sysconf("SC_CLK_TCK")
SETTINGS = ["--set", "AUTOTHROTTLE_ENABLED=False", "--set", "DOWNLOAD_DELAY=0"]
# The share of a crawl's article requests its steady rate is measured over.
STEADY = (0.05, 0.85)
_INDEXED = re.compile(r"Indexed \d+ article\(s\) for stories in ([\d.]+)s")
# The kill run's heartbeat lifetime: how soon the fleet takes the killed worker for dead.
KILL_TTL = 10


# -- the site ------------------------------------------------------------------------------


def outlet(k: int) -> tuple[str, str, str]:
    """(source name, domain, title) of generated outlet ``k`` (from 1)."""
    return f"outlet{k:02d}", f"outlet{k:02d}.example", f"Outlet {k:02d}"


def rebrand(text_: str, domain: str, title: str) -> str:
    """The DualShockers page, feed or sitemap as outlet ``domain``'s."""
    return text_.replace("dualshockers.com", domain).replace("DualShockers", title)


def registry(outlets: int) -> str:
    """The source registry of the generated outlets (a feed and a sitemap each)."""
    entries = []
    for k in range(1, outlets + 1):
        name, domain, title = outlet(k)
        pattern = f"^https://www\\.{re.escape(domain)}/(?!feed/|news/)[a-z0-9]+(?:-[a-z0-9]+)+/$"
        entries.append(
            f'[[source]]\nname = "{name}"\ntitle = "{title}"\ndomains = ["{domain}"]\n'
            f'feeds = ["https://www.{domain}/feed/"]\n'
            f'sitemaps = ["https://www.{domain}/sitemap_news.xml"]\n'
            f"article_pattern = '{pattern}'\n"
            'language = "en"\ncategory = "games"\n'
            'extractor = "aggregator.extract.sites.valnet:ValnetExtractor"\n'
        )
    return "\n".join(entries)


def write_fleet_site(root: Path, pages: Sequence[Page], outlets: int) -> dict[str, str]:
    """Every outlet's pages, robots.txt, sitemap and feed under ``root/<host>``; the
    expected article URLs ({host path: URL})."""
    template = template_path().read_text(encoding="utf-8")
    expected: dict[str, str] = {}
    for k in range(1, outlets + 1):
        _name, domain, title = outlet(k)
        host = f"www.{domain}"
        mine = list(pages[k - 1 :: outlets])
        site = root / host
        for page in mine:
            target = site / page.slug / "index.html"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(rebrand(render_page(template, page, mine), domain, title))
            expected[f"{host}/{page.slug}/"] = f"https://{host}/{page.slug}/"
        (site / "robots.txt").write_text(
            f"User-agent: *\nDisallow: /wp-admin/\nSitemap: https://{host}/sitemap_news.xml\n"
        )
        (site / "sitemap_news.xml").write_text(rebrand(sitemap_xml(mine), domain, title))
        (site / "feed").mkdir(exist_ok=True)
        (site / "feed" / "index.xml").write_text(rebrand(feed_xml(mine[:10]), domain, title))
    return expected


class TimedMirror(MirrorServer):
    """The mirror, also keeping each request's time."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.times: list[float] = []

    def record(self, host: str, path: str) -> None:
        with self._lock:
            self.requests.append((host, path))
            self.times.append(time.monotonic())


# -- the services --------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of the benchmark's own on a free port, without persistence."""

    def __init__(self, directory: Path) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise SystemExit("redis-server is not on the PATH (or name one with --redis URL)")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"redis://127.0.0.1:{self.port}/0"
        cmd = [
            server,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(directory),
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


def redis_client(url: str) -> Any:
    import redis

    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return client
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def command_calls(client: Any) -> Counter[str]:
    """Calls per command since the server started (``INFO commandstats``)."""
    stats = client.info("commandstats")
    return Counter({k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()})


def proc_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a live process (``/proc/<pid>/stat``)."""
    try:
        rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(rest[11]) + int(rest[12])) / CLK_TCK


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (every core; ``/proc/stat``)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def cpu_pressure() -> float:
    """Seconds in which some runnable task waited for a CPU (``/proc/pressure/cpu``; 0
    where the kernel has no PSI)."""
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return 0.0
    return int(line.rsplit("total=", 1)[1]) / 1e6


class PgDatabase:
    """A database of the benchmark's own on the server of ``server_url``; a schema per
    crawl; its statistics."""

    def __init__(self, server_url: str) -> None:
        self.server = make_url(server_url)
        self.name = f"fleetbench_{secrets.token_hex(4)}"
        self.app = f"fleetbench-{secrets.token_hex(3)}"
        self.admin = create_engine(self.server, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {self.name}")
        self.own = create_engine(self.server.set(database=self.name), isolation_level="AUTOCOMMIT")

    def schema_url(self, schema: str) -> str:
        with self.own.connect() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        url = self.server.set(database=self.name).update_query_dict(
            {"options": f"-csearch_path={schema}", "application_name": self.app}
        )
        return url.render_as_string(hide_password=False)

    def database_stats(self) -> dict[str, int]:
        """This database's cumulative transaction and row counts (read from the admin
        database: the reading itself is not counted here)."""
        sql = (
            "select xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted "
            "from pg_stat_database where datname = :name"
        )
        with self.admin.connect() as conn:
            row = conn.execute(text(sql), {"name": self.name}).one()
        return dict(row._mapping)

    def table_stats(self, schema: str) -> dict[str, dict[str, int]]:
        sql = (
            "select relname, n_tup_ins, n_tup_upd, n_tup_del from pg_stat_user_tables "
            "where schemaname = :schema"
        )
        with self.own.connect() as conn:
            rows = conn.execute(text(sql), {"schema": schema}).all()
        return {
            r[0]: {"inserted": r[1], "updated": r[2], "deleted": r[3]}
            for r in rows
            if r[1] or r[2] or r[3]
        }

    def backend_pids(self) -> list[int]:
        sql = "select pid from pg_stat_activity where application_name = :app"
        with self.admin.connect() as conn:
            return [r[0] for r in conn.execute(text(sql), {"app": self.app})]

    def query(self, schema: str, sql: str) -> list[Any]:
        with self.own.connect() as conn:
            conn.exec_driver_sql(f"SET search_path TO {schema}")
            return list(conn.execute(text(sql)).all())

    def drop(self) -> None:
        self.own.dispose()
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        self.admin.dispose()


class BackendSampler(threading.Thread):
    """CPU seconds of the PostgreSQL backends serving the crawl, read every 0.25 s (a
    backend's last reading before it exits: a lower bound)."""

    def __init__(self, db: PgDatabase) -> None:
        super().__init__(name="pg-backends", daemon=True)
        self.db = db
        self.cpu: dict[int, float] = {}
        self.peak = 0  # connections open at once
        self.stop_event = threading.Event()

    def run(self) -> None:
        pids: list[int] = []
        tick = 0
        while not self.stop_event.is_set():
            if tick % 4 == 0:  # new backends: once a second is enough (pools live long)
                pids = self.db.backend_pids()
                self.peak = max(self.peak, len(pids))
            for pid in pids:
                cpu = proc_cpu(pid)
                if cpu is not None:
                    self.cpu[pid] = cpu
            tick += 1
            self.stop_event.wait(0.25)

    def total(self) -> float:
        return sum(self.cpu.values())


# -- one crawl -----------------------------------------------------------------------------


@dataclass
class Member:
    role: str
    pid: int
    returncode: int | None = None
    cpu_s: float = 0.0
    startup_cpu_s: float = 0.0
    maxrss_mb: float = 0.0
    killed: bool = False


@dataclass
class Crawl:
    """Everything measured about one crawl of the fleet."""

    label: str
    processes: int
    schema: str
    pages: int
    wall_s: float = 0.0
    window_s: float = 0.0
    longest_gap_s: float = 0.0
    steady_pages: int = 0
    steady_s: float = 0.0
    indexing_s: float = 0.0
    article_requests: int = 0
    distinct_article_requests: int = 0
    other_requests: int = 0
    stored: int = 0
    distinct_stored: int = 0
    missing: int = 0
    members: list[Member] = field(default_factory=list)
    mirror_cpu_s: float = 0.0
    redis_cpu_s: float | None = None
    pg_backend_cpu_s: float = 0.0
    pg_connections: int = 0
    machine_busy_s: float = 0.0
    cpu_pressure_s: float = 0.0
    redis_calls: dict[str, int] = field(default_factory=dict)
    pg: dict[str, int] = field(default_factory=dict)
    pg_tables: dict[str, dict[str, int]] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def pages_per_s(self) -> float:
        """The steady crawl rate: article requests from the 5th to the 85th percentile of
        the crawl's requests over the time between them (no start-up, no tail)."""
        return self.steady_pages / self.steady_s if self.steady_s else 0.0

    @property
    def pages_per_s_wall(self) -> float:
        return self.stored_new / self.wall_s if self.wall_s else 0.0

    @property
    def stored_new(self) -> int:
        return sum(int(r["new"]) for r in self.runs)

    @property
    def crawler_cpu_s(self) -> float:
        return sum(m.cpu_s for m in self.members)

    def per_page(self, count: float) -> float:
        return count / self.article_requests if self.article_requests else 0.0

    @property
    def redis_ops(self) -> int:
        """Commands Redis executed, those of the fleet's Lua scripts included."""
        return sum(self.redis_calls.values())

    @property
    def redis_round_trips(self) -> int:
        """Commands the processes sent (a pipeline's each counted): the lease script runs
        TIME, ZREMRANGEBYSCORE and ZCARD on every call, and ZADD and EXPIRE (used nowhere
        else) when it grants one; the few commands with which it drops a dead member's
        leases are counted as sent."""
        calls = self.redis_calls
        inside = calls.get("time", 0) + calls.get("zremrangebyscore", 0)
        inside += calls.get("evalsha", 0) + 2 * calls.get("expire", 0)
        return self.redis_ops - inside


@dataclass
class Bench:
    """What every crawl of one benchmark run shares."""

    mirror: TimedMirror
    db: PgDatabase
    redis_url: str
    redis: Any
    redis_pid: int | None
    sources: Path
    names: list[str]
    expected: dict[str, str]
    prefix: str
    console: Console

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "AGGREGATOR_HOST_MAP": self.mirror.host_map(),
            "AGGREGATOR_SOURCES": str(self.sources),
            "AGGREGATOR_REDIS_PREFIX": self.prefix,
            "PYTHONUNBUFFERED": "1",
        }

    def new_schema(self) -> tuple[str, str]:
        schema = f"fleet_{secrets.token_hex(4)}"
        url = self.db.schema_url(schema)
        subprocess.run(
            [AGGREGATOR, "db", "upgrade", "--db", url],
            cwd=PROJECT,
            env=self.env(),
            check=True,
            capture_output=True,
        )
        return schema, url

    def crawl(
        self,
        label: str,
        processes: int,
        schema: str,
        url: str,
        kill_at: float | None = None,
        extra: Sequence[str] = (),
    ) -> Crawl:
        """One run of a fleet of ``processes`` (the coordinator and the rest workers);
        with ``kill_at``, the first worker is killed with SIGKILL once the mirror has
        answered that share of the article pages."""
        result = Crawl(label, processes, schema, len(self.expected))
        env = self.env()
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        procs: list[tuple[subprocess.Popen[bytes], Member]] = []
        waiters: list[threading.Thread] = []

        def reap(proc: subprocess.Popen[bytes], member: Member) -> None:
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = member.returncode = os.waitstatus_to_exitcode(status)
            member.cpu_s = usage.ru_utime + usage.ru_stime - member.startup_cpu_s
            member.maxrss_mb = usage.ru_maxrss / 1024

        def start(role: str, argv: list[str]) -> subprocess.Popen[bytes]:
            log = LOG_DIR / f"{label}-{role}-{len(procs)}.out"
            proc = subprocess.Popen(
                argv, cwd=PROJECT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
            )
            procs.append((proc, Member(role, proc.pid)))
            return proc

        for i in range(processes - 1):
            start(
                "worker",
                [
                    AGGREGATOR,
                    "worker",
                    "--redis",
                    self.redis_url,
                    "--db",
                    url,
                    "--wait",
                    "120",
                    "--log-file",
                    str(LOG_DIR / f"{label}-w{i}.log"),
                ],
            )
        self._wait_for_workers(processes - 1, [p for p, _ in procs])
        for proc, member in procs:
            member.startup_cpu_s = proc_cpu(proc.pid) or 0.0
        # Before: every counter this crawl moves.
        calls0 = command_calls(self.redis)
        redis0 = proc_cpu(self.redis_pid) if self.redis_pid else None
        tables0 = self.db.table_stats(schema)
        pg0 = self.db.database_stats()  # after: the read above is a transaction there
        busy0, self0, pressure0 = machine_busy(), _self_cpu(), cpu_pressure()
        first = len(self.mirror.requests)
        sampler = BackendSampler(self.db)
        sampler.start()
        t0 = time.monotonic()
        start(
            "coordinator",
            [
                AGGREGATOR,
                "crawl",
                *self.names,
                "--sources",
                str(self.sources),
                "--redis",
                self.redis_url,
                "--db",
                url,
                *SETTINGS,
                *extra,
                "--log-file",
                str(LOG_DIR / f"{label}-coordinator.log"),
            ],
        )
        for proc, member in procs:
            t = threading.Thread(target=reap, args=(proc, member), daemon=True)
            t.start()
            waiters.append(t)
        try:
            if kill_at is not None:
                self._kill_when(kill_at, first, procs)
            for t in waiters:
                while t.is_alive():  # with a timeout: Ctrl-C reaches this thread
                    t.join(0.5)
        except BaseException:
            for proc, _ in procs:  # no crawler outlives the benchmark
                if proc.returncode is None:
                    os.kill(proc.pid, signal.SIGKILL)
            raise
        result.wall_s = time.monotonic() - t0
        time.sleep(1.0)  # the backends of the exited processes flush their statistics
        sampler.stop_event.set()
        sampler.join()
        result.mirror_cpu_s = _self_cpu() - self0
        result.machine_busy_s = machine_busy() - busy0
        result.cpu_pressure_s = cpu_pressure() - pressure0
        if self.redis_pid:
            redis1 = proc_cpu(self.redis_pid)
            result.redis_cpu_s = None if redis0 is None or redis1 is None else redis1 - redis0
        result.pg_backend_cpu_s = sampler.total()
        result.pg_connections = sampler.peak
        pg1 = self.db.database_stats()
        result.pg = {k: pg1[k] - pg0[k] for k in pg1}
        calls = command_calls(self.redis) - calls0
        calls.pop("info", None)  # the benchmark's own
        result.redis_calls = dict(calls.most_common())
        tables1 = self.db.table_stats(schema)
        result.pg_tables = {
            name: {k: v - tables0.get(name, {}).get(k, 0) for k, v in counts.items()}
            for name, counts in tables1.items()
        }
        result.members = [m for _, m in procs]
        self._requests(result, first)
        log = (LOG_DIR / f"{label}-coordinator.log").read_text(errors="replace")
        result.indexing_s = sum(float(s) for s in _INDEXED.findall(log))
        self._stored(result)
        return result

    def _wait_for_workers(self, count: int, procs: list[subprocess.Popen[bytes]]) -> None:
        """Until the workers wait for the run (connected to a private Redis; else 5 s)."""
        if not count:
            return
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in procs):
                raise SystemExit("a worker exited before the run began (see fleet_logs/)")
            if self.redis_pid is None:
                time.sleep(5)
                return
            if int(self.redis.info("clients")["connected_clients"]) >= count + 1:
                time.sleep(0.5)  # past its connection check, polling for the run
                return
            time.sleep(0.1)
        raise SystemExit("the workers did not connect to Redis within 60 s")

    def _kill_when(
        self, share: float, first: int, procs: list[tuple[subprocess.Popen[bytes], Member]]
    ) -> None:
        victim, member = next((p, m) for p, m in procs if m.role == "worker")
        goal = int(share * len(self.expected))
        served, seen = 0, first
        while victim.returncode is None:
            new = self.mirror.requests[seen:]  # a copy: the mirror's threads append
            seen += len(new)
            served += sum(1 for h, p in new if f"{h}{p}" in self.expected)
            if served >= goal:
                os.kill(victim.pid, signal.SIGKILL)
                member.killed = True
                self.console.print(f"    killed worker {victim.pid} at {served} article pages")
                return
            time.sleep(0.05)

    def _requests(self, result: Crawl, first: int) -> None:
        requests = self.mirror.requests[first:]
        times = self.mirror.times[first:]
        articles = [
            (f"{h}{p}", t)
            for (h, p), t in zip(requests, times, strict=True)
            if f"{h}{p}" in self.expected
        ]
        counts = Counter(a for a, _ in articles)
        result.article_requests = len(articles)
        result.distinct_article_requests = len(counts)
        result.other_requests = len(requests) - len(articles)
        if articles:
            result.window_s = articles[-1][1] - articles[0][1]
            stamps = sorted(t for _, t in articles)
            lo, hi = int(STEADY[0] * len(stamps)), int(STEADY[1] * len(stamps)) - 1
            result.steady_pages, result.steady_s = hi - lo, stamps[hi] - stamps[lo]
            result.longest_gap_s = max((b - a for a, b in itertools.pairwise(stamps)), default=0.0)
        twice = sum(1 for n in counts.values() if n > 1)
        if twice:
            result.problems.append(f"{twice} article pages requested more than once")

    def _stored(self, result: Crawl) -> None:
        schema = result.schema
        rows = self.db.query(schema, "select canonical_url from articles")
        urls = [r[0] for r in rows]
        result.stored, result.distinct_stored = len(urls), len(set(urls))
        if result.stored != result.distinct_stored:
            result.problems.append(f"{result.stored - result.distinct_stored} duplicate articles")
        missing = set(self.expected.values()) - set(urls)
        unexpected = set(urls) - set(self.expected.values())
        if unexpected:
            result.problems.append(f"{len(unexpected)} stored URLs not in the site")
        result.runs = [
            {
                "source": r[0],
                "status": r[1],
                "new": r[2],
                "pages": r[3],
                "members": len(r[4].get("workers", {})),
                "lost": r[4].get("workers_lost", []),
            }
            for r in self.db.query(
                schema, "select source, status, new, pages, details from crawl_runs order by id"
            )
        ][-len(self.names) :]
        result.missing = len(missing)


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def check_complete(result: Crawl, names: list[str]) -> None:
    """A crawl that must have stored the whole site, with every process finishing."""
    for m in result.members:
        if m.returncode != 0:
            result.problems.append(f"{m.role} {m.pid} exited {m.returncode}")
    if result.stored != result.pages or result.missing:
        result.problems.append(f"{result.stored} articles stored, not {result.pages}")
    if result.distinct_article_requests != result.pages:
        result.problems.append(
            f"{result.distinct_article_requests} article pages requested, not {result.pages}"
        )
    if sorted(r["source"] for r in result.runs) != sorted(names):
        result.problems.append("not one crawl_runs row per outlet")
    for r in result.runs:
        if r["status"] != "finished" or r["members"] != result.processes:
            result.problems.append(f"{r['source']}: run {r['status']} with {r['members']} members")
            break


# -- the report ----------------------------------------------------------------------------


def summary(c: Crawl, base: Crawl | None) -> dict[str, Any]:
    eff = None
    if base is not None and base.pages_per_s and c.processes:
        eff = c.pages_per_s / (c.processes * base.pages_per_s)
    pg_rows = c.pg.get("tup_inserted", 0) + c.pg.get("tup_updated", 0) + c.pg.get("tup_deleted", 0)
    return {
        "label": c.label,
        "processes": c.processes,
        "pages_per_s": round(c.pages_per_s, 1),
        "pages_per_s_wall": round(c.pages_per_s_wall, 1),
        "scaling_efficiency": None if eff is None else round(eff, 3),
        "window_s": round(c.window_s, 1),
        "wall_s": round(c.wall_s, 1),
        "cpu_s_per_process": [round(m.cpu_s, 1) for m in c.members],
        "crawler_cpu_ms_per_page": round(1000 * c.per_page(c.crawler_cpu_s), 2),
        "mirror_cpu_s": round(c.mirror_cpu_s, 1),
        "redis_cpu_s": None if c.redis_cpu_s is None else round(c.redis_cpu_s, 2),
        "pg_backend_cpu_s": round(c.pg_backend_cpu_s, 1),
        "machine_busy_s": round(c.machine_busy_s, 1),
        "machine_busy_cores": round(c.machine_busy_s / c.wall_s, 2) if c.wall_s else None,
        "cpu_wait_pct": round(100 * c.cpu_pressure_s / c.wall_s) if c.wall_s else None,
        "article_requests": c.article_requests,
        "distinct_article_requests": c.distinct_article_requests,
        "other_requests": c.other_requests,
        "stored": c.stored,
        "duplicates": c.stored - c.distinct_stored,
        "redis_ops_per_page": round(c.per_page(c.redis_ops), 1),
        "redis_round_trips_per_page": round(c.per_page(c.redis_round_trips), 1),
        "lease_attempts_per_page": round(c.per_page(c.redis_calls.get("evalsha", 0)), 2),
        "longest_gap_s": round(c.longest_gap_s, 2),
        "indexing_s": round(c.indexing_s, 1),
        "redis_cpu_us_per_page": None
        if c.redis_cpu_s is None
        else round(1e6 * c.per_page(c.redis_cpu_s), 1),
        "pg_commits_per_page": round(c.per_page(c.pg.get("xact_commit", 0)), 2),
        "pg_rows_written_per_page": round(c.per_page(pg_rows), 2),
        "pg_connections_peak": c.pg_connections,
        "pg_backend_cpu_ms_per_page": round(1000 * c.per_page(c.pg_backend_cpu_s), 2),
        "run_statuses": dict(Counter(r["status"] for r in c.runs)),
        "problems": c.problems,
    }


def _f(v: Any, fmt: str = "{:.1f}") -> str:
    return "-" if v is None else fmt.format(v)


def print_report(console: Console, result: dict[str, Any]) -> None:
    cfg = result["config"]
    table = Table(
        title=f"Fleet benchmark: {cfg['pages']} article pages, {cfg['outlets']} outlets, "
        f"{cfg['cpus']} CPU cores (shared), PostgreSQL + Redis on this machine"
    )
    cols = [
        "crawl",
        "procs",
        "pages/s",
        "pages/s wall",
        "scaling eff.",
        "wall s",
        "indexing s",
        "longest gap s",
        "CPU s per process",
        "mirror CPU s",
        "PG backends CPU s",
        "Redis CPU s",
        "busy cores",
        "fetched once",
        "stored",
        "dups",
        "runs",
    ]
    for col in cols:
        table.add_column(col, justify="left" if col in ("crawl", "runs") else "right")
    for s in result["crawls"]:
        table.add_row(
            s["label"],
            str(s["processes"]),
            _f(s["pages_per_s"]),
            _f(s["pages_per_s_wall"]),
            _f(s["scaling_efficiency"], "{:.2f}"),
            _f(s["wall_s"]),
            _f(s["indexing_s"]),
            _f(s["longest_gap_s"]),
            " ".join(_f(c) for c in s["cpu_s_per_process"]),
            _f(s["mirror_cpu_s"]),
            _f(s["pg_backend_cpu_s"]),
            _f(s["redis_cpu_s"], "{:.2f}"),
            _f(s["machine_busy_cores"], "{:.2f}"),
            _f(s["cpu_wait_pct"], "{:.0f}"),
            f"{s['distinct_article_requests']}/{s['article_requests']}",
            str(s["stored"]),
            str(s["duplicates"]),
            ", ".join(f"{k} {v}" for k, v in s["run_statuses"].items()),
        )
    console.print(table)
    costs = Table(title="Per article page: what the fleet's shared services do")
    for col in (
        "crawl",
        "procs",
        "Redis cmds",
        "round trips",
        "lease tries",
        "Redis CPU µs",
        "PG commits",
        "PG rows written",
        "PG backend CPU ms",
        "crawler CPU ms",
        "PG connections",
    ):
        costs.add_column(col, justify="left" if col == "crawl" else "right")
    for s in result["crawls"]:
        costs.add_row(
            s["label"],
            str(s["processes"]),
            _f(s["redis_ops_per_page"]),
            _f(s["redis_round_trips_per_page"]),
            _f(s["lease_attempts_per_page"]),
            _f(s["redis_cpu_us_per_page"]),
            _f(s["pg_commits_per_page"], "{:.2f}"),
            _f(s["pg_rows_written_per_page"], "{:.2f}"),
            _f(s["pg_backend_cpu_ms_per_page"], "{:.2f}"),
            _f(s["crawler_cpu_ms_per_page"]),
            str(s["pg_connections_peak"]),
        )
    console.print(costs)
    for line in result["notes"]:
        console.print(f"  {line}")
    if result["problems"]:
        console.print("[bold red]FAILED checks:[/bold red]")
        for p in result["problems"]:
            console.print(f"  {p}")
    console.print(
        f"results: {RESULTS_JSON.relative_to(PROJECT)}; logs: {LOG_DIR.relative_to(PROJECT)}/"
    )


# -- main ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.fleet", description=(__doc__ or "").split("\n\n")[0]
    )
    p.add_argument("--pages", type=int, default=10_000, help="article pages (10000)")
    p.add_argument("--outlets", type=int, default=20, help="generated outlets (20)")
    p.add_argument("--fleets", default="1,2,4", help="fleet sizes to measure (1,2,4)")
    p.add_argument(
        "--kill-fleet", type=int, default=2, help="fleet size of the kill run (2; 0: no kill run)"
    )
    p.add_argument("--redis", help="an existing Redis (default: a private redis-server)")
    p.add_argument(
        "--pg",
        default=PG_SERVER,
        help="PostgreSQL server URL (a database of "
        "the benchmark's own is created there and dropped)",
    )
    p.add_argument("--keep-temp", action="store_true", help="keep the generated site")
    return p.parse_args(argv)


@contextmanager
def services(args: argparse.Namespace, tmp: Path) -> Iterator[tuple[str, int | None, PgDatabase]]:
    private = None if args.redis else PrivateRedis(tmp)
    db = PgDatabase(args.pg)
    try:
        yield (private.url if private else args.redis), (private.proc.pid if private else None), db
    finally:
        db.drop()
        if private is not None:
            private.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console() if sys.stdout.isatty() else Console(width=220)
    fleets = [int(x) for x in args.fleets.split(",") if x.strip()]
    if args.pages < args.outlets or args.outlets < 1 or not fleets or min(fleets) < 1:
        console.print("--pages >= --outlets >= 1 and positive --fleets sizes, please")
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    shutil.rmtree(LOG_DIR, ignore_errors=True)  # Scrapy appends to a log file
    try:
        t0 = time.perf_counter()
        pages = generate_pages(args.pages)
        expected = write_fleet_site(tmp / "site", pages, args.outlets)
        sources = tmp / "sources.toml"
        sources.write_text(registry(args.outlets))
        names = [outlet(k)[0] for k in range(1, args.outlets + 1)]
        console.print(
            f"generated {args.pages} pages for {args.outlets} outlets in "
            f"{time.perf_counter() - t0:.1f} s ({tmp})"
        )
        crawls: list[Crawl] = []
        mirror = TimedMirror(tmp / "site")
        with services(args, tmp) as (redis_url, redis_pid, db), mirror:
            prefix = f"fleetbench-{secrets.token_hex(4)}"
            client = redis_client(redis_url)
            bench = Bench(
                mirror, db, redis_url, client, redis_pid, sources, names, expected, prefix, console
            )
            for n in fleets:
                schema, url = bench.new_schema()
                c = bench.crawl(f"{n} process{'es' if n > 1 else ''}", n, schema, url)
                check_complete(c, names)
                crawls.append(c)
                _show(console, c)
            if args.kill_fleet:
                crawls += kill_run(bench, args.kill_fleet, names)
            for key in bench.redis.scan_iter(f"{bench.prefix}:*"):
                bench.redis.delete(key)
        base = next((c for c in crawls if c.processes == 1 and c.label.endswith("process")), None)
        rows = [
            summary(c, base if not c.label.startswith(("kill", "next")) else None) for c in crawls
        ]
        problems = [f"{c.label}: {p}" for c in crawls for p in c.problems]
        result: dict[str, Any] = {
            "benchmark": "fleet",
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "config": {
                "pages": args.pages,
                "outlets": args.outlets,
                "fleets": fleets,
                "kill_fleet": args.kill_fleet,
                "redis": "private redis-server" if not args.redis else "given (shared stats)",
                "settings": SETTINGS[1::2],
                "seed": SEED,
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
            },
            "crawls": rows,
            "notes": notes(crawls, rows),
            "problems": problems,
            "details": [
                {
                    "label": c.label,
                    "members": [asdict(m) for m in c.members],
                    "redis_calls": c.redis_calls,
                    "pg": c.pg,
                    "pg_tables": c.pg_tables,
                    "runs": c.runs,
                }
                for c in crawls
            ],
        }
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        RESULTS_JSON.write_text(json.dumps(result, indent=2, default=str) + "\n")
        console.print()
        print_report(console, result)
        return 1 if problems else 0
    finally:
        if args.keep_temp:
            console.print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def kill_run(bench: Bench, processes: int, names: list[str]) -> list[Crawl]:
    """A fleet whose first worker is killed at half the pages, then the next run (the
    coordinator alone) into the same schema."""
    schema, url = bench.new_schema()
    ttl = ["--set", f"AGGREGATOR_FLEET_TTL={KILL_TTL}"]
    killed = bench.crawl(f"kill ({processes} procs)", processes, schema, url, 0.5, ttl)
    victim = next((m for m in killed.members if m.killed), None)
    coordinator = next(m for m in killed.members if m.role == "coordinator")
    if victim is None:
        killed.problems.append("no worker was killed (the crawl ended first)")
    if coordinator.returncode != 1:
        killed.problems.append(f"coordinator exited {coordinator.returncode}, not 1")
    lost = [r for r in killed.runs if r["status"] == "incomplete"]
    if victim is not None and not any(
        any(m.endswith(f":{victim.pid}") for m in r["lost"]) for r in lost
    ):
        killed.problems.append("no run recorded incomplete with the killed worker lost")
    if killed.stored >= killed.pages:
        killed.problems.append("the killed worker lost nothing: the kill came too late")
    _show(bench.console, killed)
    after = bench.crawl("next run (1 proc)", 1, schema, url)
    check_complete(after, names)
    # Its runs record only what it stored; the site is complete with the killed run's.
    after.problems = [p for p in after.problems if "article pages requested" not in p]
    _show(bench.console, after)
    return [killed, after]


def notes(crawls: list[Crawl], rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for c, s in zip(crawls, rows, strict=True):
        if c.label.startswith("kill"):
            lost = sorted({m for r in c.runs for m in r["lost"]})
            out.append(
                f"{c.label}: {c.stored} of {c.pages} stored when the run ended; runs "
                f"{s['run_statuses']}; lost {', '.join(lost) or 'none'}"
            )
        elif c.label.startswith("next"):
            out.append(
                f"{c.label}: fetched {c.article_requests} article pages (the rest was "
                f"skipped as stored), stored {c.stored_new} new: {c.stored} in all, "
                f"{c.stored - c.distinct_stored} duplicates"
            )
    return out


def _show(console: Console, c: Crawl) -> None:
    status = "ok" if not c.problems else "[red]" + "; ".join(c.problems) + "[/red]"
    console.print(
        f"  {c.label}: {c.pages_per_s:.1f} pages/s ({c.window_s:.1f} s window, "
        f"{c.wall_s:.1f} s wall), CPU {' '.join(f'{m.cpu_s:.1f}' for m in c.members)} s, "
        f"{c.stored} stored, Redis {c.per_page(c.redis_ops):.1f} ops/page, PG "
        f"{c.per_page(c.pg.get('xact_commit', 0)):.2f} commits/page - {status}"
    )


if __name__ == "__main__":
    sys.exit(main())
