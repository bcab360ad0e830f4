"""Benchmarks: extraction quality and speed against the development corpora.

``python benchmarks/extraction.py`` runs the benchmark; ``benchmarks.scoring`` holds the
metric code shared with the regression gate in ``tests/test_extraction_gate.py``.
"""
