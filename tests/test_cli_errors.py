"""Errors the CLI must report in one line, with the documented exit status, and no
traceback (issue 11, item 8): a read-only database, a --limit beyond the databases'
integers, and output that cannot be written.

Read-only SQLite is tested the ways it really happens: a file or a directory without
write permission (root ignores permissions, so as root the command runs as ``nobody``
through ``setpriv``), and a URL that asks for it (``mode=ro``), which holds for root too;
read-only PostgreSQL through ``default_transaction_read_only``.
"""

from __future__ import annotations

import os
import pwd
import re
import resource
import shutil
import signal
import stat
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from aggregator.aggregate.index import indexed_store
from aggregator.cli import app
from aggregator.items import ArticleItem
from aggregator.mirror import MirrorServer
from aggregator.storage import make_engine
from tests.conftest import BIN, PROJECT, cli, distinct_body, jsonl

runner = CliRunner()
T0 = datetime(2022, 6, 6, 16, 0, tzinfo=timezone.utc)
ARTICLES = 4


def fill(url: str, articles: int = ARTICLES) -> None:
    """``articles`` articles, indexed into stories."""
    engine = make_engine(url)
    items = [
        ArticleItem(
            url=f"https://variety.example/story-{n}/",
            canonical_url=f"https://variety.example/story-{n}/",
            source="variety",
            title=f"Zombie series story {n}",
            published=T0 + timedelta(hours=n),
            body=distinct_body(n),
            fetched_at=T0,
        )
        for n in range(articles)
    ]
    indexed_store(engine).upsert(items)
    engine.dispose()


def one_error_line(res: subprocess.CompletedProcess[str], code: int = 2) -> str:
    """The command's single ``aggregator:`` error line, after checking its exit status
    and that no traceback reached the user."""
    assert res.returncode == code, (res.returncode, res.stderr[-2000:])
    assert "Traceback" not in res.stderr, res.stderr[-3000:]
    lines = [line for line in res.stderr.splitlines() if line.startswith("aggregator: ")]
    assert len(lines) == 1, res.stderr
    return lines[0]


# -- read-only SQLite ----------------------------------------------------------------------


def _as_unprivileged() -> list[str]:
    """The prefix that runs a command as a user file permissions apply to."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: file permissions cannot be tested")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("running as root and there is no user nobody")
    return [
        "setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups",
    ]  # fmt: skip


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory the unprivileged user can reach (pytest's tmp_path is private to us)."""
    path = Path(tempfile.mkdtemp(prefix="aggregator-ro-"))
    path.chmod(0o777)
    yield path
    for p in (path, *path.rglob("*")):
        if p.is_dir():
            p.chmod(0o755)
    shutil.rmtree(path)


def run(
    args: Sequence[str], prefix: Sequence[str] = (), env: dict[str, str] | None = None,
    cwd: Path = PROJECT,
) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        [*prefix, str(BIN / "aggregator"), *args], cwd=cwd, env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture(params=["file", "directory", "url"])
def read_only_sqlite(request: pytest.FixtureRequest, open_dir: Path) -> tuple[str, str, list[str]]:
    """How the database is read-only, its URL, and the prefix to run commands with."""
    way: str = request.param
    directory = open_dir / "db"
    directory.mkdir()
    directory.chmod(0o777)
    path = directory / "news.db"
    fill(f"sqlite:///{path}")
    if way == "url":
        return way, f"sqlite:///file:{path}?mode=ro&uri=true", []
    prefix = _as_unprivileged()
    path.chmod(0o444)
    if way == "directory":
        # Nothing beside the database yet: SQLite must create news.db-shm to read it.
        assert not list(directory.glob("news.db-*"))
        directory.chmod(0o555)
    return way, str(path), prefix


def test_commands_that_write_refuse_a_read_only_sqlite_database(
    read_only_sqlite: tuple[str, str, list[str]], mirror: MirrorServer
) -> None:
    way, db, prefix = read_only_sqlite
    env = {"AGGREGATOR_HOST_MAP": mirror.host_map()}  # nothing reaches the network
    for args in (["crawl", "variety"], ["demo"], ["db", "reindex", "--all"]):
        line = one_error_line(run([*args, "--db", db], prefix, env))
        assert "read-only" in line, (args, line)
        if way == "directory":
            assert "news.db-shm" in line and "make the directory writable" in line, line
        elif way == "file":
            assert line.startswith("aggregator: cannot write to database"), line
            assert "make it writable" in line, line
        else:
            assert "drop that to write" in line, line


