"""Normalize items with what only the crawl knows: the source's timezone, the fetch time."""

from __future__ import annotations

import logging
from typing import Any

from aggregator.items import ArticleItem
from aggregator.normalize.item import normalize_item

from .base import CrawlerPipeline

logger = logging.getLogger("aggregator.pipelines")
_WHY = {
    "future": "is in the future",
    "impossible": "does not exist in UTC",
    "implausible": "is before 1990",
}


def _log_note(note: str, item: ArticleItem) -> None:
    """One INFO line for what normalization discarded (``future_published_date``,
    ``truncated_title``...)."""
    problem, _, rest = note.partition("_")
    if problem == "truncated":
        logger.info("%s too long; cut: %s", rest.capitalize(), item.url)
        return
    field = rest.removesuffix("_date")
    if problem == "missing":
        logger.info("No %s date found: %s", field, item.url)
        return
    raw = getattr(item, f"{field}_raw", None)
    why = _WHY.get(problem, problem)
    logger.info("%s date %r %s; left empty: %s", field.capitalize(), raw, why, item.url)


class NormalizePipeline(CrawlerPipeline):
    """Dates (source timezone, no future dates), sanitizing and length caps: see
    :func:`~aggregator.normalize.item.normalize_item`. Text, titles, authors and URLs
    come clean from the extractor and are not cleaned again.

    Dates the page gets wrong never drop an article: a future date, one before 1990, one
    that cannot be stored, or none at all leaves ``published`` empty, and each case is
    counted under ``aggregator/normalized/`` (``future_published_date``,
    ``implausible_published_date``, ``impossible_published_date``,
    ``missing_published_date``) and logged; so are fields cut to their maximum length
    (``truncated_title``...).
    """

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        spider = self.crawler.spider
        src = getattr(spider, "source", None)
        result = normalize_item(
            item,
            tz=src.timezone if src else None,
            site_names=src.site_names if src else (),
        )
        out = result.item
        notes = list(result.notes)
        if out.published is None and not any(n.endswith("_published_date") for n in notes):
            notes.append("missing_published_date")
        for note in notes:
            self.count(f"normalized/{note}")
            _log_note(note, out)
        since, until = getattr(spider, "since", None), getattr(spider, "until", None)
        if out.published is not None and (
            (since and out.published < since) or (until and out.published > until)
        ):
            raise self.drop("outside_window", out, out.published.isoformat())
        return out
