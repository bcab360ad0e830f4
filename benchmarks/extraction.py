"""Extraction benchmark: our extractor against peers on the development corpora.

    python -m benchmarks.extraction                  # ours and trafilatura, every corpus
    python -m benchmarks.extraction --all            # every system (slower peers too)
    python -m benchmarks.extraction --only ours      # just ours (also: --only ours,trafilatura)
    python -m benchmarks.extraction --corpus meta    # some corpora: aeb,meta,dragnet,...
    python -m benchmarks.extraction --worst 10       # the 10 worst pages of each corpus
    python -m benchmarks.extraction --diff ABC_2025  # expected vs ours for one page

Run from the project root. Corpora: every one of ``aggregator.scoring.CORPORA``
present (article-extraction-benchmark, news-metadata, dragnet, l3s-gn1, readability,
cleanportaleval). For each corpus, every system runs as a whole process over that corpus's
manifest and is timed as such (wall time, start-up and imports included), so the pages/s
figures compare like with like: ours through the ``aggregator extract --manifest`` console
script, each peer (and the lxml "floor") through this same module in runner mode
(``python -m benchmarks.extraction --peer NAME --manifest M``, run from the project root),
which prints one JSON line per page with ``path``, ``title``, ``authors``, ``published``
and ``body``. The processes run one after another, never in parallel, corpus by corpus
(all systems on one corpus, then the next), so the systems compared on a corpus ran under
the same load.

Printed: one body table (per corpus and system: P/R/F1, exact-token accuracy, catastrophes
and empty bodies, pages/s), one metadata table (news-metadata, and readability's title /
byline / published), and our worst pages of each corpus. Scores come from
:mod:`aggregator.scoring` (see there for the metrics, and the page reader the peers
share); everything is also written, with per-page scores for ours, to
``benchmarks/results/extraction.json``.

Corpora: ``$AGGREGATOR_CORPORA``, default ``<project>/../shared/corpora``; read in place.

Top-level imports are stdlib only: in runner mode this module is the peer's whole process,
and must not charge the peers for rich or anything else they do not use. A peer that reads
pages (every one but the floor) imports :func:`aggregator.scoring.read_html`, the page
reader its tests share: ``aggregator.scoring`` sits at the package's top so that this
imports nothing else of the project (not the extractor).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from aggregator.scoring import CorpusKey, Page, SystemResult

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
DEFAULT_JSON = HERE / "results" / "extraction.json"

# Display order; "ours" is the aggregator console script, the rest run through _run_peer.
SYSTEMS = ("ours", "trafilatura", "trafilatura-fast", "readability", "newspaper4k", "floor")
# Run without --all/--only: the peer the issue targets. The others are several times slower
# (readability-lxml, newspaper4k) and would make a default run over ~1,270 pages long.
DEFAULT_SYSTEMS = ("ours", "trafilatura")
# Which outputs a system has at all: the table shows "-" rather than a misleading 0.
PROVIDES: dict[str, frozenset[str]] = {
    "readability": frozenset({"body", "title"}),
    "floor": frozenset(),
}
ALL_FIELDS = frozenset({"body", "title", "authors", "published"})
DISTRIBUTIONS = {
    "ours": "entertainment-news-aggregator",
    "trafilatura": "trafilatura",
    "trafilatura-fast": "trafilatura",
    "readability": "readability-lxml",
    "newspaper4k": "newspaper4k",
    "floor": "lxml",
}

# -- peer runner: executed in its own process ------------------------------------------------

Handler = Callable[[Path, str], dict[str, Any]]


def _split_authors(value: Any) -> list[str]:
    """trafilatura joins authors with "; "."""
    if not value:
        return []
    return [a.strip() for a in str(value).split(";") if a.strip()]


def _trafilatura(fast: bool) -> Handler:
    import trafilatura
    from trafilatura.settings import set_date_params

    from aggregator.scoring import read_html

    # The defaults (extensive search, original date) with a full timestamp: the default
    # "%Y-%m-%d" would make trafilatura score 0 on "same minute" for want of asking.
    # Comments off, as ours: the gold leaves reader comments out (dragnet cut them from 392
    # pages), and issue 12 measures trafilatura so (``include_comments=False``).
    date_params = {**set_date_params(True), "outputformat": "%Y-%m-%dT%H:%M:%S%z"}

    def handle(path: Path, url: str) -> dict[str, Any]:
        doc = trafilatura.bare_extraction(
            read_html(path),
            url=url or None,
            with_metadata=True,
            include_comments=False,
            fast=fast,
            date_extraction_params=date_params,
        )
        if doc is None:
            return {"title": None, "authors": [], "published": None, "body": ""}
        d: dict[str, Any] = doc if isinstance(doc, dict) else doc.as_dict()
        return {
            "title": d.get("title"),
            "authors": _split_authors(d.get("author")),
            "published": d.get("date"),
            "body": d.get("text") or "",
        }

    return handle


def _readability() -> Handler:
    from readability import Document

    from aggregator.scoring import fragment_text, read_html

    def handle(path: Path, url: str) -> dict[str, Any]:
        doc = Document(read_html(path), url=url or None)
        return {
            "title": doc.short_title(),
            "authors": None,
            "published": None,
            "body": fragment_text(doc.summary(html_partial=True)),
        }

    return handle


def _newspaper4k() -> Handler:
    import newspaper
    from newspaper.configuration import Configuration

    from aggregator.scoring import read_html

    config = Configuration()
    # Otherwise parse() downloads images to check their size: network, and not extraction.
    config.fetch_images = False

    def handle(path: Path, url: str) -> dict[str, Any]:
        article = newspaper.Article(url, config=config)
        article.download(input_html=read_html(path))
        article.parse()
        published = article.publish_date
        return {
            "title": article.title,
            "authors": list(article.authors or []),
            "published": published.isoformat()
            if isinstance(published, datetime)
            else (str(published) if published else None),
            "body": article.text or "",
        }

    return handle


def _floor() -> Handler:
    """Decompress and build the lxml tree, nothing else: the cost every extractor pays."""
    import lxml.html

    def handle(path: Path, url: str) -> dict[str, Any]:
        lxml.html.document_fromstring(gzip.decompress(path.read_bytes()))
        return {}

    return handle


PEERS: dict[str, Callable[[], Handler]] = {
    "trafilatura": lambda: _trafilatura(fast=False),
    "trafilatura-fast": lambda: _trafilatura(fast=True),
    "readability": _readability,
    "newspaper4k": _newspaper4k,
    "floor": _floor,
}

EXIT_CANNOT_LOAD = 3


def _run_peer(name: str, manifest: Path) -> int:
    """Runner mode: one JSON line per manifest page; a page that raises gets ``error``.

    Exits with EXIT_CANNOT_LOAD (reason on stderr) when the peer cannot even be imported,
    so the benchmark reports it as skipped.
    """
    try:
        handle = PEERS[name]()
    except Exception as exc:
        print(f"cannot load {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_CANNOT_LOAD
    out = sys.stdout
    with manifest.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            spec = json.loads(line)
            row: dict[str, Any] = {"path": spec["path"]}
            try:
                row.update(handle(Path(spec["path"]), spec["url"]))
            except Exception as exc:  # a peer's bug on one page must not end its run
                row["error"] = f"{type(exc).__name__}: {exc}"[:500]
            out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    return 0


# -- running and scoring systems -------------------------------------------------------------


def _command(system: str, manifest: Path) -> list[str]:
    """The whole-process command for a system."""
    if system == "ours":
        # The console script of the venv running this file (not resolved: a venv's python
        # is a symlink out of the venv).
        script = Path(sys.executable).parent / "aggregator"
        return [str(script), "extract", "--manifest", str(manifest)]
    # This module in runner mode; ``-m`` finds the package from the working directory,
    # which _execute sets to the project root.
    return [
        sys.executable,
        "-m",
        "benchmarks.extraction",
        "--peer",
        system,
        "--manifest",
        str(manifest),
    ]


def _tail(text: str, lines: int = 3) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def _execute(
    system: str, manifest: Path, n_pages: int, repeat: int, timeout: float
) -> tuple[dict[str, dict[str, Any]], float | None, str | None, dict[str, Any]]:
    """Run one system ``repeat`` times; (outputs by path, best wall seconds, skip reason,
    run details). Outputs come from the first run; timing is the fastest run. The details
    hold the CPU seconds (user + system) of each run too: on a shared machine they vary
    less with the load than wall time does."""
    import resource
    import subprocess

    cmd = _command(system, manifest)
    if system == "ours" and not Path(cmd[0]).exists():
        return {}, None, f"console script not found: {cmd[0]}", {}
    outputs: dict[str, dict[str, Any]] = {}
    times: list[float] = []
    cpu: list[float] = []
    details: dict[str, Any] = {"command": cmd}
    for i in range(repeat):
        # Runs are one at a time, so the children's usage grows by this process's alone.
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                cmd,
                cwd=PROJECT,  # where ``python -m benchmarks.extraction`` finds the package
                capture_output=True,
                text=True,
                encoding="utf-8",
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {}, None, f"timed out after {timeout:.0f}s", details
        except OSError as exc:
            return {}, None, f"cannot start: {exc}", details
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        rows: dict[str, dict[str, Any]] = {}
        for line in proc.stdout.splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and "path" in row:
                rows[str(row["path"])] = row
        details.update(returncode=proc.returncode, stderr_tail=_tail(proc.stderr, 5))
        if proc.returncode == EXIT_CANNOT_LOAD and not rows:
            return {}, None, _tail(proc.stderr, 1) or "cannot load", details
        if len(rows) < n_pages:
            # Crashed part-way (a segfault, an uncaught error): no fair score or timing.
            reason = f"exit {proc.returncode} after {len(rows)}/{n_pages} pages"
            tail = _tail(proc.stderr, 1)
            return {}, None, f"{reason}: {tail}" if tail else reason, details
        if i == 0:
            outputs = rows
    details["runs_seconds"] = times
    details["runs_cpu_seconds"] = cpu
    return outputs, min(times), None, details


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _git_state() -> dict[str, Any]:
    """Commit and whether the tree was dirty: which extractor produced these numbers."""
    import subprocess

    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(
                ["git", *args], cwd=PROJECT, capture_output=True, text=True, check=False
            )
        except OSError:
            return None
        return proc.stdout.strip() if proc.returncode == 0 else None

    status = git("status", "--porcelain", "--", "aggregator")
    return {"commit": git("rev-parse", "HEAD"), "aggregator_dirty": bool(status)}


def _by_page_id(pages: Sequence[Page], outputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {p.page_id: outputs[str(p.path)] for p in pages if str(p.path) in outputs}


def _compile_bytecode() -> None:
    """Write the bytecode of the project's modules before any timing, as installing a
    package does. The peers run from installed packages, compiled at install time; ours
    and the peers' runner (this module) run from this checkout, where an interpreter that
    writes no bytecode (PYTHONDONTWRITEBYTECODE) would compile every module from source
    in every process, a cost no installed copy pays."""
    import compileall

    import aggregator

    for directory in (Path(aggregator.__file__).parent, PROJECT / "benchmarks"):
        compileall.compile_dir(directory, quiet=2)


def run_benchmark(
    corpora: dict[CorpusKey, list[Page]],
    systems: Sequence[str],
    repeat: int,
    timeout: float,
    console: Console,
) -> tuple[list[SystemResult], list[dict[str, Any]]]:
    """Run and score every system on every corpus; (results, per-page reports for ours).

    Corpus by corpus, each system one whole process over that corpus. A system that cannot
    run on one corpus (cannot load, crashed part-way, timed out) is skipped from then on,
    and its scores are dropped: a partial run is no fair comparison.
    """
    import tempfile

    from aggregator.scoring import (
        METADATA_CORPORA,
        SystemResult,
        page_report,
        score_body,
        score_meta,
        write_manifest,
    )

    results = {
        system: SystemResult(
            name=system,
            extra={
                "version": _version(DISTRIBUTIONS[system]),
                "provides": sorted(PROVIDES.get(system, ALL_FIELDS)),
                "runs": {},
                "error_kinds": {},
            },
        )
        for system in systems
    }
    per_page: list[dict[str, Any]] = []
    _compile_bytecode()
    with tempfile.TemporaryDirectory(prefix="extraction-bench-") as tmp:
        for key, pages in corpora.items():
            manifest = Path(tmp) / f"{key}.jsonl"
            write_manifest(pages, manifest)
            for system in systems:
                result = results[system]
                if result.skipped:
                    continue
                with console.status(f"running {system} on {key} ({len(pages)} pages)..."):
                    outputs, seconds, skipped, details = _execute(
                        system, manifest, len(pages), repeat, timeout
                    )
                result.extra["runs"][key] = details
                if skipped is not None or seconds is None:
                    result.skipped = f"{key}: {skipped}"
                    console.print(f"[dim]{system} on {key}: skipped: {skipped}[/dim]")
                    continue
                result.corpus_seconds[key] = seconds
                result.corpus_pages[key] = len(pages)
                errors = [str(row["error"]) for row in outputs.values() if row.get("error")]
                result.errors += len(errors)
                # Grouped by first line: "2x ImportError: nltk is required for Korean ..."
                kinds: Counter[str] = Counter(result.extra["error_kinds"])
                kinds.update(e.splitlines()[0][:120] for e in errors if e.strip())
                result.extra["error_kinds"] = dict(kinds.most_common())
                if system != "floor":
                    preds = _by_page_id(pages, outputs)
                    result.bodies[key] = score_body(pages, preds)
                    if key in METADATA_CORPORA:
                        result.metadata[key] = score_meta(pages, preds)
                if system == "ours":
                    per_page += [page_report(p, outputs.get(str(p.path), {})) for p in pages]
                console.print(f"[dim]{system} on {key}: {seconds:.2f}s[/dim]")
    for result in results.values():
        if result.skipped:
            result.bodies, result.metadata = {}, {}
            result.corpus_seconds, result.corpus_pages = {}, {}
            continue
        result.seconds = sum(result.corpus_seconds.values())
        result.pages = sum(result.corpus_pages.values())
        result.aeb = result.bodies.get("aeb")
        result.meta = result.metadata.get("meta")
    return list(results.values()), per_page


# -- reporting -------------------------------------------------------------------------------


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _cpu_seconds(result: SystemResult, corpus: str) -> float | None:
    """A system's least CPU seconds (user + system) over its runs on one corpus."""
    runs = result.extra.get("runs", {}).get(corpus, {}).get("runs_cpu_seconds")
    return min(runs) if runs else None


