"""Per-site extractors: each module registers its class for its domains on import."""

from aggregator.extract.sites import culture, games, pmc, valnet

__all__ = ["culture", "games", "pmc", "valnet"]
