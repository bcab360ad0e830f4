"""Scrapy settings for the aggregator (``scrapy.cfg`` points here).

Environment variables a user sets instead of editing this file:
``AGGREGATOR_DB_URL`` (database), ``AGGREGATOR_SOURCES`` (source registry file),
``AGGREGATOR_HOST_MAP`` (route hosts to other addresses, e.g. a local mirror).
"""

from __future__ import annotations

import os

from aggregator.extract.page import MAX_PAGE_BYTES

BOT_NAME = "entertainment-news-aggregator"

# Spiders are generated from the source registry (one per outlet) by this loader;
# hand-written spiders in SPIDER_MODULES are listed too.
SPIDER_LOADER_CLASS = "aggregator.spiders.loader.SourceSpiderLoader"
SPIDER_MODULES = ["aggregator.spiders"]
NEWSPIDER_MODULE = "aggregator.spiders"

USER_AGENT = (
    "entertainment-news-aggregator/0.1 (+https://pypi.org/project/entertainment-news-aggregator/)"
)
ROBOTSTXT_OBEY = True

# Politeness: AutoThrottle adapts the delay to each server's latency.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 16
# An article page yields one item and the pipelines are synchronous: Scrapy's default of
# 100 parallel output tasks per response only cost time (+14-19% pages/s without them).
CONCURRENT_ITEMS = 4
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_TIMEOUT = 30
RETRY_ENABLED = True
RETRY_TIMES = 2
# Connection failures (refused, name not found) in a row, with no response at all, after
# which a source's run gives up as unreachable (crawl.backoff); 0 never gives up.
AGGREGATOR_UNREACHABLE_AFTER = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
# A page that still fails after its retries is a fact about the website, not a bug of
# ours: the spider's errback logs it in one WARNING line and counts it in the run's errors
# (robots.txt: see aggregator.crawl.logfilter), so Scrapy's own "Gave up retrying" line
# would say it twice.
RETRY_GIVE_UP_LOG_LEVEL = "INFO"
# Pages beyond these sizes are not articles; the download is aborted and counted.
DOWNLOAD_MAXSIZE = MAX_PAGE_BYTES
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
REDIRECT_MAX_TIMES = 5
# Bounded crawl depth: discovery goes feed/sitemap/listing -> article, pagination adds a few.
DEPTH_LIMIT = 12
# Sitemaps, per source (0: no cap). A file is read up to its first MAX_URLS entries (the
# protocol's own limit for a urlset and for an index); one run requests at most
# MAX_REQUESTS articles found in sitemaps (each queued request holds memory until it is
# fetched) and follows at most MAX_FILES sitemaps listed by sitemap indexes. What is left
# out is counted under aggregator/discovery/sitemap_*_cap and logged once per file.
AGGREGATOR_SITEMAP_MAX_URLS = 50_000
AGGREGATOR_SITEMAP_MAX_REQUESTS = 50_000
AGGREGATOR_SITEMAP_MAX_FILES = 1_000

COOKIES_ENABLED = False
# Neither of Scrapy's consoles into a running crawl: the Telnet console, nor (Scrapy 2.19)
# the remote-control HTTP server, which runs any Python code a request sends it.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
# `scrapy crawl` validates spider arguments and takes the per-source crawl lock like
# `aggregator crawl`; `scrapy shell` never records a crawl; `scrapy check` serves the
# bundled fixture site for the outlets' contracts (aggregator/crawl/commands/).
COMMANDS_MODULE = "aggregator.crawl.commands"
SPIDER_CONTRACTS = {"aggregator.spiders.contracts.FillsContract": 10}
LOG_LEVEL = os.environ.get("AGGREGATOR_LOG_LEVEL", "INFO")
LOGSTATS_INTERVAL = 30.0
FEED_EXPORT_ENCODING = "utf-8"
LOG_FORMATTER = "aggregator.crawl.logformat.AggregatorLogFormatter"

