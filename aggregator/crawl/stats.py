"""A crawl's stats: the keys the crawl counts under, and what a run's figures are.

The one owner of both: the spider and pipelines count under these keys, and a finished
run's status and figures (for ``aggregator crawl``'s table and the ``crawl_runs`` row)
are computed here once, from Scrapy's stats, and handed to storage as a
:class:`~aggregator.storage.runs.RunFigures`.
"""

from __future__ import annotations

from typing import Any

from aggregator.storage.runs import RunFigures

PREFIX = "aggregator/"
DROPPED = PREFIX + "dropped/"
ERRORS = PREFIX + "errors/"
STORED_NEW = PREFIX + "stored/new"
STORED_UPDATED = PREFIX + "stored/updated"
STORED_DUPLICATE = PREFIX + "stored/duplicate"
NORMALIZED = PREFIX + "normalized/"
SKIPPED_FRESH = PREFIX + "skipped/fresh"
BACKOFF = PREFIX + "backoff"
AGGREGATED = PREFIX + "aggregated"
DISCOVERY = PREFIX + "discovery/"
# An import's files and each one's figures (``aggregator import-warc``): a list, kept in
# the run's details as "files".
IMPORT_FILES = PREFIX + "import/files"
HTTP_STATUS = "downloader/response_status_count/"
# Scrapy counts a robots.txt that could not be fetched (a network failure) here, per
# exception class; the run counts them as errors of kind ROBOTS_TXT.
ROBOTS_FAILED = "robotstxt/exception_count/"
ROBOTS_TXT = "robots_txt"
# The finish reason of a source whose hosts never answered (crawl.backoff gives it up).
UNREACHABLE = "unreachable"

# A distributed crawl's worker that stopped without reporting (killed): the requests it
# had taken are crawled again by the next run.
WORKER_LOST = ERRORS + "worker_lost"

# Errors after which a run's results are not all in the database.
_INCOMPLETE = (ERRORS + "not_stored", ERRORS + "index_failed", WORKER_LOST)


def run_status(stats: dict[str, Any]) -> str:
    """How a source's crawl ended, for people: "finished", "failed" (nothing could be
    fetched: the outlet is down, blocks us, or times out; a person should look),
    "incomplete" (articles were fetched but the database failed to store or index some)
    or Scrapy's own finish reason ("shutdown" on Ctrl-C, "closespider_..." limits). An
    import (``aggregator import-warc``) "failed" when it could read none of its files."""
    reason = str(stats.get("finish_reason", "unknown"))
    if reason == UNREACHABLE:
        return "failed"
    if reason != "finished":
        return reason
    if any(stats.get(key) for key in _INCOMPLETE):
        return "incomplete"
    files = stats.get(IMPORT_FILES)
    if files:  # an import: failed when it could read none of its files
        return "finished" if any(f.get("status") != "failed" for f in files) else "failed"
    ok = sum(
        int(v) for k, v in stats.items()
        if k.startswith(HTTP_STATUS) and k.rsplit("/", 1)[1][:1] in "23"
    )  # fmt: skip
    return "finished" if ok else "failed"


def _group(stats: dict[str, Any], prefix: str) -> dict[str, int]:
    """Stats under ``prefix`` as {rest of the key: count}."""
    return {k.removeprefix(prefix): int(v) for k, v in stats.items() if k.startswith(prefix)}


def _sum(stats: dict[str, Any], prefix: str) -> int:
    return sum(int(v) for k, v in stats.items() if k.startswith(prefix) and isinstance(v, int))


def run_figures(stats: dict[str, Any], reason: str | None = None) -> RunFigures:
    """A run's status and figures from its Scrapy stats (``reason``: the finish reason,
    when the stats do not hold it yet, as in a spider's ``close``)."""
    if reason is not None:
        stats = {**stats, "finish_reason": reason}
    duplicates = int(stats.get(STORED_DUPLICATE, 0))
    errors = _group(stats, ERRORS)
    robots = _sum(stats, ROBOTS_FAILED)
    if robots:
        errors[ROBOTS_TXT] = errors.get(ROBOTS_TXT, 0) + robots
    details: dict[str, Any] = {}
    if stats.get(IMPORT_FILES):
        details["files"] = list(stats[IMPORT_FILES])
    return RunFigures(
        status=run_status(stats),
        pages=int(stats.get("response_received_count", 0)),
        new=int(stats.get(STORED_NEW, 0)),
        updated=int(stats.get(STORED_UPDATED, 0)) + duplicates,
        dropped=_sum(stats, DROPPED),
        errors=sum(errors.values()),
        details={
            "dropped": _group(stats, DROPPED),
            "errors": errors,
            "http_status": _group(stats, HTTP_STATUS),
            "normalized": _group(stats, NORMALIZED),
            "discovery": _group(stats, DISCOVERY),
            "robots_forbidden": int(stats.get("robotstxt/forbidden", 0)),
            "articles_fetched": int(stats.get(PREFIX + "pages/article", 0)),
            "articles_not_modified": int(stats.get(PREFIX + "pages/not_modified", 0)),
            "skipped_fresh": int(stats.get(SKIPPED_FRESH, 0)),
            "duplicates": duplicates,
            "backoffs": int(stats.get(BACKOFF, 0)),
            **details,
        },
    )
