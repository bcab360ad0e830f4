"""Distributed crawling (issue 16): `aggregator crawl --redis` seeds a run once, any number
of `aggregator worker` processes drain the shared scrapy-redis queue with it, all storing
into one PostgreSQL database. Real processes, a real Redis (a key prefix of the test's
own, deleted afterwards), a PostgreSQL schema per database, the fixture mirror on
127.0.0.1.

Needs Redis (``$AGGREGATOR_TEST_REDIS_URL``, default ``redis://127.0.0.1:6379/0``) and
PostgreSQL: skipped with the reason when either is absent, unless
``AGGREGATOR_REQUIRE_SERVICES=1`` (CI), which makes that a failure.
"""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from aggregator.mirror import MirrorServer, _Handler
from aggregator.storage import make_engine
from tests.conftest import BIN, FIXTURES, PROJECT, cli, pg_schema, pg_server_url, require_service

pytestmark = pytest.mark.e2e

REDIS_URL = os.environ.get("AGGREGATOR_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
# Sources of the fixture site with a few articles each, on hosts of their own.
SOURCES = ["dualshockers", "deadline", "variety", "people", "tmz", "pitchfork"]
FAST = ["--set", "AUTOTHROTTLE_ENABLED=False", "--set", "AGGREGATOR_FLEET_TTL=3"]
# Each process takes at most two requests at a time: the others get their share of a
# small site (16, the default, lets the first process take a whole source at once). No
# request held at the gate of `held_until_joined` times out (nor does its fleet lease).
SHARE = ["--set", "CONCURRENT_REQUESTS=2", "--set", "DOWNLOAD_TIMEOUT=120"]


@dataclass
class Fleet:
    url: str
    prefix: str
    client: Any


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    """A Redis namespace of the test's own (skip or fail without Redis); its keys are
    deleted afterwards."""
    from aggregator.crawl.distributed import connect

    try:
        client = connect(REDIS_URL)
    except ConnectionError as exc:
        require_service(f"{exc} (set AGGREGATOR_TEST_REDIS_URL or start redis-server)")
    prefix = f"aggtest-{secrets.token_hex(6)}"
    yield Fleet(REDIS_URL, prefix, client)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


class CountingMirror(MirrorServer):
    """The mirror, also counting the requests each host is answering at once."""

    def __init__(self) -> None:
        super().__init__(FIXTURES / "site")
        self.RequestHandlerClass = _CountingHandler
        self.active: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.arrivals: dict[str, list[float]] = {}
        self.counting = threading.Lock()
        # Cleared: every answer waits (see `held_until_joined`).
        self.gate = threading.Event()
        self.gate.set()


class _CountingHandler(_Handler):
    server: CountingMirror
    _counted: str | None = None

    def _serve(self, head: bool) -> None:
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        self.server.gate.wait(timeout=120)
        with self.server.counting:
            self.server.arrivals.setdefault(host, []).append(time.monotonic())
            self.server.active[host] += 1
            self.server.peak[host] = max(self.server.peak[host], self.server.active[host])
        self._counted = host
        try:
            super()._serve(head)
        finally:
            self._done()

    def end_headers(self) -> None:
        # Done before the answer goes out: counted after it, the client's next request
        # could arrive (and be counted) first, a second request at once that never was.
        self._done()
        super().end_headers()

    def _done(self) -> None:
        host, self._counted = self._counted, None
        if host is not None:
            with self.server.counting:
                self.server.active[host] -= 1


@pytest.fixture
def site() -> Iterator[CountingMirror]:
    """A mirror of the test's own (its request log is the test's), every answer slowed
    down a little so that a crawl lasts long enough to be shared."""
    server = CountingMirror()
    with server:
        slow_down(server, 0.05)
        yield server


@pytest.fixture
def pg_server() -> str:
    return pg_server_url()


def env_for(site: MirrorServer, fleet: Fleet) -> dict[str, str]:
    return {"AGGREGATOR_HOST_MAP": site.host_map(), "AGGREGATOR_REDIS_PREFIX": fleet.prefix}


def start_worker(db: str, env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN / "aggregator"), "worker", "--redis", REDIS_URL, "--db", db, "--wait", "60",
         "--log-file", str(log)],
        cwd=PROJECT, env={**os.environ, **env}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def articles(db: str) -> set[str]:
    engine = make_engine(db, create=False)
    try:
        with engine.connect() as conn:
            return {r[0] for r in conn.execute(text("select canonical_url from articles"))}
    finally:
        engine.dispose()