def _cpu_ratio(results: Sequence[SystemResult], corpus: str | None = None) -> float | None:
    """Trafilatura full's CPU seconds over ours (all corpora, or one), when both ran: like
    :func:`_ratio`, above 1 when we are faster."""
    by_name = {r.name: r for r in results}
    ours, peer = by_name.get("ours"), by_name.get("trafilatura")
    if ours is None or peer is None or ours.skipped or peer.skipped:
        return None
    keys = [corpus] if corpus is not None else list(ours.corpus_seconds)
    mine = theirs = 0.0
    for k in keys:
        a, b = _cpu_seconds(ours, k), _cpu_seconds(peer, k)
        if a is None or b is None:
            return None
        mine, theirs = mine + a, theirs + b
    return theirs / mine if mine > 0 else None


def _ratio(results: Sequence[SystemResult], corpus: str | None = None) -> float | None:
    """Our pages/s over trafilatura full's (all corpora, or one), when both ran."""
    by_name = {r.name: r for r in results}
    ours, peer = by_name.get("ours"), by_name.get("trafilatura")
    if ours is None or peer is None:
        return None
    if corpus is None:
        a, b = ours.pages_per_second, peer.pages_per_second
    else:
        a, b = ours.corpus_pages_per_second(corpus), peer.corpus_pages_per_second(corpus)
    return a / b if a and b else None


