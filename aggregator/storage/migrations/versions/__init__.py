"""Schema revisions, oldest first: 0001 first schema, 0002 fetch_state, 0003 PostgreSQL
full-text index. Alembic reads these files itself (it skips this one)."""