def query(db: str, sql: str) -> list[Any]:
    engine = make_engine(db, create=False)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)).all())
    finally:
        engine.dispose()


def pages(site: MirrorServer) -> Counter[tuple[str, str]]:
    """Requests the mirror answered, robots.txt left out (each process reads a host's
    robots.txt once for itself)."""
    return Counter(r for r in site.requests if r[1] != "/robots.txt")


@contextmanager
def held_until_joined(
    site: CountingMirror, fleet: Fleet, sources: list[str], members: int, timeout: float = 90
) -> Iterator[None]:
    """The mirror answers nothing until ``members`` processes have joined the crawl of
    each of ``sources``: a worker can take seconds to start on a loaded machine, and a
    small site is crawled by then, by the coordinator alone. At most ``timeout`` seconds,
    less than the download timeout of `SHARE`: a request held longer would be abandoned
    by its client and answered, uselessly, when the gate opens."""
    keys = [f"{fleet.prefix}:{s}:members" for s in sources]
    site.gate.clear()

    def release() -> None:
        deadline = time.monotonic() + timeout
        # The gate may open early: the test sets it when its block ends or moves on.
        while not site.gate.is_set() and time.monotonic() < deadline:
            if all(fleet.client.hlen(k) >= members for k in keys):
                break
            time.sleep(0.05)
        site.gate.set()

    opener = threading.Thread(target=release, name="gate", daemon=True)
    opener.start()
    try:
        yield
    finally:
        site.gate.set()
        opener.join()


def single_process_crawl(site: MirrorServer, fleet: Fleet, pg_server: str) -> set[str]:
    """The articles one process stores from SOURCES, in a schema of its own."""
    with pg_schema(pg_server) as db:
        cli("crawl", *SOURCES, "--db", db, *FAST, env=env_for(site, fleet), check=True)
        return articles(db)


def slow_down(site: MirrorServer, delay: float) -> None:
    """Every host of the mirror answers ``delay`` seconds late."""
    for host in site.hosts():
        site.set_behaviour(host, delay=delay)


