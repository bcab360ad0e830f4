"""Item pipelines: validate -> normalize -> dedup -> store. Thin: the work is in ``aggregator``."""
