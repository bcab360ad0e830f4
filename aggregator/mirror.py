"""A local HTTP server that answers for many outlets at once, from saved files.

``fixtures/site/<host>/<path>`` is served for requests whose ``Host`` header is
``<host>``: ``/feed/`` maps to ``feed/index.xml`` or ``feed/index.html``, ``/a.xml`` to
``a.xml``. Crawls reach it through ``AGGREGATOR_HOST_MAP`` (see :mod:`aggregator.hostmap`),
so the spiders run unchanged. It backs ``aggregator demo``, the end-to-end tests and the
crawl benchmark.

Per-host behaviour for failure tests lives in ``<host>/_mirror.json``:
``{"status": 500}`` answers every path with that status, ``{"delay": 5}`` waits that many
seconds before answering.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import mimetypes
import os
import threading
import time
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


def default_site_root() -> Path:
    """The bundled fixture site: ``AGGREGATOR_FIXTURES``/site, else ``fixtures/site`` beside
    the package (a source checkout)."""
    env = os.environ.get("AGGREGATOR_FIXTURES")
    base = Path(env) if env else Path(__file__).resolve().parent.parent / "fixtures"
    return base / "site"


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
        behaviour = self.server.behaviour(host)
        if behaviour.get("delay"):
            time.sleep(float(behaviour["delay"]))
        if behaviour.get("status"):
            self._send(
                int(behaviour["status"]), b"mirror: forced status\n", "text/plain", head=head
            )
            return
        target = self.server.resolve(root, path)
        if target is None:
            self._send(404, b"not found\n", "text/plain", head=head)
            return
        data = target.read_bytes()
        ctype = (
            _TYPES.get(target.suffix)
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


class MirrorServer(ThreadingHTTPServer):
    """The mirror: serve ``root/<host>/...`` on 127.0.0.1 in a background thread."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, root: Path | None = None, port: int = 0) -> None:
        self.root = (root or default_site_root()).resolve()
        if not self.root.is_dir():
            raise FileNotFoundError(
                f"fixture site not found at {self.root}; run from a source checkout or set "
                "AGGREGATOR_FIXTURES to the fixtures/ directory"
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
        """Override a host's behaviour at run time (``status=500``, ``delay=3``)."""
        self._behaviour[host] = dict(values)

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
