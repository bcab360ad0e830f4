"""Reading web archives (WARC and ARC, gzipped per record or not) as a stream of records.

Records are parsed by warcio (headers, HTTP headers, chunked and compressed payloads),
but this module splits the stream into records itself, so that a damaged part costs
only itself: a gzip member that does not inflate, a record whose ``Content-Length``
disagrees with what follows, a record over :data:`MAX_RECORD_BYTES` are each reported
(:class:`Bad`) and skipped, and reading resumes at the next gzip member or the next
``WARC/1.x`` header line. A file that ends inside a record reports it as truncated. Memory
holds one record at most (a giant one is read through and dropped, never kept), whatever
the size of the file; a URL is read as it is downloaded.

ARC files (the format before WARC) are read by warcio alone: a damaged ARC record ends
its file there, reported.
"""

from __future__ import annotations

import io
import os
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Any, Protocol

from aggregator.extract.page import MAX_PAGE_BYTES

# A record's page may be as large as a crawl's download (DOWNLOAD_MAXSIZE); its WARC and
# HTTP headers come on top.
MAX_RECORD_BYTES = MAX_PAGE_BYTES + 256 * 1024
# A WARC header block longer than this is not one.
MAX_HEADER_BYTES = 64 * 1024
CHUNK = 256 * 1024
GZIP_MAGIC = b"\x1f\x8b\x08"
_CONTENT_LENGTH = re.compile(rb"(?im)^content-length:[ \t]*(\d+)[ \t]*\r?$")
_TARGET = re.compile(rb"(?im)^warc-target-uri:[ \t]*<?([^\r\n>]*)>?[ \t]*\r?$")
USER_AGENT_HEADER = "User-Agent"
HTTP_TIMEOUT_S = 60


@dataclass
class Record:
    """One response or revisit record, its payload read (at most ``MAX_PAGE_BYTES + 1``)."""

    kind: str
    """"response" or "revisit"."""
    url: str
    date: datetime | None
    status: int
    content_type: str
    body: bytes
    digest: str | None = None
    refers_to: tuple[str, str] | None = None
    """A revisit's original: (WARC-Refers-To-Target-URI, WARC-Refers-To-Date)."""


@dataclass
class Bad:
    """A part of the file that was skipped, and why: ``reason`` is a stats key under
    ``aggregator/`` (``errors/corrupt_gzip``, ``dropped/too_large``...)."""

    reason: str
    url: str = ""
    detail: str = ""


@dataclass
class Other:
    """A record that is not a page (warcinfo, request, metadata...): counted, not used."""

    kind: str


Item = Record | Bad | Other


class Readable(Protocol):
    def read(self, n: int = ..., /) -> bytes: ...


class Counted:
    """A stream that counts the bytes read from it (progress: how far into a file);
    ``before_read`` is called before each read (it may raise to stop the reading)."""

    def __init__(self, raw: Readable, before_read: Callable[[], None] | None = None) -> None:
        self.raw = raw
        self.count = 0
        self.before_read = before_read

    def read(self, n: int = -1, /) -> bytes:
        if self.before_read is not None:
            self.before_read()
        data = self.raw.read(n)
        self.count += len(data)
        return data


class _Pushback:
    """A binary stream read through a buffer, which can be given bytes back (read again
    first); lines are found in the buffer without copying the rest of it."""

    def __init__(self, raw: Readable) -> None:
        self.raw = raw
        self.buf = b""
        self.pos = 0

    def _fill(self) -> bool:
        data = self.raw.read(CHUNK)
        if not data:
            return False
        self.buf = self.buf[self.pos :] + data
        self.pos = 0
        return True

    def read(self, n: int = CHUNK) -> bytes:
        if self.pos < len(self.buf):
            out = self.buf[self.pos : self.pos + n]
            self.pos += len(out)
            return out
        return self.raw.read(n)

    def read_exactly(self, n: int) -> bytes:
        parts: list[bytes] = []
        while n > 0:
            data = self.read(min(n, CHUNK))
            if not data:
                break
            parts.append(data)
            n -= len(data)
        return b"".join(parts)

    def unread(self, data: bytes) -> None:
        if data:
            self.buf = data + self.buf[self.pos :]
            self.pos = 0

    def readline(self, limit: int) -> bytes:
        """A line (with its end), at most ``limit`` bytes."""
        scanned = 0  # bytes after pos known to hold no line end
        while True:
            stop = min(len(self.buf), self.pos + limit)
            end = self.buf.find(b"\n", self.pos + scanned, stop)
            if end >= 0:
                line = self.buf[self.pos : end + 1]
                self.pos = end + 1
                return line
            if stop - self.pos >= limit:
                line = self.buf[self.pos : stop]
                self.pos = stop
                return line
            scanned = stop - self.pos
            if not self._fill():
                line = self.buf[self.pos :]
                self.pos = len(self.buf)
                return line


