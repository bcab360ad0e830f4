"""Web benchmark: server-side latency of ``aggregator serve`` at 10k and 200k articles, on
SQLite and PostgreSQL.

    python -m benchmarks.web                               # 10k and 200k, both backends
    python -m benchmarks.web --sizes 10000 --backends sqlite --requests 100   # quick run

Each database is generated (and kept for the next run: ``benchmarks/results/web/*.db`` and
PostgreSQL schemas ``bench_web_<size>``): stories of 1 to 12 articles (most of one, a few
of many) at the 33 registered outlets over 60 days, article bodies of about 250 words
drawn from a fixed vocabulary with names in them, a crawl run per outlet per day with a few
failures. Rows are inserted with SQLAlchemy Core (the schema is the migrations', so
SQLite's FTS5 triggers and PostgreSQL's stored ``search_vector`` are kept up as in a crawl).

Then ``aggregator serve`` runs as a subprocess and a bounded local load loop (one keep-
alive HTTP connection per worker, ``--concurrency`` workers, ``--requests`` per page kind)
asks for: the front page (pages 1-3, categories), story pages (random stories), article
pages, searches (a name, a name and a word, two words), the sources page and the stories
API. Latency is measured at the client on 127.0.0.1 (the server's time plus loopback);
p50/p95/p99 and requests per second go to the terminal and to
``benchmarks/results/web.json``. The sources page's figures are computed once per state of
the database (the server starts computing them as it starts): its first request, sent
as soon as the server answers and so waiting for that computation, is reported apart as
``sources_cold_ms``; the ``sources`` line is the page as readers get it afterwards.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine, create_engine, func, insert, select, text, update
from sqlalchemy.engine import make_url

from aggregator.sources import load_sources
from aggregator.storage.database import make_engine
from aggregator.storage.models import Article, CrawlRun, Story

PROJECT = Path(__file__).resolve().parent.parent
RESULTS = PROJECT / "benchmarks" / "results"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGET_P95_MS = 50.0
SEED = 15
SPAN_DAYS = 60
BATCH = 2000

_CATEGORIES = ("film", "tv", "music", "games", "celebrity")
# Used when the corpora are absent: a small entertainment vocabulary, uniform.
_FALLBACK_WORDS = (
    "season premiere finale trailer cast director studio sequel box office streaming series "
    "album tour single chart record festival award nomination red carpet interview release "
    "date episode character villain hero franchise reboot spinoff showrunner network deal "
    "contract rumor report confirms reveals announces delays debut review critics fans "
    "ratings viewers weekend opening global million billion production filming casting "
    "teaser poster soundtrack composer producer actor actress singer rapper band game"
).split()
_FALLBACK_NAMES = (
    "Netflix HBO Disney Marvel Pixar Warner Universal Paramount Amazon Apple Sony Nintendo "
    "Xbox PlayStation Beyoncé Taylor Swift Drake Rihanna Adele Zendaya Timothée Chalamet "
    "Margot Robbie Tom Cruise Pedro Pascal Barbie Oppenheimer Dune Stranger Things Wednesday"
).split()


@dataclass
class Words:
    """What the generated text is drawn from: words with their frequencies (Zipfian, as
    real text is), content words for headlines, names."""

    words: list[str]
    cum: list[float] | None
    content: list[str]
    content_cum: list[float] | None
    names: list[str]
    origin: str

    @classmethod
    def load(cls) -> Words:
        """The development corpora's real word frequencies (see benchmarks.aggregation),
        else the small fallback vocabulary."""
        from aggregator.scoring import corpora_root

        try:
            from benchmarks.aggregation import Vocabulary, load_originals

            v = Vocabulary.from_corpora(load_originals(corpora_root()))
        except OSError:
            return cls(_FALLBACK_WORDS, None, _FALLBACK_WORDS, None, _FALLBACK_NAMES,
                       "fallback vocabulary (corpora not found)")  # fmt: skip
        return cls(v.words, v.cum, v.content, v.content_cum, v.names,
                   f"word frequencies of the corpora in {corpora_root()}")  # fmt: skip

    def body(self, rng: random.Random, n: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cum, k=n)

    def headline(self, rng: random.Random, n: int) -> list[str]:
        return rng.choices(self.content, cum_weights=self.content_cum, k=n)


# -- the databases ---------------------------------------------------------------------------


def _pg_url(size: int) -> str:
    base = os.environ.get("AGGREGATOR_TEST_PG_URL") or DEFAULT_PG
    schema = f"bench_web_{size}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    admin.dispose()
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def database_url(backend: str, size: int, workdir: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir / f'web-{size}.db'}"
    return _pg_url(size)


def _rows(
    size: int, now: datetime, words: Words
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(story, its articles) until ``size`` articles: most stories one article, some many."""
    rng = random.Random(SEED)
    sources = list(load_sources().values())
    made = 0
    story_id = 0
    while made < size:
        story_id += 1
        r = rng.random()
        n = 1 if r < 0.62 else rng.randint(2, 3) if r < 0.9 else rng.randint(4, 12)
        n = min(n, size - made)
        names = rng.sample(words.names, 3)
        terms = words.headline(rng, 5)
        headline = f"{names[0]} {names[1]} {' '.join(terms[:3])} {names[2]} {terms[3]}"
        start = now - timedelta(days=SPAN_DAYS * rng.random() ** 1.3)
        outlets = rng.sample(sources, min(n, len(sources)))
        articles: list[dict[str, Any]] = []
        for i in range(n):
            src = outlets[i % len(outlets)]
            when = start + timedelta(minutes=rng.randint(0, 600) * (i > 0))
            text = words.body(rng, 250)
            for k in range(0, 250, 25):  # the story's names recur in its bodies
                text[k] = rng.choice(names)
            body = "\n\n".join(" ".join(text[k : k + 50]) + "." for k in range(0, 250, 50))
            made += 1
            articles.append(
                {
                    "canonical_url": f"https://{src.domains[0]}/news/{story_id}-{i}-{made}",
                    "url": f"https://{src.domains[0]}/news/{story_id}-{i}-{made}",
                    "source": src.name,
                    "site_name": src.title,
                    "title": headline if i == 0 else f"{headline} {terms[4]}",
                    "subtitle": " ".join(words.headline(rng, 12)).capitalize() + "."
                    if rng.random() < 0.8
                    else None,
                    "authors": [f"{rng.choice(words.names)} {rng.choice(words.names)}"],
                    "published": when,
                    "published_offset": rng.choice((0, -240, 60, 540)),
                    "published_precision": "second",
                    "body": body,
                    "image": f"https://{src.domains[0]}/img/{made}.jpg"
                    if rng.random() < 0.9
                    else None,
                    "tags": [],
                    "first_seen": when,
                    "last_seen": when,
                    "fetched_at": when,
                    "story_id": story_id,
                    "duplicate_of": None,
                }
            )
        if n > 2 and rng.random() < 0.3:
            articles[-1]["body"] = articles[0]["body"]  # a syndicated copy
            articles[-1]["_copy"] = True
        first = min(a["published"] for a in articles)
        last = max(a["published"] for a in articles)
        story = {
            "id": story_id,
            "headline": headline,
            "first_seen": first,
            "updated": last,
            "article_count": n,
            "outlet_count": len({a["source"] for a in articles}),
            "category": rng.choice(_CATEGORIES),
        }
        yield story, articles


