"""Pure normalization functions: text, titles, authors, dates, URLs.

Used by the extractor (so ``aggregator extract`` prints clean fields) and by the
normalize pipeline (which adds what only a crawl knows: the source's timezone and
name). Every function is idempotent: applying it twice changes nothing.
"""