def read_archive(raw: Readable) -> Iterator[Item]:
    """Every record of the archive ``raw`` (a binary stream, read once, in pieces)."""
    stream = _Pushback(raw)
    head = stream.read_exactly(CHUNK)
    if not head:
        yield Bad("errors/empty_file", detail="the file is empty")
        return
    stream.unread(head)
    gzipped = head.startswith(GZIP_MAGIC)
    start = head
    if gzipped:
        try:
            start = zlib.decompressobj(31).decompress(head, 64)
        except zlib.error:
            start = b""
    if start.startswith(b"filedesc://"):
        yield from _arc(stream)
    elif gzipped:
        yield from _members(stream)
    else:
        yield from _records(stream)


class _TruncatedError(Exception):
    """The file ends inside a gzip member."""


class _Inflate:
    """One gzip member of ``stream``, inflated as it is read (at most ``n`` bytes out per
    read, whatever the compression ratio); what follows the member is left in ``stream``."""

    def __init__(self, stream: _Pushback, first: bytes) -> None:
        self.stream = stream
        self.inflater = zlib.decompressobj(31)
        self.data = first
        self.done = False

    def read(self, n: int = CHUNK, /) -> bytes:
        while not self.done:
            if not self.data:
                self.data = self.stream.read()
                if not self.data:
                    raise _TruncatedError
            piece = self.inflater.decompress(self.data, max(n, 1) if n > 0 else CHUNK)
            self.data = self.inflater.unconsumed_tail
            if self.inflater.eof:
                self.done = True
                self.stream.unread(self.inflater.unused_data)
            if piece:
                return piece
        return b""


def _members(stream: _Pushback) -> Iterator[Item]:
    """The records of each gzip member of ``stream`` (one record per member, or a whole
    file gzipped as one stream), inflated as they are read. A member that does not
    inflate is reported, and reading resumes at the next gzip header after it."""
    while True:
        data = stream.read()
        if not data:
            return
        if not data.startswith(GZIP_MAGIC[:2]):
            skipped = _resync_gzip(stream, data)
            yield Bad("errors/corrupt_gzip", detail=f"{skipped} bytes outside any gzip member")
            continue
        member = _Inflate(stream, data)
        try:
            yield from _records(_Pushback(member), member=True)
            while member.read():  # what follows the last record in the member
                pass
        except zlib.error as exc:
            _resync_gzip(stream, member.data[1:])
            yield Bad("errors/corrupt_gzip", detail=str(exc))
        except _TruncatedError:
            yield Bad("errors/truncated", detail="the file ends in a gzip member")
            return


def _resync_gzip(stream: _Pushback, data: bytes) -> int:
    """Skip to the next gzip member header (leaving it to be read); bytes skipped."""
    skipped = 0
    carry = b""
    while True:
        buf = carry + data
        at = buf.find(GZIP_MAGIC)
        if at >= 0:
            stream.unread(buf[at:])
            return skipped + at
        keep = len(GZIP_MAGIC) - 1
        skipped += max(0, len(buf) - keep)
        carry = buf[-keep:]
        data = stream.read()
        if not data:
            return skipped + len(carry)


def _target(block: bytes) -> str:
    m = _TARGET.search(block[:MAX_HEADER_BYTES])
    return m.group(1).decode("utf-8", "replace").strip() if m else ""


def _records(stream: _Pushback, member: bool = False) -> Iterator[Item]:
    """The records of an uncompressed WARC stream, each checked against its
    Content-Length before warcio parses it. ``member``: the stream is one whole gzip
    member, so a record that ends early has a wrong length (the file is not cut there)."""
    while True:
        line = stream.readline(MAX_HEADER_BYTES)
        while line in (b"\r\n", b"\n"):
            line = stream.readline(MAX_HEADER_BYTES)
        if not line:
            return
        if not line.startswith(b"WARC/"):
            _resync_warc(stream)
            yield Bad("errors/bad_record", detail="no WARC header where a record should begin")
            continue
        header = [line]
        size = len(line)
        while line not in (b"\r\n", b"\n", b"") and size < MAX_HEADER_BYTES:
            line = stream.readline(MAX_HEADER_BYTES - size)
            header.append(line)
            size += len(line)
        head = b"".join(header)
        url = _target(head)
        m = _CONTENT_LENGTH.search(head)
        if line not in (b"\r\n", b"\n") or m is None:
            if not line:
                reason = "errors/bad_record" if member else "errors/truncated"
                yield Bad(reason, url, "the record ends in its headers")
                return
            _resync_warc(stream)
            yield Bad("errors/bad_record", url, "unreadable WARC headers")
            continue
        length = int(m.group(1))
        if length > MAX_RECORD_BYTES:
            got = _discard(stream, length)
            if got < length:
                yield Bad("errors/truncated", url, "the file ends in a record")
                return
            yield Bad("dropped/too_large", url, f"{length} bytes")
            continue
        block = stream.read_exactly(length)
        if len(block) < length:
            reason = "errors/bad_length" if member else "errors/truncated"
            yield Bad(reason, url, f"{len(block)} of {length} bytes")
            return
        end = stream.read_exactly(4)
        if end != b"\r\n\r\n" and end.strip(b"\r\n"):
            # The length is wrong: the record is not trusted; the next one is found at its
            # header line, whether the length ran into it or stopped short of it.
            stream.unread(block + end)
            _resync_warc(stream)
            yield Bad("errors/bad_length", url, f"Content-Length {length} does not match")
            continue
        stream.unread(end.lstrip(b"\r\n"))
        yield from _parse(head + block)