def print_table(
    results: Sequence[SystemResult],
    corpora: dict[CorpusKey, list[Page]],
    console: Console,
    per_page: Sequence[dict[str, Any]] = (),
    worst: int = 5,
) -> None:
    """The body table, the metadata table, our worst pages, then skips, page errors and
    the speed ratios."""
    from rich.markup import escape
    from rich.table import Table

    from aggregator.scoring import (
        CATASTROPHE_F1,
        CORPUS_DIRS,
        METADATA_CORPORA,
        worst_pages,
    )

    table = Table(title="Article extraction benchmark: body text")
    table.add_column("corpus")
    table.add_column("pages", justify="right")
    table.add_column("system")
    for col in ("P", "R", "F1", "acc", "catastr.", "empty", "pages/s", "seconds"):
        table.add_column(col, justify="right")
    for key, pages in corpora.items():
        for i, r in enumerate(results):
            has = PROVIDES.get(r.name, ALL_FIELDS)
            b = r.bodies.get(key) if "body" in has else None
            seconds = r.corpus_seconds.get(key)
            pps = r.corpus_pages_per_second(key)
            table.add_row(
                CORPUS_DIRS[key] if i == 0 else "",
                str(len(pages)) if i == 0 else "",
                r.name + (" (skipped)" if r.skipped else ""),
                _f(b.precision if b else None),
                _f(b.recall if b else None),
                _f(b.f1 if b else None),
                _f(b.accuracy if b else None),
                str(b.catastrophes) if b else "-",
                str(b.empty) if b else "-",
                f"{pps:.1f}" if pps else "-",
                f"{seconds:.2f}" if seconds else "-",
                end_section=i == len(results) - 1,
            )
    for i, r in enumerate(results):
        table.add_row(
            "all" if i == 0 else "",
            str(sum(len(v) for v in corpora.values())) if i == 0 else "",
            r.name,
            *["" for _ in range(6)],
            f"{r.pages_per_second:.1f}" if r.pages_per_second else "-",
            f"{r.seconds:.2f}" if r.seconds else "-",
        )
    console.print(table)
    console.print(
        "P/R/F1: 4-token shingles, P and R averaged over pages, F1 of the two averages; acc: "
        f"pages with the same tokens; catastr.: pages with text in the gold and page F1 < "
        f"{CATASTROPHE_F1}; empty: pages with text in the gold and no token extracted. "
        "pages/s and seconds: one whole process per system and corpus, start-up included.",
        highlight=False,
    )

    meta_keys = [k for k in corpora if k in METADATA_CORPORA]
    if meta_keys:
        mt = Table(title="Metadata (where the corpus has it)")
        mt.add_column("corpus")
        mt.add_column("system")
        for col in ("title exact", "author P/R/F1", "same day", "same minute"):
            mt.add_column(col, justify="right")
        for key in meta_keys:
            for i, r in enumerate(results):
                has = PROVIDES.get(r.name, ALL_FIELDS)
                m = r.metadata.get(key)
                mt.add_row(
                    CORPUS_DIRS[key] if i == 0 else "",
                    r.name + (" (skipped)" if r.skipped else ""),
                    _f(m.title_exact if m and "title" in has else None),
                    f"{m.author_precision:.3f}/{m.author_recall:.3f}/{m.author_f1:.3f}"
                    if m and "authors" in has
                    else "-",
                    _f(m.same_day if m and "published" in has else None),
                    _f(m.same_minute if m and "published" in has else None),
                    end_section=i == len(results) - 1,
                )
        console.print(mt)
        counts = []
        for key in meta_keys:
            m = next((r.metadata[key] for r in results if key in r.metadata), None)
            if m is not None:
                counts.append(
                    f"{CORPUS_DIRS[key]}: title {m.title_pages}, authors {m.author_pages}, "
                    f"day {m.day_pages}, minute {m.minute_pages} pages"
                )
        console.print(
            "Pages scored per field: " + "; ".join(counts) + ". readability's authors are "
            "its byline, one credit per page (pages with a null byline are not scored).",
            highlight=False,
        )

    if per_page and worst > 0:
        wt = Table(title=f"Ours: the {worst} worst pages of each corpus (body F1)")
        for col in ("corpus", "F1", "P", "R", "page", "url (or file)"):
            wt.add_column(col, justify="right" if col in ("F1", "P", "R") else "left")
        lists = worst_pages(per_page, worst)
        for key in corpora:
            rows = lists.get(key, [])
            for i, row in enumerate(rows):
                b = row["body"]
                wt.add_row(
                    CORPUS_DIRS[key] if i == 0 else "",
                    _f(b["f1"]),
                    _f(b["precision"]),
                    _f(b["recall"]),
                    escape(row["page"]),
                    escape(row["url"] or Path(row["path"]).name)
                    + (" [error]" if row.get("error") else ""),
                    end_section=i == len(rows) - 1,
                )
        console.print(wt)

    for r in results:
        if r.skipped:
            console.print(f"[yellow]{r.name} skipped:[/yellow] {escape(r.skipped)}")
        elif r.errors:
            kinds = "; ".join(f"{n}x {k}" for k, n in r.extra.get("error_kinds", {}).items())
            console.print(
                f"[yellow]{r.name}:[/yellow] failed on {r.errors} page(s), scored empty: "
                + escape(kinds),
                highlight=False,
            )
    for label, ratio_of in (
        ("pages/s", _ratio),
        ("CPU seconds (user + system), theirs / ours", _cpu_ratio),
    ):
        overall = ratio_of(results)
        if overall is None:
            continue
        per_corpus = ", ".join(
            f"{CORPUS_DIRS[k]} {x:.2f}x" for k in corpora if (x := ratio_of(results, k))
        )
        console.print(
            f"ours vs trafilatura (full) {label}: {overall:.2f}x overall; {per_corpus}",
            highlight=False,
        )


