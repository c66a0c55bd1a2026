"""An independent count of a CSV file's physical data lines, kept apart from the CSV reader.

A *physical line* ends at LF, CRLF or a lone CR (the reader turns all three into LF before this
counter sees the bytes); a final line without an ending counts too. Line 1 is the header. A
*physical data line* is any later line holding at least one byte (a line of spaces counts; an
empty line does not). The reader must account for every one of them as loaded or rejected: a
record never spans lines (a quoted field may not hold a line break), so rows read = physical data
lines, and the loader flags any file where the two counts disagree.
"""

from __future__ import annotations

import numpy as np

_LF = 10


class DataLineCounter:
    """Feed LF-normalised chunks in order; `data_lines` and `empty_lines` are then final."""

    def __init__(self) -> None:
        self._open = 0  # bytes of the line not yet ended
        self._nonempty = 0  # ended lines with at least one byte, header included
        self._empty = 0  # ended lines with no byte
        self._header_seen = False
        self._header_empty = False

    def feed(self, chunk: bytes) -> None:
        is_end = np.frombuffer(chunk, dtype=np.uint8) == _LF
        ends = int(np.count_nonzero(is_end))
        if not ends:
            self._open += len(chunk)
            return
        first = chunk.find(b"\n")
        last = chunk.rfind(b"\n")
        first_len = self._open + first
        if not self._header_seen:
            self._header_seen = True
            self._header_empty = first_len == 0
        # the lines ending at the later LFs begin in this chunk: empty where two LFs touch
        empty_inside = int(np.count_nonzero(is_end[1:] & is_end[:-1]))
        empty = empty_inside + (first_len == 0)
        self._empty += empty
        self._nonempty += ends - empty
        self._open = len(chunk) - last - 1

    @property
    def empty_lines(self) -> int:
        """Empty lines ended so far (a final unended line is never empty)."""
        return self._empty

    @property
    def data_lines(self) -> int:
        """Physical data lines: lines after the first with at least one byte."""
        nonempty = self._nonempty + (1 if self._open else 0)
        header = self._open > 0 if not self._header_seen else not self._header_empty
        return nonempty - (1 if header else 0)


def count_data_lines(data: bytes) -> int:
    """Physical data lines of LF-normalised bytes (the same rule, all at once)."""
    counter = DataLineCounter()
    counter.feed(data)
    return counter.data_lines
