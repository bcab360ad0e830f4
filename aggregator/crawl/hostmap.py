"""Route requests for some hosts to another address, keeping URLs and Host headers.

``AGGREGATOR_HOST_MAP="www.dualshockers.com=127.0.0.1:8765"`` (or ``*=127.0.0.1:8765``)
makes the crawler fetch ``https://www.dualshockers.com/x/`` from
``http://127.0.0.1:8765/x/`` with ``Host: www.dualshockers.com``, and hands the spider a
response whose URL is the original one. Spiders, extractors and stored URLs never see
the mirror: it is the same crawl a user runs against the real site, pointed at a local
copy (the demo, the tests and the benchmarks use it), like an ``/etc/hosts`` entry that
also changes the port and scheme.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response


def parse_host_map(value: str | dict[str, str] | None) -> dict[str, str]:
    """``"a=host:port,b=host:port"`` (or a dict) -> {host: "host:port"}; hosts lowercased."""
    if not value:
        return {}
    if isinstance(value, dict):
        return {k.lower(): v for k, v in value.items()}
    out: dict[str, str] = {}
    for part in value.split(","):
        host, sep, target = part.strip().partition("=")
        if not sep or not host or not target:
            raise ValueError(f"AGGREGATOR_HOST_MAP entry {part!r} is not 'host=address:port'")
        out[host.strip().lower()] = target.strip()
    return out


class HostMapDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler, with mapped hosts sent to their mapped address."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._map = parse_host_map(crawler.settings.get("AGGREGATOR_HOST_MAP"))

    def _target(self, host: str) -> str | None:
        return self._map.get(host) or self._map.get("*")

    async def download_request(self, request: Request) -> Response:
        parts = urlsplit(request.url)
        host = (parts.hostname or "").lower()
        target = self._target(host) if self._map else None
        if target is None:
            return await super().download_request(request)
        local_url = urlunsplit(("http", target, parts.path or "/", parts.query, ""))
        headers = request.headers.copy()
        headers[b"Host"] = parts.netloc.encode("ascii", "ignore")
        local = request.replace(url=local_url, headers=headers)
        response = await super().download_request(local)
        return response.replace(url=request.url, request=request)
