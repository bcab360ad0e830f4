"""Outlet -> extractor: one binding, the source registry's ``extractor`` key.

Every way into extraction (a crawl, ``aggregator extract``, ``extract_article(html, url)``)
resolves the class here, from the registry entry that owns the URL, so they cannot
disagree. A per-site extractor is named in ``sources.toml`` as ``"module:Class"``; an
outlet without one, or a URL no outlet owns, gets :class:`GenericExtractor`.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module

from aggregator.extract.generic import GenericExtractor
from aggregator.sources import Source, SourceError, source_for_url


@cache
def extractor_named(spec: str) -> type[GenericExtractor]:
    """The class that ``"module:Class"`` names; :class:`SourceError` saying what is wrong
    when it cannot be imported or is no extractor."""
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise SourceError(f"extractor {spec!r}: expected 'module:Class'")
    try:
        cls = getattr(import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise SourceError(f"extractor {spec!r} cannot be loaded: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, GenericExtractor)):
        raise SourceError(f"extractor {spec!r} is not a GenericExtractor subclass")
    return cls


def extractor_for_source(source: Source | None) -> type[GenericExtractor]:
    """The extractor the registry binds to ``source`` (generic for none)."""
    if source is None or not source.extractor:
        return GenericExtractor
    return extractor_named(source.extractor)


def extractor_for(url: str) -> type[GenericExtractor]:
    """The extractor of the registered outlet that owns ``url``; generic otherwise."""
    return extractor_for_source(source_for_url(url))
