"""Size limits on input files, enforced while the bytes stream in (the defaults are generous).

The longest line in the real data.police.uk files is 276 characters and no field holds a quote, so
the defaults leave two orders of magnitude of headroom while keeping a hostile file from taking the
machine's memory or the interpreter's stack.
"""

from __future__ import annotations

from dataclasses import dataclass

KIB = 1024
GIB = 1024**3


@dataclass(frozen=True)
class Limits:
    """Per-line, per-field, per-file limits; a value past one is rejected or its file refused."""

    line_bytes: int = 64 * KIB  # a longer CSV line is rejected (its bytes are never kept)
    field_bytes: int = 16 * KIB  # a longer field rejects its row (CSV) or record (API JSON)
    json_depth: int = 64  # deeper nesting refuses the API JSON file (before it is parsed)
    json_number_digits: int = 64  # a longer JSON number rejects its record
    expanded_bytes: int = 2 * GIB  # a file or archive member growing past this is refused

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"limit {name} must be a whole number >= 1, not {value!r}")


DEFAULT_LIMITS = Limits()