def test_commands_that_read_work_on_a_read_only_sqlite_file(
    read_only_sqlite: tuple[str, str, list[str]],
) -> None:
    way, db, prefix = read_only_sqlite
    if way == "directory":
        # Not even readable as it is (no -shm can be created): the message says how to
        # read it anyway, and that way works.
        line = one_error_line(run(["latest", "--db", db], prefix))
        match = re.search(r"read it unchanged as (\S+)$", line)
        assert match, line
        db = match.group(1)
    res = run(["latest", "--json", "--db", db], prefix)
    assert res.returncode == 0, res.stderr
    assert len(jsonl(res.stdout)) == ARTICLES
    res = run(["stories", "--json", "--db", db], prefix)
    assert res.returncode == 0, res.stderr
    assert sum(s["article_count"] for s in jsonl(res.stdout)) == ARTICLES
    res = run(["export", "--db", db], prefix)
    assert res.returncode == 0, res.stderr
    assert len(jsonl(res.stdout)) == ARTICLES


def test_stories_of_a_read_only_database_with_unindexed_articles_warn(open_dir: Path) -> None:
    path = open_dir / "news.db"
    fill(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE articles SET story_id = NULL WHERE id = 1")
    engine.dispose()
    res = run(["stories", "--json", "--db", f"sqlite:///file:{path}?mode=ro&uri=true"])
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    assert "warning: some articles are in no story yet" in res.stderr
    assert len(jsonl(res.stdout)) == ARTICLES  # the stories as they are


def test_read_only_database_with_an_old_schema_says_it_must_be_upgraded(open_dir: Path) -> None:
    from aggregator.storage.migrate import downgrade

    path = open_dir / "news.db"
    fill(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    downgrade(engine, "0005")
    engine.dispose()
    line = one_error_line(run(["latest", "--db", f"sqlite:///file:{path}?mode=ro&uri=true"]))
    assert "has schema revision 0005" in line and "aggregator db upgrade" in line


def test_sqlite_uri_filename_is_the_file_it_names(tmp_path: Path) -> None:
    """``sqlite:///file:PATH?...&uri=true`` means PATH: ``db current`` said "no database
    at file:PATH" and opening one created a directory named "file:" in the working
    directory."""
    path = tmp_path / "db" / "news.db"
    fill(f"sqlite:///{path}")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    res = run(["db", "current", "--db", f"sqlite:///file:{path}?mode=ro&uri=true"], cwd=cwd)
    assert res.returncode == 0, res.stderr
    assert re.fullmatch(r"\d{4}", res.stdout.strip())
    res = run(["latest", "--json", "--db", f"sqlite:///file:{path}?mode=ro&uri=true"], cwd=cwd)
    assert res.returncode == 0 and len(jsonl(res.stdout)) == ARTICLES
    assert list(cwd.iterdir()) == []


def test_read_only_postgresql_refuses_writes_and_serves_reads(pg_url: str) -> None:
    fill(pg_url)
    parsed = make_url(pg_url)
    options = f"{parsed.query['options']} -cdefault_transaction_read_only=on"
    ro_url = parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)
    for args in (["crawl", "variety"], ["db", "reindex", "--all"]):
        line = one_error_line(cli(*args, "--db", ro_url))
        assert "cannot write to database" in line and "read-only transaction" in line
    res = cli("latest", "--json", "--db", ro_url)
    assert res.returncode == 0 and len(jsonl(res.stdout)) == ARTICLES


# -- integers beyond the databases' ---------------------------------------------------------

TOO_BIG = str(2**63)
BIGGEST = str(2**63 - 1)
LISTINGS = [["search", "zombie"], ["latest"], ["stories"], ["feed"], ["runs"]]


def test_limit_beyond_the_databases_integers_is_a_usage_error(backend_url: str) -> None:
    fill(backend_url)
    for args in LISTINGS:
        res = runner.invoke(app, [*args, "--limit", TOO_BIG, "--db", backend_url])
        assert res.exit_code == 2, (args, res.output, res.exception)
        assert "Invalid value for '--limit'" in res.output
        res = runner.invoke(app, [*args, "--limit", BIGGEST, "--db", backend_url])
        assert res.exit_code == 0, (args, res.output, res.exception)
    for args in (["stories"], ["feed"]):
        res = runner.invoke(app, [*args, "--min-sources", str(2**31), "--db", backend_url])
        assert res.exit_code == 2, (args, res.output, res.exception)
        assert "Invalid value for '--min-sources'" in res.output
        res = runner.invoke(app, [*args, "--min-sources", str(2**31 - 1), "--db", backend_url])
        assert res.exit_code == 0, (args, res.output, res.exception)
    for ident in (str(2**31), TOO_BIG, "²"):
        res = runner.invoke(app, ["show", f"story:{ident}", "--db", backend_url])
        assert res.exit_code in (1, 2), (ident, res.output, res.exception)
        assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    # As a user runs it: the usage error, no traceback.
    proc = cli("latest", "--limit", TOO_BIG, "--db", backend_url)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--limit" in proc.stderr


# -- output that cannot be written ---------------------------------------------------------


@pytest.fixture
def sqlite_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'news.db'}"
    fill(url)
    return url


