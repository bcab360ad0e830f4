"""The wheel: only ``aggregator`` at the top of site-packages, and it works installed.

``spiders/`` and ``pipelines/`` sit at the top of the checkout (where Scrapy users look for
them) but install as ``aggregator.spiders`` and ``aggregator.pipelines``; the demo's
fixture site (``fixtures/site``) installs as ``aggregator/demo_site`` (pyproject's
``[tool.setuptools.package-dir]``). The slow test builds the wheel from a copy of the
checkout, installs it into a fresh virtual environment and runs ``aggregator demo`` and
``scrapy list`` from a directory outside the checkout, the way a user of the wheel would.

Building needs pip and the build requirements (``setuptools>=68``, ``wheel``) from an index
or ``--find-links``, or installed in this environment: where neither works (offline, no
local index) the test skips with pip's answer, or fails under
``AGGREGATOR_REQUIRE_SERVICES=1`` (CI).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from tests.conftest import BIN, PROJECT, SEED_URL, require_service

pytestmark = pytest.mark.packaging

# Source directory -> where its files go in the wheel.
MAPPED = {"aggregator": "aggregator", "spiders": "aggregator/spiders",
          "pipelines": "aggregator/pipelines", "fixtures/site": "aggregator/demo_site"}  # fmt: skip
# What a build does not need from the checkout (and what must not leak into it).
_NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", "*.py[cod]",
    ".*_cache", ".hypothesis", "*.db", "*.db-*", "aggregator.locks", "results",
)  # fmt: skip
# Environment variables that would point an installed copy back at the checkout.
_CHECKOUT_ENV = ("PYTHONPATH", "SCRAPY_SETTINGS_MODULE", "AGGREGATOR_FIXTURES",
                 "AGGREGATOR_SOURCES", "AGGREGATOR_DB_URL", "AGGREGATOR_HOST_MAP")  # fmt: skip


def _run(
    cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _check(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    if proc.returncode != 0:
        raise AssertionError(
            f"{proc.args} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc


def _build_wheel(tmp: Path) -> Path:
    """The wheel built from a copy of the checkout (a stale ``build/`` in the checkout
    would leak old files into it; the build writes nothing into the checkout)."""
    source = tmp / "src"
    shutil.copytree(PROJECT, source, ignore=_NOT_COPIED, symlinks=True)
    dist = tmp / "dist"
    base = [str(BIN / "python"), "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist)]
    answers: list[str] = []
    # An isolated build fetches the build requirements from the configured index or
    # --find-links; without one, this environment's own setuptools may do.
    for extra in ([], ["--no-build-isolation"]):
        proc = _run([*base, *extra, str(source)], cwd=tmp)
        wheels = sorted(dist.glob("*.whl"))
        if proc.returncode == 0 and wheels:
            return wheels[0]
        answers.append(f"pip wheel {' '.join(extra)}: {proc.stderr.strip()[-600:]}")
    require_service("cannot build the wheel here: " + " | ".join(answers))
    raise AssertionError("unreachable")


def _fresh_venv(tmp: Path, wheel: Path) -> Path:
    """A new virtual environment with the wheel installed (no dependencies: they are
    borrowed from this environment's site-packages through a .pth line, which puts the
    directory on sys.path without running the editable install's own .pth hooks)."""
    venv = tmp / "venv"
    proc = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp)
    if proc.returncode != 0:
        require_service(f"cannot create a virtual environment: {proc.stderr.strip()[-600:]}")
    python = venv / "bin" / "python"
    _check(_run([str(BIN / "python"), "-m", "pip", "--python", str(python), "install",
                 "--no-deps", "--no-index", "-q", str(wheel)], cwd=tmp))  # fmt: skip
    purelib = _check(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            cwd=tmp,
        )
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "_borrowed_dependencies.pth").write_text(
        "".join(f"{p}\n" for p in sorted(ours)), encoding="utf-8"
    )
    return venv


