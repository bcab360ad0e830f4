"""Alembic migration scripts for the aggregator's schema (run by ``aggregator.storage.migrate``)."""
