"""Fleet politeness leases (:class:`FleetConcurrency`) against a redis-server of the
test's own: a request waiting for a domain's slot does not poll Redis (counted with
``INFO commandstats``), and a killed member's leases are freed long before they expire.
The middleware is the one a crawl uses, on a Scrapy crawler of the test's own; the dead
member is a real process killed with SIGKILL."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from aggregator.crawl.distributed import Fleet, FleetConcurrency, connect
from tests.test_distributed import PrivateRedis

pytestmark = pytest.mark.e2e

PREFIX = "leasetest"
URL = "http://slow.example/"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    directory = tmp_path / "redis"
    directory.mkdir()
    server = PrivateRedis(directory, persist=False)
    server.start()
    yield server
    server.stop(signal.SIGKILL)


def middleware(url: str, member: str, **settings: Any) -> FleetConcurrency:
    """The fleet's middleware in a crawler of member ``member`` (kept alive meanwhile)."""
    values = {
        "AGGREGATOR_FLEET_ROLE": "worker",
        "AGGREGATOR_REDIS_URL": url,
        "AGGREGATOR_REDIS_PREFIX": PREFIX,
        "AGGREGATOR_FLEET_CONCURRENCY_PER_DOMAIN": 1,
        **settings,
    }
    crawler = get_crawler(settings_dict=values)
    fleet = Fleet.from_settings(crawler.settings)
    fleet.member = member
    fleet.beat(60)
    crawler._aggregator_fleet = fleet  # type: ignore[attr-defined]
    return FleetConcurrency.from_crawler(crawler)


def calls(client: Any) -> int:
    """Commands the server ran so far (Lua scripts' own included), INFO left out."""
    stats = client.info("commandstats")
    return sum(v["calls"] for k, v in stats.items() if k != "cmdstat_info")


def test_a_waiting_request_does_not_poll(redis_server: PrivateRedis) -> None:
    """Six requests of one process wait 3 s for a domain another member holds: Redis
    hears a few dozen commands meanwhile (a lease attempt at each fallback timeout, 1 s
    then 2 s: polling every 50 ms, each of them asking, was over a thousand),
    and the slot given back goes to one of them at once."""
    client = connect(redis_server.url)
    holder = middleware(redis_server.url, "holder:1")
    waiter = middleware(redis_server.url, "waiter:2")

    async def scenario() -> tuple[int, float, int]:
        held = Request(URL + "held")
        await holder.process_request(held)
        requests = [Request(URL + f"w{i}") for i in range(6)]
        tasks = [asyncio.ensure_future(waiter.process_request(r)) for r in requests]
        await asyncio.sleep(0.5)  # all of them waiting
        before = calls(client)
        await asyncio.sleep(3)
        during = calls(client) - before
        assert not any(t.done() for t in tasks), "a request got a slot that was held"
        released = time.monotonic()
        holder.process_response(held, Response(held.url, status=200))
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED, timeout=10)
        latency = time.monotonic() - released
        # The others follow one by one, each woken by the one before it giving back
        # (1.5 s later: each is waiting by then, past its first fallback timeout, 1 s,
        # and 1.5 s before its next).
        handoffs = []
        for _ in range(len(tasks) - 1):
            await asyncio.sleep(1.5)
            granted = [r for r, t in zip(requests, tasks, strict=True) if t.done() and r.meta]
            assert len(granted) == 1, "more than one request holds the domain's slot"
            waiter.process_response(granted[0], Response(granted[0].url, status=200))
            granted[0].meta.clear()
            released = time.monotonic()
            await asyncio.wait(
                [t for t in tasks if not t.done()], return_when=asyncio.FIRST_COMPLETED, timeout=10
            )
            handoffs.append(time.monotonic() - released)
        latency = max(latency, *handoffs)
        finished = sum(t.done() for t in tasks)
        return during, latency, finished

    try:
        during, latency, finished = asyncio.run(scenario())
    finally:
        holder.spider_closed()
        waiter.spider_closed()
    assert during <= 30, during
    assert latency < 0.5, latency
    assert finished == 6


GHOST = """
import asyncio, sys, time
from scrapy import Request
from tests.test_distributed_lease import URL, middleware
mw = middleware(sys.argv[1], "ghost:3", AGGREGATOR_FLEET_TTL=2)
mw.fleet.beat(2)
asyncio.run(mw.process_request(Request(URL + "ghost")))
print("held", flush=True)
while True:  # a live member renews its heartbeat
    mw.fleet.beat(2)
    time.sleep(0.5)
"""


def test_a_killed_members_lease_is_freed_before_it_expires(
    redis_server: PrivateRedis, tmp_path: Path
) -> None:
    """A member holds a domain's only slot (its lease would expire after 130 s) and is
    killed: a live member waiting for the slot gets it about a heartbeat TTL (2 s) later."""
    ghost = subprocess.Popen(
        [sys.executable, "-c", GHOST, redis_server.url],
        cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert ghost.stdout is not None
        assert ghost.stdout.readline().strip() == "held"
        waiter = middleware(redis_server.url, "waiter:4", DOWNLOAD_TIMEOUT=120)

        async def first_wait() -> None:
            # While the ghost lives, its slot stays its own.
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(waiter.process_request(Request(URL + "a")), 4)

        asyncio.run(first_wait())
        ghost.send_signal(signal.SIGKILL)
        ghost.wait()
        killed = time.monotonic()
        request = Request(URL + "b")
        # Given up well before the 130 s expiry, so that the bound below is what fails.
        asyncio.run(asyncio.wait_for(waiter.process_request(request), 60))
        freed = time.monotonic() - killed
        waiter.spider_closed()
    finally:
        if ghost.poll() is None:
            ghost.kill()
            ghost.wait()
    assert freed < 15, freed
