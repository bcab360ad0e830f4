"""Item pipelines: validate -> normalize -> dedup -> store. Thin: the work is in ``aggregator``.

``pipelines/`` installs as ``aggregator.pipelines`` (see pyproject.toml)."""