def write_json(
    path: Path,
    results: Sequence[SystemResult],
    corpora: dict[CorpusKey, list[Page]],
    per_page: list[dict[str, Any]],
    repeat: int,
    worst: int = 5,
) -> None:
    """Everything, for later comparison: environment, per-system figures, ours per page."""
    import platform

    from aggregator.scoring import corpora_root, worst_pages

    data = {
        "generated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "git": _git_state(),
        "corpora_root": str(corpora_root()),
        "corpora": {k: len(v) for k, v in corpora.items()},
        "timing": {
            "repeat": repeat,
            "seconds": "fastest of repeat runs, one whole process per system and corpus",
        },
        "ratio_ours_to_trafilatura_pages_per_s": _ratio(results),
        "ratio_ours_to_trafilatura_pages_per_s_by_corpus": {k: _ratio(results, k) for k in corpora},
        "ratio_trafilatura_to_ours_cpu_seconds": _cpu_ratio(results),
        "ratio_trafilatura_to_ours_cpu_seconds_by_corpus": {
            k: _cpu_ratio(results, k) for k in corpora
        },
        "systems": [r.to_json() for r in results],
        "worst_pages_ours": {
            k: [{"page": r["page"], "url": r["url"], "f1": r["body"]["f1"]} for r in rows]
            for k, rows in worst_pages(per_page, worst).items()
        },
        "pages_ours": per_page,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


# -- one page in detail ----------------------------------------------------------------------


def _paragraphs(text: str | None) -> list[str]:
    """Paragraphs with whitespace normalized, so the diff shows content changes only."""
    paras = (" ".join(p.split()) for p in (text or "").split("\n\n"))
    return [p for p in paras if p]


def _token_gaps(true: str, pred: str) -> tuple[list[str], list[str]]:
    """Runs of truth tokens we miss, and of our tokens the truth lacks (token-level diff,
    the level the metric scores at)."""
    from difflib import SequenceMatcher

    from aggregator.scoring import tokenize

    t, p = tokenize(true), tokenize(pred)
    missing: list[str] = []
    extra: list[str] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, t, p, autojunk=False).get_opcodes():
        if op in ("delete", "replace"):
            missing.append(" ".join(t[i1:i2]))
        if op in ("insert", "replace"):
            extra.append(" ".join(p[j1:j2]))
    return missing, extra