def test_output_to_a_directory_or_a_missing_one_is_one_line(sqlite_db: str, tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    for args in (["export", "--out", str(target)], ["feed", "-o", str(target)]):
        line = one_error_line(cli(*args, "--db", sqlite_db))
        assert "is a directory" in line
    assert list(target.iterdir()) == []
    for args in (["export", "--out"], ["feed", "-o"]):
        line = one_error_line(cli(*args, str(tmp_path / "nowhere" / "x"), "--db", sqlite_db))
        assert f"directory {tmp_path / 'nowhere'} does not exist" in line


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_output_to_a_full_device_is_one_line(sqlite_db: str) -> None:
    for args in (["export", "--out", "/dev/full"], ["feed", "-o", "/dev/full"]):
        line = one_error_line(cli(*args, "--db", sqlite_db))
        assert "No space left on device" in line
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)  # written in place, not replaced
    for args in (["export"], ["feed"], ["latest", "--json"], ["stories"]):
        with open("/dev/full", "w") as full:
            res = subprocess.run(
                [str(BIN / "aggregator"), *args, "--db", sqlite_db], stdout=full,
                stderr=subprocess.PIPE, text=True, timeout=120, check=False,
            )  # fmt: skip
        assert res.returncode == 2, (args, res.stderr)
        assert "Traceback" not in res.stderr and "Exception ignored" not in res.stderr
        assert "aggregator: cannot write the output: No space left on device" in res.stderr


def test_output_named_as_a_device_on_a_pipe_is_written(sqlite_db: str) -> None:
    """``--out /dev/stdout | ...``: the name is opened as given (resolved, it is a /proc
    entry of the pipe that cannot be created)."""
    for args in (["export", "--out", "/dev/stdout"], ["feed", "-o", "/dev/stdout"]):
        res = cli(*args, "--db", sqlite_db)  # stdout is a pipe
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip(), args


def _file_size_limit(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_failed_write_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    """Running out of space half-way (here: a file size limit) leaves neither a cut-short
    file that looks complete nor a temporary file; an earlier export stays whole."""
    sqlite_db = f"sqlite:///{tmp_path / 'news.db'}"
    fill(sqlite_db, 60)  # an export of about 100 kB
    out = tmp_path / "exports"
    out.mkdir()
    previous = out / "articles.jsonl"
    previous.write_text("the previous export\n", encoding="utf-8")
    previous.chmod(0o640)
    for target, kept in ((previous, "was left as it was"), (out / "new.jsonl", "nothing was")):
        res = subprocess.run(
            [str(BIN / "aggregator"), "export", "--out", str(target), "--db", sqlite_db],
            capture_output=True, text=True, timeout=120, check=False,
            preexec_fn=lambda: _file_size_limit(40_000),  # above SQLite's 32 kB -shm
        )  # fmt: skip
        line = one_error_line(res)
        assert "File too large" in line and kept in line
    assert previous.read_text(encoding="utf-8") == "the previous export\n"
    assert sorted(p.name for p in out.iterdir()) == ["articles.jsonl"]
    # Without the limit it is replaced, whole, keeping its permissions.
    res = cli("export", "--out", str(previous), "--db", sqlite_db)
    assert res.returncode == 0, res.stderr
    assert len(jsonl(previous.read_text(encoding="utf-8"))) == 60
    assert stat.S_IMODE(previous.stat().st_mode) == 0o640
    assert sorted(p.name for p in out.iterdir()) == ["articles.jsonl"]