# -- usage ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["crawl", "worker"])
def test_distributed_mode_on_sqlite_is_a_usage_error(command: str, tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    args = ["crawl", "dualshockers"] if command == "crawl" else ["worker"]
    proc = cli(*args, "--redis", REDIS_URL, "--db", str(db))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "needs a PostgreSQL database" in proc.stderr
    assert "SQLite" in proc.stderr
    assert not db.exists()


def test_unreachable_redis_is_one_line(pg_server: str) -> None:
    with pg_schema(pg_server) as db:
        proc = cli("crawl", "dualshockers", "--redis", "redis://127.0.0.1:1/0", "--db", db)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("aggregator: cannot reach Redis at redis://127.0.0.1:1/0"), last


# -- a shared crawl ------------------------------------------------------------------------


def test_two_workers_store_what_one_process_stores(
    site: CountingMirror, fleet: Fleet, pg_server: str, tmp_path: Path
) -> None:
    env = env_for(site, fleet)
    expected = single_process_crawl(site, fleet, pg_server)
    expected_pages = pages(site)
    assert len(expected) >= 12  # the sources have articles to share
    site.requests.clear()
    with pg_schema(pg_server) as db:
        logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
        workers = [start_worker(db, env, log) for log in logs]
        with held_until_joined(site, fleet, SOURCES, 3):
            coordinator = cli("crawl", *SOURCES, "--redis", REDIS_URL, "--db", db, *FAST,
                              *SHARE, "--log-file", str(tmp_path / "c.log"), env=env)  # fmt: skip
        ended = [finish(w) for w in workers]
        assert coordinator.returncode == 0, coordinator.stderr[-3000:]
        for code, _out, err in ended:
            assert code == 0, err[-3000:]
            assert "joining run" in err
        # The same articles, every page fetched by one member of the fleet: as many
        # requests per page as one process sends (the mirror logs paths without their
        # query: a listing and its ?page=2 count as two requests of one path).
        assert articles(db) == expected
        assert pages(site) == expected_pages
        # One run per source, with each member's figures adding up to the run's.
        runs = query(db, "select source, status, new, pages, details from crawl_runs")
        assert sorted(r[0] for r in runs) == sorted(SOURCES)
        share: Counter[str] = Counter()
        for source, status, new, pages_, details in runs:
            assert status == "finished", (source, details)
            members = details["workers"]
            assert len(members) == 3, members
            assert sum(m["new"] for m in members.values()) == new
            assert sum(m["pages"] for m in members.values()) == pages_
            for member, figures in members.items():
                share[member] += figures["pages"]
            assert details["workers_lost"] == []
        assert sum(n > 0 for n in share.values()) >= 2, share  # the work was shared
        assert sum(r[2] for r in runs) == len(expected)
        # Stories indexed once, by the coordinator, after every worker stored its part.
        assert query(db, "select count(*) from articles where story_id is null")[0][0] == 0
        assert "Indexed" in (tmp_path / "c.log").read_text()
        for log in logs:
            assert "Indexed" not in log.read_text()
    # The run's keys are gone (the next run starts clean).
    assert sorted(fleet.client.scan_iter(f"{fleet.prefix}:*")) == []


def test_a_killed_worker_loses_no_article(
    site: CountingMirror, fleet: Fleet, pg_server: str, tmp_path: Path
) -> None:
    env = env_for(site, fleet)
    expected = single_process_crawl(site, fleet, pg_server)
    slow_down(site, 0.4)  # requests stay in flight long enough to kill
    with pg_schema(pg_server) as db, held_until_joined(site, fleet, SOURCES, 3):
        victim = start_worker(db, env, tmp_path / "victim.log")
        other = start_worker(db, env, tmp_path / "other.log")
        coordinator = subprocess.Popen(
            [str(BIN / "aggregator"), "crawl", *SOURCES, "--redis", REDIS_URL, "--db", db,
             *FAST, *SHARE],
            cwd=PROJECT, env={**os.environ, **env}, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        # Kill the victim while it holds requests it took from the queue.
        members = [f"{fleet.prefix}:{s}:members" for s in SOURCES]
        deadline = time.monotonic() + 150
        busy = False
        while not busy and time.monotonic() < deadline:
            for key in members:
                flags = fleet.client.hgetall(key)
                busy = busy or any(
                    k.decode().endswith(f":{victim.pid}") and v == b"1" for k, v in flags.items()
                )
            time.sleep(0.05)
        assert busy, "the worker never took a request"
        time.sleep(0.3)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        site.gate.set()
        code, _out, err = finish(coordinator)
        finish(other)
        # The run is over without the victim, and says it lost a worker.
        assert code == 1, err[-3000:]
        runs = query(db, "select status, details from crawl_runs")
        lost = [d["workers_lost"] for s, d in runs if s == "incomplete"]
        assert lost and all(m[0].endswith(f":{victim.pid}") for m in lost), runs
        # The next run re-seeds discovery; what was stored is skipped (fetch-state), what
        # the victim had taken is crawled.
        again = cli("crawl", *SOURCES, "--redis", REDIS_URL, "--db", db, *FAST, env=env)
        assert again.returncode == 0, again.stderr[-3000:]
        assert articles(db) == expected


def test_a_worker_that_starts_before_the_coordinators_crawler_waits_for_it(
    site: CountingMirror, fleet: Fleet, pg_server: str, tmp_path: Path
) -> None:
    """A coordinator publishes its run, then spends seconds starting Scrapy (longer than
    its heartbeat's TTL on a loaded machine): a worker that starts meanwhile finds nothing
    queued and must not take the run for over."""
    from aggregator.crawl.distributed import Fleet as Member
    from aggregator.crawl.distributed import RunInfo

    env = env_for(site, fleet)
    log = tmp_path / "worker.log"
    with pg_schema(pg_server) as db:
        cli("db", "upgrade", "--db", db, check=True)
        coordinator = Member(fleet.client, fleet.prefix, "slow-coordinator")
        settings = {"AUTOTHROTTLE_ENABLED": "False", "AGGREGATOR_FLEET_TTL": "3"}
        info = RunInfo(
            token="t1", sources=["dualshockers"], coordinator=coordinator.member, settings=settings
        )
        with coordinator.alive_meanwhile(3):
            coordinator.begin_run(info)
            worker = start_worker(db, env, log)
            deadline = time.monotonic() + 90
            while "Spider opened" not in (log.read_text() if log.exists() else ""):
                assert worker.poll() is None and time.monotonic() < deadline, worker.poll()
                time.sleep(0.1)
            time.sleep(4)  # past the worker's first TTL and several idle checks
            assert worker.poll() is None, "the worker left a run whose coordinator is busy"
            coordinator.set_busy("dualshockers", False)  # seeded nothing; done
            code, _out, err = finish(worker, timeout=60)
            assert code == 0, err[-3000:]
        coordinator.end_run(info)


def test_politeness_holds_across_the_fleet(
    site: CountingMirror, fleet: Fleet, pg_server: str, tmp_path: Path
) -> None:
    env = env_for(site, fleet)
    slow_down(site, 0.2)
    # Each process would send up to 4 requests at once to a domain; the fleet sends one.
    limit = ["--set", "AGGREGATOR_FLEET_CONCURRENCY_PER_DOMAIN=1",
             "--set", "CONCURRENT_REQUESTS_PER_DOMAIN=4"]  # fmt: skip
    with pg_schema(pg_server) as db:
        workers = [start_worker(db, env, tmp_path / f"w{i}.log") for i in range(2)]
        with held_until_joined(site, fleet, ["dualshockers", "variety"], 3):
            coordinator = cli("crawl", "dualshockers", "variety", "--redis", REDIS_URL,
                              "--db", db, *FAST, *SHARE, *limit, env=env)  # fmt: skip
        for w in workers:
            finish(w)
        assert coordinator.returncode == 0, coordinator.stderr[-3000:]
        runs = query(db, "select details from crawl_runs")
    share: Counter[str] = Counter()
    for (details,) in runs:
        for member, figures in details["workers"].items():
            share[member] += figures["pages"]
    assert sum(n > 0 for n in share.values()) >= 2, share  # several processes fetched
    assert site.peak and max(site.peak.values()) == 1, site.peak


def test_backoff_holds_across_the_fleet(
    site: CountingMirror, fleet: Fleet, pg_server: str, tmp_path: Path
) -> None:
    env = env_for(site, fleet)
    site.set_behaviour("variety.com", status=503)  # every page, robots.txt included
    # A 503 to any process: the fleet sends variety.com one request per second (the
    # backoff's delay, capped at 1 s here to keep the test short).
    slow = ["--set", "RETRY_TIMES=1", "--set", "AUTOTHROTTLE_MAX_DELAY=1"]
    with pg_schema(pg_server) as db:
        workers = [start_worker(db, env, tmp_path / f"w{i}.log") for i in range(2)]
        time.sleep(2)  # the workers are waiting for the run: all three fetch at once
        coordinator = cli("crawl", "variety", "--redis", REDIS_URL, "--db", db, *FAST, *SHARE,
                          *slow, env=env)  # fmt: skip
        for w in workers:
            finish(w)
        assert coordinator.returncode == 1, coordinator.stderr[-3000:]  # variety failed
    arrivals = site.arrivals["variety.com"]
    first = arrivals[0]
    # Requests sent before the first answer (each process's robots.txt) arrive at once;
    # every later one waits a second after the previous answer, whichever process sent it.
    later = [t for t in arrivals if t > first + 0.5]
    assert len(later) >= 6, arrivals
    gaps = [b - a for a, b in itertools.pairwise(arrivals) if b > first + 0.5]
    assert min(gaps) >= 0.9, [round(g, 2) for g in gaps]


# -- Redis going away ----------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of the test's own on a free port, persisting every write (AOF), so
    that it can be stopped and started again mid-crawl."""

    def __init__(self, directory: Path, persist: bool = True) -> None:
        import shutil
        import socket

        server = shutil.which("redis-server")
        if server is None:
            require_service("redis-server is not installed (needed to restart Redis mid-crawl)")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.cmd = [str(server), "--port", str(self.port), "--bind", "127.0.0.1",
                    "--dir", str(directory), "--appendonly", "yes" if persist else "no",
                    "--appendfsync", "always", "--save", ""]  # fmt: skip
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        from aggregator.crawl.distributed import connect

        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                connect(self.url)
                return
            except ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    directory = tmp_path / "redis"
    directory.mkdir()
    server = PrivateRedis(directory)
    server.start()
    yield server
    server.stop(signal.SIGKILL)


def crawl_with(redis: PrivateRedis, db: str, env: dict[str, str], *extra: str) -> Any:
    return subprocess.Popen(
        [str(BIN / "aggregator"), "crawl", *SOURCES, "--redis", redis.url, "--db", db,
         *FAST, *SHARE, *extra],
        cwd=PROJECT, env={**os.environ, **env}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for_articles(db: str, n: int = 1, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if len(articles(db)) >= n:
                return
        except Exception:  # the schema is not created yet
            pass
        time.sleep(0.1)
    raise AssertionError("no article was stored")


def test_a_redis_restart_is_waited_out(
    site: CountingMirror, fleet: Fleet, pg_server: str, private_redis: PrivateRedis
) -> None:
    env = env_for(site, fleet)
    expected = single_process_crawl(site, fleet, pg_server)
    slow_down(site, 0.3)
    with pg_schema(pg_server) as db:
        coordinator = crawl_with(private_redis, db, env)
        wait_for_articles(db)
        private_redis.stop()  # a clean shutdown: the append-only file has every write
        time.sleep(2)
        private_redis.start()
        code, _out, err = finish(coordinator)
        assert code == 0, err[-3000:]
        assert "Traceback" not in err, err[-6000:]
        assert articles(db) == expected
        statuses = {r[0] for r in query(db, "select status from crawl_runs")}
        assert statuses == {"finished"}


def test_redis_gone_for_good_stops_the_crawl_cleanly(
    site: CountingMirror, fleet: Fleet, pg_server: str, private_redis: PrivateRedis
) -> None:
    env = env_for(site, fleet)
    expected = single_process_crawl(site, fleet, pg_server)
    slow_down(site, 0.3)
    with pg_schema(pg_server) as db:
        coordinator = crawl_with(private_redis, db, env, "--set", "AGGREGATOR_REDIS_OUTAGE=2")
        wait_for_articles(db)
        private_redis.stop(signal.SIGKILL)
        code, _out, err = finish(coordinator)
        assert code == 1, err[-3000:]
        assert "Traceback" not in err
        assert "did not answer for 2s" in err
        runs = query(db, "select status from crawl_runs")
        assert "running" not in {r[0] for r in runs}  # every run says how it ended
        assert "redis_unavailable" in {r[0] for r in runs}
        stored = articles(db)
        assert stored and stored < expected
        # Redis back: the next run crawls the rest.
        private_redis.start()
        again = crawl_with(private_redis, db, env)
        code, _out, err = finish(again)
        assert code == 0, err[-3000:]
        assert articles(db) == expected


def test_a_redis_that_comes_back_empty_ends_the_run(
    site: CountingMirror, fleet: Fleet, pg_server: str, tmp_path: Path
) -> None:
    env = env_for(site, fleet)
    slow_down(site, 0.3)
    directory = tmp_path / "volatile"
    directory.mkdir()
    volatile = PrivateRedis(directory, persist=False)
    volatile.start()
    try:
        with pg_schema(pg_server) as db:
            coordinator = crawl_with(volatile, db, env)
            wait_for_articles(db)
            volatile.stop(signal.SIGKILL)  # the queue is gone with it
            volatile.start()
            code, _out, err = finish(coordinator)
            assert code == 1, err[-3000:]
            assert "Redis lost this run's queue" in err
            statuses = {r[0] for r in query(db, "select status from crawl_runs")}
            assert "run_lost" in statuses and "running" not in statuses
    finally:
        volatile.stop(signal.SIGKILL)


def test_a_following_worker_joins_run_after_run(
    site: CountingMirror, fleet: Fleet, pg_server: str, tmp_path: Path
) -> None:
    env = env_for(site, fleet)
    slow_down(site, 0.1)
    with pg_schema(pg_server) as db:
        follower = subprocess.Popen(
            [str(BIN / "aggregator"), "worker", "--redis", REDIS_URL, "--db", db, "--follow"],
            cwd=PROJECT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            for refresh in ([], ["--refresh"]):
                with held_until_joined(site, fleet, ["dualshockers"], 2):
                    proc = cli("crawl", "dualshockers", "--redis", REDIS_URL, "--db", db,
                               *FAST, *SHARE, *refresh, env=env)  # fmt: skip
                assert proc.returncode == 0, proc.stderr[-3000:]
        finally:
            os.killpg(follower.pid, signal.SIGTERM)
            follower.wait(timeout=30)
        runs = query(db, "select details from crawl_runs order by id")
    assert len(runs) == 2
    for (details,) in runs:
        assert len(details["workers"]) == 2, details["workers"]  # the coordinator and one