def build(url: str, size: int, words: Words) -> Engine:
    """The benchmark database of ``size`` articles at ``url`` (reused when it has them)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        have = conn.execute(select(func.count(Article.id))).scalar_one()
    if have == size:
        _vacuum(engine)
        return engine
    if have:
        raise SystemExit(f"{url} holds {have} articles, not {size}: remove it first")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    t0 = time.perf_counter()
    stories: list[dict[str, Any]] = []
    articles: list[dict[str, Any]] = []
    copies: list[tuple[str, str]] = []

    def flush() -> None:
        with engine.begin() as conn:
            if stories:
                conn.execute(insert(Story), stories)
            if articles:
                conn.execute(insert(Article), articles)
        stories.clear()
        articles.clear()

    for story, rows in _rows(size, now, words):
        stories.append(story)
        for a in rows:
            if a.pop("_copy", False):
                copies.append((a["canonical_url"], rows[0]["canonical_url"]))
            articles.append(a)
        if len(articles) >= BATCH:
            flush()
    flush()
    with engine.begin() as conn:
        for copy_url, original_url in copies:
            original = select(Article.id).where(Article.canonical_url == original_url)
            conn.execute(
                update(Article)
                .where(Article.canonical_url == copy_url)
                .values(duplicate_of=original.scalar_subquery())
            )
        rng = random.Random(SEED)
        runs = []
        for day in range(30, 0, -1):
            started = now - timedelta(days=day)
            for name in load_sources():
                failed = rng.random() < 0.03
                runs.append(
                    {
                        "source": name,
                        "started_at": started,
                        "finished_at": started + timedelta(minutes=3),
                        "status": "failed" if failed else "finished",
                        "pages": 0 if failed else rng.randint(20, 80),
                        "new": 0 if failed else rng.randint(5, 40),
                        "updated": 0,
                        "dropped": rng.randint(0, 3),
                        "errors": 5 if failed else 0,
                        "details": {"errors": {"download/timeout": 5}} if failed else {},
                    }
                )
        conn.execute(insert(CrawlRun), runs)
    if engine.dialect.name == "postgresql":
        _vacuum(engine)
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    print(f"  built {size} articles in {time.perf_counter() - t0:.0f} s", flush=True)
    return engine


def _vacuum(engine: Engine) -> None:
    """PostgreSQL: the benchmark's tables as autovacuum keeps them (statistics read, GIN
    indexes' pending lists merged), whether or not autovacuum runs on the server measured;
    only this schema's, not the whole database's."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        tables = conn.exec_driver_sql(
            "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()"
        ).scalars()
        conn.exec_driver_sql(f"VACUUM ANALYZE {', '.join(tables)}")