def show_diff(query: str, corpora: dict[CorpusKey, list[Page]], console: Console) -> int:
    """Expected vs ours for one page, extracted in-process exactly as the CLI would."""
    import tempfile
    from difflib import unified_diff

    from rich.markup import escape
    from rich.table import Table

    from aggregator.extract.batch import extract_file, read_manifest
    from aggregator.scoring import (
        METADATA_CORPORA,
        meta_page_scores,
        page_body_scores,
        write_manifest,
    )

    pages = [p for v in corpora.values() for p in v]
    matches = [p for p in pages if query in (p.page_id, p.path.name)] or [
        p for p in pages if query in p.path.name or p.page_id.startswith(query)
    ]
    if not matches:
        console.print(f"no page matches {query!r}")
        return 2
    if len(matches) > 1:
        console.print(f"{len(matches)} pages match {query!r}; be more specific:")
        for p in matches[:50]:
            console.print(f"  {p.corpus} {p.page_id}  {p.url}")
        return 2
    page = matches[0]
    with tempfile.TemporaryDirectory(prefix="extraction-diff-") as tmp:
        manifest = Path(tmp) / "page.jsonl"
        write_manifest([page], manifest)
        ours = extract_file(next(iter(read_manifest(manifest))))  # same fetched_at parsing

    console.rule(f"{page.corpus} {page.page_id}")
    console.print(f"url:  {page.url}\npath: {page.path}")
    if page.corpus in METADATA_CORPORA:
        scores = meta_page_scores(page, ours)
        table = Table(show_header=True)
        for col in ("field", "expected", "ours", "score"):
            table.add_column(col)
        table.add_row(
            "title", escape(str(page.title)), escape(str(ours.get("title"))), str(scores["title"])
        )
        table.add_row(
            "authors",
            escape(str(list(page.authors) if page.authors is not None else None)),
            escape(str(ours.get("authors"))),
            str(scores["authors"]),
        )
        table.add_row(
            "published",
            str(page.published),
            f"{ours.get('published')} ({ours.get('published_precision')}, "
            f"raw: {ours.get('published_raw')})",
            f"day={scores['same_day']} minute={scores['same_minute']}",
        )
        console.print(table)
    body = page_body_scores(page.body, ours.get("body"))
    console.print(
        f"body: P={_f(body['precision'])} R={_f(body['recall'])} "
        f"F1={_f(body['f1'])} exact tokens={body['exact']}"
    )
    console.rule("body, paragraph diff (- expected only, + ours only)")
    lines = 0
    for line in unified_diff(
        _paragraphs(page.body),
        _paragraphs(ours.get("body")),
        "expected",
        "ours",
        n=1,
        lineterm="",
    ):
        style = {"-": "red", "+": "green", "@": "cyan"}.get(line[:1], "")
        if line.startswith(("---", "+++")):
            style = "bold"
        console.print(escape(line), style=style or None, highlight=False)
        lines += 1
    if not lines:
        console.print("(same paragraphs)")
    missing, extra = _token_gaps(page.body, ours.get("body") or "")
    console.rule(f"missing text ({sum(len(m.split()) for m in missing)} tokens)")
    for m in missing:
        console.print(f"- {escape(m)}", style="red", highlight=False)
    console.rule(f"extra text ({sum(len(e.split()) for e in extra)} tokens)")
    for e in extra:
        console.print(f"+ {escape(e)}", style="green", highlight=False)
    return 0


