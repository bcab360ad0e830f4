"""Import web archives: each page of a WARC/ARC file through the crawl's extraction and
item pipelines, as one run.

One code path with a crawl: the item pipelines are the ones ``ITEM_PIPELINES`` names
(validate -> normalize -> dedup -> store), built and driven here in order through a small
stand-in for Scrapy's crawler (its settings, stats collector and signals are Scrapy's own);
the store pipeline opens the run, stores in batches, indexes stories when the run closes
and records its figures, computed from the stats by :func:`~aggregator.crawl.stats.run_figures`
like a crawl's. The import is not a Scrapy crawl: there is nothing to download or
schedule, the records of one file belong to many sources (the normalize pipeline takes the
source from the spider, so the stand-in spider carries the source of the record in hand;
records go through one at a time), and a reactor would only wrap a sequential file read.
"""

from __future__ import annotations

import logging
import sys
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from http.client import HTTPException
from typing import Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import CloseSpider, DropItem
from scrapy.signalmanager import SignalManager
from scrapy.statscollectors import MemoryStatsCollector

from aggregator.crawl import stats as keys
from aggregator.crawl.interrupt import CtrlC
from aggregator.crawl.pages import extract_page, not_extracted
from aggregator.crawl.runner import project_settings
from aggregator.crawl.warc import Bad, Counted, Other, Record, open_archive, read_archive
from aggregator.extract import TooComplexError
from aggregator.extract.page import MAX_PAGE_BYTES
from aggregator.items import ArticleItem
from aggregator.normalize.urls import domain_of
from aggregator.sources import Source
from aggregator.storage.runs import RunFigures

logger = logging.getLogger("aggregator.import")

# The name an import's run has in `aggregator runs`.
RUN_NAME = "import-warc"
# Payloads kept for revisit records (identical payload, later capture) to point back to,
# compressed (zlib level 1: the corpora's pages shrink 4x, the benchmark's generated ones
# 2.7x, for a tenth of their extraction time at most); bounded, so memory does not grow
# with the archive.
REVISIT_CACHE_BYTES = 32 * 1024 * 1024
# The captures (URL, date) a digestless revisit may name, and the hosts already mapped to
# a source (or to none): both emptied when full, so memory is flat however many hosts
# an archive names (a CC-NEWS file names tens of thousands).
CAPTURES_CACHE = 20_000
HOSTS_CACHE = 10_000


class _Crawler:
    """What the item pipelines use of Scrapy's Crawler: settings, stats, signals, spider."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.signals = SignalManager(self)
        self.stats = MemoryStatsCollector(self)  # type: ignore[arg-type]
        self.spider: _Spider | None = None


class _Spider:
    """The spider the pipelines see: the run's name and window, the record's source."""

    name = RUN_NAME

    def __init__(self, since: datetime | None, until: datetime | None) -> None:
        self.since = since
        self.until = until
        self.source: Source | None = None


@dataclass
class FileFigures:
    """One file's share of the run (what ``crawl_runs.details["files"]`` lists)."""

    file: str
    status: str = "done"
    """done (read to its end), failed (could not be read), skipped (imported before),
    interrupted (Ctrl-C: read again by the next import of its CC-NEWS month)."""
    records: int = 0
    pages: int = 0
    new: int = 0
    updated: int = 0
    dropped: int = 0
    errors: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in ("", {})}


@dataclass
class ImportResult:
    figures: RunFigures
    files: list[FileFigures]
    run_id: int | None = None
    interrupted: bool = False


class Progress:
    """Files, records, articles/s and ETA, on one rewritten terminal line."""

    def __init__(self, total_files: int, out: Any = None, interval: float = 1.0) -> None:
        self.total = total_files
        self.out = out or sys.stderr
        self.interval = interval
        self.started = time.monotonic()
        self.last = 0.0

    def update(self, files_done: int, records: int, articles: int, fraction: float) -> None:
        now = time.monotonic()
        if now - self.last < self.interval:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-6)
        done = files_done + fraction
        eta = ""
        if done > 0 and self.total:
            left = round(elapsed / done * (self.total - done))
            eta = f", ETA {left // 60}m{left % 60:02d}s"
        self.out.write(
            f"\rimport: file {min(files_done + 1, self.total)}/{self.total}, "
            f"{records} records, {articles} articles, {articles / elapsed:.1f} articles/s{eta}  "
        )
        self.out.flush()

    def close(self) -> None:
        if self.last:
            self.out.write("\n")
            self.out.flush()


