"""The `aggregator` commands on real databases filled from the fixture pages: the ones
that read the database run on SQLite and on PostgreSQL (see conftest)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aggregator.aggregate.index import indexed_store
from aggregator.cli import app
from aggregator.extract import extract_article
from aggregator.extract.batch import read_page
from aggregator.normalize.item import normalize_item
from aggregator.storage import make_engine
from tests.conftest import BACKENDS, FIXTURES, backend_database, jsonl

runner = CliRunner()
SITE = FIXTURES / "site" / "www.dualshockers.com"
NOW = datetime(2022, 6, 20, tzinfo=timezone.utc)


@pytest.fixture(scope="module", params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The fixture site's articles in a database, once per backend (for the module)."""
    items = []
    for page in sorted(SITE.glob("*/index.html")):
        if page.parent.name == "news":
            continue
        url = f"https://www.dualshockers.com/{page.parent.name}/"
        raw = extract_article(read_page(page), url, NOW, source="dualshockers")
        items.append(normalize_item(raw, tz="America/New_York").item)
    with backend_database(request.param, tmp_path_factory.mktemp("cli")) as url:
        engine = make_engine(url)
        indexed_store(engine).upsert(items, NOW)
        engine.dispose()
        yield url


def test_search_json_has_every_field(db: str) -> None:
    res = runner.invoke(app, ["search", "All of Us Are Dead", "--db", db, "--json"])
    assert res.exit_code == 0, res.output
    rows = jsonl(res.stdout)
    assert rows[0]["title"] == "All of Us Are Dead Season 2 Officially Confirmed by Netflix"
    for field in ("canonical_url", "authors", "published", "published_raw", "body", "tags",
                  "first_seen", "last_seen", "body_hash"):  # fmt: skip
        assert field in rows[0]


def test_search_filters(db: str) -> None:
    res = runner.invoke(app, ["search", "Netflix", "--db", db, "--json", "--author", "marcus",
                              "--since", "2022-06-01", "--until", "2022-06-02"])  # fmt: skip
    assert [r["title"] for r in jsonl(res.stdout)] == ["Netflix Geeked Week 2022: Full Schedule"]
    res = runner.invoke(app, ["search", "Netflix", "--db", db, "--json", "--limit", "1"])
    assert len(jsonl(res.stdout)) == 1


def test_latest_show_stats(db: str) -> None:
    res = runner.invoke(app, ["latest", "--db", db, "--json", "--limit", "2"])
    titles = [r["title"] for r in jsonl(res.stdout)]
    assert titles == ["Squid Game Season 2 Is Officially Happening",
                      "All of Us Are Dead Season 2 Officially Confirmed by Netflix"]  # fmt: skip
    url = "https://www.dualshockers.com/all-of-us-are-dead-season-2-confirmed-netflix/"
    res = runner.invoke(app, ["show", url, "--db", db, "--json"])
    assert jsonl(res.stdout)[0]["authors"] == ["Shivam Gulati"]
    res = runner.invoke(app, ["show", url, "--db", db])
    assert "Recently, Netflix confirmed" in res.stdout
    assert runner.invoke(app, ["show", "99999", "--db", db]).exit_code == 1
    res = runner.invoke(app, ["stats", "--db", db, "--json"])
    (row,) = jsonl(res.stdout)
    assert row["articles"] == 5 and row["source"] == "dualshockers"
    assert "dualshockers" in runner.invoke(app, ["stats", "--db", db]).stdout


def test_export_jsonl_and_csv(db: str, tmp_path: Path) -> None:
    out = tmp_path / "all.jsonl"
    res = runner.invoke(app, ["export", "--db", db, "--format", "jsonl", "--out", str(out)])
    assert res.exit_code == 0
    assert len(jsonl(out.read_text())) == 5
    res = runner.invoke(app, ["export", "--db", db, "--format", "csv", "--author", "Rachel"])
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert {r["authors"] for r in rows} == {"Rachel Ortiz"} and len(rows) == 2
    assert runner.invoke(app, ["export", "--db", db, "--format", "xml"]).exit_code == 2


def test_sources_and_runs(db: str) -> None:
    res = runner.invoke(app, ["sources", "--db", db, "--json"])
    rows = {r["name"]: r for r in jsonl(res.stdout)}
    assert rows["dualshockers"]["category"] == "games"
    assert rows["dualshockers"]["last_run"] is None  # this database was never crawled
    assert runner.invoke(app, ["runs", "--db", db, "--json"]).exit_code == 0


def test_extract_prints_item_per_page() -> None:
    page = SITE / "all-of-us-are-dead-season-2-confirmed-netflix" / "index.html"
    url = "https://www.dualshockers.com/all-of-us-are-dead-season-2-confirmed-netflix/"
    res = runner.invoke(app, ["extract", str(page), "--url", url])
    (row,) = jsonl(res.stdout)
    assert row["path"] == str(page) and row["authors"] == ["Shivam Gulati"]
    assert row["published"] == "2022-06-06T16:05:00+00:00"


