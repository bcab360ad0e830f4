"""Per-site extractors: each overrides only what differs from the generic rules, and is
bound to its outlets by the source registry's ``extractor`` key (``sources.toml``)."""
