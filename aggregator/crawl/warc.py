"""Reading web archives (WARC and ARC, gzipped per record or not) as a stream of records.

Records are parsed by warcio (headers, HTTP headers, chunked and compressed payloads),
but this module splits the stream into records itself, so that a damaged part costs
only itself: a gzip member that does not inflate, a record whose ``Content-Length``
disagrees with what follows, a record over :data:`MAX_RECORD_BYTES` are each reported
(:class:`Bad`) and skipped, and reading resumes at the next gzip member or the next
``WARC/1.x`` header line. A file that ends inside a record reports it as truncated. Memory
holds one record at most (a giant one is read through and dropped, never kept), whatever
the size of the file; a URL is read as it is downloaded.

The splitting is cheap where it can be: a gzip member of a record's size is inflated in
one go by zlib-ng (in C, its input never copied), a record's headers are cut at their blank
line with one search, and a record the caller does not want (``want``: a page of a host
outside the registry, most of a CC-NEWS file) is checked against its length and skipped
without warcio parsing it.

ARC files (the format before WARC) are read by warcio alone: a damaged ARC record ends
its file there, reported.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Any, Protocol, cast

from zlib_ng import zlib_ng

from aggregator.extract.page import MAX_PAGE_BYTES

# zlib-ng inflates three times as fast as the standard library's zlib, with its API (its
# stubs type the exception as an instance).
InflateError = cast("type[Exception]", zlib_ng.error)

# A record's page may be as large as a crawl's download (DOWNLOAD_MAXSIZE); its WARC and
# HTTP headers come on top.
MAX_RECORD_BYTES = MAX_PAGE_BYTES + 256 * 1024
# A WARC header block longer than this is not one.
MAX_HEADER_BYTES = 64 * 1024
CHUNK = 256 * 1024
# Compressed input given to zlib-ng at a time: what it leaves over (the start of the next
# member, copied by zlib-ng at a member's end) stays this small.
INFLATE_PIECE = 32 * 1024
# A gzip member inflating to at most this is inflated whole; a larger one (a giant record,
# a file gzipped as one stream) is read as it inflates.
WHOLE_MEMBER_BYTES = MAX_RECORD_BYTES + MAX_HEADER_BYTES
GZIP_MAGIC = b"\x1f\x8b\x08"
_CONTENT_LENGTH = re.compile(rb"(?im)^content-length:[ \t]*(\d+)[ \t]*\r?$")
_TARGET = re.compile(rb"(?im)^warc-target-uri:[ \t]*<?([^\r\n>]*)>?[ \t]*\r?$")
_TYPE = re.compile(rb"(?im)^warc-type:[ \t]*([a-z]+)[ \t]*\r?$")
PAGE_KINDS = ("response", "revisit")
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

    def __init__(self, raw: Readable, buf: bytes = b"") -> None:
        self.raw = raw
        self.buf = buf
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

    def take(self) -> tuple[bytes, int]:
        """What the buffer holds from ``pos`` on, or the next read when it holds nothing,
        as (bytes, offset): all of it consumed, none of it copied."""
        if self.pos < len(self.buf):
            out = self.buf, self.pos
            self.buf, self.pos = b"", 0
            return out
        return self.raw.read(CHUNK), 0

    def unread(self, data: bytes, at: int = 0) -> None:
        """Read ``data[at:]`` again first (not copied when nothing else is buffered)."""
        if at >= len(data):
            return
        if self.pos >= len(self.buf):
            self.buf, self.pos = data, at
        else:
            self.buf = data[at:] + self.buf[self.pos :]
            self.pos = 0

    def header(self, limit: int) -> bytes | None:
        """The header block that begins at ``pos`` (its lines up to and with the first
        blank one) when the buffer holds it and it is under ``limit`` bytes, else None
        (for :meth:`readline` to read it line by line)."""
        buf, pos = self.buf, self.pos
        if buf.startswith((b"\n", b"\r\n"), pos):  # no header lines at all
            return None
        stop = min(len(buf), pos + limit + 2)
        crlf = buf.find(b"\n\r\n", pos, stop)
        lf = buf.find(b"\n\n", pos, crlf + 2 if crlf >= 0 else stop)
        if lf >= 0:
            blank, end = lf + 1, lf + 2
        elif crlf >= 0:
            blank, end = crlf + 1, crlf + 3
        else:
            return None
        if blank - pos >= limit:
            return None
        self.pos = end
        return buf[pos:end]

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


Want = Callable[[str], bool]


def read_archive(raw: Readable, want: Want | None = None) -> Iterator[Item]:
    """Every record of the archive ``raw`` (a binary stream, read once, in pieces).

    ``want(url)``: whether a response or revisit record's page is used. A WARC record it
    refuses comes as a :class:`Record` with its kind and URL only (empty body, status 0),
    and any other kind of record as :class:`Other`, from their WARC headers alone; both are
    checked against their length as every record is. Without ``want`` (and in ARC files),
    every record is parsed."""
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
            start = zlib_ng.decompressobj(31).decompress(head, 64)
        except InflateError:
            start = b""
    if start.startswith(b"filedesc://"):
        yield from _arc(stream)
    elif gzipped:
        yield from _members(stream, want)
    else:
        yield from _records(stream, want=want)


class _TruncatedError(Exception):
    """The file ends inside a gzip member."""


class _Inflate:
    """One gzip member of ``stream``, inflated as it is read (at most ``n`` bytes out per
    read, whatever the compression ratio); what follows the member is left in ``stream``.
    The input is given to zlib-ng in views of ``INFLATE_PIECE`` bytes, never copied whole."""

    def __init__(self, stream: _Pushback, data: bytes, at: int) -> None:
        self.stream = stream
        self.inflater = zlib_ng.decompressobj(31)
        self.data = data
        """Compressed input, given to zlib-ng from ``at`` on."""
        self.at = at
        self.pending = b""
        """Inflated by :meth:`whole`, read from ``pending_at`` on."""
        self.pending_at = 0
        self.done = False

    def _step(self, n: int) -> bytes:
        if self.at >= len(self.data):
            self.data, self.at = self.stream.take()
            if not self.data:
                raise _TruncatedError
        piece = memoryview(self.data)[self.at : self.at + INFLATE_PIECE]
        out = self.inflater.decompress(piece, n)
        if self.inflater.eof:
            self.done = True
            self.at += len(piece) - len(self.inflater.unused_data)
            self.stream.unread(self.data, self.at)
            self.data, self.at = b"", 0
        else:
            self.at += len(piece) - len(self.inflater.unconsumed_tail)
        return out

    def whole(self, limit: int) -> bytes | None:
        """The member inflated, if it inflates to at most ``limit`` bytes; else None, and
        what was inflated is read first by :meth:`read`."""
        parts: list[bytes] = []
        size = 0
        try:
            while not self.done:
                out = self._step(limit + 1 - size)
                parts.append(out)
                size += len(out)
                if size > limit:
                    break
            else:
                return b"".join(parts)
        except (InflateError, _TruncatedError):
            # The records inflated before the damage are read first, as when streaming;
            # the next step fails again where this one did.
            pass
        self.pending = b"".join(parts)
        return None

    def read(self, n: int = CHUNK, /) -> bytes:
        n = n if n > 0 else CHUNK
        if self.pending_at < len(self.pending):
            out = self.pending[self.pending_at : self.pending_at + n]
            self.pending_at += len(out)
            return out
        while not self.done:
            piece = self._step(n)
            if piece:
                return piece
        return b""

    def rest(self) -> bytes:
        """The input not inflated yet (where a member that does not inflate failed)."""
        return self.data[self.at :]


def _members(stream: _Pushback, want: Want | None = None) -> Iterator[Item]:
    """The records of each gzip member of ``stream`` (one record per member, or a whole
    file gzipped as one stream), inflated as they are read. A member that does not
    inflate is reported, and reading resumes at the next gzip header after it."""
    while True:
        data, at = stream.take()
        if len(data) - at < len(GZIP_MAGIC):  # a member may begin at the end of a read
            data, at = data[at:] + stream.read_exactly(CHUNK), 0
        if at >= len(data):
            return
        if data[at : at + 2] != GZIP_MAGIC[:2]:
            skipped = _resync_gzip(stream, data[at:])
            yield Bad("errors/corrupt_gzip", detail=f"{skipped} bytes outside any gzip member")
            continue
        member = _Inflate(stream, data, at)
        try:
            whole = member.whole(WHOLE_MEMBER_BYTES)
            if whole is not None:
                yield from _records(_Pushback(io.BytesIO(), whole), member=True, want=want)
                continue
            yield from _records(_Pushback(member), member=True, want=want)
            while member.read():  # what follows the last record in the member
                pass
        except InflateError as exc:
            _resync_gzip(stream, member.rest()[1:])
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


def _records(stream: _Pushback, member: bool = False, want: Want | None = None) -> Iterator[Item]:
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
        rest = stream.header(MAX_HEADER_BYTES - len(line))
        if rest is not None:
            head = line + rest
            line = b"\n"
        else:
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
        if want is not None:
            found = _TYPE.search(head)
            kind = found.group(1).decode("ascii").lower() if found else ""
            if kind not in PAGE_KINDS:
                yield Other(kind)
                continue
            if not want(url):
                yield Record(kind, url, None, 0, "", b"")
                continue
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
    if kind not in PAGE_KINDS:
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
