"""Benchmarks: extraction quality and speed, crawl throughput, aggregation, hostile input,
distributed crawling.

Each module runs from the project root as ``python -m benchmarks.<name>`` (``extraction``,
``crawl``, ``aggregation``, ``hostile``, ``hostile_sitemap``, ``fleet``, ...); subprocesses
they start run the same way. Nothing here is imported by the library or the tests: the
corpus scoring the extraction benchmark shares with the regression gate
(``tests/test_extraction_gate.py``) is :mod:`aggregator.scoring`, and the synthetic site
the crawl and fleet benchmarks share with the crash-safety tests is
:mod:`aggregator.sitegen`.
"""
