"""Sitemap denial-of-service cases: a 1M-URL sitemap, and one where no URL is an article.

Run from the project root: ``.venv/bin/python -m benchmarks.hostile_sitemap [--urls 1000000]``.

Each case runs in a subprocess of its own, so its peak memory (``ru_maxrss`` from
``wait4``) is the case's alone:

* **callback**: the real spider's ``parse_sitemap`` callback on one response whose body
  is a gzipped sitemap of ``--urls`` URLs; every request it yields is kept in a list, as
  the scheduler's memory queue keeps it. Measures what discovery costs per sitemap file,
  without a network or a crawl around it.
* **crawl**: ``aggregator crawl`` of a source whose only sitemap is that file, served by
  :class:`aggregator.mirror.MirrorServer` (``sitemap.xml.gz``, not ``Content-Encoding``:
  the download stays under ``DOWNLOAD_MAXSIZE``, the inflated XML under the 50 MB
  gzip-bomb cap). Only the nothing-matches sitemap is crawled: with every URL an article
  the crawl would go on to fetch each enqueued page, and this measures discovery.

Every URL is ``https://sm.example/<a|t>/<n>`` (27 bytes at most: a million of them inflate
to 50,000,000 bytes, just under the 50 MiB cap); the source's ``article_pattern`` is
``/a/``, so the ``t`` sitemap has no article at all. ``wall`` is the subprocess's wall
time (start-up included: the table also gives the work alone for the callback), ``peak
RSS`` the kernel's peak resident size of that process.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent

HOST = "sm.example"
SOURCES = f"""
[[source]]
name = "sitemap_bomb"
title = "Sitemap Bomb"
domains = ["{HOST}"]
sitemaps = ["https://{HOST}/sitemap.xml.gz"]
article_pattern = '^https://sm\\.example/a/'
"""
DEFAULT_URLS = 1_000_000


def sitemap_body(urls: int, articles: bool) -> bytes:
    """A gzipped urlset of ``urls`` URLs: all articles, or none."""
    kind = "a" if articles else "t"
    parts = [b'<?xml version="1.0" encoding="UTF-8"?>\n'
             b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']  # fmt: skip
    parts.extend(f"<url><loc>https://{HOST}/{kind}/{n}</loc></url>".encode() for n in range(urls))
    parts.append(b"</urlset>\n")
    return gzip.compress(b"".join(parts), compresslevel=6)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_callback(sitemap: Path) -> dict[str, Any]:
    """In the child: the spider's sitemap callback on one big sitemap (made by the parent,
    so building it does not count in this process's peak)."""
    from scrapy.http import Response
    from scrapy.utils.test import get_crawler

    from aggregator.crawl import project_settings
    from aggregator.sources import load_sources
    from aggregator.spiders.news import spider_for

    with tempfile.TemporaryDirectory() as tmp:
        registry = Path(tmp) / "sources.toml"
        registry.write_text(SOURCES, encoding="utf-8")
        src = load_sources(registry)["sitemap_bomb"]
    body = sitemap.read_bytes()
    spidercls = spider_for(src)
    settings = project_settings().copy_to_dict()
    settings["TWISTED_REACTOR_ENABLED"] = False  # a callback needs no network
    crawler = get_crawler(spidercls, settings)
    spider = spidercls.from_crawler(crawler)
    crawler.spider = spider
    assert crawler.stats is not None
    crawler.stats.open_spider(spider)
    response = Response(f"https://{HOST}/sitemap.xml.gz", body=body)
    before_mb = _peak_mb()
    t0 = time.perf_counter()
    queued = list(spider.parse_sitemap(response))  # the scheduler keeps every request
    work_s = time.perf_counter() - t0
    stats = {k: v for k, v in crawler.stats.get_stats().items() if k.startswith("aggregator/")}
    return {
        "requests": len(queued),
        "work_s": round(work_s, 2),
        "rss_before_mb": round(before_mb),
        "gz_bytes": len(body),
        "stats": stats,
    }


def run_callback(urls: int, articles: bool) -> dict[str, Any]:
    """The callback case in a subprocess: its result plus wall time and peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        sitemap = Path(tmp) / "sitemap.xml.gz"
        sitemap.write_bytes(sitemap_body(urls, articles))
        cmd = [sys.executable, "-m", "benchmarks.hostile_sitemap", "--child", str(sitemap)]
        # From the project root, where ``-m`` finds the benchmarks package.
        return _measured(cmd, cwd=PROJECT, parse_json=True)


def run_crawl(urls: int, articles: bool) -> dict[str, Any]:
    """``aggregator crawl`` of the sitemap through the mirror, in a subprocess."""
    from aggregator.mirror import MirrorServer
    from benchmarks.crawl import parse_stats

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        site = work / "site" / HOST
        site.mkdir(parents=True)
        (site / "sitemap.xml.gz").write_bytes(sitemap_body(urls, articles))
        (site / "robots.txt").write_text("User-agent: *\nAllow: /\n")
        registry = work / "sources.toml"
        registry.write_text(SOURCES, encoding="utf-8")
        with MirrorServer(work / "site") as server:
            env = {**os.environ, "AGGREGATOR_HOST_MAP": server.host_map()}
            cmd = [str(Path(sys.executable).parent / "aggregator"), "crawl", "sitemap_bomb",
                   "--sources", str(registry), "--db", str(work / "bench.db"),
                   "--log-level", "INFO", "--set", "AUTOTHROTTLE_ENABLED=False"]  # fmt: skip
            out = _measured(cmd, env=env, cwd=PROJECT)
        stats = parse_stats(out.pop("stderr"))
        out["requests"] = int(stats.get("scheduler/enqueued", 0))
        out["stats"] = {k: v for k, v in stats.items() if k.startswith("aggregator/")}
    return out


def _measured(
    cmd: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    parse_json: bool = False,
) -> dict[str, Any]:
    """Run ``cmd`` to completion: wall time, the kernel's peak RSS of that process alone."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} exited {proc.returncode}\n{stderr[-3000:]}")
    result: dict[str, Any] = json.loads(stdout) if parse_json else {"stderr": stderr}
    result["wall_s"] = round(wall, 2)
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024)
    return result


def cases(urls: int) -> dict[str, dict[str, Any]]:
    """Every sitemap case, measured: name -> figures."""
    return {
        f"sitemap {urls:,} URLs, all articles (callback)": run_callback(urls, True),
        f"sitemap {urls:,} URLs, no article (callback)": run_callback(urls, False),
        f"sitemap {urls:,} URLs, no article (crawl)": run_crawl(urls, False),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.hostile_sitemap", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--urls", type=int, default=DEFAULT_URLS)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.child:
        figures = json.dumps(child_callback(args.child))
        if args.child_out:  # benchmarks.hostile runs the child with its output discarded
            args.child_out.write_text(figures, encoding="utf-8")
        else:
            print(figures)
        return 0
    results = cases(args.urls)
    print(f"{'case':<48} {'wall s':>7} {'work s':>7} {'peak RSS MB':>12} {'requests':>10}")
    for name, r in results.items():
        work = f"{r['work_s']:.2f}" if "work_s" in r else "-"
        print(f"{name:<48} {r['wall_s']:>7.2f} {work:>7} {r['peak_rss_mb']:>12} "
              f"{r['requests']:>10,}")  # fmt: skip
    for name, r in results.items():
        print(f"{name}: {json.dumps(r['stats'], sort_keys=True)}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
