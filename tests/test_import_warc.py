"""``aggregator import-warc``: web archives through the crawl's extraction and pipelines.

The archives are written here with warcio's writer from the fixture site's pages (under
the URLs the mirror serves them at); the CC-NEWS tests serve a paths listing and archives
from a local HTTP server. Every command runs as a real subprocess on a real SQLite file.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from aggregator.cli.database import open_engine
from aggregator.crawl.warc import (
    CHUNK,
    MAX_RECORD_BYTES,
    Bad,
    Counted,
    Other,
    Record,
    open_archive,
    read_archive,
)
from aggregator.crawl.warcimport import (
    HOSTS_CACHE,
    REVISIT_CACHE_BYTES,
    Progress,
    WarcImport,
    run_import,
)
from aggregator.mirror import MirrorServer
from aggregator.sources import load_sources
from tests.conftest import BIN, FIXTURES, PROJECT, cli

SITE = FIXTURES / "site"
WARC_DATE = "2024-06-01T12:00:00Z"
# Columns a crawl and an import of the same page may differ in: when it was fetched and
# stored, and the ids the database gave (the order pages came in differs).
VOLATILE = {"id", "fetched_at", "first_seen", "last_seen", "story_id", "duplicate_of"}


def page_file(url: str) -> Path:
    """The fixture file the mirror serves for ``url``."""
    host, _, path = url.split("://", 1)[1].partition("/")
    found = SITE / host / path / "index.html"
    assert found.is_file(), url
    return found


def response(
    writer: WARCWriter,
    url: str,
    body: bytes,
    *,
    ctype: str = "text/html; charset=utf-8",
    status: str = "200 OK",
    date: str = WARC_DATE,
) -> None:
    http = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
    record = writer.create_warc_record(
        url, "response", payload=io.BytesIO(body), http_headers=http,
        warc_headers_dict={"WARC-Date": date},
    )  # fmt: skip
    writer.write_record(record)


def fill(writer: WARCWriter, out: io.BytesIO, page: bytes, size: int) -> int:
    """Records of ``page`` under hosts no source owns, until ``out`` holds ``size``
    bytes; how many."""
    n = 0
    while out.tell() < size:
        response(writer, f"https://filler-{n}.example.net/story/", page)
        n += 1
    return n


def arc_records(url: str) -> list[bytes]:
    """An ARC file's records: its file description, then the fixture page at ``url``."""
    page = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + page_file(url).read_bytes()
    desc = b"1 0 tests\nURL IP-address Archive-date Content-type Archive-length\n"
    return [
        b"filedesc://old.arc 0.0.0.0 20240601120000 text/plain %d\n%s\n" % (len(desc), desc),
        b"%s 127.0.0.1 20240601120000 text/html %d\n%s\n" % (url.encode(), len(page), page),
    ]


def write_warc(
    path: Path, urls: Iterable[str], *, gzipped: bool = True, date: str = WARC_DATE
) -> Path:
    """A WARC of the fixture pages at ``urls`` (plus a warcinfo and a request record)."""
    with path.open("wb") as f:
        writer = WARCWriter(f, gzip=gzipped)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "tests"}))
        for url in urls:
            req = StatusAndHeaders("GET / HTTP/1.1", [("Host", "x")], is_http_request=True)
            writer.write_record(
                writer.create_warc_record(url, "request", payload=io.BytesIO(b""), http_headers=req)
            )
            response(writer, url, page_file(url).read_bytes(), date=date)
    return path


def member(build: Any) -> bytes:
    """One gzipped record, as ``build(writer)`` writes it."""
    buf = io.BytesIO()
    build(WARCWriter(buf, gzip=True))
    return buf.getvalue()


def articles(db: Path) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("select * from articles").fetchall()
    # A Row iterates its values: its column names are keys().
    return {
        r["canonical_url"]: {k: r[k] for k in r.keys() if k not in VOLATILE}  # noqa: SIM118
        for r in rows
    }