class WarcImport:
    """One import run: open it, :meth:`add` files, :meth:`close` it."""

    def __init__(
        self,
        registry: dict[str, Source],
        *,
        overrides: dict[str, Any] | None = None,
        any_domain: bool = False,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> None:
        from scrapy.utils.conf import build_component_list
        from scrapy.utils.misc import build_from_crawler, load_object

        self.registry = registry
        # Each domain's first source in registry order, with its rank: a host is looked up
        # by its own name and the names it is a subdomain of, not tried against every
        # source (most hosts of a CC-NEWS file are new to the import, each a miss over the
        # whole registry).
        self.domains: dict[str, tuple[int, Source]] = {}
        for i, src in enumerate(registry.values()):
            for d in src.domains:
                self.domains.setdefault(d, (i, src))
        self.any_domain = any_domain
        self.since, self.until = since, until
        # A page's first sighting is the archive's capture (WARC-Date), not this import:
        # a year of backfill is not news of today in feeds, stories or the health page.
        self.settings = project_settings(
            {**(overrides or {}), "AGGREGATOR_FIRST_SEEN_AT_FETCH": True}
        )
        self.crawler = _Crawler(self.settings)
        self.spider = _Spider(since, until)
        self.crawler.spider = self.spider
        self.stats = self.crawler.stats
        self.stats.open_spider()
        paths = build_component_list(self.settings.getwithbase("ITEM_PIPELINES"))
        crawler: Any = self.crawler  # the stand-in, where Scrapy's typing wants its Crawler
        self.pipelines = [build_from_crawler(load_object(p), crawler) for p in paths]
        self.hosts: dict[str, Source | None] = {}
        self.revisits: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self.revisit_bytes = 0
        self.by_capture: dict[tuple[str, str], str] = {}
        self.files: list[FileFigures] = []
        self.articles = 0
        self.records = 0

    # -- the run ---------------------------------------------------------------------------

    def open(self) -> None:
        """Open the pipelines (the store opens the run's row). Raises CloseSpider when the
        database cannot be opened (the store logs why)."""
        for p in self.pipelines:
            if hasattr(p, "open_spider"):
                p.open_spider()

    @property
    def run_id(self) -> int | None:
        runs = self._store_attr("runs")
        return getattr(runs, "run_id", None)

    @property
    def engine(self) -> Any:
        return self._store_attr("engine")

    def _store_attr(self, name: str) -> Any:
        for p in self.pipelines:
            if getattr(p, name, None) is not None:
                return getattr(p, name)
        return None

    def close(self, reason: str = "finished") -> ImportResult:
        """Commit, index stories and record the run (as a crawl's end does)."""
        for p in self.pipelines:
            if hasattr(p, "close_spider"):
                p.close_spider()
        self.stats.set_value(keys.IMPORT_FILES, [f.to_dict() for f in self.files])
        self.stats.set_value("finish_reason", reason)
        self.crawler.signals.send_catch_log(signal=signals.spider_closed, reason=reason)
        figures = keys.run_figures(self.stats.get_stats(), reason)
        return ImportResult(figures, self.files, self.run_id, reason != "finished")

    # -- files -----------------------------------------------------------------------------

    def add(
        self,
        name: str,
        on_progress: Callable[[int, int, float], None] | None = None,
        check: Callable[[], None] | None = None,
    ) -> FileFigures:
        """Import one file or URL; its figures (also kept for the run's record). ``check``
        is called between records and before each read (it raises to stop the import)."""
        from aggregator.crawl.settings import USER_AGENT

        figures = FileFigures(name)
        self.files.append(figures)
        before = dict(self.stats.get_stats())
        started = time.monotonic()
        try:
            raw, size = open_archive(name, USER_AGENT)
        except OSError as exc:
            self._count("errors/unreadable_file")
            figures.status, figures.detail = "failed", str(exc)
            logger.warning("%s: cannot open it: %s", name, exc)
            self._figures(figures, before, started)
            return figures
        counted = Counted(raw, check)
        try:
            for item in read_archive(counted, want=self.wanted):
                figures.records += 1
                self.records += 1
                self._take(item)
                if on_progress is not None:
                    on_progress(self.records, self.articles, counted.count / size if size else 0.0)
                if check is not None:
                    check()
        except (OSError, HTTPException) as exc:  # the download broke off, the disk failed
            self._count("errors/unreadable_file")
            figures.status, figures.detail = "failed", str(exc)
            logger.warning("%s: reading stopped: %s", name, exc)
        except KeyboardInterrupt:
            figures.status = "interrupted"
            raise
        finally:
            raw.close()
            flush = self._store_attr("flush")
            if callable(flush):
                flush()  # a file ends with what it gave committed
            self._figures(figures, before, started)
        return figures

    def _figures(self, figures: FileFigures, before: dict[str, Any], started: float) -> None:
        after = self.stats.get_stats()
        delta = {
            k: v - int(before.get(k, 0))
            for k, v in after.items()
            if isinstance(v, int) and not isinstance(v, bool)
        }
        f = keys.run_figures({k: v for k, v in delta.items() if v})
        figures.pages, figures.new, figures.updated = f.pages, f.new, f.updated
        figures.dropped, figures.errors = f.dropped, f.errors
        figures.reasons = {
            f"{group}/{k}": n
            for group in ("dropped", "errors")
            for k, n in f.details.get(group, {}).items()
            if n
        }
        figures.seconds = round(time.monotonic() - started, 3)
        logger.info(
            "%s: %s, %d records, %d pages, %d new, %d updated, %d dropped, %d errors in %.1fs%s",
            figures.file, figures.status, figures.records, figures.pages, figures.new,
            figures.updated, figures.dropped, figures.errors, figures.seconds,
            f" ({figures.detail})" if figures.detail else "",
        )  # fmt: skip

    # -- records ---------------------------------------------------------------------------

    def _count(self, key: str, n: int = 1) -> None:
        self.stats.inc_value(keys.PREFIX + key, n)

    def source_for(self, url: str) -> Source | None:
        """The first registry source that :meth:`~aggregator.sources.Source.owns` ``url``
        (with ``--any-domain``, one named after its host when none does)."""
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
        if host in self.hosts:
            return self.hosts[host]
        found = self._owner(domain_of(url))
        if found is None and self.any_domain and host:
            found = Source(name=host[:64], title=host, domains=(host,))
        if len(self.hosts) >= HOSTS_CACHE:
            self.hosts.clear()
        self.hosts[host] = found
        return found

    def _owner(self, name: str) -> Source | None:
        """The source of the lowest registry rank among those whose domain is ``name`` or
        one ``name`` is a subdomain of."""
        best: tuple[int, Source] | None = None
        while name:
            ranked = self.domains.get(name)
            if ranked is not None and (best is None or ranked[0] < best[0]):
                best = ranked
            name = name.partition(".")[2]
        return best[1] if best is not None else None

    def wanted(self, url: str) -> bool:
        """Whether the page at ``url`` is imported: one of a source's articles. The reader
        skips the others unparsed (their records still counted, by :meth:`_take`)."""
        src = self.source_for(url)
        return src is not None and src.is_article(url)

    def _take(self, item: Record | Bad | Other) -> None:
        if isinstance(item, Other):
            return
        if isinstance(item, Bad):
            self._count(item.reason)
            logger.info("Record skipped, %s: %s %s", item.reason.split("/", 1)[1],
                        item.url or "?", f"({item.detail})" if item.detail else "")  # fmt: skip
            return
        src = self.source_for(item.url)
        if src is None:
            self._count("dropped/off_registry")
            return
        if not src.is_article(item.url):
            self._count("dropped/not_article")
            return
        if item.kind == "revisit":
            original = self._original(item)
            if original is None:
                self._count("dropped/revisit_unresolved")
                logger.info("Revisit of a capture not in this import: %s", item.url)
                return
            item.body, item.content_type, item.status = original[0], original[1], 200
        self.stats.inc_value("response_received_count")
        self.stats.inc_value(f"{keys.HTTP_STATUS}{item.status}")
        if item.status != 200:
            self._count("dropped/not_200")
            return
        self._page(src, item)

    def _original(self, item: Record) -> tuple[bytes, str] | None:
        digest = item.digest
        if not digest and item.refers_to is not None:
            digest = self.by_capture.get(item.refers_to)
        if not digest:
            return None
        kept = self.revisits.get(digest)
        return None if kept is None else (zlib.decompress(kept[0]), kept[1])

    def _remember(self, item: Record) -> None:
        if not item.digest or len(item.body) > REVISIT_CACHE_BYTES // 8:
            return
        if item.date is not None:
            if len(self.by_capture) >= CAPTURES_CACHE:
                self.by_capture.clear()
            self.by_capture[(item.url, item.date.strftime("%Y-%m-%dT%H:%M:%SZ"))] = item.digest
        packed = zlib.compress(item.body, 1)
        replaced = self.revisits.pop(item.digest, None)
        if replaced is not None:
            self.revisit_bytes -= len(replaced[0])
        self.revisits[item.digest] = (packed, item.content_type)
        self.revisit_bytes += len(packed)
        while self.revisit_bytes > REVISIT_CACHE_BYTES and self.revisits:
            _, (body, _ct) = self.revisits.popitem(last=False)
            self.revisit_bytes -= len(body)

    def _page(self, src: Source, record: Record) -> None:
        """A 200 response of a source's article URL: as the spider's ``parse_article``
        takes a page (:mod:`aggregator.crawl.pages`: the same checks, counted under the
        same keys, the same extraction), then the pipelines."""
        self._count("pages/article")
        skip = not_extracted(record.body, record.content_type)
        if skip is not None:
            self._count(skip)
            logger.info("Page skipped, %s: %s", skip.split("/", 1)[1], record.url)
            return
        if len(record.body) > MAX_PAGE_BYTES:
            self._count("dropped/too_large")
            logger.info("Page over %d bytes: %s", MAX_PAGE_BYTES, record.url)
            return
        if self.since is not None and record.date is not None and record.date < self.since:
            # Captured before the window opens: it cannot have been published in it.
            self._count("dropped/outside_window")
            return
        if record.kind == "response":
            self._remember(record)
        try:
            item = extract_page(src, record.body, record.content_type, record.url, record.date)
        except TooComplexError as exc:
            self._count("dropped/too_complex")
            logger.warning("Page skipped, %s: %s", exc, record.url)
            return
        except Exception:  # one broken page never stops an import
            self._count("errors/extract")
            logger.exception("Extraction failed for %s; page skipped", record.url)
            return
        self._pipelines(src, item)

    def _pipelines(self, src: Source, item: ArticleItem) -> None:
        self.spider.source = src
        out: Any = item
        try:
            for p in self.pipelines:
                out = p.process_item(out)
        except DropItem as exc:
            logger.info("Dropped: %s", exc)
            return
        except Exception:
            self._count("errors/pipeline")
            logger.exception("Item pipelines failed for %s", item.url)
            return
        self.articles += 1


def run_import(
    names: Iterable[str],
    imp: WarcImport,
    *,
    skip_done: bool = False,
    progress: Progress | None = None,
    ctrl_c: CtrlC | None = None,
) -> ImportResult:
    """Import ``names`` in order into an opened :class:`WarcImport` and close it. With
    ``skip_done``, files an earlier import read to their end are skipped (CC-NEWS resumes
    so); every file is marked in ``import_files`` as it is begun and finished. ``ctrl_c``:
    the caller's installed :class:`CtrlC` (a Ctrl-C before the import began counts), or
    one installed for the import."""
    from aggregator.storage.imports import DONE, FAILED, ImportLedger

    names = list(names)
    engine = imp.engine
    ledger = ImportLedger(engine) if engine is not None else None
    done = ledger.done(names) if (ledger is not None and skip_done) else set()
    reason = "finished"
    with nullcontext(ctrl_c) if ctrl_c is not None else CtrlC() as stop:
        try:
            for i, name in enumerate(names):
                stop.check()
                if name in done:
                    imp.files.append(FileFigures(name, status="skipped", detail="imported before"))
                    logger.info("%s: imported before; skipped", name)
                    continue
                if ledger is not None:
                    ledger.start(name, imp.run_id)

                def tick(records: int, articles: int, fraction: float, i: int = i) -> None:
                    if progress is not None:
                        progress.update(i, records, articles, fraction)

                figures = imp.add(name, tick, stop.check)
                if ledger is not None:
                    status = DONE if figures.status == "done" else FAILED
                    ledger.finish(name, status, figures.records, figures.new + figures.updated)
            stop.check()
        except KeyboardInterrupt:
            reason = "shutdown"
        finally:
            if progress is not None:
                progress.close()
    return imp.close(reason)


__all__ = ["CloseSpider", "ImportResult", "Progress", "WarcImport", "run_import"]
