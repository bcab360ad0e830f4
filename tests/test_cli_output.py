"""The query commands in scripts (issue 14): a read command never creates a database,
a reader that stops early is no error, output that is not a terminal is plain text
(no wrapping, no colour, no Python reprs), help texts read well, and ``extract`` takes
standard input and URLs. Every command runs for real, in a subprocess."""

from __future__ import annotations

import inspect
import os
import pty
import re
import select
import subprocess
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import create_engine

from aggregator.aggregate.index import indexed_store
from aggregator.cli import app
from aggregator.items import ArticleItem
from aggregator.storage import make_engine
from aggregator.storage.runs import RunFigures, RunRecorder
from tests.conftest import BIN, FIXTURES, PROJECT, cli, distinct_body, jsonl

T0 = datetime(2022, 6, 6, 16, 0, tzinfo=timezone.utc)
LONG_TITLE = (
    "'Stranger Things' Season 5 Finale Runs 2 Hours in 2025, Netflix Confirms After "
    "Months of Speculation Among Fans"
)
LONG_URL = "https://variety.example/tv/news/" + "stranger-things-season-5-finale-runtime-" * 3
SITE_PAGE = (
    FIXTURES / "site" / "www.dualshockers.com" / "all-of-us-are-dead-season-2-confirmed-netflix"
) / "index.html"
SITE_TITLE = "All of Us Are Dead Season 2 Officially Confirmed by Netflix"
ANSI = re.compile(r"\x1b\[")
RENEWAL = (
    "Netflix confirmed on Monday that the South Korean zombie series All of Us Are Dead will "
    "return for a second season. The cast announced the renewal during Netflix Geeked Week. "
)


def item(n: int, title: str, source: str = "variety", **fields: object) -> ArticleItem:
    values: dict[str, object] = {
        "url": f"https://{source}.example/story-{n}/",
        "canonical_url": f"https://{source}.example/story-{n}/",
        "source": source,
        "title": title,
        "published": T0 + timedelta(hours=n),
        "body": distinct_body(n),
        "fetched_at": T0,
        **fields,
    }
    return ArticleItem(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def news_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file: a long headline with a long URL and two authors (article 1), two
    outlets' reports of one event (one story), and one finished crawl run."""
    path = tmp_path_factory.mktemp("output") / "news.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    items = [
        item(0, LONG_TITLE, url=LONG_URL, canonical_url=LONG_URL,
             authors=["Jane Doe", "John Roe"]),
        item(1, "'All of Us Are Dead' Renewed for Season 2 at Netflix", source="deadline",
             body=RENEWAL + distinct_body(1)),
        item(2, "'All Of Us Are Dead' Renewed For Season 2 By Netflix", source="ew",
             body=RENEWAL + distinct_body(2)),
    ]  # fmt: skip
    indexed_store(engine).upsert(items)
    recorder = RunRecorder(engine)
    recorder.start("slashfilm")
    recorder.finish(RunFigures(status="finished", pages=3, new=2))
    engine.dispose()
    return str(path)


def empty_db(directory: Path) -> str:
    path = directory / "empty.db"
    res = cli("db", "upgrade", "--db", str(path))
    assert res.returncode == 0, res.stderr
    return str(path)


# -- read commands never create a database -------------------------------------------------

READ_COMMANDS = [
    ["search", "zombie"], ["search", "zombie", "--by-story"], ["latest"], ["latest", "--json"],
    ["show", "1"], ["show", "story:1"], ["stories"], ["feed"], ["stats"], ["export"], ["runs"],
    ["db", "current"],
]  # fmt: skip


@pytest.mark.parametrize("args", READ_COMMANDS, ids=" ".join)
def test_read_command_on_a_missing_database_is_an_error_and_creates_nothing(
    args: list[str], tmp_path: Path
) -> None:
    missing = tmp_path / "typo" / "news.db"
    res = cli(*args, "--db", str(missing))
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert res.stdout == "" and "Traceback" not in res.stderr
    (line,) = res.stderr.splitlines()
    assert line.startswith(f"aggregator: no database at {missing}")
    assert "aggregator crawl" in line and "aggregator db upgrade" in line
    assert list(tmp_path.iterdir()) == []  # neither the directory nor the file


