"""The start of a distributed run (issue 16): a worker that opens a source's spider before
the coordinator has opened its own must wait for the seeds, not find the source idle and
leave. A real Redis (``$AGGREGATOR_TEST_REDIS_URL``, default ``redis://127.0.0.1:6379/0``;
a key prefix of the test's own, deleted afterwards); skipped when none answers, unless
``AGGREGATOR_REQUIRE_SERVICES=1`` (CI)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from aggregator.crawl.distributed import Fleet, RunInfo, connect
from tests.conftest import require_service

REDIS_URL = os.environ.get("AGGREGATOR_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_prefix() -> Iterator[tuple[Any, str]]:
    try:
        client = connect(REDIS_URL)
    except ConnectionError as exc:
        require_service(f"{exc} (set AGGREGATOR_TEST_REDIS_URL or start redis-server)")
    prefix = f"aggtest-{secrets.token_hex(6)}"
    yield client, prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def test_a_worker_before_the_coordinators_spider_waits_for_the_seeds(
    redis_prefix: tuple[Any, str],
) -> None:
    client, prefix = redis_prefix
    coordinator = Fleet(client, prefix, member="host-a:1")
    coordinator.beat(30)
    sources = ["dualshockers", "variety"]
    coordinator.begin_run(RunInfo(token="t1", sources=sources, coordinator=coordinator.member))
    # The coordinator's spiders are not open yet: nothing queued, the coordinator has
    # not joined any source by itself. A worker's spider opens and goes idle.
    worker = Fleet(client, prefix, member="host-b:2")
    for source in sources:
        worker.join(source, busy=False)
        assert worker.queued(source) == 0
        assert not worker.run_done(source), source
    # Once the coordinator is done with a source (its spider closed: it left), it is over.
    coordinator.leave("variety")
    assert worker.run_done("variety")
    assert not worker.run_done("dualshockers")
    # A coordinator that dies (its heartbeat gone) holds nobody up.
    coordinator.retire()
    assert worker.run_done("dualshockers")