def _discard(stream: _Pushback, n: int) -> int:
    got = 0
    while got < n:
        data = stream.read(min(CHUNK, n - got))
        if not data:
            break
        got += len(data)
    return got


def _resync_warc(stream: _Pushback) -> None:
    """Skip to the next line that begins a WARC record (leaving it to be read)."""
    while True:
        line = stream.readline(MAX_HEADER_BYTES)
        if not line:
            return
        if line.startswith(b"WARC/1."):
            stream.unread(line)
            return
        at = line.find(b"\nWARC/1.")
        if at >= 0:
            stream.unread(line[at + 1 :])
            return


def _parse(block: bytes) -> Iterator[Item]:
    from warcio.archiveiterator import ArchiveIterator

    try:
        for record in ArchiveIterator(io.BytesIO(block)):
            yield _item(record)
    except Exception as exc:  # warcio's ArchiveLoadFailed, bad HTTP headers or encodings
        yield Bad("errors/bad_record", _target(block), f"{type(exc).__name__}: {exc}")


def _arc(stream: _Pushback) -> Iterator[Item]:
    from warcio.archiveiterator import ArchiveIterator

    try:
        for record in ArchiveIterator(stream, arc2warc=True):
            yield _item(record)
    except Exception as exc:
        yield Bad("errors/bad_record", detail=f"ARC file unreadable from here: {exc}")


def _item(record: Any) -> Item:
    kind = record.rec_type
    if kind not in ("response", "revisit"):
        return Other(kind)
    headers = record.rec_headers
    url = (headers.get_header("WARC-Target-URI") or "").strip().strip("<>")
    http = record.http_headers
    status = 0
    content_type = ""
    if http is not None:
        try:
            status = int(http.get_statuscode() or 0)
        except ValueError:
            status = 0
        content_type = http.get_header("Content-Type") or ""
    body = b""
    if kind == "response" and status == 200:
        try:
            body = record.content_stream().read(MAX_PAGE_BYTES + 1)
        except Exception as exc:  # a broken chunked or compressed payload
            return Bad("errors/bad_record", url, f"unreadable payload: {exc}")
    refers = None
    if kind == "revisit":
        target = headers.get_header("WARC-Refers-To-Target-URI")
        if target:
            refers = (target.strip("<>"), headers.get_header("WARC-Refers-To-Date") or "")
    return Record(
        kind=kind,
        url=url,
        date=warc_date(headers.get_header("WARC-Date")),
        status=status,
        content_type=content_type,
        body=body,
        digest=headers.get_header("WARC-Payload-Digest"),
        refers_to=refers,
    )


def warc_date(value: str | None) -> datetime | None:
    """A WARC-Date (``2024-06-01T12:00:00Z``, with or without fraction) as an aware time."""
    if not value:
        return None
    try:
        date = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return date if date.tzinfo else date.replace(tzinfo=timezone.utc)


class _Download:
    """A response read to its Content-Length: http.client's ``read(n)`` returns b"" when the
    connection closes early, which would read as an archive that ends there."""

    def __init__(self, response: Any, size: int) -> None:
        self.response = response
        self.size = size
        self.got = 0

    def read(self, n: int = -1, /) -> bytes:
        data: bytes = self.response.read(n)
        self.got += len(data)
        if not data and n != 0 and self.got < self.size:
            raise OSError(f"download cut short: {self.got} of {self.size} bytes")
        return data

    def close(self) -> None:
        self.response.close()


def open_archive(name: str, user_agent: str) -> tuple[IO[bytes] | _Download, int | None]:
    """The file or http(s) URL ``name`` as a binary stream, and its size when known. A URL
    is downloaded as it is read. ``OSError`` says why it cannot be opened."""
    if name.lower().startswith(("http://", "https://")):
        import urllib.error
        import urllib.request

        request = urllib.request.Request(name, headers={USER_AGENT_HEADER: user_agent})
        try:
            response = urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S)
        except urllib.error.HTTPError as exc:
            raise OSError(f"HTTP {exc.code} {exc.reason}") from exc
        except urllib.error.URLError as exc:
            raise OSError(f"cannot fetch: {exc.reason}") from exc
        length = response.headers.get("Content-Length")
        size = int(length) if length and length.isdigit() else None
        return (_Download(response, size) if size is not None else response), size
    f = open(name, "rb")  # noqa: SIM115 - the caller closes it
    return f, os.fstat(f.fileno()).st_size
