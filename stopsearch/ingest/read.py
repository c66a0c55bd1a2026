"""Read a source as a stream of chunks, with the limits enforced while the bytes arrive.

The reader hashes the raw bytes, drops a UTF-8 byte-order mark and turns CRLF and lone CR line
endings into LF. For CSV it also empties every line longer than the line limit as it goes, keeping
only its first bytes for the rejection, so a 1 GiB line never sits in memory; a header line past
the limit refuses the file at once. A source that grows past the expanded-size limit is refused as
soon as it does, whatever its zip entry claimed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import IO

from stopsearch.errors import IngestError
from stopsearch.ingest.linecount import DataLineCounter
from stopsearch.thresholds import Limits

CHUNK_BYTES = 1 << 20
HEAD_BYTES = 256  # how much of an over-long line the rejection keeps
_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class LongLine:
    """A line past the limit: its number, full length in bytes and first bytes."""

    line: int
    length: int
    head: bytes


@dataclass
class RawText:
    """A source's text as read: LF endings, no BOM, over-long lines emptied (CSV)."""

    data: bytes
    digest: str  # sha256 of the raw bytes, as stored in `loads`
    size: int  # raw bytes read
    long_lines: list[LongLine] = field(default_factory=list)
    data_lines: int | None = None  # the independent count of physical data lines (CSV)
    empty_lines: int = 0  # empty lines in `data`, emptied long lines included (CSV)


class _LineGuard:
    """Keeps LF-normalised text, emptying lines longer than `limit` as soon as they pass it.

    While every line fits, chunks are only scanned (a few `rfind` calls per `limit` bytes) and
    kept as they are; the first line past the limit switches to an editable buffer.
    """

    def __init__(self, limit: int, source: str) -> None:
        self.limit = limit
        self.source = source
        self.long_lines: list[LongLine] = []
        self._chunks: list[bytes] = []
        self._open = 0  # bytes of the line not yet ended (while the chunks are kept as they are)
        self.out: bytearray | None = None  # the editable text, once a line went past the limit
        self._line_start = 0  # offset in `out` where the open line begins
        self._counted_to = 0  # `out[:_counted_to]` holds `_counted` LFs
        self._counted = 0
        self._skipping: tuple[int, int, bytes] | None = None  # (line, bytes so far, head)

    def _fits(self, chunk: bytes) -> bool:
        """Whether every line stays within the limit (if so, the open line's length is updated)."""
        start, open_len = 0, self._open
        while True:
            end = start + self.limit - open_len + 1  # the LF may sit `limit` bytes into a line
            if end > len(chunk):
                last = chunk.rfind(b"\n", start)
                self._open = open_len + len(chunk) - start if last < 0 else len(chunk) - last - 1
                return True
            newline = chunk.rfind(b"\n", start, end)
            if newline < 0:
                return False
            start, open_len = newline + 1, 0

    def _line_number(self, out: bytearray, offset: int) -> int:
        self._counted += out.count(b"\n", self._counted_to, offset)
        self._counted_to = offset
        return self._counted + 1

    def _long(self, line: int, length: int, head: bytes) -> None:
        if line == 1:
            raise IngestError(
                f"{self.source}: line 1 is longer than {self.limit:,} bytes, so it cannot be the"
                " header; refused"
            )
        self.long_lines.append(LongLine(line, length, head))

    def feed(self, chunk: bytes) -> None:
        if self.out is None:
            if self._fits(chunk):
                self._chunks.append(chunk)
                return
            self.out = bytearray(b"".join(self._chunks))
            self._chunks = []
            self._line_start = len(self.out) - self._open
        if self._skipping is not None:
            end = chunk.find(b"\n")
            line, length, head = self._skipping
            if end < 0:
                self._skipping = (line, length + len(chunk), head)
                return
            self._skipping = None
            self._long(line, length + end, head)
            chunk = chunk[end:]  # the LF stays: the emptied line keeps its place
        self.out += chunk
        self._scan(self.out)

    def _scan(self, out: bytearray) -> None:
        start = self._line_start
        while True:
            end = (
                start + self.limit + 1
            )  # a line of exactly `limit` bytes has its LF at start + limit
            if end > len(out):
                last = out.rfind(b"\n", start)
                self._line_start = last + 1 if last >= 0 else start
                return
            newline = out.rfind(b"\n", start, end)
            if newline >= 0:
                start = newline + 1
                continue
            line = self._line_number(out, start)
            head = bytes(out[start : start + HEAD_BYTES])
            newline = out.find(b"\n", end)
            if newline < 0:
                self._skipping = (line, len(out) - start, head)
                del out[start:]
                self._line_start = start
                return
            self._long(line, newline - start, head)
            del out[start:newline]
            start += 1

    def finish(self) -> bytes:
        if self.out is None:
            return b"".join(self._chunks)
        if self._skipping is not None:
            line, length, head = self._skipping
            self._long(line, length, head)
        return bytes(self.out)


def _first_chunk(
    stream: IO[bytes], source: str, limit: int, hashed: Callable[[bytes], None]
) -> tuple[bytes, int]:
    """The first chunk (at least 3 bytes unless the source is shorter) and the bytes read."""
    head = stream.read(CHUNK_BYTES)
    while 0 < len(head) < 3:
        more = stream.read(CHUNK_BYTES)
        if not more:
            break
        head += more
    hashed(head)
    if head.startswith(_UTF16_BOMS):
        raise IngestError(f"{source}: the file is UTF-16 or UTF-32 encoded; expected UTF-8")
    if len(head) > limit:
        raise _too_big(source, limit)
    return head, len(head)


def _too_big(source: str, limit: int) -> IngestError:
    return IngestError(
        f"{source}: larger than {limit:,} bytes when read (the limit on a file's expanded size);"
        " refused"
    )


def read_text(
    open_stream: Callable[[], AbstractContextManager[IO[bytes]]],
    source: str,
    limits: Limits,
    *,
    csv: bool,
) -> RawText:
    """Stream a source in; IngestError when it breaks a per-file limit or cannot be read."""
    digest = hashlib.sha256()
    counter = DataLineCounter() if csv else None
    guard = _LineGuard(limits.line_bytes, source) if csv else None
    plain: list[bytes] = []
    pending_cr = False
    with open_stream() as stream:
        chunk, size = _first_chunk(stream, source, limits.expanded_bytes, digest.update)
        if chunk.startswith(_BOM):
            chunk = chunk[len(_BOM) :]
        while True:
            if pending_cr:
                chunk = b"\r" + chunk
            pending_cr = chunk.endswith(b"\r")
            if pending_cr:
                chunk = chunk[:-1]  # a CR at the end may be half of a CRLF
            if b"\r" in chunk:
                chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if counter is not None and guard is not None:
                counter.feed(chunk)
                guard.feed(chunk)
            else:
                plain.append(chunk)
            raw = stream.read(CHUNK_BYTES)
            if not raw:
                break
            size += len(raw)
            if size > limits.expanded_bytes:
                raise _too_big(source, limits.expanded_bytes)
            digest.update(raw)
            chunk = raw
    if pending_cr:
        if counter is not None and guard is not None:
            counter.feed(b"\n")
            guard.feed(b"\n")
        else:
            plain.append(b"\n")
    if counter is None or guard is None:
        return RawText(b"".join(plain), digest.hexdigest(), size)
    data = guard.finish()
    return RawText(
        data,
        digest.hexdigest(),
        size,
        guard.long_lines,
        counter.data_lines,
        counter.empty_lines + len(guard.long_lines),
    )
