"""The crawl entry points as cron and people use them (issue 14, "Cron and crawling"):
`aggregator crawl` and `scrapy crawl|shell|check`, run as real commands against the local
fixture mirror and real SQLite files.

Usage errors are exit 2 before anything starts; a refused connection is one line per
failure and counted; a many-source run lists Scrapy's set-up once; `--quiet` success says
nothing on stderr and a failure still does; the remote-control server is off; the
per-source lock holds for both entry points; `scrapy shell URL` gets the outlet's spider
and `scrapy check` runs every outlet's contracts against its fixture pages.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request

from aggregator.crawl.lock import EXIT_LOCKED, CrawlLock, source_lock_path
from aggregator.mirror import MirrorServer
from aggregator.sources import load_sources
from tests.conftest import BIN, FIXTURES, PROJECT, cli

pytestmark = pytest.mark.e2e

FAST = ["--set", "AUTOTHROTTLE_ENABLED=False"]
# A host that refuses connections, retried once, without waiting between tries.
REFUSED = [*FAST, "--set", "RETRY_TIMES=1", "--set", "AUTOTHROTTLE_MAX_DELAY=0.1"]
BAD_DATE = "cannot read 'banana' as a date: use 2022-06-01, 2022-06-01T12:00Z or 12h/2d/1w"


def closed_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def runs(db: Path) -> list[dict[str, Any]]:
    out = cli("runs", "--db", str(db), "--json", check=True)
    return [json.loads(line) for line in out.stdout.splitlines()]


def results(table: str) -> dict[str, str]:
    """{source: result} from the results table (tab-separated: standard output is a pipe)."""
    rows = [line.split("\t") for line in table.splitlines()[1:]]
    return {row[0]: row[1] for row in rows if len(row) > 1}


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]


# -- usage errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--since", "--until"])
def test_aggregator_crawl_bad_window_is_a_usage_error(option: str, tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    proc = cli("crawl", "deadline", option, "banana", "--db", str(db))
    assert proc.returncode == 2, proc.stderr[-2000:]
    no_traceback(proc)
    assert proc.stderr.splitlines() == [f"aggregator: {BAD_DATE}"]
    assert not db.exists()  # nothing started


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("since=banana", "-a since: cannot read 'banana' as a date"),
        ("until=2d2", "-a until: cannot read '2d2' as a date"),
        ("max_pages=many", "-a max_pages: 'many' is not a whole number of pages"),
    ],
)
def test_scrapy_crawl_bad_argument_is_a_usage_error(
    argument: str, message: str, tmp_path: Path
) -> None:
    db = tmp_path / "news.db"
    proc = cli("crawl", "deadline", "-a", argument, prog="scrapy",
               env={"AGGREGATOR_DB_URL": str(db)})  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    no_traceback(proc)
    assert message in proc.stderr
    assert "Scrapy 2" not in proc.stderr  # refused before Scrapy started
    assert not db.exists()


def test_scrapy_crawl_unknown_spider_is_a_usage_error() -> None:
    proc = cli("crawl", "no_such_outlet", prog="scrapy")
    assert proc.returncode == 2
    no_traceback(proc)
    assert "no spider 'no_such_outlet'" in proc.stderr


# -- a source whose server refuses connections -----------------------------------------------


def test_refused_connections_are_one_line_per_failure_and_counted(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    proc = cli("crawl", "variety", "--db", str(db), *REFUSED,
               "--set", "AGGREGATOR_PROGRESS=True", "--set", "AGGREGATOR_PROGRESS_INTERVAL=60",
               env={"AGGREGATOR_HOST_MAP": f"variety.com=127.0.0.1:{closed_port()}"})  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-3000:]
    no_traceback(proc)
    failures = [line for line in proc.stderr.splitlines() if "refused" in line]
    # robots.txt, the feed and the two sitemaps: one line each, then the run's line.
    assert len(failures) == 4, proc.stderr
    robots = "robots.txt https://variety.com/robots.txt failed: DownloadConnectionRefusedError"
    assert robots in failures[0]
    assert proc.stderr.splitlines()[-1] == (
        "aggregator: variety: failed (0 pages, 4 errors: DownloadConnectionRefusedError 3, "
        "robots_txt 1)"
    )
    # The progress line counts as the table and the run record do.
    assert "variety: 0 pages, 0 new, 0 updated, 0 skipped, 0 dropped, 4 errors (done)" in (
        proc.stderr
    )
    (run,) = runs(db)
    assert run["status"] == "failed" and run["errors"] == 4
    assert run["details"]["errors"] == {"DownloadConnectionRefusedError": 3, "robots_txt": 1}


def test_a_source_that_never_answers_is_given_up(tmp_path: Path) -> None:
    # At the default retries and backoff: three refused connections and no response, and
    # the source's run ends there (its other start requests fail at once, not retried),
    # rather than backing off through every retry of every start request.
    db = tmp_path / "news.db"
    proc = cli("crawl", "variety", "--db", str(db), *FAST, timeout=120,
               env={"AGGREGATOR_HOST_MAP": f"variety.com=127.0.0.1:{closed_port()}"})  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-3000:]
    no_traceback(proc)
    assert "Giving up this source: 3 connections failed and none answered" in proc.stderr
    (run,) = runs(db)
    assert run["status"] == "failed"
    # robots.txt (fetched before anything else) failed three times: the source is given
    # up, and the feed and both sitemaps are not sent at all.
    assert run["details"]["errors"] == {"SourceUnreachable": 3, "robots_txt": 1}


# -- cron: set-up logged once, --quiet, results on stdout ------------------------------------


def test_cron_run_logs_setup_once_and_says_nothing_on_success(
    mirror: MirrorServer, tmp_path: Path
) -> None:
    db, log = tmp_path / "news.db", tmp_path / "crawl.log"
    sources = ["dualshockers", "screenrant", "collider"]
    proc = cli("crawl", *sources, "--quiet", "--log-file", str(log), "--db", str(db), *FAST,
               env={"AGGREGATOR_HOST_MAP": mirror.host_map()})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # cron mails nothing
    assert proc.stdout.startswith("source\tresult\t")  # the results table, tab-separated in a pipe
    assert results(proc.stdout) == dict.fromkeys(sources, "finished"), proc.stdout
    text = log.read_text()
    assert text.count("Spider closed (finished)") == 3  # one crawl per source...
    for listing in ("Overridden settings:", "Enabled addons:", "Enabled extensions:",
                    "Enabled downloader middlewares:", "Enabled spider middlewares:",
                    "Enabled item pipelines:"):  # fmt: skip
        assert text.count(listing) == 1, listing  # ...one set-up listing per run
    assert "Remote control" not in text and "Telnet" not in text
    # The distributed-crawl components are off in a crawl on one machine: no warning.
    assert "Disabled" not in text and " WARNING: " not in text


def test_a_successful_crawl_warns_of_nothing(mirror: MirrorServer, tmp_path: Path) -> None:
    """Without --quiet too: a source that finished leaves no WARNING on stderr."""
    db = tmp_path / "news.db"
    proc = cli("crawl", "dualshockers", "--db", str(db), *FAST,
               env={"AGGREGATOR_HOST_MAP": mirror.host_map()})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert results(proc.stdout) == {"dualshockers": "finished"}
    assert " WARNING: " not in proc.stderr, proc.stderr


def test_quiet_run_with_a_failing_source_says_so_on_stderr(
    mirror: MirrorServer, tmp_path: Path
) -> None:
    host_map = f"{mirror.host_map()},variety.com=127.0.0.1:{closed_port()}"
    db = tmp_path / "news.db"
    proc = cli("crawl", "dualshockers", "variety", "--quiet", "--db", str(db), *REFUSED,
               env={"AGGREGATOR_HOST_MAP": host_map})  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "aggregator: variety: failed (0 pages, 4 errors: DownloadConnectionRefusedError 3, "
        "robots_txt 1)"
    ]
    assert results(proc.stdout) == {"dualshockers": "finished", "variety": "failed"}


# -- Scrapy's remote-control server -----------------------------------------------------------


def test_remote_control_and_telnet_are_off() -> None:
    for name in ("REMOTE_CONTROL_ENABLED", "TELNETCONSOLE_ENABLED"):
        proc = cli("settings", "--get", name, prog="scrapy", check=True)
        assert proc.stdout.strip() == "False", name


# -- the per-source lock, for both entry points -----------------------------------------------


def test_scrapy_crawl_refuses_a_locked_source(mirror: MirrorServer, tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    env = {"AGGREGATOR_HOST_MAP": mirror.host_map(), "AGGREGATOR_DB_URL": str(db)}
    with CrawlLock(source_lock_path(f"sqlite:///{db}", "dualshockers")):  # a run in progress
        proc = cli("crawl", "dualshockers", "-s", "AUTOTHROTTLE_ENABLED=False", prog="scrapy",
                   env=env)  # fmt: skip
    assert proc.returncode == EXIT_LOCKED, proc.stderr[-2000:]
    no_traceback(proc)
    (line,) = proc.stderr.splitlines()  # before Scrapy starts: no start-up log
    assert line.startswith("scrapy crawl: another crawl of dualshockers is running on this ")
    assert [(r["source"], r["status"]) for r in runs(db)] == [("dualshockers", "refused")]


def test_running_scrapy_crawl_holds_the_lock_for_aggregator_crawl(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    lock = source_lock_path(f"sqlite:///{db}", "dualshockers")
    with MirrorServer(FIXTURES / "site") as slow:
        # robots.txt answers late: the scrapy crawl is still running meanwhile.
        slow.set_behaviour("www.dualshockers.com", paths={"/robots.txt": {"delay": 4}})
        env = {"AGGREGATOR_HOST_MAP": slow.host_map(), "AGGREGATOR_DB_URL": str(db)}
        scrapy = subprocess.Popen(
            [str(BIN / "scrapy"), "crawl", "dualshockers", "-s", "AUTOTHROTTLE_ENABLED=False"],
            cwd=PROJECT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while not (lock.exists() and lock.read_text()) and scrapy.poll() is None:
                assert time.monotonic() < deadline, "scrapy crawl never took its lock"
                time.sleep(0.05)
            assert json.loads(lock.read_text())["pid"] == scrapy.pid
            second = cli("crawl", "dualshockers", "--db", str(db), *FAST, env=env)
            _, err = scrapy.communicate(timeout=60)
        finally:
            if scrapy.poll() is None:
                scrapy.kill()
    assert second.returncode == EXIT_LOCKED, second.stderr[-2000:]
    assert "another crawl of dualshockers is running" in second.stderr
    assert scrapy.returncode == 0, err[-3000:]
    assert sorted(r["status"] for r in runs(db)) == ["finished", "refused"]


# -- scrapy shell: the outlet's spider --------------------------------------------------------


def test_every_source_url_finds_its_own_spider() -> None:
    from aggregator.crawl import project_settings
    from aggregator.spiders.loader import SourceSpiderLoader

    loader = SourceSpiderLoader(project_settings())
    for src in load_sources().values():
        for url in (*src.feeds, *src.sitemaps, *src.listings):
            assert loader.find_by_request(Request(url)) == [src.name], url


def test_scrapy_shell_gets_the_outlets_spider_and_records_nothing(
    mirror: MirrorServer, tmp_path: Path
) -> None:
    db = tmp_path / "news.db"
    url = "https://variety.com/2022/tv/news/all-of-us-are-dead-season-2-netflix-1235286547/"
    proc = cli("shell", url, "-c", "(spider.name, response.status)", prog="scrapy",
               env={"AGGREGATOR_HOST_MAP": mirror.host_map(), "AGGREGATOR_DB_URL": str(db)},
               timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "('variety', 200)"
    assert not db.exists()  # a shell is no crawl: no run recorded, nothing stored


# -- scrapy check: a contract per outlet ------------------------------------------------------


def test_every_outlet_has_contracts() -> None:
    proc = cli("check", "--list", prog="scrapy", check=True)
    listed: dict[str, list[str]] = {}
    methods: list[str] = []
    for line in proc.stdout.splitlines():
        if line.startswith("  * "):
            methods.append(line[4:])
        elif line.strip():
            methods = listed.setdefault(line.strip(), [])
    assert listed == {n: ["check_article", "check_discovery"] for n in load_sources()}


def test_scrapy_check_passes_on_the_fixture_site_and_fails_on_a_broken_page(
    tmp_path: Path,
) -> None:
    # Outlets whose article URLs end in "/", in no slash, and in ".html".
    outlets = ["dualshockers", "avclub", "vulture"]
    ok = cli("check", *outlets, prog="scrapy")
    assert ok.returncode == 0, ok.stderr[-3000:]
    assert "Ran 12 contracts" in ok.stderr and ok.stderr.rstrip().endswith("OK")
    # The same check on a copy of the site where the article page lost its body.
    site = tmp_path / "site"
    shutil.copytree(FIXTURES / "site" / "www.dualshockers.com", site / "www.dualshockers.com")
    for page in (site / "www.dualshockers.com").glob("*/index.html"):
        page.write_text("<html><head><title>Gone</title></head><body></body></html>")
    broken = cli("check", "dualshockers", prog="scrapy", env={"AGGREGATOR_FIXTURES": str(tmp_path)})
    assert broken.returncode == 1
    assert "FAIL: [dualshockers] check_article" in broken.stderr, broken.stderr[-3000:]