# -- the load loop -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).parent / "aggregator"
    proc = subprocess.Popen(
        [str(exe), "serve", "--db", url, "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/static/favicon.svg")
            conn.getresponse().read()
            conn.close()
            return proc
        except OSError:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise SystemExit(f"serve exited {proc.returncode}: {err}") from None
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("serve did not answer within 60 s")


def _paths(kind: str, n: int, engine: Engine, rng: random.Random) -> list[str]:
    if kind == "front":
        cats = [None, None, None, *_CATEGORIES]
        out = []
        for _ in range(n):
            cat = rng.choice(cats)
            page = rng.choice((1, 1, 1, 2, 3))
            out.append(f"/?page={page}" + (f"&category={cat}" if cat else ""))
        return out
    if kind in ("story", "article"):
        table = Story if kind == "story" else Article
        with engine.connect() as conn:
            top = conn.execute(select(func.max(table.id))).scalar_one()
        prefix = "/stories/" if kind == "story" else "/articles/"
        return [f"{prefix}{rng.randint(1, top)}" for _ in range(n)]
    if kind == "search":
        # What a reader looks for: a name in the news, or a name and a word of a headline.
        with engine.connect() as conn:
            top = conn.execute(select(func.max(Story.id))).scalar_one()
            ids = [rng.randint(1, top) for _ in range(n)]
            heads = conn.execute(select(Story.headline).where(Story.id.in_(ids))).scalars()
            queries = []
            for h in heads:
                w = h.split()
                queries.append(w[0] if rng.random() < 0.5 else f"{w[0]} {w[2]}")
        return [f"/search?{urlencode({'q': rng.choice(queries)})}" for _ in range(n)]
    if kind == "sources":
        return ["/sources"] * n
    if kind == "api_stories":
        return [f"/api/stories?page={rng.randint(1, 5)}" for _ in range(n)]
    raise ValueError(kind)


def load(port: int, paths: Sequence[str], concurrency: int) -> tuple[list[float], float]:
    """Every path requested once, by ``concurrency`` workers on keep-alive connections;
    the latencies (ms) and the wall time (s)."""
    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(paths)
    errors: list[str] = []

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if not queue:
                    break
                path = queue.pop()
            t = time.perf_counter()
            conn.request("GET", path)
            res = conn.getresponse()
            res.read()
            ms = (time.perf_counter() - t) * 1000
            with lock:
                latencies.append(ms)
                if res.status != 200:
                    errors.append(f"{path}: {res.status}")
        conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, e.g. {errors[:3]}")
    return latencies, wall


def _pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


KINDS = ("front", "story", "article", "search", "sources", "api_stories")


def measure(url: str, engine: Engine, requests: int, concurrency: int) -> dict[str, Any]:
    port = _free_port()
    proc = start_server(url, port)
    rng = random.Random(SEED)
    out: dict[str, Any] = {}
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        t = time.perf_counter()
        conn.request("GET", "/sources")
        conn.getresponse().read()
        out["sources_cold_ms"] = round((time.perf_counter() - t) * 1000, 1)
        conn.close()
        for kind in KINDS:
            paths = _paths(kind, requests, engine, rng)
            load(port, paths[: max(5, requests // 10)], 1)  # warm-up
            latencies, wall = load(port, paths, concurrency)
            out[kind] = {
                "requests": len(latencies),
                "p50_ms": round(statistics.median(latencies), 2),
                "p95_ms": round(_pct(latencies, 95), 2),
                "p99_ms": round(_pct(latencies, 99), 2),
                "max_ms": round(max(latencies), 2),
                "requests_per_s": round(len(latencies) / wall, 1),
            }
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,200000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=300, help="per page kind")
    parser.add_argument("--concurrency", type=int, default=1, help="client workers")
    parser.add_argument("--workdir", type=Path, default=RESULTS / "web")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    words = Words.load()
    print(f"text: {words.origin}", flush=True)
    for backend in args.backends.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            print(f"{backend}, {size} articles:", flush=True)
            url = database_url(backend, size, args.workdir)
            engine = build(url, size, words)
            figures = measure(url, engine, args.requests, args.concurrency)
            engine.dispose()
            results.append({"backend": backend, "articles": size, **figures})
            for kind in KINDS:
                f = figures[kind]
                mark = "ok" if f["p95_ms"] < TARGET_P95_MS else "OVER"
                print(
                    f"  {kind:12} p50 {f['p50_ms']:7.2f}  p95 {f['p95_ms']:7.2f}  "
                    f"p99 {f['p99_ms']:7.2f} ms  {f['requests_per_s']:7.1f} req/s  {mark}",
                    flush=True,
                )
            cold = figures["sources_cold_ms"]
            print(f"  sources, first request after start (figures computed): {cold} ms")
    report = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "requests_per_kind": args.requests,
        "concurrency": args.concurrency,
        "target_p95_ms": TARGET_P95_MS,
        "cpus": os.cpu_count(),
        "text": words.origin,
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "web.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"written {RESULTS / 'web.json'}")


if __name__ == "__main__":
    main()