def _user_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CHECKOUT_ENV}
    return {**env, "AGGREGATOR_LOG_LEVEL": "WARNING"}


def _expected_wheel_files() -> set[str]:
    """Every module and data file the wheel must carry, from the source tree."""
    out: set[str] = set()
    for directory, target in MAPPED.items():
        for path in (PROJECT / directory).rglob("*"):
            rel = path.relative_to(PROJECT / directory)
            if path.is_dir() or "__pycache__" in rel.parts or path.suffix == ".pyc":
                continue
            if directory == "fixtures/site" or path.suffix == ".py":
                out.add(f"{target}/{rel.as_posix()}")
    return out


def test_wheel_installs_only_aggregator_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    top = {PurePosixPath(n).parts[0] for n in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"aggregator"}, top
    missing = sorted(_expected_wheel_files() - set(names))
    assert not missing, f"not in the wheel (pyproject's [tool.setuptools] packages?): {missing}"
    assert {"aggregator/sources.toml", "aggregator/py.typed"} <= set(names)
    # Reasonable: the demo's site, compressed, is most of it (about 0.8 MB).
    assert wheel.stat().st_size < 3 * 1024 * 1024, wheel.stat().st_size

    venv = _fresh_venv(tmp_path, wheel)
    python, work = venv / "bin" / "python", tmp_path / "user"
    work.mkdir()
    env = _user_env()
    site = Path(
        _check(
            _run(
                [str(python), "-c", "import aggregator; print(aggregator.__file__)"],
                cwd=work,
                env=env,
            )
        ).stdout.strip()
    ).parent
    assert venv in site.parents, site  # the installed copy, not the checkout
    probe = (
        "import importlib.util as u; print([n for n in "
        "('spiders', 'pipelines', 'tests', 'fixtures') if u.find_spec(n)])"
    )
    assert _check(_run([str(python), "-c", probe], cwd=work, env=env)).stdout.strip() == "[]"

    db = tmp_path / "demo.db"
    _check(_run([str(venv / "bin" / "aggregator"), "demo", "--db", str(db)], cwd=work, env=env))
    with sqlite3.connect(db) as conn:
        (stored,) = conn.execute("select count(*) from articles").fetchone()
        (seed,) = conn.execute(
            "select count(*) from articles where canonical_url = ?", (SEED_URL,)
        ).fetchone()
    assert stored >= 5 and seed == 1, stored

    # `scrapy list` / `scrapy crawl` of an installed copy: no scrapy.cfg, so the settings
    # module is named (README, "Crawling real outlets").
    scrapy_env = {**env, "SCRAPY_SETTINGS_MODULE": "aggregator.crawl.settings"}
    listed = _check(_run([str(python), "-m", "scrapy", "list"], cwd=work, env=scrapy_env))
    outlets = listed.stdout.split()
    assert "dualshockers" in outlets and "variety" in outlets, listed.stdout
    assert not (work / "aggregator.db").exists()  # listing opens no database


def test_editable_install_maps_the_same_names(tmp_path: Path) -> None:
    # This environment's (editable) install: aggregator.spiders and aggregator.pipelines
    # come from the checkout's spiders/ and pipelines/, and outside the checkout the bare
    # names do not import (an install made before the mapping still has them: reinstall
    # with `pip install -e .`).
    probe = (
        "import importlib.util as u, aggregator.spiders.news as s, aggregator.pipelines.store as p;"
        "print(s.__file__); print(p.__file__);"
        "print([n for n in ('spiders', 'pipelines') if u.find_spec(n)])"
    )
    out = _check(_run([str(BIN / "python"), "-c", probe], cwd=tmp_path, env=_user_env()))
    spiders, pipelines, bare = out.stdout.splitlines()
    assert Path(spiders) == PROJECT / "spiders" / "news.py"
    assert Path(pipelines) == PROJECT / "pipelines" / "store.py"
    assert bare == "[]", "reinstall with `pip install -e .`: " + bare