@pytest.mark.parametrize("args", [c for c in READ_COMMANDS if c != ["db", "current"]], ids=" ".join)
def test_read_command_on_an_older_schema_says_upgrade_and_changes_nothing(
    args: list[str], tmp_path: Path
) -> None:
    from aggregator.storage.engine import connect
    from aggregator.storage.migrate import HEAD, current_revision, upgrade

    db = tmp_path / "old.db"
    engine = connect(f"sqlite:///{db}")
    upgrade(engine, "0007")  # a database an earlier version made
    engine.dispose()
    before = db.read_bytes()
    res = cli(*args, "--db", str(db))
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert res.stdout == "" and "Traceback" not in res.stderr
    (line,) = res.stderr.splitlines()
    assert f"has schema revision 0007; this version reads {HEAD}" in line
    assert "aggregator db upgrade" in line
    engine = connect(f"sqlite:///{db}")
    assert current_revision(engine) == "0007"  # a reader never upgrades
    engine.dispose()
    assert db.read_bytes() == before


def _in(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command run in ``directory`` with no database named: ./aggregator.db."""
    env = {k: v for k, v in os.environ.items() if k != "AGGREGATOR_DB_URL"}
    return subprocess.run(
        [str(BIN / "aggregator"), *args], cwd=directory, env=env, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip


def test_read_commands_elsewhere_do_not_create_aggregator_db(tmp_path: Path) -> None:
    res = _in(tmp_path, "latest")
    assert res.returncode == 2 and f"no database at {tmp_path / 'aggregator.db'}" in res.stderr
    # `sources` lists the registry without a database, and says it has no crawl history.
    res = _in(tmp_path, "sources")
    assert res.returncode == 0, res.stderr
    assert "dualshockers" in res.stdout and "no crawl history" in res.stderr
    assert list(tmp_path.iterdir()) == []
    # The commands that write create it.
    res = _in(tmp_path, "db", "upgrade")
    assert res.returncode == 0 and (tmp_path / "aggregator.db").is_file(), res.stderr
    res = _in(tmp_path, "latest")
    assert res.returncode == 0, res.stderr


def test_a_reader_cannot_create_the_file_even_when_it_goes_away(tmp_path: Path) -> None:
    """The file is opened with SQLite's mode=rw: a reader's engine made while it existed
    does not create it again once it is gone."""
    from aggregator.storage.engine import DatabaseMissingError, connect

    path = tmp_path / "news.db"
    with pytest.raises(DatabaseMissingError):
        connect(str(path), must_exist=True)
    make_engine(str(path)).dispose()
    engine = connect(str(path), must_exist=True)
    for p in tmp_path.iterdir():
        p.unlink()
    with pytest.raises(Exception, match="unable to open"), engine.connect() as conn:
        conn.exec_driver_sql("select 1")
    assert not path.exists()
    engine.dispose()
    # A URL that names its own mode keeps it.
    make_engine(str(path)).dispose()
    ro = connect(f"sqlite:///file:{path}?mode=ro&uri=true", must_exist=True)
    with pytest.raises(Exception, match="readonly"), ro.begin() as conn:
        conn.exec_driver_sql("create table t (x)")
    ro.dispose()
    create_engine(f"sqlite:///{path}").dispose()


# -- a reader that stops early -------------------------------------------------------------

PIPED = [
    ["latest", "--json"], ["latest"], ["search", "zombie", "--by-story"], ["show", "1"],
    ["show", "story:1"], ["show", "1", "--json"], ["stories"], ["stories", "--json"], ["feed"],
    ["feed", "--format", "jsonfeed"], ["export"], ["export", "--format", "csv"], ["stats"],
    ["stats", "--json"], ["runs"], ["runs", "--json"], ["sources"], ["sources", "--json"],
    ["db", "current"],
]  # fmt: skip


def test_output_to_a_reader_that_is_gone_is_exit_0_and_quiet(news_db: str) -> None:
    others = [["--help"], ["latest", "--help"], ["--version"], ["extract", str(SITE_PAGE)]]
    for args in [*([*a, "--db", news_db] for a in PIPED), *others]:
        read, write = os.pipe()
        os.close(read)  # the reader went away before the command wrote
        try:
            res = subprocess.run(
                [str(BIN / "aggregator"), *args], stdout=write, stderr=subprocess.PIPE,
                cwd=PROJECT, text=True, timeout=120, check=False,
            )  # fmt: skip
        finally:
            os.close(write)
        assert (res.returncode, res.stderr) == (0, ""), args


def test_head_in_a_pipefail_script(tmp_path: Path) -> None:
    path = tmp_path / "many.db"
    engine = make_engine(str(path))
    indexed_store(engine).upsert([item(n, f"Zombie story {n}") for n in range(60)])
    engine.dispose()
    script = f"set -o pipefail; {BIN / 'aggregator'} latest --json --limit 60 --db {path} | head -1"
    res = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert len(jsonl(res.stdout)) == 1


# -- output that is not a terminal ---------------------------------------------------------


def test_tables_in_a_pipe_are_tab_separated_and_whole(news_db: str) -> None:
    res = cli("latest", "--db", news_db)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "id\tpublished\tsource\ttitle\tauthors"
    assert "1\t2022-06-06 16:00\tvariety\t" + LONG_TITLE + "\tJane Doe, John Roe" in lines
    assert len(lines) == 4 and not ANSI.search(res.stdout)
    assert not any(c in res.stdout for c in "┏│└…")
    runs = cli("runs", "--db", news_db).stdout.splitlines()
    assert runs[0].split("\t")[:4] == ["id", "source", "started", "status"]
    assert runs[1].split("\t")[1] == "slashfilm" and runs[1].split("\t")[3] == "finished"


def test_show_prints_human_values_on_whole_lines(news_db: str) -> None:
    res = cli("show", "1", "--db", news_db)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == LONG_TITLE
    assert f"url: {LONG_URL}" in lines  # `show 1 | grep url` finds it whole
    assert "authors: Jane Doe, John Roe" in lines
    assert "duplicate_of: -" in lines
    assert "None" not in res.stdout and "['" not in res.stdout
    assert not ANSI.search(res.stdout)


def test_plurals_and_empty_results(news_db: str, tmp_path: Path) -> None:
    res = cli("search", "renewed", "--by-story", "--db", news_db)
    assert res.returncode == 0, res.stderr
    assert "2 matches)" in res.stdout and "match)" not in res.stdout.replace("matches)", "")
    res = cli("search", "stranger", "--by-story", "--db", news_db)
    assert "1 match)" in res.stdout
    res = cli("export", "--db", news_db)
    assert res.stderr.strip() == "exported 3 articles"
    for args, message in (
        (["search", "nothing-matches-this"], "no articles match 'nothing-matches-this'"),
        (["search", "nothing-matches-this", "--by-story"], "no articles match"),
        (["latest", "--source", "nowhere"], "no articles match"),
        (["stories", "--min-sources", "9"], "no stories match"),
    ):
        res = cli(*args, "--db", news_db)
        assert (res.returncode, res.stdout) == (0, ""), args
        assert message in res.stderr, (args, res.stderr)
    empty = empty_db(tmp_path)
    for args, message in ((["runs"], "no crawl runs yet"), (["stats"], "no articles stored")):
        res = cli(*args, "--db", empty)
        assert (res.returncode, res.stdout) == (0, "") and message in res.stderr, args
    res = cli("latest", "--json", "--db", empty)  # JSON Lines: no line, no message
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")


def _on_a_terminal(*args: str) -> str:
    """What the command writes to a terminal (a pseudo-terminal 200 columns wide)."""
    controller, terminal = pty.openpty()
    env = {**os.environ, "COLUMNS": "200", "LINES": "50", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [str(BIN / "aggregator"), *args], stdout=terminal, stderr=subprocess.PIPE,
        cwd=PROJECT, env=env,
    )  # fmt: skip
    os.close(terminal)
    out = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed (EIO)
            break
        if not chunk:
            break
        out += chunk
    os.close(controller)
    assert proc.wait(60) == 0, proc.stderr.read() if proc.stderr else ""
    return out.decode("utf-8", "replace")


def test_headlines_on_a_terminal_are_not_highlighted(news_db: str) -> None:
    """rich colours years, numbers and quoted words by default: not in our headlines."""
    for args in (["show", "1"], ["latest"], ["search", "stranger", "--by-story"]):
        shown = _on_a_terminal(*args, "--db", news_db)
        assert ANSI.search(shown) or "┃" in shown, shown  # it is the terminal rendering
        # Highlighting would put escape codes around 2025 and the quotes.
        assert "in 2025" in shown and "'Stranger Things' Season 5" in shown, (args, shown)


# -- version and help ----------------------------------------------------------------------


def test_version() -> None:
    res = cli("--version")
    assert res.returncode == 0 and re.fullmatch(r"aggregator \d+\.\d+\.\d+\S*\n", res.stdout)


def _commands() -> Iterator[tuple[list[str], str | None]]:
    """Every command's words and docstring, groups included."""
    for info in app.registered_commands:
        assert info.callback is not None and info.name is None
        yield [info.callback.__name__.replace("_", "-")], info.callback.__doc__  # Typer's word
    for group in app.registered_groups:
        assert group.typer_instance is not None and group.name
        yield [group.name], None
        for info in group.typer_instance.registered_commands:
            assert info.name is not None and info.callback is not None
            yield [group.name, info.name], info.callback.__doc__


def test_help_texts_have_no_line_breaks_from_the_source() -> None:
    seen = []
    for words, doc in _commands():
        res = cli(*words, "--help", env={"COLUMNS": "1000"})
        assert res.returncode == 0, (words, res.stderr)
        seen.append(words)
        text = " ".join(res.stdout.split())  # the frame's padding aside
        for paragraph in (" ".join(p.split()) for p in inspect.cleandoc(doc or "").split("\n\n")):
            # Each paragraph is one line: a line break from the source would end it early.
            line = next((x for x in res.stdout.splitlines() if paragraph[:40] in x), "")
            assert paragraph in line, (words, paragraph, res.stdout)
        assert text
    assert ["feed"] in seen and ["db", "reindex"] in seen
    feed = " ".join(cli("feed", "--help", env={"COLUMNS": "1000"}).stdout.split())
    assert re.search(r"--min-sources .*Only stories from N or more outlets", feed)
    db = cli("db", "--help", env={"COLUMNS": "1000"}).stdout
    assert "reindex" in db.split("Commands")[0]  # the group's own description says it


# -- extract: standard input and URLs ------------------------------------------------------


def test_extract_a_page_on_standard_input() -> None:
    url = "https://www.dualshockers.com/all-of-us-are-dead-season-2-confirmed-netflix/"
    res = subprocess.run(
        [str(BIN / "aggregator"), "extract", "-", "--url", url], input=SITE_PAGE.read_bytes(),
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    (row,) = jsonl(res.stdout.decode())
    assert (row["path"], row["url"], row["title"]) == ("-", url, SITE_TITLE)
    assert row["authors"] == ["Shivam Gulati"] and row["source"] == "dualshockers"


class _Pages(BaseHTTPRequestHandler):
    """/article.html (the fixture page), /moved (a redirect to it), /missing (404),
    /report.pdf (not HTML). Records each request's path and User-Agent."""

    seen: ClassVar[list[tuple[str, str]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("User-Agent", "")))
        if self.path == "/moved":
            self.send_response(301)
            self.send_header("Location", "/article.html")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/article.html":
            status, ctype, body = 200, "text/html; charset=utf-8", SITE_PAGE.read_bytes()
        elif self.path == "/report.pdf":
            status, ctype, body = 200, "application/pdf", b"%PDF-1.4\n"
        else:
            status, ctype, body = 404, "text/html", b"<h1>Not Found</h1>"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def pages() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    _Pages.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_extract_a_url_fetches_it_once_and_extracts_it(pages: str) -> None:
    res = cli("extract", f"{pages}/moved")
    assert res.returncode == 0, res.stderr
    (row,) = jsonl(res.stdout)
    assert (row["path"], row["url"]) == (f"{pages}/moved", f"{pages}/article.html")
    assert row["title"] == SITE_TITLE and row["authors"] == ["Shivam Gulati"]
    assert [path for path, _ in _Pages.seen] == ["/moved", "/article.html"]  # no robots.txt
    assert all(agent.startswith("entertainment-news-aggregator/") for _, agent in _Pages.seen)


def test_extract_a_url_that_fails_is_a_clear_error(pages: str) -> None:
    res = cli("extract", f"{pages}/missing", f"{pages}/report.pdf", f"{pages}/article.html")
    assert res.returncode == 1, res.stderr
    missing, pdf, good = jsonl(res.stdout)
    assert "HTTP 404" in missing["error"] and "not an HTML page" in pdf["error"]
    assert good["title"] == SITE_TITLE
    assert res.stderr.splitlines() == [
        f"aggregator extract: {pages}/missing: HTTP 404 Not Found",
        f"aggregator extract: {pages}/report.pdf: not an HTML page (Content-Type: application/pdf)",
    ]
