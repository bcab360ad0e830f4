"""Domain -> extractor class. Per-site extractors register themselves here."""

from __future__ import annotations

from collections.abc import Callable

from aggregator.extract.generic import GenericExtractor
from aggregator.normalize.urls import domain_of

_REGISTRY: dict[str, type[GenericExtractor]] = {}


def register(*domains: str) -> Callable[[type[GenericExtractor]], type[GenericExtractor]]:
    """Class decorator: use this extractor for pages on ``domains`` (and their subdomains)."""

    def deco(cls: type[GenericExtractor]) -> type[GenericExtractor]:
        for d in domains:
            _REGISTRY[d.lower().removeprefix("www.")] = cls
        return cls

    return deco


def extractor_for(url: str) -> type[GenericExtractor]:
    """The extractor registered for the URL's domain or a parent domain; generic otherwise."""
    _load_sites()
    host = domain_of(url)
    while host:
        cls = _REGISTRY.get(host)
        if cls is not None:
            return cls
        if "." not in host:
            break
        host = host.split(".", 1)[1]
    return GenericExtractor


def registered() -> dict[str, type[GenericExtractor]]:
    """A copy of the domain -> extractor map."""
    _load_sites()
    return dict(_REGISTRY)


_loaded = False


def _load_sites() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        import aggregator.extract.sites  # noqa: F401  (modules register on import)