def test_extract_manifest_with_gz(tmp_path: Path) -> None:
    import gzip

    page = SITE / "the-boys-season-3-episode-guide" / "index.html"
    gz = tmp_path / "p.html.gz"
    gz.write_bytes(gzip.compress(page.read_bytes()))
    manifest = tmp_path / "pages.jsonl"
    manifest.write_text(
        json.dumps(
            {
                "path": "p.html.gz",
                "url": "https://www.dualshockers.com/the-boys-season-3-episode-guide/",
                "fetched_at": "2022-06-10T00:00:00Z",
            }
        )
        + "\n"
        + json.dumps({"path": "missing.html", "url": "https://x.example/"})
        + "\n"
    )
    res = runner.invoke(app, ["extract", "--manifest", str(manifest)])
    ok, missing = jsonl(res.stdout)
    assert ok["title"] == "The Boys Season 3: Episode Release Schedule"
    assert ok["fetched_at"] == "2022-06-10T00:00:00+00:00"
    assert "error" in missing and res.exit_code == 1


INJECTIONS = ["'; DROP TABLE articles; --", '" OR 1=1 --', "%", "_", "\\", "NEAR(", "*"]


@pytest.mark.parametrize("evil", INJECTIONS)
def test_injection_strings_in_every_filter(db: str, evil: str) -> None:
    for args in (["search", evil, "--source", evil, "--author", evil],
                 ["latest", "--source", evil, "--author", evil],
                 ["export", "--source", evil, "--author", evil],
                 ["show", evil]):  # fmt: skip
        res = runner.invoke(app, [*args, "--db", db])
        assert res.exit_code in (0, 1), (args, res.output)
        assert "Traceback" not in res.output
    res = runner.invoke(app, ["latest", "--db", db, "--json", "--limit", "50"])
    assert len(jsonl(res.stdout)) == 5


def test_bad_window_is_a_clear_error(db: str) -> None:
    res = runner.invoke(app, ["latest", "--db", db, "--since", "last tuesday-ish"])
    assert res.exit_code == 2 and "cannot read" in res.output


def test_dates_shown_as_finely_as_the_page_gave_them(backend_url: str) -> None:
    """A day-precision date is shown as a date, a month as a month, never with a time of
    day; the JSON carries the precision, and the date part is the page's date."""
    from aggregator.items import ArticleItem
    from tests.conftest import distinct_body

    tokyo = timezone(timedelta(hours=9))
    items = [
        ArticleItem(url=f"https://x.example/{n}/", canonical_url=f"https://x.example/{n}/",
                    source="x", title=title, body=distinct_body(n), published=when,
                    published_precision=precision, fetched_at=NOW)
        for n, (title, when, precision) in enumerate([
            ("Dated by day", datetime(2022, 6, 6, tzinfo=tokyo), "day"),
            ("Dated by month", datetime(2019, 3, 1, tzinfo=timezone.utc), "month"),
            ("Dated to the minute", datetime(2022, 6, 7, 16, 5, tzinfo=timezone.utc), "minute"),
        ])
    ]  # fmt: skip
    engine = make_engine(backend_url)
    indexed_store(engine).upsert(items, NOW)
    engine.dispose()
    wide = {"COLUMNS": "200"}
    table = runner.invoke(app, ["latest", "--db", backend_url], env=wide).stdout
    day_row = next(line for line in table.splitlines() if "Dated by day" in line)
    month_row = next(line for line in table.splitlines() if "Dated by month" in line)
    minute_row = next(line for line in table.splitlines() if "Dated to the minute" in line)
    # The Tokyo date, not 2022-06-05 (its UTC date), and no "00:00" or "15:00".
    assert "2022-06-06" in day_row and ":" not in day_row
    assert "2019-03" in month_row and "2019-03-01" not in month_row and ":" not in month_row
    assert "2022-06-07 16:05" in minute_row
    rows = {r["title"]: r for r in jsonl(runner.invoke(app, ["latest", "--db", backend_url,
                                                              "--json"]).stdout)}  # fmt: skip
    assert rows["Dated by day"]["published_precision"] == "day"
    assert rows["Dated by day"]["published"] == "2022-06-06T00:00:00+09:00"
    assert rows["Dated by month"]["published_precision"] == "month"
    assert rows["Dated to the minute"]["published"] == "2022-06-07T16:05:00+00:00"
    shown = runner.invoke(app, ["show", "https://x.example/0/", "--db", backend_url], env=wide)
    assert "published: 2022-06-06 (2022-06-06T00:00:00+09:00)" in shown.stdout
    assert "published_precision: day" in shown.stdout
    res = runner.invoke(app, ["export", "--db", backend_url, "--format", "csv"])
    by_title = {r["title"]: r for r in csv.DictReader(io.StringIO(res.stdout))}
    assert by_title["Dated by day"]["published_precision"] == "day"
