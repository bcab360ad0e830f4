"""The ``import_files`` table: which web archive files an import read to their end."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Engine, select

from aggregator.storage.engine import session_factory
from aggregator.storage.models import ImportedFile

DONE = "done"
RUNNING = "running"
FAILED = "failed"


class ImportLedger:
    """Marks files ``running`` when an import opens them and ``done`` (or ``failed``) when
    it leaves them; a file left ``running`` was interrupted and is read again."""

    def __init__(self, engine: Engine) -> None:
        self.sessions = session_factory(engine)

    def done(self, urls: list[str]) -> set[str]:
        """Those of ``urls`` read to their end by an earlier import."""
        out: set[str] = set()
        with self.sessions() as s:
            for start in range(0, len(urls), 500):  # bounded IN lists
                chunk = urls[start : start + 500]
                stmt = select(ImportedFile.url).where(
                    ImportedFile.url.in_(chunk), ImportedFile.status == DONE
                )
                out.update(s.execute(stmt).scalars())
        return out

    def start(self, url: str, run_id: int | None) -> None:
        with self.sessions.begin() as s:
            row = s.get(ImportedFile, url)
            if row is None:
                row = ImportedFile(url=url)
                s.add(row)
            row.status, row.run_id = RUNNING, run_id
            row.started_at, row.finished_at = datetime.now(timezone.utc), None
            row.records = row.articles = 0

    def finish(self, url: str, status: str, records: int, articles: int) -> None:
        with self.sessions.begin() as s:
            row = s.get(ImportedFile, url)
            if row is None:
                return
            row.status, row.records, row.articles = status, records, articles
            row.finished_at = datetime.now(timezone.utc)
