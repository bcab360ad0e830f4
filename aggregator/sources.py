"""The source registry: outlets are data (``sources.toml``), loaded into :class:`Source`."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from aggregator.normalize.urls import domain_of

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_SOURCES = Path(__file__).with_name("sources.toml")
CATEGORIES = frozenset({"film", "tv", "music", "games", "celebrity", "general"})
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class SourceError(ValueError):
    """The source registry file is missing, unreadable or has an invalid entry."""


@dataclass(frozen=True)
class Source:
    """One outlet: where to discover its articles and how to read them."""

    name: str
    title: str
    domains: tuple[str, ...]
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    listings: tuple[str, ...] = ()
    article_pattern: str = ""
    language: str | None = None
    timezone: str = "UTC"
    category: str = "general"
    extractor: str | None = None
    max_pages: int = 3
    _regex: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    @property
    def site_names(self) -> tuple[str, ...]:
        """Names the outlet goes by (for title suffixes and author filtering)."""
        return (self.title, self.name, *self.domains)

    def is_article(self, url: str) -> bool:
        """True when ``url`` is on the outlet's domains and matches its article pattern."""
        if not self.owns(url):
            return False
        return bool(self._regex.search(url)) if self._regex else True

    def to_dict(self) -> dict[str, Any]:
        """The registry entry as JSON: name, title, category, language, domains and the
        discovery URLs (feeds, sitemaps, listings)."""
        return {
            "name": self.name,
            "title": self.title,
            "category": self.category,
            "language": self.language,
            "domains": list(self.domains),
            "feeds": list(self.feeds),
            "sitemaps": list(self.sitemaps),
            "listings": list(self.listings),
        }

    def owns(self, url: str) -> bool:
        """True when ``url``'s host is one of the outlet's domains or a subdomain of one."""
        host = domain_of(url)
        return any(host == d or host.endswith("." + d) for d in self.domains)


def _source(entry: dict[str, Any], where: str) -> Source:
    try:
        name = entry["name"]
        domains = tuple(d.lower().removeprefix("www.") for d in entry["domains"])
    except (KeyError, TypeError, AttributeError) as exc:
        raise SourceError(f"{where}: every source needs 'name' and 'domains' ({exc})") from exc
    if not isinstance(name, str) or not _NAME.match(name):
        raise SourceError(f"{where}: name {name!r} must be lowercase letters, digits, '_'")
    category = entry.get("category", "general")
    if category not in CATEGORIES:
        raise SourceError(f"{where} ({name}): category {category!r} not in {sorted(CATEGORIES)}")
    pattern = entry.get("article_pattern", "")
    try:
        regex = re.compile(pattern) if pattern else None
    except re.error as exc:
        raise SourceError(f"{where} ({name}): article_pattern is not a valid regex: {exc}") from exc
    tz = entry.get("timezone", "UTC")
    from aggregator.normalize.dates import zone

    if zone(tz) is None:
        raise SourceError(f"{where} ({name}): unknown timezone {tz!r} (use an IANA name)")
    return Source(
        name=name,
        title=entry.get("title", name),
        domains=domains,
        feeds=tuple(entry.get("feeds", ())),
        sitemaps=tuple(entry.get("sitemaps", ())),
        listings=tuple(entry.get("listings", ())),
        article_pattern=pattern,
        language=entry.get("language"),
        timezone=tz,
        category=category,
        extractor=entry.get("extractor"),
        max_pages=int(entry.get("max_pages", 3)),
        _regex=regex,
    )


@cache
def load_sources(path: str | Path | None = None) -> dict[str, Source]:
    """Sources by name from ``path`` (default: ``AGGREGATOR_SOURCES`` or the bundled file)."""
    path = Path(path or os.environ.get("AGGREGATOR_SOURCES") or DEFAULT_SOURCES)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SourceError(f"cannot read source registry {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(f"source registry {path} is not valid TOML: {exc}") from exc
    out: dict[str, Source] = {}
    for i, entry in enumerate(data.get("source", []), 1):
        src = _source(entry, f"{path} [[source]] #{i}")
        if src.name in out:
            raise SourceError(f"{path}: source {src.name!r} is listed twice")
        out[src.name] = src
    return out


def source_categories(path: str | Path | None = None) -> dict[str, str]:
    """Each source's registry category by name (what story categories are voted from)."""
    return {s.name: s.category for s in load_sources(path).values()}


def source_for_url(url: str, path: str | Path | None = None) -> Source | None:
    """The registered source whose domains include ``url``'s host, if any."""
    for src in load_sources(path).values():
        if src.owns(url):
            return src
    return None
