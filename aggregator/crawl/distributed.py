"""Distributed crawling: one run's requests shared by any number of crawler processes.

The queue and the duplicate filter are scrapy-redis's (its scheduler and dupefilter, one
sorted set and one set per source in Redis); what this module adds is what a *run* needs
around them, none of it a queue of its own:

* the run's description in Redis (``<prefix>:run``: sources, spider arguments, the settings
  that change what is crawled), written by ``aggregator crawl --redis`` (the
  *coordinator*), which seeds each source's discovery requests once; ``aggregator worker``
  processes read it and run the same sources with no start requests of their own
  (:class:`WorkerStart`);
* membership and the end of a run (:class:`Fleet`, :class:`FleetExtension`): every process
  keeps a heartbeat key alive and marks itself busy when it takes a request and idle when
  Scrapy finds it idle; a process closes when the queue is empty and every live member is
  idle (a member whose heartbeat expired, a killed worker, no longer counts);
* each worker's figures (reported to Redis when its spider closes; the coordinator waits for
  them, adds them to its own and records one ``crawl_runs`` row per source, then indexes
  stories once: :mod:`aggregator.pipelines.fleet`);
* politeness across the fleet (:class:`FleetConcurrency`): at most
  ``AGGREGATOR_FLEET_CONCURRENCY_PER_DOMAIN`` requests in flight per domain for the whole
  fleet, as leases in a Redis sorted set that expire on their own and that a live member
  drops once their owner's heartbeat is gone (a killed worker's lease does not hold a
  slot for long); a request waiting for a slot is woken by one given back, it does not poll.

A request a killed worker had taken is not in the queue any more (scrapy-redis pops it): it
is crawled again by the *next* run, whose discovery finds the article again while the
fetch-state table has no stored copy of it (see README, "Running on several machines").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import load_object
from scrapy_redis.scheduler import Scheduler

from aggregator.crawl import settings as base
from aggregator.crawl.runner import CrawlResult
from aggregator.crawl.stats import ERRORS, run_figures

if TYPE_CHECKING:
    from redis import Redis
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger("aggregator.distributed")
T = TypeVar("T")

COORDINATOR = "coordinator"
WORKER = "worker"
DEFAULT_PREFIX = "aggregator"
# Seconds a member's heartbeat lives without being renewed (renewed every third of it).
DEFAULT_TTL = 30.0
# How often a process that waits for requests looks at the shared queue (Scrapy's own
# engine looks every 5 seconds).
POLL_SECONDS = 0.5
# Seconds a process keeps retrying a Redis that does not answer (a restart) before it
# stops its crawl with REDIS_UNAVAILABLE.
DEFAULT_OUTAGE = 60.0
# Finish reasons: Redis did not come back within AGGREGATOR_REDIS_OUTAGE seconds; Redis
# came back without the run (restarted without persistence: the queue is gone).
REDIS_UNAVAILABLE = "redis_unavailable"
RUN_LOST = "run_lost"


def shown_url(url: str) -> str:
    """A Redis URL with its password masked (for messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def client_options() -> dict[str, Any]:
    """Redis client options: fail fast (a refused connection at once, a silent server
    after a few seconds). Waiting for a Redis that restarts is the caller's: see
    :class:`Fleet` (``down``), which never blocks the crawl's event loop for it."""
    return {"socket_connect_timeout": 3, "socket_timeout": 10}


def connect(url: str) -> Redis:
    """A client for ``url`` that answered a PING; ``ConnectionError`` naming the server
    (password masked) when it does not."""
    import redis

    client = redis.Redis.from_url(url, **client_options())
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        raise ConnectionError(f"cannot reach Redis at {shown_url(url)}: {exc}") from None
    return client


def member_id() -> str:
    """This process in the fleet: host name and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class RunInfo:
    """What workers need to join a run (stored as JSON in ``<prefix>:run``)."""

    token: str
    sources: list[str]
    spider_args: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    coordinator: str = ""
    database: str = ""


class Keys:
    """The Redis keys of one namespace (``AGGREGATOR_REDIS_PREFIX``)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix or DEFAULT_PREFIX

    @property
    def run(self) -> str:
        return f"{self.prefix}:run"

    def queue(self, source: str) -> str:
        return f"{self.prefix}:{source}:requests"

    def dupefilter(self, source: str) -> str:
        return f"{self.prefix}:{source}:dupefilter"

    def members(self, source: str) -> str:
        return f"{self.prefix}:{source}:members"

    def reports(self, source: str) -> str:
        return f"{self.prefix}:{source}:reports"

    def alive(self, member: str) -> str:
        return f"{self.prefix}:alive:{member}"

    def slots(self, domain: str) -> str:
        return f"{self.prefix}:slots:{domain}"

    def backoff(self, domain: str) -> str:
        return f"{self.prefix}:backoff:{domain}"

    def gate(self, domain: str) -> str:
        return f"{self.prefix}:gate:{domain}"

    def wake(self, domain: str) -> str:
        return f"{self.prefix}:wake:{domain}"

    @property
    def wake_pattern(self) -> str:
        """A SCAN pattern of every domain's wake list."""
        prefix = "".join(f"\\{c}" if c in "*?[]\\" else c for c in self.prefix)
        return f"{prefix}:wake:*"

    def waker(self, member: str, name: str) -> str:
        return f"{self.prefix}:waker:{member}:{name}"

    def of_source(self, source: str) -> list[str]:
        return [
            self.queue(source),
            self.dupefilter(source),
            self.members(source),
            self.reports(source),
        ]


class RunBusyError(RuntimeError):
    """Another coordinator's run is in progress in this Redis namespace."""


def fleet_settings(
    url: str, prefix: str, role: str, outage: float = DEFAULT_OUTAGE
) -> dict[str, Any]:
    """The Scrapy settings of a process in the fleet (``role``: coordinator or worker;
    ``outage``: seconds a Redis that does not answer is waited for)."""
    keys = Keys(prefix)
    values: dict[str, Any] = {
        "REDIS_PARAMS": client_options(),
        "AGGREGATOR_REDIS_URL": url,
        "AGGREGATOR_REDIS_OUTAGE": outage,
        "AGGREGATOR_REDIS_PREFIX": keys.prefix,
        "AGGREGATOR_FLEET_ROLE": role,
        "REDIS_URL": url,
        "SCHEDULER": "aggregator.crawl.distributed.FleetScheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        # The queue outlives each process: a worker that ends must not empty it for the
        # others (scrapy-redis flushes it on close otherwise). The coordinator clears a
        # run's keys at its start and end.
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_QUEUE_KEY": f"{keys.prefix}:%(spider)s:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"{keys.prefix}:%(spider)s:dupefilter",
        # The coordinator records the run with every member's figures; workers report.
        "ITEM_PIPELINES": {
            **{k: v for k, v in base.ITEM_PIPELINES.items() if not k.endswith(".StorePipeline")},
            "aggregator.pipelines.fleet.FleetStorePipeline": 400,
        },
    }
    return values


class Fleet:
    """One process's view of the run: membership, heartbeats, reports."""

    def __init__(
        self,
        client: Redis,
        prefix: str,
        member: str | None = None,
        outage: float = DEFAULT_OUTAGE,
        ttl: float = DEFAULT_TTL,
    ) -> None:
        self.redis = client
        self.keys = Keys(prefix)
        self.member = member or member_id()
        self.outage = outage
        self.ttl = ttl
        self.down_since: float | None = None
        # After an outage, members' heartbeats may have expired while they waited like
        # this one: nobody is taken for dead until they had a TTL to beat again.
        self.trust_after = 0.0

    @classmethod
    def from_settings(cls, settings: Any) -> Self:
        import redis

        client = redis.Redis.from_url(settings.get("AGGREGATOR_REDIS_URL"), **client_options())
        return cls(
            client,
            settings.get("AGGREGATOR_REDIS_PREFIX") or DEFAULT_PREFIX,
            outage=settings.getfloat("AGGREGATOR_REDIS_OUTAGE", DEFAULT_OUTAGE),
            ttl=settings.getfloat("AGGREGATOR_FLEET_TTL", DEFAULT_TTL) or DEFAULT_TTL,
        )

    # -- Redis going away ------------------------------------------------------------------

    def down(self, exc: Exception) -> bool:
        """Note that Redis failed a command; whether it has now been away longer than
        the outage allowance (time to stop)."""
        now = time.monotonic()
        if self.down_since is None:
            self.down_since = now
            logger.warning("Redis does not answer (%s); waiting up to %gs for it", exc, self.outage)
        return now - self.down_since > self.outage

    async def patiently(self, fn: Callable[[], T]) -> T:
        """``fn()``, tried again every half second while Redis does not answer, up to the
        outage allowance (then its error is raised)."""
        import redis

        while True:
            try:
                result = fn()
            except redis.RedisError as exc:
                if self.down(exc):
                    raise
                await asyncio.sleep(POLL_SECONDS)
                continue
            self.up()
            return result

    def up(self) -> None:
        """Note that Redis answered."""
        if self.down_since is not None:
            logger.warning(
                "Redis answers again after %.1fs; resuming", time.monotonic() - self.down_since
            )
            self.down_since = None
            self.trust_after = time.monotonic() + self.ttl

    # -- the run ---------------------------------------------------------------------------

    def current_run(self) -> RunInfo | None:
        raw = self.redis.get(self.keys.run)
        if not raw:
            return None
        return RunInfo(**json.loads(raw))

    def begin_run(self, info: RunInfo) -> None:
        """Publish a run and clear its sources' keys (the last run's queue, duplicate
        filter, members and reports); :class:`RunBusyError` if a live coordinator's run
        is in progress."""
        current = self.current_run()
        if current is not None and self.redis.exists(self.keys.alive(current.coordinator)):
            raise RunBusyError(
                f"a run of {', '.join(current.sources)} coordinated by {current.coordinator} "
                f"is in progress in Redis namespace {self.keys.prefix!r}; this run exits "
                "without crawling"
            )
        pipe = self.redis.pipeline()
        for source in info.sources:
            pipe.delete(*self.keys.of_source(source))
            # The coordinator is a busy member from now on, not only once its crawler of
            # the source has started (seconds later on a loaded machine): a worker that
            # starts first must not find the fleet idle and the run over.
            pipe.hset(self.keys.members(source), info.coordinator, "1")
        pipe.set(self.keys.run, json.dumps(asdict(info)))
        pipe.execute()

    def end_run(self, info: RunInfo) -> None:
        """Remove the run and its sources' keys (only if it is still this run); a Redis
        that is away is told in the log (the next run clears them)."""
        import redis

        try:
            current = self.current_run()
            pipe = self.redis.pipeline()
            for source in info.sources:
                pipe.delete(*self.keys.of_source(source))
            if current is not None and current.token == info.token:
                pipe.delete(self.keys.run)
            pipe.delete(self.keys.alive(self.member))
            pipe.execute()
            # The domains' wake lists keep up to a limit of tokens of slots given back
            # (they expire with the leases): the next run starts without them.
            wake = list(self.redis.scan_iter(match=self.keys.wake_pattern, count=1000))
            for i in range(0, len(wake), 500):
                self.redis.delete(*wake[i : i + 500])
        except redis.RedisError as exc:
            logger.warning("Could not clear the run's keys in Redis (%s)", exc)

    def wait_for_run(self, timeout: float | None, after: str | None = None) -> RunInfo | None:
        """The run in progress (other than token ``after``), waiting up to ``timeout``
        seconds (None: for ever) for one to begin."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            run = self.current_run()
            if run is not None and run.token != after:
                return run
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(0.2)

    # -- membership ------------------------------------------------------------------------

    def beat(self, ttl: float) -> None:
        self.redis.set(self.keys.alive(self.member), "1", px=int(ttl * 1000))

    @contextlib.contextmanager
    def alive_meanwhile(self, ttl: float) -> Iterator[None]:
        """Keep this process's heartbeat from a thread of its own while the block runs:
        between publishing a run and the start of its crawlers (whose heartbeat takes
        over) a coordinator may spend longer than ``ttl`` starting Scrapy."""
        import redis

        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(ttl / 3):
                with contextlib.suppress(redis.RedisError):  # outages: the scheduler's
                    self.beat(ttl)

        self.beat(ttl)
        thread = threading.Thread(target=beat, name="fleet-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def retire(self) -> None:
        """This process is done with the fleet (its heartbeat key goes now, not at expiry)."""
        import redis

        with contextlib.suppress(redis.RedisError):  # it expires anyway
            self.redis.delete(self.keys.alive(self.member))

    def trusts_heartbeats(self) -> bool:
        """Whether a missing heartbeat means a dead member (not in a worker's first TTL,
        nor while heartbeats may be lapsing after an outage: see ``trust_after``)."""
        return time.monotonic() >= self.trust_after

    def is_alive(self, member: str) -> bool:
        if not self.trusts_heartbeats():
            return True
        return bool(self.redis.exists(self.keys.alive(member)))

    def join(self, source: str, busy: bool) -> None:
        self.redis.hset(self.keys.members(source), self.member, "1" if busy else "0")

    def set_busy(self, source: str, busy: bool) -> None:
        self.redis.hset(self.keys.members(source), self.member, "1" if busy else "0")

    def leave(self, source: str) -> None:
        self.redis.hdel(self.keys.members(source), self.member)

    def others(self, source: str) -> dict[str, bool]:
        """{member: busy} of the source's other live members."""
        raw = self.redis.hgetall(self.keys.members(source))
        out = {}
        for k, v in raw.items():
            name = k.decode() if isinstance(k, bytes) else str(k)
            if name == self.member or not self.is_alive(name):
                continue
            out[name] = (v.decode() if isinstance(v, bytes) else str(v)) == "1"
        return out

    def queued(self, source: str) -> int:
        return int(self.redis.zcard(self.keys.queue(source)))

    def run_done(self, source: str) -> bool:
        """Whether the source's crawl is over for the fleet: nothing queued, and no live
        member busy (a busy one may still queue requests)."""
        return self.queued(source) == 0 and not any(self.others(source).values())

    # -- reports ---------------------------------------------------------------------------

    def report(self, source: str, stats: dict[str, Any], stale: Iterable[int]) -> None:
        counts = {k: v for k, v in stats.items() if isinstance(v, int) and not isinstance(v, bool)}
        body = json.dumps({"stats": counts, "stale": sorted(stale)})
        self.redis.hset(self.keys.reports(source), self.member, body)

    def reports(self, source: str) -> dict[str, dict[str, Any]]:
        raw = self.redis.hgetall(self.keys.reports(source))
        return {
            (k.decode() if isinstance(k, bytes) else str(k)): json.loads(v) for k, v in raw.items()
        }

    async def wait_for_others(self, source: str, poll: float = POLL_SECONDS) -> list[str]:
        """Wait until no other live member of the source remains (each leaves after its
        report); the members that died meanwhile (their heartbeat expired). Redis errors
        are waited out for the outage allowance, then raised."""
        import redis

        while True:
            try:
                raw = self.redis.hkeys(self.keys.members(source))
            except redis.RedisError as exc:
                if self.down(exc):
                    raise
                await asyncio.sleep(poll)
                continue
            self.up()
            names = [k.decode() if isinstance(k, bytes) else str(k) for k in raw]
            live = [n for n in names if n != self.member and self.is_alive(n)]
            if not live:
                return [n for n in names if n != self.member]
            await asyncio.sleep(poll)


def _require_fleet(crawler: Crawler) -> None:
    """Leave a fleet component out of a crawl on one machine (a bare NotConfigured: with a
    reason, Scrapy would log it as a WARNING per source)."""
    if not crawler.settings.get("AGGREGATOR_FLEET_ROLE"):
        from scrapy.exceptions import NotConfigured

        raise NotConfigured


def fleet_for(crawler: Crawler) -> Fleet:
    """The crawler's one :class:`Fleet` (one client, one view of an outage), shared by
    the scheduler, the extension, the middlewares and the pipeline."""
    fleet: Fleet | None = getattr(crawler, "_aggregator_fleet", None)
    if fleet is None:
        fleet = Fleet.from_settings(crawler.settings)
        crawler._aggregator_fleet = fleet  # type: ignore[attr-defined]
    return fleet


def worker_figures(stats: dict[str, Any]) -> dict[str, int]:
    """One member's figures as a run's details list them."""
    fig = run_figures(stats, "finished")
    return {
        "pages": fig.pages,
        "new": fig.new,
        "updated": fig.updated,
        "dropped": fig.dropped,
        "errors": fig.errors,
    }


class WorkerResult(CrawlResult):
    """A worker's share of a source's crawl: taking no request (the others were faster,
    or the queue was empty) is not a failure of the source."""

    @property
    def status(self) -> str:
        idle = not self.figures.pages and not self.figures.errors
        return "finished" if idle and self.finish_reason == "finished" else self.figures.status


class FleetScheduler(Scheduler):
    """scrapy-redis's scheduler (its queue and duplicate filter) on the crawler's fleet
    client. Taking a request marks this process busy for the source *before* the pop, so
    no other member can see the queue empty and everyone idle while the request is on
    its way here.

    While Redis does not answer (a restart), nothing blocks: requests to queue wait in
    this process's memory and are queued when Redis is back, no request is taken, and the
    spider stays open. After ``AGGREGATOR_REDIS_OUTAGE`` seconds the crawl stops with
    :data:`REDIS_UNAVAILABLE`: what was stored stays, the requests held here are counted
    as ``errors/not_queued`` and the next run finds them again."""

    fleet: Fleet
    crawler: Crawler
    held: list[Request]
    _busy = False
    _failed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        instance: Self = super().from_crawler(crawler)
        instance.crawler = crawler
        instance.fleet = fleet_for(crawler)
        instance.server = instance.fleet.redis
        instance.held = []
        crawler.signals.connect(instance._idle, signal=signals.spider_idle)
        return instance

    def open(self, spider: Any) -> None:
        from scrapy_redis.dupefilter import RFPDupeFilter

        key = self.dupefilter_key % {"spider": spider.name}
        self.df = RFPDupeFilter(self.server, key=key)
        # Not scrapy-redis's open(): it asks the queue's length (Redis may be restarting).
        self.spider = spider
        self.queue = load_object(self.queue_cls)(
            server=self.server, spider=spider, key=self.queue_key % {"spider": spider.name},
            serializer=self.serializer,
        )  # fmt: skip

    def close(self, reason: str) -> None:
        if self.held and self.crawler.stats is not None:
            self.crawler.stats.inc_value(ERRORS + "not_queued",
                                         len(self.held))  # fmt: skip

    def _idle(self) -> None:
        self._busy = False

    def _down(self, exc: Exception) -> None:
        if self.fleet.down(exc) and not self._failed:
            self._failed = True
            stop_for_redis(self.crawler, exc)

    def _flush_held(self) -> None:
        while self.held:  # queued now; they passed the duplicate filter before
            request = self.held[0]
            self.df.server.sadd(self.df.key, self.df.request_fingerprint(request))
            self.queue.push(request)
            self.held.pop(0)

    def _count(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)

    def enqueue_request(self, request: Request) -> bool:
        import redis

        try:
            self._flush_held()
            if not request.dont_filter and self.df.request_seen(request):
                self.df.log(request, self.spider)
                self.fleet.up()
                return False
            self.queue.push(request)
        except redis.RedisError as exc:
            self.held.append(request)
            self._down(exc)
            return True
        self.fleet.up()
        self._count("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        import redis

        if self._failed:
            return None
        name = getattr(self.spider, "name", "")
        try:
            self._flush_held()
            if not self._busy and len(self.queue):
                self.fleet.set_busy(name, True)
                self._busy = True
            request: Request | None = self.queue.pop(0)
        except redis.RedisError as exc:
            self._down(exc)
            return None
        self.fleet.up()
        if request is not None:
            self._count("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        import redis

        if self._failed:
            return False
        try:
            self._flush_held()
            pending = len(self.queue) > 0
        except redis.RedisError as exc:
            self._down(exc)
            return not self._failed  # the spider stays open while Redis is waited for
        self.fleet.up()
        return pending


def stop_for_redis(crawler: Crawler, exc: Exception) -> None:
    """Log why and close the crawler's spider with :data:`REDIS_UNAVAILABLE`."""
    from scrapy.utils.defer import deferred_from_coro

    log_redis_stop(crawler, exc)
    if crawler.engine is not None:
        deferred_from_coro(crawler.engine.close_spider_async(reason=REDIS_UNAVAILABLE))


def log_redis_stop(crawler: Crawler, exc: Exception) -> None:
    url = shown_url(str(crawler.settings.get("AGGREGATOR_REDIS_URL")))
    outage = crawler.settings.getfloat("AGGREGATOR_REDIS_OUTAGE", DEFAULT_OUTAGE)
    logger.error(
        "%s: Redis at %s did not answer for %gs (%s); stopping this crawl. What was "
        "stored stays; the next run crawls the rest",
        getattr(crawler.spider, "name", "?"), url, outage, exc,
    )  # fmt: skip


class FleetExtension:
    """Heartbeat, membership and the fleet-wide end of a source's crawl."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.role = settings.get("AGGREGATOR_FLEET_ROLE")
        self.follow = settings.getbool("AGGREGATOR_FLEET_FOLLOW")
        self.fleet = fleet_for(crawler)
        self._loops: list[Any] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self | None:
        _require_fleet(crawler)
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    @property
    def source(self) -> str:
        return str(getattr(self.crawler.spider, "name", ""))

    def spider_opened(self) -> None:
        from twisted.internet.task import LoopingCall

        self.fleet.beat(self.fleet.ttl)
        if self.role == WORKER:
            # Nobody is taken for dead in a worker's first TTL: a coordinator still
            # starting (its heartbeat not renewed yet) must not look gone, leaving the
            # worker to find the queue empty and quit before the seeds arrive.
            self.fleet.trust_after = time.monotonic() + self.fleet.ttl
        # The coordinator is busy from the start (it is seeding): a worker that joins
        # first must not find the fleet idle and leave.
        self.fleet.join(self.source, busy=self.role == COORDINATOR)
        beat = LoopingCall(self._beat)
        beat.start(self.fleet.ttl / 3, now=False)
        nudge = LoopingCall(self._nudge)
        nudge.start(POLL_SECONDS, now=False)
        self._loops = [beat, nudge]

    def _beat(self) -> None:
        import redis

        try:
            self.fleet.beat(self.fleet.ttl)
        except redis.RedisError as exc:  # the scheduler decides when to give up
            self.fleet.down(exc)

    def _nudge(self) -> None:
        """Look at the shared queue now, not at Scrapy's next 5-second heartbeat: other
        members add requests to it while this one waits."""
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is not None and slot.closing is None:
            slot.nextcall.schedule()

    def spider_idle(self) -> None:
        import redis
        from scrapy.exceptions import CloseSpider

        try:
            self.fleet.set_busy(self.source, False)
            if self.fleet.current_run() is None and self.role == COORDINATOR:
                # Redis answers but the run is gone: it restarted without persistence,
                # and the queue went with it.
                logger.error(
                    "%s: Redis lost this run's queue (restarted without persistence?); "
                    "stopping. The next run crawls what was not stored",
                    self.source,
                )
                raise CloseSpider(RUN_LOST)
            done = self.fleet.run_done(self.source)
        except redis.RedisError as exc:
            if not self.fleet.down(exc):
                raise DontCloseSpider from None  # wait for it
            log_redis_stop(self.crawler, exc)
            raise CloseSpider(REDIS_UNAVAILABLE) from None
        self.fleet.up()
        if self.follow or not done:
            raise DontCloseSpider

    def spider_closed(self) -> None:
        for loop in self._loops:
            if loop.running:
                loop.stop()


class WorkerStart:
    """Spider middleware: a worker sends no start requests (the coordinator seeded the
    run's discovery once); the coordinator's go through."""

    def __init__(self, crawler: Crawler) -> None:
        self.worker = crawler.settings.get("AGGREGATOR_FLEET_ROLE") == WORKER

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        _require_fleet(crawler)
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        if self.worker:
            return
        async for item_or_request in start:
            yield item_or_request


# Atomically: drop expired leases, then take one if fewer than ARGV[1] are held. Times
# are the Redis server's (machines' clocks may differ). A lease is "<owner member> <token>".
# With ARGV[4] = 1 and the domain full, the leases of owners whose heartbeat key
# (ARGV[5] .. owner) is gone (a killed process) are dropped first, and each slot so freed
# that this call does not take wakes a waiter (KEYS[2], the domain's wake list).
_ACQUIRE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local limit = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
local held = redis.call('ZCARD', KEYS[1])
local freed = 0
if held >= limit and ARGV[4] == '1' then
  for _, lease in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    local owner = string.match(lease, '^(.*) [^ ]*$')
    if owner and redis.call('EXISTS', ARGV[5] .. owner) == 0 then
      redis.call('ZREM', KEYS[1], lease)
      freed = freed + 1
    end
  end
  held = held - freed
end
local took = 0
if held < limit then
  redis.call('ZADD', KEYS[1], t + tonumber(ARGV[2]), ARGV[3])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
  took = 1
end
if freed > took then
  for _ = 1, freed - took do redis.call('LPUSH', KEYS[2], '1') end
  redis.call('LTRIM', KEYS[2], 0, limit - 1)
  redis.call('EXPIRE', KEYS[2], math.ceil(tonumber(ARGV[2])) + 1)
end
return took
"""
LEASE = "fleet_lease"
# A retryable answer (429, 503...) from a domain, seen by any member: the domain's fleet
# delay doubles (from ARGV[1], at least ARGV[3] (Retry-After), at most ARGV[2]) and the
# gate is closed for that long. KEYS: the delay, the gate. The delay is forgotten 4 delays
# after the last such answer.
_BACK_OFF = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local delay = math.max(current * 2, tonumber(ARGV[1]), tonumber(ARGV[3]))
delay = math.min(delay, tonumber(ARGV[2]))
redis.call('SET', KEYS[1], tostring(delay), 'PX', math.floor(delay * 4000))
redis.call('SET', KEYS[2], '1', 'PX', math.max(1, math.floor(delay * 1000)))
return tostring(delay)
"""


class Waker:
    """Wake-ups for the requests of one process that wait for a domain's slot, without
    polling: a lease given back pushes a token to the domain's wake list, and one
    asyncio client of this process blocks on ``BLPOP`` over the wake lists of the
    domains it has waiters for (one connection; the reactor's own event loop reads its
    answer, so nothing blocks the reactor and no thread is woken). A token popped wakes
    this process's waiter of that domain (one per domain: :class:`FleetConcurrency` lets
    one request per domain and process ask Redis at a time), which then asks for a lease
    once.

    Tokens are hints, never slots: the lease script alone grants a slot, so a lost token
    costs a waiter its fallback timeout and a stale one a single failed attempt."""

    BLOCK_SECONDS = 5.0

    def __init__(self, url: str, client: Redis, keys: Keys, member: str) -> None:
        self.url = url
        self.redis = client
        # Pushed to make the BLPOP return when a domain joins the set it waits on.
        self.own_key = keys.waker(member, secrets.token_hex(4))
        self.waiting: dict[str, list[asyncio.Future[bool]]] = {}
        self.blocking_on: set[str] = set()
        self.interrupted = False
        self.task: asyncio.Task[None] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def wait(self, key: str, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a token of wake list ``key``: whether one
        came (it is this waiter's, even if it came as the timeout ran out)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self.waiting.setdefault(key, []).append(future)
        if self.task is None or self.task.done() or self.loop is not loop:
            self.loop = loop  # its first BLPOP includes the key
            self.task = loop.create_task(self._run())
        elif key not in self.blocking_on and not self.interrupted:
            self.interrupted = self._interrupt()
        try:
            await asyncio.wait([future], timeout=timeout)
        finally:
            # _run takes a future off its list as it sets its result, with no await between.
            woken = future.done()
            if not woken:  # timed out (or cancelled): no token taken for it
                futures = self.waiting[key]
                futures.remove(future)
                if not futures:
                    del self.waiting[key]
        return woken

    def _interrupt(self) -> bool:
        """Make the BLPOP return (whether Redis took the push: if not, the BLPOP's own
        timeout comes anyway)."""
        import redis

        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.lpush(self.own_key, "1")
            pipe.pexpire(self.own_key, int(self.BLOCK_SECONDS * 4000))
            pipe.execute()
        except redis.RedisError:
            return False
        return True

    def stop(self) -> None:
        import redis

        if self.task is not None and not self.task.done():
            self.task.cancel()
        with contextlib.suppress(redis.RedisError):
            self.redis.delete(self.own_key)

    async def _run(self) -> None:
        import redis
        import redis.asyncio

        client = redis.asyncio.Redis.from_url(self.url, **client_options())
        try:
            while True:
                keys = list(self.waiting)  # emptied lists are deleted
                self.blocking_on = set(keys)
                try:
                    popped = await client.blpop([self.own_key, *keys], timeout=self.BLOCK_SECONDS)
                except (redis.RedisError, OSError):  # waiters fall back on their timeouts
                    await asyncio.sleep(POLL_SECONDS)
                    continue
                if popped is None:
                    continue
                raw = popped[0]
                key = raw.decode() if isinstance(raw, bytes) else str(raw)
                if key == self.own_key:
                    self.interrupted = False
                    continue
                futures = self.waiting.get(key, [])
                future = futures.pop(0) if futures else None
                if not futures:
                    self.waiting.pop(key, None)
                if future is None:  # its waiter timed out meanwhile: the token is another's
                    with contextlib.suppress(redis.RedisError):
                        await client.lpush(key, "1")
                    continue
                if not future.done():
                    future.set_result(True)
        finally:
            self.blocking_on = set()
            self.interrupted = False
            with contextlib.suppress(Exception):  # closing a connection cut mid-command
                await client.aclose()


class FleetConcurrency:
    """Downloader middleware: politeness for the fleet, not per process.

    Concurrency: at most ``AGGREGATOR_FLEET_CONCURRENCY_PER_DOMAIN`` requests (default
    ``CONCURRENT_REQUESTS_PER_DOMAIN``) in flight per domain across the fleet. A request
    waits for a lease (a member of the domain's sorted set in Redis, scored by its
    expiry, naming its owner) before it is sent, and gives it back with its response or
    failure. Waiting costs Redis a bounded number of commands per request, whatever the
    fleet's size: in each process one request per domain at a time asks for a lease
    (the others queue behind it locally), and when the domain is full it does not ask
    again until a lease given back wakes it (:class:`Waker`) or its fallback timeout
    (from 1 s, doubling up to a third of the heartbeat TTL) runs out. On such a timeout the
    lease script also drops the leases of owners whose heartbeat expired, so a killed
    worker's slots come back about a TTL after its death; a lease also expires after
    ``DOWNLOAD_TIMEOUT`` plus a margin.

    Backoff: a retryable answer (``RETRY_HTTP_CODES``: 429, 503...) to any member sets
    the domain's fleet delay (doubling per such answer from 1 s, ``Retry-After``
    honoured, at most ``AUTOTHROTTLE_MAX_DELAY``), and while it lasts the whole fleet
    sends that domain at most one request per delay: a request passes the domain's gate
    (a Redis key that lives one delay) only when no other request passed it within the
    delay. Each process's own backoff (:mod:`aggregator.crawl.backoff`) still applies."""

    FIRST_FALLBACK = 1.0

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.limit = settings.getint("AGGREGATOR_FLEET_CONCURRENCY_PER_DOMAIN") or (
            settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") or 1
        )
        self.lease_seconds = settings.getfloat("DOWNLOAD_TIMEOUT", 180) + 10
        self.fleet = fleet_for(crawler)
        self.max_fallback = max(self.FIRST_FALLBACK, min(self.fleet.ttl / 3, self.lease_seconds))
        self.acquire_script = self.fleet.redis.register_script(_ACQUIRE)
        self.back_off_script = self.fleet.redis.register_script(_BACK_OFF)
        self.retry_codes = {int(c) for c in settings.getlist("RETRY_HTTP_CODES")}
        self.max_delay = settings.getfloat("AUTOTHROTTLE_MAX_DELAY", 60.0)
        self.crawler = crawler
        url = settings.get("AGGREGATOR_REDIS_URL")
        self.waker = Waker(url, self.fleet.redis, self.fleet.keys, self.fleet.member)
        self.turns: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.alive_prefix = self.fleet.keys.alive("")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        _require_fleet(crawler)
        mw = cls(crawler)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    def spider_closed(self) -> None:
        self.waker.stop()

    def _domain(self, request: Request) -> str:
        return str(request.meta.get("download_slot") or urlparse_cached(request).hostname or "")

    async def process_request(self, request: Request) -> None:
        domain = self._domain(request)
        # One request per domain of this process asks Redis at a time.
        async with self.turns[domain]:
            await self._take(request, domain)

    async def _take(self, request: Request, domain: str) -> None:
        import redis
        from scrapy.exceptions import IgnoreRequest

        key, wake_key = self.fleet.keys.slots(domain), self.fleet.keys.wake(domain)
        delay_key, gate_key = self.fleet.keys.backoff(domain), self.fleet.keys.gate(domain)
        lease = f"{self.fleet.member} {secrets.token_hex(8)}"
        waited = gated = reap = False
        fallback = self.FIRST_FALLBACK
        while True:
            try:
                delay = self.fleet.redis.get(delay_key)
                if delay is not None and not self.fleet.redis.set(
                    gate_key, "1", nx=True, px=max(1, int(float(delay) * 1000))
                ):
                    if not gated and self.crawler.stats is not None:
                        self.crawler.stats.inc_value("aggregator/fleet/backed_off")
                    gated = True
                    await asyncio.sleep(0.1)
                    continue
                # Nobody is taken for dead while heartbeats may be lapsing after an outage.
                reap = reap and self.fleet.trusts_heartbeats()
                args: list[int | float | str] = [
                    self.limit, self.lease_seconds, lease, int(reap), self.alive_prefix
                ]  # fmt: skip
                if self.acquire_script(keys=[key, wake_key], args=args):
                    break
            except redis.RedisError as exc:  # waited for as the scheduler waits
                if self.fleet.down(exc):
                    raise IgnoreRequest(f"Redis unavailable: {exc}") from None
                await asyncio.sleep(POLL_SECONDS)
                continue
            waited = True
            woken = await self.waker.wait(wake_key, fallback)
            # No wake-up within the fallback: a lease may belong to a dead member.
            reap = not woken
            if reap:
                if self.crawler.stats is not None:
                    self.crawler.stats.inc_value("aggregator/fleet/slot_wait_timeouts")
                fallback = min(fallback * 2, self.max_fallback)
        if waited and self.crawler.stats is not None:
            self.crawler.stats.inc_value("aggregator/fleet/waited_for_slot")
        request.meta[LEASE] = (key, lease, wake_key)

    def _release(self, request: Request) -> None:
        import redis

        held = request.meta.pop(LEASE, None)
        if held:
            # The token wakes one waiter of the fleet; at most `limit` wait unclaimed.
            key, lease, wake_key = held
            with contextlib.suppress(redis.RedisError):  # the lease expires by itself
                pipe = self.fleet.redis.pipeline(transaction=False)
                pipe.zrem(key, lease)
                pipe.lpush(wake_key, "1")
                pipe.ltrim(wake_key, 0, self.limit - 1)
                pipe.pexpire(wake_key, int(self.lease_seconds * 1000) + 1000)
                pipe.execute()

    def process_response(self, request: Request, response: Response) -> Response:
        import redis

        self._release(request)
        if response.status in self.retry_codes and not request.meta.get("dont_retry"):
            from aggregator.crawl.backoff import BASE_DELAY, _retry_after

            domain = self._domain(request)
            keys = [self.fleet.keys.backoff(domain), self.fleet.keys.gate(domain)]
            args = [BASE_DELAY, self.max_delay, _retry_after(response) or 0]
            with contextlib.suppress(redis.RedisError):  # each process still backs off
                delay = self.back_off_script(keys=keys, args=args)
                logger.info("Fleet backs off %s: %ss between requests", domain,
                            delay.decode() if isinstance(delay, bytes) else delay)  # fmt: skip
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        self._release(request)
