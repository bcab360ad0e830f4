"""A local HTTP server that answers for many outlets at once, from saved files.

``fixtures/site/<host>/<path>`` is served for requests whose ``Host`` header is
``<host>``: ``/feed/`` maps to ``feed/index.xml`` or ``feed/index.html``, ``/a.xml`` to
``a.xml``. Crawls reach it through ``AGGREGATOR_HOST_MAP`` (see :mod:`aggregator.crawl.hostmap`),
so the spiders run unchanged. It backs ``aggregator demo``, the end-to-end tests and the
crawl benchmark.

Per-host behaviour for failure tests lives in ``<host>/_mirror.json`` (or comes from
:meth:`MirrorServer.set_behaviour`); every key applies to every path of the host:

``{"status": 500}``
    answer with that status (and a short text body);
``{"delay": 5}``
    wait that many seconds before answering;
``{"trap": "/calendar/"}``
    a spider trap: any path under the prefix is answered with a generated calendar page
    whose "next" link leads to the following day, forever.

``"paths"`` maps a path (or an ``fnmatch`` pattern such as ``/news/chain/*``) to keys
that apply to that path only, on top of the host's:

``"status"``, ``"delay"``
    as above;
``"redirect"``
    answer ``302`` (or ``"status"`` when it is a redirect code) with this ``Location``;
    ``{next}`` in it is replaced by the path's last number plus one (endless chains);
``"size"``
    answer with a generated HTML page of that many bytes, produced while it is sent (no
    big files on disk); with ``"chunked": true`` it has no ``Content-Length``;
``"content_type"``
    the ``Content-Type`` to send instead of the one the file name suggests;
``"sitemap"``
    answer with a generated sitemap: ``{"count": 3, "loc": "/news/{n}/"}`` is a urlset of
    three URLs (``{n}`` counts from 1; ``{stem}`` is the requested path without its
    extension), ``"index": true`` makes it a sitemap index, ``"lastmod"`` dates every
    entry and ``"gzip": true`` sends it gzipped (a ``.xml.gz`` file, no
    ``Content-Encoding``). An index whose children are ``{stem}-{n}.xml`` under a pattern
    such as ``/sitemaps/*`` is endless.

For example ``{"paths": {"/news/gone/": {"status": 410}, "/news/huge/": {"size": 20000000}}}``.
The bundled site (``fixtures/site``; ``aggregator/demo_site`` in an installed wheel) uses
none of this; ``fixtures/hostile`` (not installed) does.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import json
import mimetypes
import os
import re
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from fnmatch import fnmatchcase
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
}
_INDEXES = ("index.html", "index.xml", "index.rss", "index.atom")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PATTERN_CHARS = frozenset("*?[")
_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")
_TRAP_DATE = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")
# Generated bodies go out in pieces of this size.
_CHUNK = 64 * 1024
_SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def default_site_root() -> Path:
    """The bundled fixture site: ``AGGREGATOR_FIXTURES``/site; else the copy an installed
    wheel carries (``aggregator/demo_site``, mapped from ``fixtures/site`` by
    ``pyproject.toml``); else ``fixtures/site`` beside the package (a source checkout, or an
    editable install of one)."""
    env = os.environ.get("AGGREGATOR_FIXTURES")
    if env:
        return Path(env) / "site"
    package = Path(__file__).resolve().parent
    installed = package / "demo_site"
    return installed if installed.is_dir() else package.parent / "fixtures" / "site"


class _Handler(BaseHTTPRequestHandler):
    server: MirrorServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm on, every response
    # on a kept-alive connection waited ~40 ms for the delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the crawl's own log says what was fetched

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _send(
        self,
        status: int,
        body: bytes,
        ctype: str,
        extra: dict[str, str] | None = None,
        head: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _serve(self, head: bool) -> None:
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        path = unquote(urlsplit(self.path).path)
        self.server.record(host, path)
        root = self.server.root / host
        behaviour = self.server.rules(host, path)
        if behaviour.get("delay"):
            time.sleep(float(behaviour["delay"]))
        trap = behaviour.get("trap")
        if trap and path.startswith(trap):
            body = trap_page(trap, path).encode("utf-8")
            self._send(200, body, "text/html; charset=utf-8", head=head)
            return
        if behaviour.get("redirect"):
            status = int(behaviour.get("status") or 302)
            location = str(behaviour["redirect"]).replace("{next}", _next_number(path))
            self._send(
                status if status in _REDIRECTS else 302,
                b"moved\n",
                "text/plain",
                {"Location": location},
                head=head,
            )
            return
        if behaviour.get("status"):
            self._send(
                int(behaviour["status"]), b"mirror: forced status\n", "text/plain", head=head
            )
            return
        if behaviour.get("sitemap"):
            spec = behaviour["sitemap"]
            body = generated_sitemap(path, json.dumps(spec, sort_keys=True))
            ctype = "application/gzip" if spec.get("gzip") else "application/xml; charset=utf-8"
            self._send(200, body, behaviour.get("content_type") or ctype, head=head)
            return
        if behaviour.get("size"):
            ctype = behaviour.get("content_type") or "text/html; charset=utf-8"
            chunked = bool(behaviour.get("chunked"))
            self._send_generated(int(behaviour["size"]), ctype, chunked, head)
            return
        target = self.server.resolve(root, path)
        if target is None:
            self._send(404, b"not found\n", "text/plain", head=head)
            return
        data = target.read_bytes()
        ctype = (
            behaviour.get("content_type")
            or _TYPES.get(target.suffix)
            or mimetypes.guess_type(target.name)[0]
            or "application/octet-stream"
        )
        mtime = target.stat().st_mtime
        etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
        last_modified = email.utils.formatdate(mtime, usegmt=True)
        validators = {"ETag": etag, "Last-Modified": last_modified}
        if self.headers.get("If-None-Match") == etag:
            self.server.record_conditional(host, path)
            self._send(304, b"", ctype, validators, head=True)
            return
        self._send(200, data, ctype, validators, head=head)

    def _send_generated(self, size: int, ctype: str, chunked: bool, head: bool) -> None:
        """A generated HTML page of ``size`` bytes, written piece by piece (a client that
        gives up half way is the point of such a page, not an error)."""
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        if head:
            return
        for piece in generated_page(size):
            if chunked:
                self.wfile.write(f"{len(piece):x}\r\n".encode("ascii") + piece + b"\r\n")
            else:
                self.wfile.write(piece)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")


def _next_number(path: str) -> str:
    """The last number in ``path`` plus one ("1" when there is none)."""
    m = _LAST_NUMBER.search(path)
    return str(int(m.group(1)) + 1) if m else "1"


def generated_page(size: int) -> Iterator[bytes]:
    """An HTML page of exactly ``size`` bytes (at least its markup), in pieces."""
    head = b"<!DOCTYPE html><html><head><title>Generated page</title></head><body><p>"
    tail = b"</p></body></html>"
    filler = b"All work and no play makes a very large page. " * (_CHUNK // 47 + 1)
    yield head
    left = max(0, size - len(head) - len(tail))
    while left > 0:
        piece = filler[: min(left, _CHUNK)]
        left -= len(piece)
        yield piece
    yield tail


@lru_cache(maxsize=8)
def generated_sitemap(path: str, spec_json: str) -> bytes:
    """The sitemap the ``"sitemap"`` behaviour ``spec_json`` describes, for ``path``."""
    spec = json.loads(spec_json)
    index = bool(spec.get("index"))
    root, entry = ("sitemapindex", "sitemap") if index else ("urlset", "url")
    stem = path.rsplit(".", 1)[0] if "." in path.rsplit("/", 1)[-1] else path.rstrip("/")
    template = str(spec.get("loc") or "/news/{n}/")
    lastmod = f"<lastmod>{spec['lastmod']}</lastmod>" if spec.get("lastmod") else ""
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{_SITEMAP_NS}">\n']
    parts.extend(
        f"<{entry}><loc>{template.format(n=n, stem=stem)}</loc>{lastmod}</{entry}>\n"
        for n in range(1, int(spec.get("count", 0)) + 1)
    )
    parts.append(f"</{root}>\n")
    body = "".join(parts).encode("utf-8")
    return gzip.compress(body, compresslevel=6) if spec.get("gzip") else body


def trap_page(prefix: str, path: str) -> str:
    """A calendar page for the date in ``path`` (``prefix``/YYYY/MM/DD/; 2022-01-01 when
    there is none) linking to the next day, the day before and the next month: a crawler
    that follows "next" without a bound never stops."""
    m = _TRAP_DATE.search(path[len(prefix) :])
    try:
        day = date(int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else date(2022, 1, 1)
    except ValueError:
        day = date(2022, 1, 1)
    if not date(1, 2, 1) <= day <= date(9999, 11, 30):  # no overflow at either end
        day = date(2022, 1, 1)

    def url(d: date) -> str:
        return f"{prefix}{d.year:04d}/{d.month:02d}/{d.day:02d}/"

    nxt, prev, month = day + timedelta(days=1), day - timedelta(days=1), day + timedelta(days=31)
    return (
        f"<!DOCTYPE html><html><head><title>Calendar: {day.isoformat()}</title>"
        f'<link rel="next" href="{url(nxt)}"></head><body><h1>Events on {day.isoformat()}</h1>'
        f'<p>Nothing happened today.</p><a href="{url(prev)}">« Previous day</a> '
        f'<a href="{url(month)}">Next month</a> <a rel="next" href="{url(nxt)}">Next day »</a>'
        "</body></html>"
    )


class MirrorServer(ThreadingHTTPServer):
    """The mirror: serve ``root/<host>/...`` on 127.0.0.1 in a background thread."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, root: Path | None = None, port: int = 0) -> None:
        self.root = (root or default_site_root()).resolve()
        if not self.root.is_dir():
            raise FileNotFoundError(
                f"fixture site not found at {self.root} (an installed wheel carries it as "
                "aggregator/demo_site, a source checkout as fixtures/site); set "
                "AGGREGATOR_FIXTURES to a directory holding site/"
            )
        super().__init__(("127.0.0.1", port), _Handler)
        self.requests: list[tuple[str, str]] = []
        self.conditional_hits: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._behaviour: dict[str, dict[str, Any]] = {}

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def hosts(self) -> list[str]:
        """Hosts that have a directory under the root (what the mirror answers for)."""
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("_")
        )

    def host_map(self) -> str:
        """The ``AGGREGATOR_HOST_MAP`` value that routes every mirrored host here."""
        return ",".join(f"{h}=127.0.0.1:{self.port}" for h in self.hosts())

    def behaviour(self, host: str) -> dict[str, Any]:
        if host not in self._behaviour:
            f = self.root / host / "_mirror.json"
            self._behaviour[host] = json.loads(f.read_text()) if f.is_file() else {}
        return self._behaviour[host]

    def set_behaviour(self, host: str, **values: Any) -> None:
        """Override a host's behaviour at run time (``status=500``, ``delay=3``,
        ``paths={"/x/": {"status": 410}}``)."""
        self._behaviour[host] = dict(values)

    def rules(self, host: str, path: str) -> dict[str, Any]:
        """What to do for ``path`` on ``host``: the host's behaviour, overridden by the
        first ``paths`` entry that is ``path`` itself or an ``fnmatch`` pattern matching it."""
        behaviour = self.behaviour(host)
        paths = behaviour.get("paths")
        if not paths:
            return behaviour
        rule = paths.get(path)
        if rule is None:
            rule = next(
                (
                    r
                    for pattern, r in paths.items()
                    if _PATTERN_CHARS & set(pattern) and fnmatchcase(path, pattern)
                ),
                None,
            )
        return {**behaviour, **rule} if rule else behaviour

    def resolve(self, root: Path, path: str) -> Path | None:
        rel = path.lstrip("/")
        candidate = (root / rel).resolve()
        if not str(candidate).startswith(str(root.resolve())):
            return None  # no path traversal out of the host's directory
        if candidate.is_file() and not candidate.name.startswith("_"):
            return candidate
        if candidate.is_dir():
            for name in _INDEXES:
                if (candidate / name).is_file():
                    return candidate / name
        return None

    def record(self, host: str, path: str) -> None:
        with self._lock:
            self.requests.append((host, path))

    def record_conditional(self, host: str, path: str) -> None:
        with self._lock:
            self.conditional_hits.append((host, path))

    def start(self) -> MirrorServer:
        self._thread = threading.Thread(target=self.serve_forever, name="mirror", daemon=True)
        self._thread.start()
        return self

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a crawler timing out) is not an error worth a trace."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self) -> MirrorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
