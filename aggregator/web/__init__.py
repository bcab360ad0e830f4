"""The web front end: ``aggregator serve``'s read-only application (pages, feeds, API),
made by :func:`aggregator.web.app.create_app`.

It sits beside the CLI at the top of the layers: it reads through storage and aggregate,
and imports nothing of the CLI.
"""
