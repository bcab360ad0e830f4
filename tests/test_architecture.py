"""The module graph runs one way: no import from a lower layer to a higher one, no circles.

Layers, bottom up (the project's design): items -> normalize -> the source registry ->
extract / storage (side by side, neither imports the other) -> aggregate -> the crawl
wing (aggregator/crawl, discovery, the mirror and its site generator, spiders, pipelines)
-> the CLI and, beside it, the web application (which the CLI's ``serve`` starts, and which
imports nothing of the CLI). Every import counts, at module level or inside a function,
under TYPE_CHECKING too: a lazy import that runs back up is still an arrow back up.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PROJECT = Path(__file__).resolve().parent.parent
# Source directory -> the package name it is imported (and installed) under: spiders/ and
# pipelines/ sit at the top of the checkout but are aggregator.spiders and
# aggregator.pipelines (pyproject's [tool.setuptools.package-dir]).
PACKAGES = {"aggregator": "aggregator", "spiders": "aggregator.spiders",
            "pipelines": "aggregator.pipelines"}  # fmt: skip
# Names that exist only because the checkout's root is on sys.path: never imported.
CHECKOUT_ONLY = ("spiders", "pipelines")

# (layer, module prefixes); a module belongs to the first entry one of whose prefixes
# it equals or starts with followed by a dot.
LAYERS: list[tuple[int, tuple[str, ...]]] = [
    (0, ("aggregator.items",)),
    (0, ("aggregator.stdout",)),
    (1, ("aggregator.normalize",)),
    (2, ("aggregator.sources",)),
    (3, ("aggregator.extract",)),
    (3, ("aggregator.scoring",)),
    (3, ("aggregator.storage",)),
    (4, ("aggregator.aggregate",)),
    (5, ("aggregator.crawl", "aggregator.discovery", "aggregator.mirror", "aggregator.sitegen")),
    (5, ("aggregator.spiders", "aggregator.pipelines")),
    (6, ("aggregator.cli",)),
    (6, ("aggregator.web",)),
    # The console script: its extract --manifest fast path, else the whole CLI.
    (7, ("aggregator.console",)),
]
# Side by side on one layer, neither importing the other.
SIBLINGS = [("aggregator.extract", "aggregator.storage")]
# Side by side on one layer, the first importing the second but never the other way:
# `aggregator serve` (aggregator.cli.serving) starts the web application, which is not
# built on the CLI.
ONE_WAY = [("aggregator.cli", "aggregator.web")]
# The package's own face: imports nothing of the project.
EXEMPT = {"aggregator"}


def _module_name(path: Path) -> str:
    directory, *parts = path.relative_to(PROJECT).with_suffix("").parts
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGES[directory], *parts])


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for directory in PACKAGES:
        for path in sorted((PROJECT / directory).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # Alembic's scripts: loaded by Alembic, not imported
            out[_module_name(path)] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """Project modules that ``name`` imports (the longest known prefix of each target)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*base_parts, *([base] if base else [])])
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


def _layer(module: str) -> tuple[int, str]:
    for layer, prefixes in LAYERS:
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                return layer, prefix
    raise AssertionError(f"{module} is on no layer: add it to LAYERS in {__file__}")


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: set(_imports(name, path, known)) for name, path in modules.items()}


def test_every_module_has_a_layer() -> None:
    for module in _modules():
        if module not in EXEMPT:
            _layer(module)


def test_no_import_runs_back_up() -> None:
    up: list[str] = []
    for module, targets in _graph().items():
        if module in EXEMPT:
            continue
        layer, group = _layer(module)
        for target in targets:
            if target in EXEMPT:
                continue
            target_layer, target_group = _layer(target)
            if target_layer > layer:
                up.append(f"{module} (layer {layer}) imports {target} (layer {target_layer})")
            elif (group, target_group) in SIBLINGS or (target_group, group) in SIBLINGS:
                up.append(f"{module} imports its sibling layer's {target}")
            elif (target_group, group) in ONE_WAY:
                up.append(f"{module} imports {target}, which stands on it")
    assert not up, "imports that run back up:\n" + "\n".join(sorted(up))


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    circles: list[list[str]] = []
    counter = 0
    for root, targets in graph.items():
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(targets)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    circles.append(sorted(component))
    return circles


def test_no_import_circles() -> None:
    circles = _circles(_graph())
    assert not circles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in circles)


def test_packages_map_as_pyproject_says() -> None:
    # The names this check uses are the ones setuptools installs (and the editable install
    # maps): a directory mapped elsewhere in pyproject would make the layers above fiction.
    config = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
    package_dir = config["tool"]["setuptools"]["package-dir"]
    mapped = {directory: name for name, directory in package_dir.items()}
    for directory, name in PACKAGES.items():
        assert mapped.get(directory, directory) == name, directory


def test_no_import_by_checkout_only_names() -> None:
    # `spiders` and `pipelines` import from a checkout (its root is on sys.path under pytest
    # and scrapy) but not from an installed wheel, and a module imported under two names is
    # two modules: everything says aggregator.spiders / aggregator.pipelines (or imports
    # relatively inside them), Scrapy's dotted settings too.
    bad: list[str] = []
    for directory in (*PACKAGES, "tests", "benchmarks"):
        for path in sorted((PROJECT / directory).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    names = [node.module or ""]
                elif (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and path.name == "settings.py"  # dotted paths Scrapy loads
                ):
                    names = [node.value]
                for name in names:
                    if name.split(".")[0] in CHECKOUT_ONLY:
                        line = getattr(node, "lineno", "?")
                        bad.append(f"{path.relative_to(PROJECT)}:{line}: {name}")
    assert not bad, "imports by checkout-only names:\n" + "\n".join(bad)


def test_the_check_sees_an_arrow_back_up(tmp_path: Path) -> None:
    # The checker itself: storage importing aggregate is reported.
    fake = tmp_path / "store.py"
    fake.write_text("from aggregator.aggregate.index import AggregateIndex\n", encoding="utf-8")
    known = {"aggregator.aggregate.index", "aggregator.storage.store"}
    (target,) = set(_imports("aggregator.storage.store", fake, known))
    assert _layer(target)[0] > _layer("aggregator.storage.store")[0]
    # ... and a circle is found, however long.
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _circles(graph) == [["a", "b", "c"]]


def test_extract_starts_without_the_crawl_wing_or_the_database() -> None:
    # `aggregator extract` pays the CLI's start-up on every run (the extraction benchmark
    # times whole processes): the commands' modules import Scrapy and SQLAlchemy inside the
    # commands that use them, never at the top.
    import subprocess

    code = (
        "import sys, aggregator.cli, aggregator.extract.batch; "
        "heavy = ('sqlalchemy', 'scrapy', 'twisted', 'rich'); "
        "print(' '.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == []
