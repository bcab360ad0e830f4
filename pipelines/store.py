"""Store items in the database in batches, and record the run in ``crawl_runs``."""

from __future__ import annotations

import logging
import time
from collections.abc import Coroutine
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from scrapy import signals
from scrapy.exceptions import CloseSpider
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from aggregator.crawl.stats import AGGREGATED, run_figures
from aggregator.items import ArticleItem
from aggregator.storage.database import shared_engine
from aggregator.storage.engine import (
    StorageError,
    StorageUnavailableError,
    error_line,
    safe_url,
)
from aggregator.storage.runs import RunRecorder
from aggregator.storage.store import ArticleStore
from aggregator.storage.url import storage_disabled

from .base import CrawlerPipeline

logger = logging.getLogger("aggregator.store")


def reactor_running() -> bool:
    """Whether this process runs Twisted's reactor (a crawl does; a WARC import does not,
    and must not install one by asking)."""
    from scrapy.utils.reactor import is_reactor_installed

    if not is_reactor_installed():
        return False
    from twisted.internet import reactor

    return bool(getattr(reactor, "running", False))


class StorePipeline(CrawlerPipeline):
    """Upsert items ``AGGREGATOR_STORE_BATCH`` at a time; commit the rest on close.

    ``AGGREGATOR_DB_URL=none`` turns storage off (items still reach feed exports).
    """

    # Whether this process records the run in ``crawl_runs`` (a distributed crawl's
    # workers do not: the coordinator records one run with their figures).
    records_run = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        settings = self.crawler.settings
        self.batch_size = max(1, settings.getint("AGGREGATOR_STORE_BATCH", 50))
        self.seen_at_fetch = settings.getbool("AGGREGATOR_FIRST_SEEN_AT_FETCH", False)
        raw_url = settings.get("AGGREGATOR_DB_URL")
        self.enabled = not storage_disabled(raw_url)
        self.url = raw_url
        self.buffer: list[ArticleItem] = []
        self.stale_articles: set[int] = set()  # their stories: refreshed by catch_up
        self.engine: Engine | None = None
        self.categories: dict[str, str] = {}
        self.store: ArticleStore | None = None
        self.runs: RunRecorder | None = None

    def open_spider(self) -> None:
        if not self.enabled:
            logger.info("Storage is off (AGGREGATOR_DB_URL=%s)", self.url)
            return
        try:
            self.engine = shared_engine(self.url)
        except (SQLAlchemyError, StorageError, OSError, ValueError) as exc:
            # Said once, without a traceback; Scrapy then closes the spider before any
            # request is made (nothing fetched that could not be stored).
            reason = error_line(exc)
            logger.error(
                "cannot open database %s: %s (set AGGREGATOR_DB_URL to a database that "
                "answers, or to none to crawl without storing)",
                safe_url(str(self.url)),
                reason,
            )
            raise CloseSpider("database_unavailable") from exc
        from aggregator.sources import source_categories

        self.categories = source_categories(self.crawler.settings.get("AGGREGATOR_SOURCES") or None)
        self.store = ArticleStore(self.engine)  # indexed at the end (catch_up)
        if self.records_run:
            self.runs = RunRecorder(self.engine)
            self.runs.start(getattr(self.crawler.spider, "name", "?"))
        logger.info("Storing articles in %s", safe_url(str(self.engine.url)))

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem) or self.store is None:
            return item
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def flush(self) -> None:
        """Write the buffered items in one transaction."""
        if not self.buffer or self.store is None:
            return
        batch, self.buffer = self.buffer, []
        try:
            results = self.store.upsert(
                batch, datetime.now(timezone.utc), seen_at_fetch=self.seen_at_fetch
            )
        except StorageUnavailableError as exc:
            # Counted as lost, which makes the run "incomplete" (run_status): the items
            # were extracted but are not in the database, so a person should look.
            results = exc.done
            lost = len(batch) - len(results)
            self.count("errors/not_stored", lost)
            logger.error("%d article(s) not stored: the database failed (%s)", lost, exc)
        for item, r in zip(batch, results, strict=False):  # results stop where storage failed
            if r.outcome == "failed":
                self.count("dropped/unstorable")
                logger.warning("Article dropped, the database rejects it: %s (%s)", item.url,
                               r.error)  # fmt: skip
                continue
            self.count(f"stored/{r.outcome}")
            if r.story_stale and r.article_id is not None:
                self.stale_articles.add(r.article_id)

    def close_spider(self) -> None:
        """Commit what is buffered (also on Ctrl-C: Scrapy closes the spider gracefully)."""
        self.flush()

    def spider_closed(self, reason: str) -> Coroutine[Any, Any, None] | None:
        """Index the new articles for aggregation (near-duplicates, stories), then record
        the run's figures: Scrapy knows why it ended ("finished", "shutdown" after
        Ctrl-C...) only now, after the pipelines closed. In a crawl, in a thread (Scrapy
        awaits the coroutine returned): the process's other sources go on crawling
        meanwhile, and indexing a few thousand articles takes longer than their requests'
        download timeout. Where no reactor runs (a WARC import sends this signal itself)
        it is done before returning."""
        if self.engine is None:
            return None
        if not reactor_running():
            self.record_run(reason, self.index_stories())
            return None
        return self._close_in_thread(reason)

    async def _close_in_thread(self, reason: str) -> None:
        self.record_run(reason, await self.index_stories_in_thread())

    async def index_stories_in_thread(self) -> int:
        """:meth:`index_stories` in the reactor's thread pool (only called while the
        reactor runs). Index writers still take turns: the index's lock is a database
        lock (:func:`aggregator.aggregate.index.lock`)."""
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet.threads import deferToThread

        return await maybe_deferred_to_future(deferToThread(self.index_stories))

    def index_stories(self) -> int:
        """Index the articles not indexed yet (and refresh the stories of updated ones);
        how many were indexed."""
        from aggregator.aggregate.index import catch_up

        if self.engine is None:
            return 0
        started = time.monotonic()
        indexed = 0
        try:
            indexed = catch_up(
                self.engine,
                self.categories,
                updated=self.stale_articles,
                on_failure=lambda _id, _error: self.count("errors/not_indexed"),
            )
        except Exception as exc:
            # The articles are stored; the next crawl or `aggregator db reindex` indexes
            # them. The run says so ("incomplete") instead of "finished".
            self.count("errors/index_failed")
            logger.error("Indexing for stories failed: %s", error_line(exc))
        if indexed:
            logger.info(
                "Indexed %d article(s) for stories in %.2fs", indexed, time.monotonic() - started
            )
        return indexed

    def record_run(self, reason: str, indexed: int, details: dict[str, Any] | None = None) -> None:
        """Fill in the run's ``crawl_runs`` row (``details``: added to its details)."""
        if self.runs is not None and self.crawler.stats is not None:
            self.crawler.stats.set_value(AGGREGATED, indexed)
            figures = run_figures(self.crawler.stats.get_stats(), str(reason))
            if details:
                figures = replace(figures, details={**figures.details, **details})
            try:
                self.runs.finish(figures)
            except Exception as exc:
                logger.error("Could not record the run's figures: %s", error_line(exc))