DOWNLOAD_HANDLERS = {
    "http": "aggregator.crawl.hostmap.HostMapDownloadHandler",
    "https": "aggregator.crawl.hostmap.HostMapDownloadHandler",
}
# "host=addr:port,host2=addr:port" or "*=addr:port"; see aggregator.crawl.hostmap.
AGGREGATOR_HOST_MAP = os.environ.get("AGGREGATOR_HOST_MAP", "")

EXTENSIONS = {
    "aggregator.crawl.progress.Progress": 500,
    "aggregator.crawl.logfilter.QuietNetworkErrors": 100,
    # Distributed crawls only (aggregator.crawl.distributed; off otherwise).
    "aggregator.crawl.distributed.FleetExtension": 600,
}
# Periodic progress lines on stderr (aggregator crawl turns this on at a terminal).
AGGREGATOR_PROGRESS = False

SPIDER_MIDDLEWARES = {
    "aggregator.spiders.middlewares.SkipFreshArticles": 550,
    # Distributed crawls only: a worker sends no start requests (the run was seeded once).
    "aggregator.crawl.distributed.WorkerStart": 10,
}
DOWNLOADER_MIDDLEWARES = {
    "aggregator.spiders.middlewares.FetchStateMiddleware": 560,
    # Distributed crawls only: per-domain concurrency held across the fleet, right before
    # the download (after retries and conditional headers are decided).
    "aggregator.crawl.distributed.FleetConcurrency": 950,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "aggregator.crawl.backoff.BackoffRetryMiddleware": 550,
}
# Articles fetched within this window are not fetched again ("12h", "7d"; "0": always).
AGGREGATOR_REVISIT = os.environ.get("AGGREGATOR_REVISIT", "7d")
# Fetch every discovered article again, whatever the window says.
AGGREGATOR_REFRESH = False

ITEM_PIPELINES = {
    "aggregator.pipelines.validate.ValidatePipeline": 100,
    "aggregator.pipelines.normalize.NormalizePipeline": 200,
    "aggregator.pipelines.dedup.DedupPipeline": 300,
    "aggregator.pipelines.store.StorePipeline": 400,
}
# None: AGGREGATOR_DB_URL, else ./aggregator.db. "" or "none": do not store (extraction only).
AGGREGATOR_DB_URL = os.environ.get("AGGREGATOR_DB_URL")
# Items per database transaction; the rest is committed when the spider closes.
AGGREGATOR_STORE_BATCH = 50
# A new article's first_seen is its fetched_at (not the time it is stored): set by
# `aggregator import-warc`, whose pages were fetched by the archive, maybe a year ago.
AGGREGATOR_FIRST_SEEN_AT_FETCH = False
# Distributed crawling (aggregator crawl --redis, aggregator worker): the Redis server
# holding the shared queue and duplicate filter, the namespace of its keys (one per
# fleet; two fleets sharing a server need two), how long a member's heartbeat lives, and
# the requests in flight per domain for the whole fleet (0: CONCURRENT_REQUESTS_PER_DOMAIN).
AGGREGATOR_REDIS_URL = os.environ.get("AGGREGATOR_REDIS_URL")
AGGREGATOR_REDIS_PREFIX = os.environ.get("AGGREGATOR_REDIS_PREFIX", "aggregator")
AGGREGATOR_FLEET_ROLE = None
AGGREGATOR_FLEET_FOLLOW = False
AGGREGATOR_FLEET_TTL = 30.0
# Seconds a Redis that does not answer (restarting) is waited for before the crawl stops.
AGGREGATOR_REDIS_OUTAGE = 60.0
AGGREGATOR_FLEET_CONCURRENCY_PER_DOMAIN = 0
# None: AGGREGATOR_SOURCES, else the bundled aggregator/sources.toml.
AGGREGATOR_SOURCES = os.environ.get("AGGREGATOR_SOURCES")
