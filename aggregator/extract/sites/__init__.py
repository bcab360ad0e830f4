"""Per-site extractors: each module registers its class for its domains on import."""

from aggregator.extract.sites import valnet

__all__ = ["valnet"]
