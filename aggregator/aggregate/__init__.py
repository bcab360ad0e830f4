"""Aggregation: the same text across outlets (near-duplicates) and the same event across
articles (stories). Pure functions here; :mod:`aggregator.aggregate.index` keeps them in
the database."""