# -- entry point -----------------------------------------------------------------------------


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.extraction",
        description="Score and time our extractor and its peers on the development corpora.",
    )
    parser.add_argument(
        "--corpus",
        metavar="KEYS",
        help="Comma-separated corpora (default: every one present): "
        "aeb, meta, dragnet, l3s-gn1, readability, cleanportaleval.",
    )
    parser.add_argument(
        "--only",
        metavar="SYSTEMS",
        help=f"Comma-separated systems to run (default: {', '.join(DEFAULT_SYSTEMS)}; "
        f"known: {', '.join(SYSTEMS)}).",
    )
    parser.add_argument(
        "--all", action="store_true", help=f"Run every system: {', '.join(SYSTEMS)}."
    )
    parser.add_argument(
        "--worst", type=int, default=5, metavar="N", help="Our N worst pages per corpus."
    )
    parser.add_argument(
        "--diff", metavar="PAGE", help="Expected vs ours for one page (id or file name part)."
    )
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help=f"Results file (default: {DEFAULT_JSON})."
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="Run each system N times, keep the fastest."
    )
    parser.add_argument(
        "--timeout", type=float, default=600, help="Seconds before a system is given up."
    )
    # Runner mode, used by the benchmark itself.
    parser.add_argument("--peer", choices=sorted(PEERS), help=argparse.SUPPRESS)
    parser.add_argument("--manifest", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Benchmark, diff or runner mode, by arguments."""
    args = _parse_args(argv)
    if args.peer:
        if args.manifest is None:
            print("--peer needs --manifest", file=sys.stderr)
            return 2
        return _run_peer(args.peer, args.manifest)

    from rich.console import Console

    from aggregator.scoring import CORPORA, CORPUS_DIRS, corpora_root, load_corpus

    # Not a terminal (piped, captured): rich would assume 80 columns and squash the table.
    console = Console() if sys.stdout.isatty() else Console(width=220)
    root = corpora_root()
    keys: list[CorpusKey] = list(CORPORA)
    if args.corpus:
        wanted = [k.strip() for k in args.corpus.split(",") if k.strip()]
        unknown = [k for k in wanted if k not in CORPORA]
        if unknown:
            console.print(f"unknown corpus: {', '.join(unknown)}; known: {', '.join(CORPORA)}")
            return 2
        keys = [k for k in CORPORA if k in wanted]  # display order
    corpora: dict[CorpusKey, list[Page]] = {}
    for key in keys:
        if (root / CORPUS_DIRS[key]).is_dir():
            corpora[key] = load_corpus(key, root)
        else:
            console.print(f"[yellow]corpus {CORPUS_DIRS[key]!r} not found under {root}[/yellow]")
    if not corpora:
        console.print("no corpus found (set AGGREGATOR_CORPORA)")
        return 2

    if args.diff:
        return show_diff(args.diff, corpora, console)

    systems = list(SYSTEMS if args.all else DEFAULT_SYSTEMS)
    if args.only:
        systems = [s.strip() for s in args.only.split(",") if s.strip()]
        unknown = [s for s in systems if s not in SYSTEMS]
        if unknown:
            console.print(f"unknown system(s): {', '.join(unknown)}; known: {', '.join(SYSTEMS)}")
            return 2
    if args.repeat < 1:
        console.print("--repeat must be at least 1")
        return 2
    start = time.perf_counter()
    results, per_page = run_benchmark(corpora, systems, args.repeat, args.timeout, console)
    print_table(results, corpora, console, per_page, args.worst)
    write_json(args.json, results, corpora, per_page, args.repeat, args.worst)
    console.print(f"benchmark wall time: {time.perf_counter() - start:.0f}s", highlight=False)
    console.print(f"results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
