"""The console script's fast way into ``aggregator extract --manifest``: the same lines,
stderr and exit status as the full command line interface, without its framework."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from aggregator.console import manifest_of
from tests.conftest import BIN, FIXTURES, PROJECT

PAGES = sorted((FIXTURES / "site").rglob("index.html"))[:3]

# The same command line, parsed by the full interface (Typer), as before the fast way.
FULL = [sys.executable, "-c", "from aggregator.cli import main; main()"]
FAST = [str(BIN / "aggregator")]


def _run(
    prefix: list[str], *args: str, stdout: int | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, *args],
        cwd=PROJECT,
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )


def _manifest(
    tmp_path: Path, rows: Sequence[Mapping[str, object]], name: str = "pages.jsonl"
) -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _same(manifest: Path) -> subprocess.CompletedProcess[str]:
    fast = _run(FAST, "extract", "--manifest", str(manifest))
    full = _run(FULL, "extract", "--manifest", str(manifest))
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        full.returncode,
        full.stdout,
        full.stderr,
    )
    return fast


def test_extract_manifest_needs_no_command_line_framework(tmp_path: Path) -> None:
    assert len(PAGES) == 3
    rows = [
        {"path": str(p), "url": f"https://example.com/{i}", "fetched_at": None}
        for i, p in enumerate(PAGES)
    ]
    manifest = _manifest(tmp_path, rows)
    code = (
        "import sys\n"
        "from aggregator.console import main\n"
        f"sys.argv = ['aggregator', 'extract', '--manifest', {str(manifest)!r}]\n"
        "main()\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'pydantic', 'rich'})\n"
        "print('loaded', loaded, file=sys.stderr)\n"
    )
    res = _run([sys.executable, "-c", code])
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip() == "loaded []"
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["path"] for r in lines] == [str(p) for p in PAGES]
    assert all(r.get("title") for r in lines)
    # And the console script prints what the full interface prints, byte for byte.
    assert _same(manifest).stdout == res.stdout


def test_failures_end_as_the_full_interface_ends_them(tmp_path: Path) -> None:
    missing = tmp_path / "gone.html"
    some_fail = _manifest(
        tmp_path,
        [
            {"path": str(PAGES[0]), "url": "https://example.com/a"},
            {"path": str(missing), "url": "https://example.com/b"},
        ],
    )
    res = _same(some_fail)
    assert res.returncode == 1
    assert "gone.html" in res.stderr and len(res.stdout.splitlines()) == 2

    bad_line = tmp_path / "bad.jsonl"
    bad_line.write_text('{"path": "x.html"}\n', encoding="utf-8")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    for manifest in (bad_line, empty, tmp_path / "no-such.jsonl"):
        res = _same(manifest)
        assert res.returncode == 2
        assert res.stdout == ""
        assert res.stderr.startswith("aggregator: ") and len(res.stderr.splitlines()) == 1


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_a_full_device_is_one_line(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, [{"path": str(PAGES[0]), "url": "https://example.com/a"}])
    results = []
    for prefix in (FAST, FULL):
        with open("/dev/full", "w") as full:
            res = _run(prefix, "extract", "--manifest", str(manifest), stdout=full.fileno())
        results.append((res.returncode, res.stderr))
    assert results[0] == results[1]
    assert results[0][0] == 2
    assert results[0][1].strip() == "aggregator: cannot write the output: No space left on device"


def test_every_other_command_line_goes_to_the_full_interface() -> None:
    assert manifest_of(["extract", "--manifest", "p.jsonl"]) == Path("p.jsonl")
    for args in (
        [],
        ["extract"],
        ["extract", "--manifest"],
        ["extract", "--manifest", "--help"],
        ["extract", "--manifest", ""],
        ["extract", "--manifest", "p.jsonl", "--url", "https://example.com/"],
        ["extract", "--help"],
        ["extract", "page.html"],
        ["--manifest", "p.jsonl", "extract"],
        ["export", "--manifest", "p.jsonl"],
    ):
        assert manifest_of(args) is None, args
