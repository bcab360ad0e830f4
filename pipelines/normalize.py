"""Normalize fields with what only the crawl knows: the source's timezone and names."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from aggregator.items import ArticleItem
from aggregator.normalize.item import normalize_item
from pipelines.base import CrawlerPipeline

logger = logging.getLogger("aggregator.pipelines")
_DATE_FIELDS = ("published", "modified")


def storable(dt: datetime) -> bool:
    """Whether ``dt`` exists in UTC (what storage converts it to): ``0001-01-01T00:00+14:00``
    and ``9999-12-31T23:59-12:00`` are valid datetimes whose UTC instant is not."""
    try:
        dt.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return False
    return True


_WHY = {
    "future": "is in the future",
    "impossible": "does not exist in UTC",
}


def _log_note(note: str, item: ArticleItem) -> None:
    """One INFO line for a date normalization left empty (``future_published_date``...)."""
    problem, field, _ = note.split("_", 2)
    if problem == "missing":
        logger.info("No %s date found: %s", field, item.url)
        return
    raw = getattr(item, f"{field}_raw", None)
    why = _WHY.get(problem, problem)
    logger.info("%s date %r %s; left empty: %s", field.capitalize(), raw, why, item.url)


class NormalizePipeline(CrawlerPipeline):
    """Text, titles, authors, dates (source timezone, no future dates) and URLs.

    Dates the page gets wrong never drop an article: a future date, one that cannot be
    stored, or none at all leaves ``published`` empty, and each case is counted under
    ``aggregator/normalized/`` (``future_published_date``, ``impossible_published_date``,
    ``missing_published_date``) and logged.
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
        for name in _DATE_FIELDS:
            dt: datetime | None = getattr(out, name)
            if dt is not None and not storable(dt):
                setattr(out, name, None)  # the raw text stays, for inspection
                notes.append(f"impossible_{name}_date")
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
