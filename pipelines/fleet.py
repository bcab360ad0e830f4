"""Storage in a distributed crawl (``aggregator crawl --redis`` / ``aggregator worker``).

Every process stores the articles it fetched itself (PostgreSQL takes concurrent writers);
only the coordinator records the run and indexes stories. A worker reports its figures
(and the articles whose stories need refreshing) to Redis when its spider closes; the
coordinator waits for every live worker's report, adds the figures up into its own,
records one ``crawl_runs`` row per source with each member's figures under
``details["workers"]``, and then indexes once (the existing indexing lock still applies).
"""

from __future__ import annotations

import logging
from typing import Any

from aggregator.crawl.distributed import COORDINATOR, fleet_for, worker_figures
from aggregator.crawl.stats import WORKER_LOST

from .store import StorePipeline

logger = logging.getLogger("aggregator.distributed")


class FleetStorePipeline(StorePipeline):
    """:class:`StorePipeline` for one member of a distributed crawl."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = self.crawler.settings
        self.coordinator = settings.get("AGGREGATOR_FLEET_ROLE") == COORDINATOR
        self.records_run = self.coordinator
        self.fleet = fleet_for(self.crawler)

    async def spider_closed(self, reason: str) -> None:
        import redis

        if self.engine is None or self.crawler.stats is None:
            return
        try:
            await self._close(reason)
        except redis.RedisError as exc:
            # Redis is away: the run is recorded with what this process knows (its own
            # figures); the others' figures are lost, their articles are stored.
            logger.error("Could not collect the workers' figures from Redis: %s", exc)
            if self.coordinator:
                indexed = await self.index_stories_in_thread()
                self.record_run(reason, indexed, {"redis_error": str(exc)})

    async def _close(self, reason: str) -> None:
        assert self.crawler.stats is not None
        source = str(getattr(self.crawler.spider, "name", ""))
        fleet = self.fleet
        stats = self.crawler.stats.get_stats()
        if not self.coordinator:
            # Report, then leave: the coordinator waits for members until they leave.
            await fleet.patiently(lambda: fleet.report(source, stats, self.stale_articles))
            await fleet.patiently(lambda: fleet.leave(source))
            return
        mine = worker_figures(stats)
        lost = await fleet.wait_for_others(source)
        reports = await fleet.patiently(lambda: fleet.reports(source))
        workers = {f"{self.fleet.member} (coordinator)": mine}
        for member, report in sorted(reports.items()):
            counts: dict[str, int] = report.get("stats", {})
            workers[member] = worker_figures(counts)
            for key, value in counts.items():
                self.crawler.stats.inc_value(key, value)
            self.stale_articles.update(int(i) for i in report.get("stale", []))
        lost = [m for m in lost if m not in reports]
        if lost:
            # Their requests in flight are not stored; the next run crawls them again.
            self.crawler.stats.inc_value(WORKER_LOST, len(lost))
            logger.error(
                "%s: %d worker(s) stopped without reporting (killed?): %s; what they had "
                "taken is crawled again by the next run",
                source, len(lost), ", ".join(lost),
            )  # fmt: skip
        await fleet.patiently(lambda: fleet.leave(source))
        indexed = await self.index_stories_in_thread()
        self.record_run(reason, indexed, {"workers": workers, "workers_lost": lost})
