"""Denial-of-service benchmark: what one hostile page or file costs us, against a floor.

    python -m benchmarks.hostile                 # the default cases (a few minutes)
    python -m benchmarks.hostile --large         # also the 4 and 8 MB pages
    python -m benchmarks.hostile --only flat-p   # cases whose name starts with flat-p
    python -m benchmarks.hostile --timeout 120   # give up on a process after 120 s

Run from the project root (every child process runs there too).

Every case runs two processes one after the other, never in parallel: **ours** (what a
user runs: ``aggregator extract`` on a saved page, or ``aggregator crawl`` of the local
mirror) and a **floor** doing the least work the same input needs (lxml parsing the same
bytes, reading only as many bytes as the cap allows, the same crawl without the hostile
page). The table gives wall time and peak RSS of each (``ru_maxrss`` of that one child,
from ``wait4``) and ours / floor as a ratio, so a run on a busy machine still compares
like with like. Wall times include interpreter start-up and imports on both sides.

A process that runs past ``--timeout`` is killed and shown as ``> N s``; every child runs
under an address-space limit (``--mem-limit``, default 6 GiB), so a case that would eat
the machine ends in a MemoryError, shown as ``(failed)``, instead.

The crawl case measures what a slow page does to the rest of a crawl: one ``aggregator
crawl`` of two sources, one of which lists a big page, and the other many small ones
fetched at a steady rate; its figure is the longest gap between two requests of the
steady source (the floor: the same crawl without the big page).

Cases are entries of :data:`CASES` (name, description, ours, floor); add one there.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aggregator.extract import MAX_ELEMENTS
from aggregator.mirror import MirrorServer
from benchmarks.hostile_sitemap import HOST as SITEMAP_HOST
from benchmarks.hostile_sitemap import SOURCES as SITEMAP_SOURCES
from benchmarks.hostile_sitemap import sitemap_body

PROJECT = Path(__file__).resolve().parent.parent

BIN = Path(sys.executable).parent
AGGREGATOR = str(BIN / "aggregator")
MB = 1024 * 1024
URL = "https://dos.example/news/page/"
# The floor of a page case: parse the same bytes with lxml, nothing else.
FLOOR_PARSE = (
    "import sys, lxml.html; "
    "lxml.html.document_fromstring(open(sys.argv[1], 'rb').read() or b'<p></p>')"
)
# The floor of a capped read: read as many bytes as the cap allows, nothing else.
FLOOR_READ = "import gzip, sys; f = sys.argv[1]; (gzip.open if f.endswith('.gz') else open)(f, 'rb').read(8 * 1024 * 1024)"  # noqa: E501


@dataclass
class Measure:
    """One process: wall time, peak RSS, how it ended, and a case-specific figure."""

    wall: float
    maxrss_mb: float
    status: str = "ok"  # ok, exit N, timeout
    figure: float | None = None


@dataclass
class Context:
    """What the cases share: the work directory (inputs are cached there) and limits."""

    work: Path
    timeout: float
    mem_limit: int
    inputs: dict[str, Path] = field(default_factory=dict)

    def cached(self, name: str, make: Callable[[Path], object]) -> Path:
        """The input file ``name``, made once per run."""
        if name not in self.inputs:
            path = self.work / name
            make(path)
            self.inputs[name] = path
        return self.inputs[name]


Runner = Callable[[Context], Measure]


def run_process(
    argv: Sequence[str], ctx: Context, env: dict[str, str] | None = None
) -> tuple[Measure, str]:
    """Run ``argv`` to completion (or the timeout); (its measure, its stderr's tail)."""
    limit = ctx.mem_limit

    def limits() -> None:
        os.setsid()  # its own process group: a timeout kills everything it started
        if limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    err_path = ctx.work / "stderr.txt"
    t0 = time.perf_counter()
    with err_path.open("wb") as err:
        proc = subprocess.Popen(
            list(argv),
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, **(env or {})},
            cwd=PROJECT,
            preexec_fn=limits,  # noqa: PLW1509 - no threads run user code at this point
        )
    status = "ok"
    deadline = t0 + ctx.timeout
    while True:
        pid, code, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pid, code, usage = os.wait4(proc.pid, 0)
            status = "timeout"
            break
        time.sleep(0.02)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(code)  # reaped here, not by Popen
    if status == "ok" and proc.returncode != 0:
        status = f"exit {proc.returncode}"
    tail = err_path.read_text(encoding="utf-8", errors="replace")[-2000:]
    return Measure(wall, usage.ru_maxrss / 1024, status), tail