def runs(db: Path) -> list[dict[str, Any]]:
    out = cli("runs", "--db", str(db), "--json", check=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def import_warc(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return cli("import-warc", *args, check=check)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four outlets of the fixture site crawled into a database (the reference)."""
    db = tmp_path_factory.mktemp("crawl") / "crawl.db"
    with MirrorServer(SITE) as mirror:
        cli("crawl", "dualshockers", "deadline", "variety", "ew", "--db", str(db), "--quiet",
            "--set", f"AGGREGATOR_HOST_MAP={mirror.host_map()}",
            "--set", "AUTOTHROTTLE_ENABLED=False", "--set", "DOWNLOAD_DELAY=0",
            check=True)  # fmt: skip
    return db


def crawled_urls(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return sorted(u for (u,) in conn.execute("select url from articles"))


# -- same articles as a crawl ---------------------------------------------------------------


def test_import_stores_what_a_crawl_stores(crawled: Path, tmp_path: Path) -> None:
    urls = crawled_urls(crawled)
    assert len(urls) >= 9
    # The archive also holds pages a crawl would not store: a listing page, another
    # host's page.
    extra = ["https://www.dualshockers.com/news/", "https://www.ign.com/news/"]
    warc = write_warc(tmp_path / "a.warc.gz", [*urls, *extra[:1]])
    db = tmp_path / "import.db"
    proc = import_warc(str(warc), "--db", str(db))
    assert articles(db) == articles(crawled)
    assert "a.warc.gz" in proc.stdout  # the per-file results table
    (run,) = runs(db)
    assert run["source"] == "import-warc" and run["status"] == "finished"
    assert run["new"] == len(urls) and run["pages"] == len(urls)
    (figures,) = run["details"]["files"]
    assert figures["file"] == str(warc) and figures["status"] == "done"
    assert figures["new"] == len(urls) and figures["reasons"] == {"dropped/not_article": 1}
    # Fetched when the archive says, and indexed into stories like a crawl's articles.
    with sqlite3.connect(db) as conn:
        fetched = {f for (f,) in conn.execute("select fetched_at from articles")}
        unindexed = conn.execute("select count(*) from articles where story_id is null")
        assert fetched == {"2024-06-01T12:00:00.000000Z"} and unindexed.fetchone() == (0,)


def test_duplicates_across_files_are_stored_once(crawled: Path, tmp_path: Path) -> None:
    urls = crawled_urls(crawled)
    one = write_warc(tmp_path / "one.warc.gz", urls[:5])
    two = write_warc(tmp_path / "two.warc", urls[3:], gzipped=False)
    db = tmp_path / "import.db"
    import_warc(str(one), str(two), "--db", str(db))
    with sqlite3.connect(db) as conn:
        counts = conn.execute("select count(*), count(distinct canonical_url) from articles")
        assert counts.fetchone() == (len(urls), len(urls))
    (run,) = runs(db)
    files = run["details"]["files"]
    assert [f["new"] for f in files] == [5, len(urls) - 5]
    assert files[1]["reasons"] == {"dropped/duplicate_url": 2}
    # The same file again, in a run of its own: nothing stored twice.
    import_warc(str(one), "--db", str(db))
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from articles").fetchone() == (len(urls),)
    again = runs(db)[0]
    assert again["new"] == 0 and again["updated"] == 5


def test_relative_dates_resolve_against_the_warc_date(tmp_path: Path) -> None:
    body = (
        "<html><head><title>Band announces a reunion tour</title></head><body><article>"
        "<h1>Band announces a reunion tour</h1><time>2 hours ago</time>"
        + "<p>The band will play forty cities across the country next spring and summer.</p>" * 6
        + "</article></body></html>"
    ).encode()
    warc = tmp_path / "r.warc.gz"
    with warc.open("wb") as f:
        response(WARCWriter(f, gzip=True), "https://www.dualshockers.com/reunion-tour/", body,
                 date="2024-06-01T12:00:00Z")  # fmt: skip
    db = tmp_path / "r.db"
    import_warc(str(warc), "--db", str(db))
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select published, fetched_at from articles").fetchall()
    assert rows == [("2024-06-01T10:00:00.000000Z", "2024-06-01T12:00:00.000000Z")]


def test_first_seen_is_the_capture_time(tmp_path: Path) -> None:
    """A backfill's articles were first seen when the archive fetched them: a year-old
    page is not today's news in feeds, stories or the sources' activity."""
    body = (
        "<html><head><title>Director joins the sequel</title></head><body><article>"
        "<h1>Director joins the sequel</h1>"
        + "<p>The studio confirmed the director will return for the second film next year.</p>" * 6
        + "</article></body></html>"
    ).encode()  # no date on the page: its story's time is when it was first seen
    url = "https://www.dualshockers.com/director-sequel/"

    def capture(name: str, date: str) -> Path:
        warc = tmp_path / name
        with warc.open("wb") as f:
            response(WARCWriter(f, gzip=True), url, body, date=date)
        return warc

    db = tmp_path / "s.db"
    import_warc(str(capture("march.warc.gz", "2024-03-10T08:00:00Z")), "--db", str(db))
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select published, first_seen, last_seen from articles").fetchall()
        stories = conn.execute("select first_seen, updated from stories").fetchall()
    ((published, first_seen, last_seen),) = rows
    assert published is None and first_seen == "2024-03-10T08:00:00.000000Z"
    assert last_seen > "2025"  # when the aggregator stored it: this import
    assert stories == [("2024-03-10T08:00:00.000000Z", "2024-03-10T08:00:00.000000Z")]
    # A later capture updates the article; it was still first seen in March.
    import_warc(str(capture("may.warc.gz", "2024-05-01T08:00:00Z")), "--db", str(db))
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select first_seen, fetched_at from articles").fetchall()
    assert rows == [("2024-03-10T08:00:00.000000Z", "2024-05-01T08:00:00.000000Z")]


def off_registry_warc(crawled: Path, path: Path) -> Path:
    """A fixture page under a host no bundled outlet owns, then a dualshockers page."""
    other, url = crawled_urls(crawled)[-2:]  # dualshockers pages
    with path.open("wb") as f:
        writer = WARCWriter(f, gzip=True)
        response(writer, "https://news.example.org/a-story/", page_file(other).read_bytes())
        response(writer, url, page_file(url).read_bytes())
    return path


def test_other_hosts_are_counted_or_stored_under_their_host(crawled: Path, tmp_path: Path) -> None:
    warc = off_registry_warc(crawled, tmp_path / "o.warc.gz")
    db = tmp_path / "o.db"
    import_warc(str(warc), "--source", "deadline", "--db", str(db))
    assert articles(db) == {}
    (run,) = runs(db)  # nothing of the registry in it: not a failure
    assert run["status"] == "finished" and run["details"]["dropped"] == {"off_registry": 2}
    import_warc(str(warc), "--any-domain", "--db", str(db))
    sources = {r["source"] for r in articles(db).values()}
    assert sources == {"news.example.org", "dualshockers"}


def test_revisits_follow_their_original_within_the_import(crawled: Path, tmp_path: Path) -> None:
    url = crawled_urls(crawled)[0]
    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
    original = tmp_path / "original.warc.gz"
    with original.open("wb") as f:
        writer = WARCWriter(f, gzip=True)
        record = writer.create_warc_record(
            url, "response", payload=io.BytesIO(page_file(url).read_bytes()),
            http_headers=http, warc_headers_dict={"WARC-Date": WARC_DATE},
        )  # fmt: skip
        writer.write_record(record)
        digest = record.rec_headers.get_header("WARC-Payload-Digest")
    revisit = tmp_path / "revisit.warc.gz"
    with revisit.open("wb") as f:
        writer = WARCWriter(f, gzip=True)
        writer.write_record(
            writer.create_revisit_record(
                url, digest, url, WARC_DATE, http_headers=http,
                warc_headers_dict={"WARC-Date": "2024-06-02T12:00:00Z"},
            )
        )  # fmt: skip
    db = tmp_path / "v.db"
    import_warc(str(original), str(revisit), "--db", str(db))
    files = runs(db)[0]["details"]["files"]
    # Its page went through the pipelines again (the same article: a repeat in this run).
    assert files[1]["pages"] == 1 and files[1]["reasons"] == {"dropped/duplicate_url": 1}
    # Alone, a revisit has nothing to point back to: counted, nothing stored.
    import_warc(str(revisit), "--db", str(tmp_path / "alone.db"))
    alone = runs(tmp_path / "alone.db")[0]["details"]["files"][0]
    assert alone["reasons"] == {"dropped/revisit_unresolved": 1} and alone["new"] == 0


def test_what_an_import_remembers_is_bounded(tmp_path: Path) -> None:
    """Hosts mapped to sources and payloads kept for revisits stay within their bounds
    however many an archive holds (memory flat from a 100 MB to a 1 GB archive)."""
    imp = WarcImport(load_sources(), overrides={"AGGREGATOR_DB_URL": "none"})
    for n in range(2 * HOSTS_CACHE + 1):
        assert imp.source_for(f"https://host-{n}.example.net/a-story/") is None
    assert 0 < len(imp.hosts) <= HOSTS_CACHE
    body = max((p.read_bytes() for p in SITE.rglob("index.html")), key=len)  # an article
    n = 0
    while n * len(body) < 3 * REVISIT_CACHE_BYTES:
        record = Record("response", f"https://x.example/{n}/", None, 200, "text/html",
                        body + str(n).encode(), digest=f"sha1:{n}")  # fmt: skip
        imp._remember(record)
        n += 1
    kept = sum(len(b) for b, _ in imp.revisits.values())
    assert kept == imp.revisit_bytes <= REVISIT_CACHE_BYTES
    assert len(imp.revisits) * len(body) > REVISIT_CACHE_BYTES  # compressed: more fit
    assert imp._original(record) == (record.body, "text/html")


def test_until_keeps_articles_published_in_the_window(crawled: Path, tmp_path: Path) -> None:
    urls = crawled_urls(crawled)
    warc = write_warc(tmp_path / "w.warc.gz", urls)
    db = tmp_path / "w.db"
    import_warc(str(warc), "--until", "2000-01-01", "--db", str(db))
    assert articles(db) == {}
    assert runs(db)[0]["details"]["dropped"] == {"outside_window": len(urls)}


def test_since_keeps_articles_published_in_the_window(crawled: Path, tmp_path: Path) -> None:
    with sqlite3.connect(crawled) as conn:
        rows = conn.execute("select url, canonical_url, published from articles").fetchall()
    dated = sorted(p for _, _, p in rows if p)
    since = dated[len(dated) // 2]  # half the dated articles were published before it
    kept = {c for _, c, p in rows if p is None or p >= since}
    assert 0 < len(kept) < len(rows)
    last = datetime.fromisoformat(dated[-1].replace("Z", "+00:00"))
    captured = (last + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")  # after them all
    warc = write_warc(tmp_path / "s.warc.gz", [u for u, _, _ in rows], date=captured)
    db = tmp_path / "s.db"
    import_warc(str(warc), "--since", since, "--db", str(db))
    assert articles(db) == {c: a for c, a in articles(crawled).items() if c in kept}
    assert runs(db)[0]["details"]["dropped"] == {"outside_window": len(rows) - len(kept)}
    # Captured before the window opens: nothing in it can have been published in it, and
    # nothing is extracted (undated pages included).
    early = write_warc(tmp_path / "e.warc.gz", [u for u, _, _ in rows], date="2001-01-01T00:00:00Z")
    import_warc(str(early), "--since", since, "--db", str(tmp_path / "e.db"))
    assert articles(tmp_path / "e.db") == {}
    assert runs(tmp_path / "e.db")[0]["details"]["dropped"] == {"outside_window": len(rows)}


def test_another_registry_with_sources(crawled: Path, tmp_path: Path) -> None:
    """--sources FILE maps URLs to that registry's outlets (and only those)."""
    registry = tmp_path / "sources.toml"
    registry.write_text(
        '[[source]]\nname = "archive_news"\ntitle = "Archive News"\n'
        'domains = ["news.example.org"]\n'
        "article_pattern = '^https://news\\.example\\.org/[a-z-]+/$'\n"
        'language = "en"\ntimezone = "UTC"\ncategory = "tv"\n',
        encoding="utf-8",
    )
    warc = off_registry_warc(crawled, tmp_path / "r.warc.gz")
    db = tmp_path / "r.db"
    import_warc(str(warc), "--sources", str(registry), "--source", "archive_news", "--db", str(db))
    assert {a["source"] for a in articles(db).values()} == {"archive_news"}
    assert runs(db)[0]["details"]["dropped"] == {"off_registry": 1}  # dualshockers: not in it
    unknown = import_warc(str(warc), "--sources", str(registry), "--source", "dualshockers",
                          "--db", str(db), check=False)  # fmt: skip
    assert unknown.returncode == 2 and "unknown source: dualshockers" in unknown.stderr


# -- bad input ------------------------------------------------------------------------------


def test_bad_records_are_counted_and_skipped(crawled: Path, tmp_path: Path) -> None:
    urls = crawled_urls(crawled)
    good = [member(lambda w, u=u: response(w, u, page_file(u).read_bytes())) for u in urls[:3]]
    corrupt = good[0][:40] + b"\x00" * 20 + good[0][60:]  # inside the deflate stream
    pdf = member(lambda w: response(w, urls[3], b"%PDF-1.4 " * 100, ctype="application/pdf"))
    giant = member(lambda w: response(w, urls[4], b"<p>x</p>" * (MAX_RECORD_BYTES // 8 + 10)))
    # A record whose Content-Length claims 10 bytes more than it has.
    plain = io.BytesIO()
    response(WARCWriter(plain, gzip=False), urls[5], page_file(urls[5]).read_bytes())
    text = plain.getvalue()
    head, _, rest = text.partition(b"\r\n\r\n")
    length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
    head = head.replace(
        f"Content-Length: {length}".encode(), f"Content-Length: {length + 10}".encode()
    )
    wrong_length = gzip.compress(head + b"\r\n\r\n" + rest)
    not_found = member(lambda w: response(w, urls[6], b"gone", status="404 Not Found"))
    truncated = member(lambda w: response(w, urls[7], page_file(urls[7]).read_bytes()))
    warc = tmp_path / "bad.warc.gz"
    warc.write_bytes(
        good[0] + corrupt + pdf + good[1] + giant + wrong_length + not_found + good[2]
        + truncated[: len(truncated) // 2]
    )  # fmt: skip
    db = tmp_path / "bad.db"
    import_warc(str(warc), "--db", str(db))
    assert set(articles(db)) == set(urls[:3])  # every good record, nothing half-stored
    (run,) = runs(db)
    reasons = run["details"]["files"][0]["reasons"]
    assert reasons == {
        "errors/corrupt_gzip": 1,
        "errors/bad_length": 1,
        "errors/truncated": 1,
        "dropped/not_html": 1,
        "dropped/too_large": 1,
        "dropped/not_200": 1,
    }


def test_uncompressed_warc_recovers_after_a_wrong_length(crawled: Path, tmp_path: Path) -> None:
    urls = crawled_urls(crawled)[:3]
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=False)
    for u in urls:
        response(writer, u, page_file(u).read_bytes())
    data = buf.getvalue()
    # The first record says it is 200 bytes shorter than it is: it runs short, and the
    # reader finds the second one at its header line.
    first = data.index(b"Content-Length: ", data.index(b"WARC-Type: response"))
    end = data.index(b"\r\n", first)
    length = int(data[first + 16 : end])
    data = data[: first + 16] + str(length - 200).encode() + data[end:]
    warc = tmp_path / "plain.warc"
    warc.write_bytes(data)
    db = tmp_path / "p.db"
    import_warc(str(warc), "--db", str(db))
    assert set(articles(db)) == set(urls[1:])
    assert runs(db)[0]["details"]["files"][0]["reasons"] == {"errors/bad_length": 1}


def test_a_warc_gzipped_as_one_stream(crawled: Path, tmp_path: Path) -> None:
    urls = crawled_urls(crawled)
    plain = io.BytesIO()
    writer = WARCWriter(plain, gzip=False)
    # More than one record may be: read as it inflates.
    fill(writer, plain, page_file(urls[0]).read_bytes(), MAX_RECORD_BYTES)
    for url in urls:
        response(writer, url, page_file(url).read_bytes())
    whole = tmp_path / "whole.warc.gz"
    whole.write_bytes(gzip.compress(plain.getvalue(), compresslevel=1))
    db = tmp_path / "g.db"
    import_warc(str(whole), "--db", str(db))
    assert articles(db) == articles(crawled)


def test_empty_and_missing_files_and_arc(crawled: Path, tmp_path: Path) -> None:
    url = crawled_urls(crawled)[0]
    empty = tmp_path / "empty.warc.gz"
    empty.write_bytes(b"")
    arc = tmp_path / "old.arc"
    arc.write_bytes(b"".join(arc_records(url)))
    db = tmp_path / "e.db"
    proc = import_warc(str(empty), str(arc), str(tmp_path / "missing.warc"), "--db", str(db),
                       check=False)  # fmt: skip
    assert proc.returncode == 1 and "missing.warc: not read" in proc.stderr
    assert set(articles(db)) == {url}
    files = runs(db)[0]["details"]["files"]
    assert [f["status"] for f in files] == ["done", "done", "failed"]
    assert files[0]["reasons"] == {"errors/empty_file": 1} and files[1]["new"] == 1
    # An import that could read none of its files failed.
    import_warc(str(tmp_path / "missing.warc"), "--db", str(db), check=False)
    assert runs(db)[0]["status"] == "failed"


class Trickle:
    """A stream that gives at most ``size`` bytes a read (a slow download's pieces)."""

    def __init__(self, data: bytes, size: int) -> None:
        self.data = io.BytesIO(data)
        self.size = size

    def read(self, n: int = -1, /) -> bytes:
        return self.data.read(min(self.size, n) if n > 0 else self.size)


def summary(items: Iterable[Record | Bad | Other]) -> list[tuple[str, str, int]]:
    return [
        (i.kind, i.url, len(i.body)) if isinstance(i, Record)
        else (i.reason, i.url, 0) if isinstance(i, Bad)
        else (i.kind, "", 0)
        for i in items
    ]  # fmt: skip


def test_a_gzip_member_split_across_reads_is_read_whole(crawled: Path) -> None:
    """Reads that end a few bytes into a gzip member (a download's pieces) cost nothing:
    the member is read whole, not reported as bytes outside any member."""
    urls = crawled_urls(crawled)
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True)
    # Past the first read, which takes a whole CHUNK.
    n = fill(writer, buf, page_file(urls[0]).read_bytes(), 3 * CHUNK)
    for url in urls[:3]:
        response(writer, url, page_file(url).read_bytes())
    data = buf.getvalue()
    whole = summary(read_archive(io.BytesIO(data)))
    assert len(whole) == n + 3 and all(kind == "response" for kind, _, _ in whole)
    assert summary(read_archive(Trickle(data, 7))) == whole


def test_records_not_wanted_are_skipped_unparsed_and_still_checked(crawled: Path) -> None:
    """Pages ``want`` refuses (other hosts: most of a CC-NEWS file) come out as their kind
    and URL without warcio parsing them, and their length is checked all the same."""
    url = crawled_urls(crawled)[0]
    page = page_file(url).read_bytes()
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=False)
    writer.write_record(writer.create_warcinfo_record("w.warc", {"software": "tests"}))
    response(writer, "https://other.example.net/a/", page)
    response(writer, "https://other.example.net/b/", page)
    response(writer, url, page)
    data = buf.getvalue()
    # The third record claims 100 bytes fewer than it has.
    at = data.index(b"Content-Length: ", data.index(b"https://other.example.net/b/"))
    end = data.index(b"\r\n", at)
    data = data[: at + 16] + str(int(data[at + 16 : end]) - 100).encode() + data[end:]
    items = list(read_archive(io.BytesIO(data), want=lambda u: "other.example" not in u))
    assert summary(items) == [
        ("warcinfo", "", 0),
        ("response", "https://other.example.net/a/", 0),
        ("errors/bad_length", "https://other.example.net/b/", 0),
        ("response", url, len(page)),
    ]
    skipped, last = items[1], items[3]
    assert isinstance(skipped, Record) and (skipped.status, skipped.date) == (0, None)
    assert isinstance(last, Record) and last.status == 200 and last.body == page
    parsed = list(read_archive(io.BytesIO(data)))  # without want: every record parsed
    assert summary(parsed)[1] == ("response", "https://other.example.net/a/", len(page))
    assert summary(parsed)[2:] == summary(items)[2:]


def test_records_before_the_damage_in_a_gzip_stream_are_read(crawled: Path) -> None:
    """A file gzipped as one stream (one member) that is damaged halfway: the records
    inflated before the damage are read, then the damage is reported."""
    urls = crawled_urls(crawled)
    plain = io.BytesIO()
    writer = WARCWriter(plain, gzip=False)
    for url in urls:
        response(writer, url, page_file(url).read_bytes())
    packed = gzip.compress(plain.getvalue(), compresslevel=1)
    half = len(packed) // 2
    damaged = packed[:half] + bytes(64) + packed[half + 64 :]
    for data, reason in ((damaged, "errors/corrupt_gzip"), (packed[:half], "errors/truncated")):
        items = summary(read_archive(io.BytesIO(data)))
        assert items[-1][0] == reason
        read = [u for kind, u, _ in items[:-1] if kind == "response"]
        assert 0 < len(read) < len(urls) and read == urls[: len(read)]


def test_hosts_map_to_the_source_a_registry_scan_finds() -> None:
    """The domain index answers what trying each source in registry order answers."""
    registry = load_sources()
    imp = WarcImport(registry, overrides={"AGGREGATOR_DB_URL": "none"})
    hosts = ["example.net", "", "localhost", "net", "x.y.example.org"]
    for src in registry.values():
        for d in src.domains:
            hosts += [d, f"www.{d}", f"news.{d}", f"a.b.{d}", f"not{d}", f"{d}.evil.net",
                      d.upper(), f"{d}."]  # fmt: skip
    for host in hosts:
        url = f"https://{host}/2024/06/a-story/"
        expected = next((s for s in registry.values() if s.owns(url)), None)
        imp.hosts.clear()  # the index answers, not what an earlier lookup kept
        assert imp.source_for(url) is expected, url


def test_a_gzipped_arc_file(crawled: Path, tmp_path: Path) -> None:
    """An .arc.gz (each ARC record a gzip member, as the Internet Archive wrote them)."""
    url = crawled_urls(crawled)[0]
    arc = tmp_path / "old.arc.gz"
    arc.write_bytes(b"".join(gzip.compress(r) for r in arc_records(url)))
    db = tmp_path / "a.db"
    import_warc(str(arc), "--db", str(db))
    assert articles(db) == {k: v for k, v in articles(crawled).items() if k == url}
    with sqlite3.connect(db) as conn:
        assert conn.execute("select fetched_at from articles").fetchall() == [
            ("2024-06-01T12:00:00.000000Z",)
        ]


def test_usage_errors(tmp_path: Path) -> None:
    assert import_warc("--db", str(tmp_path / "x.db"), check=False).returncode == 2
    bad = import_warc("--cc-news", "2024-6", "--db", str(tmp_path / "x.db"), check=False)
    assert bad.returncode == 2 and "YYYY-MM" in bad.stderr


# -- progress ---------------------------------------------------------------------------------


def test_progress_line_and_one_log_line_per_file(crawled: Path, tmp_path: Path) -> None:
    out = io.StringIO()
    progress = Progress(4, out=out, interval=0)
    progress.started -= 10  # 10 s in, half of the second file read
    progress.update(1, 1200, 30, 0.5)
    line = out.getvalue()
    assert "file 2/4" in line and "1200 records" in line and "3.0 articles/s" in line
    assert "ETA 0m17s" in line  # 1.5 files in 10 s: 2.5 more in 16.7 s
    urls = crawled_urls(crawled)
    a, b = (
        write_warc(tmp_path / "a.warc.gz", urls[:2]),
        write_warc(tmp_path / "b.warc.gz", urls[2:4]),
    )
    log = tmp_path / "import.log"
    import_warc(str(a), str(b), "--db", str(tmp_path / "l.db"), "--log-file", str(log))
    lines = [x for x in log.read_text().splitlines() if ".warc.gz: done" in x]
    assert len(lines) == 2 and "2 new" in lines[0], lines


def test_progress_line_on_a_terminal(crawled: Path, tmp_path: Path) -> None:
    import pty

    warc = write_warc(tmp_path / "t.warc.gz", crawled_urls(crawled)[:2])
    master, slave = pty.openpty()
    cmd = [str(BIN / "aggregator"), "import-warc", str(warc), "--db", str(tmp_path / "t.db")]
    # Read once it is done: its few lines fit in the terminal's buffer.
    subprocess.run(cmd, cwd=PROJECT, stdout=subprocess.PIPE, stderr=slave, timeout=120, check=True)
    os.close(slave)
    seen = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the terminal's other end is closed: all read
            break
        if not data:
            break
        seen += data
    os.close(master)
    assert b"import: file 1/1" in seen and b"articles/s" in seen, seen
    # Not on a pipe (a log, cron): the quiet default.
    piped = import_warc(str(warc), "--db", str(tmp_path / "p.db"))
    assert "import: file" not in piped.stderr


# -- Ctrl-C -----------------------------------------------------------------------------------


def test_a_ctrl_c_lost_in_a_finalizer_still_stops_the_import(crawled: Path, tmp_path: Path) -> None:
    """Python swallows a KeyboardInterrupt raised inside a ``__del__`` or a weakref
    callback ("Exception ignored in ..."; SQLAlchemy runs some during garbage collection):
    the import stops at its next record all the same, and says it was interrupted."""
    urls = crawled_urls(crawled)
    files = [str(write_warc(tmp_path / f"{i}.warc.gz", urls[3 * i : 3 * i + 3])) for i in (0, 1)]
    url = f"sqlite:///{tmp_path / 'c.db'}"
    open_engine(url, write=True).dispose()
    imp = WarcImport(load_sources(), overrides={"AGGREGATOR_DB_URL": url, "LOG_LEVEL": "WARNING"})
    imp.open()

    class Finalizer:
        def __del__(self) -> None:
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
            time.sleep(0.05)  # the handler runs here: its KeyboardInterrupt is swallowed

    class CtrlCAtTheSecondRecord(Progress):
        def update(self, files_done: int, records: int, articles: int, fraction: float) -> None:
            if records == 2:
                Finalizer()  # dropped at once: its __del__ runs

    swallowed: list[type[BaseException] | None] = []
    hook = sys.unraisablehook
    sys.unraisablehook = lambda u: swallowed.append(u.exc_type)
    # As in a terminal (a test runner's worker may ignore SIGINT).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        result = run_import(files, imp, progress=CtrlCAtTheSecondRecord(2, out=io.StringIO()))
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = hook
    assert swallowed == [KeyboardInterrupt]  # lost where it was raised
    assert result.interrupted and result.figures.status == "shutdown"
    assert [(f.status, f.records) for f in result.files] == [("interrupted", 2)]


# -- CC-NEWS ----------------------------------------------------------------------------------


# How long the server holds a stalled download back, and a Ctrl-C'd import may take to
# stop: a stop takes under 2 s, 15 s with 3% of a core, more on a machine loaded still
# more (the test once timed out at 30 s under a load of 10 on 2 cores).
STALL_S = 120


def stopped(proc: subprocess.Popen[bytes]) -> int:
    """``proc``'s exit status once it stops; if it does not within ``STALL_S - 5`` s, its
    threads' stacks (faulthandler, on SIGABRT) in the failure."""
    try:
        return proc.wait(STALL_S - 5)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        _, err = proc.communicate(timeout=30)
        raise AssertionError(
            f"still running after SIGINT:\n{err.decode(errors='replace')}"
        ) from None


class CCNews(ThreadingHTTPServer):
    """Serves ``/crawl-data/CC-NEWS/2024/06/warc.paths.gz`` and the archives it lists."""

    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__(("127.0.0.1", 0), _CCHandler)
        self.files = files
        self.requests: list[str] = []
        self.stall: str | None = None  # this file is half sent, then the server waits
        self.cut: str | None = None  # this file is half sent, then the connection closes
        self.stalled = threading.Event()
        self.release = threading.Event()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _CCHandler(BaseHTTPRequestHandler):
    server: CCNews

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        if self.path == "/crawl-data/CC-NEWS/2024/06/warc.paths.gz":
            # Newest first: the import orders the files itself.
            names = sorted(self.server.files, reverse=True)
            listing = "\n".join(f"crawl-data/CC-NEWS/2024/06/{n}" for n in names)
            body = gzip.compress(listing.encode())
        else:
            name = self.path.rsplit("/", 1)[1]
            if name not in self.server.files:
                self.send_error(404)
                return
            body = self.server.files[name]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.server.cut and self.path.endswith(self.server.cut):
            self.server.cut = None
            self.wfile.write(body[: len(body) // 2])  # and the connection closes
            return
        if self.server.stall and self.path.endswith(self.server.stall):
            self.server.stall = None
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.server.stalled.set()
            self.server.release.wait(STALL_S)
            return
        self.wfile.write(body)


@pytest.fixture
def cc_news(crawled: Path, tmp_path: Path) -> Iterator[CCNews]:
    urls = crawled_urls(crawled)
    files = {}
    for i, chunk in enumerate((urls[:3], urls[3:6], urls[6:])):
        name = f"CC-NEWS-2024060{i + 1}000000-0000{i}.warc.gz"
        files[name] = write_warc(tmp_path / name, chunk).read_bytes()
    server = CCNews(files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def test_cc_news_month_is_imported_and_resumes_after_an_interruption(
    cc_news: CCNews, crawled: Path, tmp_path: Path
) -> None:
    db = tmp_path / "cc.db"
    names = sorted(cc_news.files)
    cc_news.stall = names[1]
    cmd = [str(BIN / "aggregator"), "import-warc", "--cc-news", "2024-06",
           "--cc-news-base", cc_news.base, "--db", str(db)]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONFAULTHANDLER": "1"})  # fmt: skip
    assert cc_news.stalled.wait(STALL_S)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)  # Ctrl-C in the middle of the second file
    assert stopped(proc) == 130
    cc_news.release.set()
    first = runs(db)[0]
    assert first["status"] == "shutdown" and first["new"] == 3
    assert [f["status"] for f in first["details"]["files"]] == ["done", "interrupted"]
    with sqlite3.connect(db) as conn:
        state = dict(conn.execute("select url, status from import_files"))
    listed = [f"{cc_news.base}/crawl-data/CC-NEWS/2024/06/{n}" for n in names]
    assert [state[u] for u in listed[:2]] == ["done", "running"]
    # Again: the first file is not fetched again; the second is read from its start.
    cc_news.requests.clear()
    subprocess.run(cmd, cwd=PROJECT, check=True, capture_output=True, timeout=120)
    assert not any(r.endswith(names[0]) for r in cc_news.requests)
    assert articles(db) == articles(crawled)
    files = runs(db)[0]["details"]["files"]
    assert [f["file"] for f in files] == listed  # oldest first
    assert [f["status"] for f in files] == ["skipped", "done", "done"]
    # A file imported twice stores nothing twice (named by its URL, it is read again).
    again = import_warc(f"{cc_news.base}/crawl-data/CC-NEWS/2024/06/{names[0]}", "--db", str(db))
    assert again.returncode == 0 and runs(db)[0]["new"] == 0
    assert len(articles(db)) == len(crawled_urls(crawled))


def test_a_download_cut_short_is_failed_and_read_again(
    cc_news: CCNews, crawled: Path, tmp_path: Path
) -> None:
    db = tmp_path / "cut.db"
    names = sorted(cc_news.files)
    cc_news.cut = names[2]
    args = ["--cc-news", "2024-06", "--cc-news-base", cc_news.base, "--db", str(db)]
    first = import_warc(*args, check=False)
    assert first.returncode == 1 and f"{names[2]}: not read" in first.stderr
    assert [f["status"] for f in runs(db)[0]["details"]["files"]] == ["done", "done", "failed"]
    import_warc(*args)
    assert [f["status"] for f in runs(db)[0]["details"]["files"]] == ["skipped", "skipped", "done"]
    assert articles(db) == articles(crawled)


class _Halves(BaseHTTPRequestHandler):
    """Sends the first part of an archive, then waits for ``release`` to send the rest."""

    first: bytes = b""
    rest: bytes = b""
    release = threading.Event()
    sent_all = threading.Event()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.first) + len(self.rest)))
        self.end_headers()
        self.wfile.write(self.first)
        self.wfile.flush()
        self.release.wait(30)
        self.wfile.write(self.rest)
        self.sent_all.set()


def test_a_url_is_read_as_it_downloads(crawled: Path) -> None:
    """Records of a URL's archive come out while the rest is still being sent: it is
    never downloaded whole first (a CC-NEWS file is about 1 GB)."""
    urls = crawled_urls(crawled)
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=False)
    for url in urls[:3]:
        response(writer, url, page_file(url).read_bytes())
    # More than the reader's buffer takes in one read.
    fill(writer, buf, page_file(urls[0]).read_bytes(), 4 * CHUNK)
    first = buf.getvalue()
    rest = io.BytesIO()
    response(WARCWriter(rest, gzip=False), urls[3], page_file(urls[3]).read_bytes())

    class Handler(_Halves):
        pass

    Handler.first, Handler.rest = first, rest.getvalue()
    Handler.release, Handler.sent_all = threading.Event(), threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        raw, size = open_archive(f"http://127.0.0.1:{server.server_address[1]}/a.warc", "tests")
        assert size == len(first) + len(Handler.rest)
        items = read_archive(Counted(raw))
        early = [next(items) for _ in range(3)]
        assert not Handler.sent_all.is_set()  # the server is still holding the rest back
        assert [r.url for r in early if isinstance(r, Record)] == urls[:3]
        Handler.release.set()
        last = list(items)[-1]
        assert isinstance(last, Record) and last.url == urls[3]
        raw.close()
    finally:
        Handler.release.set()
        server.shutdown()
        server.server_close()


def test_cc_news_listing_unreachable(tmp_path: Path) -> None:
    proc = import_warc("--cc-news", "2024-06", "--cc-news-base", "http://127.0.0.1:9",
                       "--db", str(tmp_path / "x.db"), check=False)  # fmt: skip
    assert proc.returncode == 1 and "cannot list CC-NEWS 2024-06" in proc.stderr