# -- hostile inputs ------------------------------------------------------------------------

SENTENCE = "The premiere drew a crowd, and the critics stayed until the very end. "


def _head(title: str) -> str:
    return f"<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1>"


def _repeat(unit: str, size: int, head: str, tail: str) -> bytes:
    """``head``, then ``unit`` as often as fits in ``size`` bytes, then ``tail``."""
    n = max(1, (size - len(head) - len(tail)) // len(unit.encode("utf-8")))
    return (head + unit * n + tail).encode("utf-8")


def _deep(depth: int, size: int, head: str, tag: str) -> bytes:
    """Stacks of ``depth`` nested elements (``tag`` with its attributes), each with text."""
    name = tag.split(maxsplit=1)[0]
    stack = f"<{tag}>{SENTENCE}" * depth + f"</{name}>" * depth
    return _repeat(stack, size, head, "</body></html>")


# Page shapes, each ``size -> bytes``: the ones a quadratic step in extraction would hurt.
SHAPES: dict[str, Callable[[int], bytes]] = {
    # The case: a flat page of <p> siblings.
    "flat-p": lambda n: _repeat(f"<p>{SENTENCE}</p>\n", n, _head("Flat p"), "</body></html>"),
    "flat-div": lambda n: _repeat(
        f"<div>{SENTENCE}</div>\n", n, _head("Flat div"), "</body></html>"
    ),
    # libxml2 nests at most 255 deep; deeper tags become siblings.
    "deep-div": lambda n: _deep(250, n, _head("Deep div"), "div"),
    "deep-hidden": lambda n: _deep(250, n, _head("Deep hidden"), 'div hidden=""'),
    "deep-furniture": lambda n: _deep(
        250, n, _head("Deep furniture") + '<article class="article-body">', 'div class="share"'
    ),
    "deep-span": lambda n: _deep(250, n, _head("Deep span") + "<p>", "span"),
    "table": lambda n: _repeat(
        f"<tr><td>{SENTENCE}</td><td>Cell, two.</td></tr>\n",
        n,
        _head("Table") + "<table>",
        "</table></body></html>",
    ),
    "ul": lambda n: _repeat(
        f"<li>{SENTENCE}</li>\n", n, _head("List") + "<ul>", "</ul></body></html>"
    ),
    "links": lambda n: _repeat(
        '<a href="/news/x/">A linked headline, one of many</a> ',
        n,
        _head("Links") + "<div>",
        "</div></body></html>",
    ),
    "inline": lambda n: _repeat(
        "<b>Bold</b>, <i>italic</i> and <span>plain words.</span> ",
        n,
        _head("Inline") + "<p>",
        "</p></body></html>",
    ),
    "br": lambda n: _repeat(
        f"{SENTENCE}<br>\n", n, _head("Breaks") + "<div>", "</div></body></html>"
    ),
    "text": lambda n: _repeat(SENTENCE, n, _head("Text") + "<p>", "</p></body></html>"),
    # Free-text dates, each a dateparser call: different ones, so none is parsed twice.
    "dates": lambda n: (
        _head("Dates")
        + "".join(
            f'<span itemprop="datePublished">{1 + i % 28} days after take {i}</span>\n'
            for i in range(n // 60)
        )
        + f"<p>{SENTENCE}</p></body></html>"
    ).encode(),
}


def budget_page() -> bytes:
    """The costliest page extraction still takes: MAX_ELEMENTS elements, flat <p>s."""
    paragraphs = MAX_ELEMENTS - 5  # html, head, title, body, h1
    return (
        _head("At the budget") + f"<p>{SENTENCE}</p>\n" * paragraphs + "</body></html>"
    ).encode()


def page_case(shape: str, size_mb: float) -> tuple[Runner, Runner]:
    """(ours, floor) for ``aggregator extract`` of a page of ``shape`` and size (a size of
    0: :func:`budget_page`)."""
    name = f"{shape}-{size_mb:g}mb.html"

    def make(path: Path) -> None:
        path.write_bytes(SHAPES[shape](int(size_mb * MB)) if size_mb else budget_page())

    def path(ctx: Context) -> Path:
        return ctx.cached(name, make)

    def ours(ctx: Context) -> Measure:
        return run_process([AGGREGATOR, "extract", str(path(ctx)), "--url", URL], ctx)[0]

    def floor(ctx: Context) -> Measure:
        return run_process([sys.executable, "-c", FLOOR_PARSE, str(path(ctx))], ctx)[0]

    return ours, floor


def write_gzip_bomb(path: Path, inflated: int = 2048 * MB) -> None:
    """A gzip file of ``inflated`` bytes of markup-free text, about 2 MB on disk."""
    chunk = b"a" * MB
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9) as gz:
        for _ in range(inflated // MB):
            gz.write(chunk)


def extract_command_case(source: Callable[[Context], Path]) -> tuple[Runner, Runner]:
    """(ours, floor) for ``aggregator extract`` of a file the cap must stop, followed by a
    good page; the floor reads what the cap allows (8 MiB) and stops."""

    def good(ctx: Context) -> Path:
        return ctx.cached("good.html", lambda p: p.write_bytes(SHAPES["flat-p"](20_000)))

    def ours(ctx: Context) -> Measure:
        argv = [AGGREGATOR, "extract", str(source(ctx)), str(good(ctx)), "--url", URL]
        return run_process(argv, ctx)[0]

    def floor(ctx: Context) -> Measure:
        return run_process([sys.executable, "-c", FLOOR_READ, str(source(ctx))], ctx)[0]

    return ours, floor


# -- the crawl case ------------------------------------------------------------------------

STEADY_PAGES = 150
CRAWL_SOURCES = """
[[source]]
name = "dos_big"
title = "One big page"
domains = ["big.dos.example"]
feeds = ["https://big.dos.example/feed/"]
article_pattern = '^https://big\\.dos\\.example/news/'

[[source]]
name = "dos_steady"
title = "Many small pages"
domains = ["steady.dos.example"]
feeds = ["https://steady.dos.example/feed/"]
article_pattern = '^https://steady\\.dos\\.example/news/'
"""


class TimedMirror(MirrorServer):
    """The mirror, with the time of every request."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.times: list[tuple[float, str, str]] = []

    def record(self, host: str, path: str) -> None:
        super().record(host, path)
        with self._lock:
            self.times.append((time.monotonic(), host, path))


def _feed(host: str, paths: Sequence[str]) -> str:
    items = "".join(
        f"<item><title>{p}</title><link>https://{host}{p}</link>"
        "<pubDate>Mon, 06 Jun 2022 10:00:00 +0000</pubDate></item>"
        for p in paths
    )
    channel = f"<channel><title>{host}</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'


def write_crawl_site(root: Path, big: bytes | None) -> None:
    """Two hosts: ``big.dos.example`` lists one page (``big``; none without it),
    ``steady.dos.example`` lists :data:`STEADY_PAGES` ordinary articles."""
    steady = root / "steady.dos.example"
    paths = [f"/news/story-{i}/" for i in range(STEADY_PAGES)]
    for i, p in enumerate(paths):
        page = steady / p.strip("/") / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        body = "".join(f"<p>Story {i}, paragraph {k}: {SENTENCE}</p>" for k in range(8))
        page.write_text(_head(f"Steady story number {i}") + body + "</body></html>")
    (steady / "feed").mkdir(parents=True)
    (steady / "feed/index.xml").write_text(_feed("steady.dos.example", paths))
    host = root / "big.dos.example"
    (host / "feed").mkdir(parents=True)
    listed = ["/news/big/"] if big is not None else []
    (host / "feed/index.xml").write_text(_feed("big.dos.example", listed))
    if big is not None:
        (host / "news/big").mkdir(parents=True)
        (host / "news/big/index.html").write_bytes(big)


def crawl_case(shape: str, size_mb: float) -> tuple[Runner, Runner]:
    """(ours, floor): a crawl of both sources with the big page, and without it."""

    def crawl(ctx: Context, big: bytes | None) -> Measure:
        root = Path(tempfile.mkdtemp(dir=ctx.work, prefix="site-"))
        write_crawl_site(root, big)
        registry = ctx.work / "sources.toml"
        registry.write_text(CRAWL_SOURCES)
        db = root / "crawl.db"
        mirror = TimedMirror(root)
        with mirror:
            argv = [AGGREGATOR, "crawl", "dos_big", "dos_steady", "--sources", str(registry),
                    "--db", str(db), "--set", "AUTOTHROTTLE_ENABLED=False",
                    "--set", "DOWNLOAD_DELAY=0.1",
                    "--set", "RANDOMIZE_DOWNLOAD_DELAY=False"]  # fmt: skip
            measure, tail = run_process(argv, ctx, {"AGGREGATOR_HOST_MAP": mirror.host_map()})
            times = [t for t, host, path in mirror.times if host == "steady.dos.example"]
        if measure.status.startswith("exit"):
            print(f"  crawl {measure.status}: {tail[-500:]}", file=sys.stderr)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        measure.figure = max(gaps, default=0.0)
        return measure

    def ours(ctx: Context) -> Measure:
        return crawl(ctx, SHAPES[shape](int(size_mb * MB)))

    def floor(ctx: Context) -> Measure:
        return crawl(ctx, None)

    return ours, floor


# -- sitemap cases -------------------------------------------------------------------------

SITEMAP_URLS = 1_000_000
# The floor of a sitemap: inflate it (as far as the gzip-bomb cap allows), nothing else.
FLOOR_INFLATE = "import gzip, sys; gzip.open(sys.argv[1], 'rb').read(50 * 1024 * 1024)"


def _sitemap(ctx: Context, articles: bool) -> Path:
    """A gzipped sitemap of SITEMAP_URLS URLs, all articles or none (see hostile_sitemap)."""

    def write(path: Path) -> None:
        path.write_bytes(sitemap_body(SITEMAP_URLS, articles))

    return ctx.cached(f"sitemap-{SITEMAP_URLS}-{'articles' if articles else 'none'}.xml.gz", write)


def sitemap_callback_case(articles: bool) -> tuple[Runner, Runner]:
    """(ours, floor): the spider's sitemap callback on a 1M-URL sitemap in a process of its
    own, every request it yields kept as the scheduler keeps it (figure: how many); the
    floor inflates the file."""

    def ours(ctx: Context) -> Measure:
        out = ctx.work / "sitemap-callback.json"
        out.unlink(missing_ok=True)
        # run_process runs it from the project root, where ``-m`` finds the package.
        argv = [sys.executable, "-m", "benchmarks.hostile_sitemap",
                "--child", str(_sitemap(ctx, articles)), "--child-out", str(out)]  # fmt: skip
        measure = run_process(argv, ctx)[0]
        if out.is_file():
            measure.figure = float(json.loads(out.read_text())["requests"])
        return measure

    def floor(ctx: Context) -> Measure:
        argv = [sys.executable, "-c", FLOOR_INFLATE, str(_sitemap(ctx, articles))]
        measure = run_process(argv, ctx)[0]
        measure.figure = 0.0
        return measure

    return ours, floor


def sitemap_crawl_case() -> tuple[Runner, Runner]:
    """(ours, floor): ``aggregator crawl`` of a source whose one sitemap lists 1M URLs and
    no article, through the mirror; the floor crawls the same source with an empty one."""

    def crawl(ctx: Context, sitemap: Path | None) -> Measure:
        root = Path(tempfile.mkdtemp(dir=ctx.work, prefix="site-"))
        host = root / SITEMAP_HOST
        host.mkdir()
        target = host / "sitemap.xml.gz"
        if sitemap is None:
            target.write_bytes(sitemap_body(0, False))
        else:
            shutil.copyfile(sitemap, target)
        registry = ctx.work / "sitemap-sources.toml"
        registry.write_text(SITEMAP_SOURCES)
        with MirrorServer(root) as mirror:
            argv = [AGGREGATOR, "crawl", "sitemap_bomb", "--sources", str(registry),
                    "--db", str(root / "crawl.db"),
                    "--set", "AUTOTHROTTLE_ENABLED=False"]  # fmt: skip
            measure, tail = run_process(argv, ctx, {"AGGREGATOR_HOST_MAP": mirror.host_map()})
        if measure.status.startswith("exit"):
            print(f"  crawl {measure.status}: {tail[-500:]}", file=sys.stderr)
        return measure

    def ours(ctx: Context) -> Measure:
        return crawl(ctx, _sitemap(ctx, False))

    def floor(ctx: Context) -> Measure:
        return crawl(ctx, None)

    return ours, floor


# -- the cases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One hostile input: what ours does with it, and the floor to compare against."""

    name: str
    what: str
    ours: Callable[[Context], Measure]
    floor: Callable[[Context], Measure]
    figure: str = ""  # what Measure.figure means, if the case sets it
    large: bool = False  # only with --large


def _page(shape: str, mb: float, what: str, large: bool = False) -> Case:
    ours, floor = page_case(shape, mb)
    return Case(f"{shape}-{mb:g}mb", what, ours, floor, large=large)


def _bomb(ctx: Context) -> Path:
    return ctx.cached("bomb.html.gz", write_gzip_bomb)


def _dev_zero(ctx: Context) -> Path:
    return Path("/dev/zero")


CASES: list[Case] = [
    *(_page("flat-p", mb, f"{mb:g} MB of <p> siblings", large=mb > 2) for mb in (1, 2, 4, 8)),
    Case(
        "flat-p-budget",
        f"{MAX_ELEMENTS:,} elements, <p> siblings: the most extraction takes (4 MB)",
        *page_case("flat-p", 0),
    ),
    _page("flat-div", 2, "2 MB of <div> siblings"),
    _page("deep-div", 2, "stacks of 250 nested <div>, each with text"),
    _page("deep-hidden", 2, "stacks of 250 nested hidden <div>"),
    _page("deep-furniture", 2, 'stacks of 250 nested <div class="share"> in the body'),
    _page("deep-span", 2, "stacks of 250 nested <span> in one <p>"),
    _page("table", 1.5, "one <table> of 1.5 MB of rows (3 elements each)"),
    _page("ul", 2, "one <ul> of 2 MB of items"),
    _page("links", 2, "one <div> of 2 MB of links"),
    _page("inline", 0.8, "one <p> of 0.8 MB of inline elements"),
    _page("br", 2, "one <div> of 2 MB of lines and <br>"),
    _page("text", 8, "one <p> of 8 MB of text, no tags"),
    _page("dates", 2, "35,000 different free-text dates (itemprop=datePublished)"),
    Case(
        "gzip-bomb",
        "extract a 2 MB .gz holding 2 GiB, then a good page",
        *extract_command_case(_bomb),
    ),
    Case("dev-zero", "extract /dev/zero, then a good page", *extract_command_case(_dev_zero)),
    Case(
        "crawl-flat-p-2mb",
        "crawl: a source lists a 2 MB <p> page, another source 150 small pages",
        *crawl_case("flat-p", 2),
        figure="longest gap between requests of the other source (s)",
    ),
    Case(
        "crawl-flat-p-inline",
        "crawl: as above, the page at the limits of extraction in the reactor's thread "
        "(10,000 tags)",
        *crawl_case("flat-p", 0.37),
        figure="longest gap between requests of the other source (s)",
    ),
    Case(
        "sitemap-1m",
        "sitemap callback: a .xml.gz of 1M article URLs (requests kept, as queued)",
        *sitemap_callback_case(True),
        figure="requests queued",
    ),
    Case(
        "sitemap-1m-none",
        "sitemap callback: a .xml.gz of 1M URLs, none an article",
        *sitemap_callback_case(False),
        figure="requests queued",
    ),
    Case(
        "crawl-sitemap-1m-none",
        "crawl: a source's one sitemap lists 1M URLs, none an article",
        *sitemap_crawl_case(),
    ),
]


# -- report --------------------------------------------------------------------------------


def _time(m: Measure, timeout: float) -> str:
    if m.status == "timeout":
        return f"> {timeout:.0f} s"
    text = f"{m.wall:.2f} s"
    return text if m.status == "ok" else f"{text} ({m.status})"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b > 0 else "-"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.hostile",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--large", action="store_true", help="also the 4 and 8 MB pages")
    parser.add_argument("--only", default="", help="comma-separated name prefixes")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per process")
    parser.add_argument(
        "--mem-limit", type=float, default=6.0, help="address space per process, GiB (0: none)"
    )
    parser.add_argument("--keep", type=Path, help="make the inputs in this directory, keep them")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from rich.console import Console
    from rich.table import Table

    args = parse_args(argv)
    console = Console() if sys.stdout.isatty() else Console(width=160)
    prefixes = [p for p in args.only.split(",") if p]
    cases = [
        c
        for c in CASES
        if (args.large or not c.large)
        and (not prefixes or any(c.name.startswith(p) for p in prefixes))
    ]
    if not cases:
        console.print(f"no case matches {args.only!r}: {', '.join(c.name for c in CASES)}")
        return 2
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    work.mkdir(parents=True, exist_ok=True)
    ctx = Context(work, args.timeout, int(args.mem_limit * 1024**3))
    table = Table(title="Hostile inputs: ours against a floor (one process each, in turn)")
    for col in ("case", "what", "ours", "peak RSS", "floor", "floor RSS", "time", "RSS", "figure"):
        table.add_column(col, justify="left" if col in ("case", "what", "figure") else "right")
    failed = 0
    try:
        for case in cases:
            console.print(f"[dim]{case.name}...[/dim]")
            floor = case.floor(ctx)
            ours = case.ours(ctx)
            figure = ""
            if ours.figure is not None and floor.figure is not None:
                figure = f"{ours.figure:.2f} vs {floor.figure:.2f}: {case.figure}"
            failed += ours.status == "timeout"
            table.add_row(
                case.name,
                case.what,
                _time(ours, args.timeout),
                f"{ours.maxrss_mb:.0f} MB",
                _time(floor, args.timeout),
                f"{floor.maxrss_mb:.0f} MB",
                _ratio(ours.wall, floor.wall),
                _ratio(ours.maxrss_mb, floor.maxrss_mb),
                figure,
            )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    console.print(table)
    console.print(
        "time, RSS: ours / floor. Floors: lxml parsing the same bytes (pages); reading the "
        "8 MiB the cap allows (extract cases); the crawl without the big page (crawl). "
        f"Pages over {MAX_ELEMENTS:,} elements (flat-p from 4 MB) are refused as too complex; "
        "exit 1 is `aggregator extract`'s status when a file failed."
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
