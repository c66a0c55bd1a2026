"""Tunable numbers declared once: disclosure-control thresholds and input size limits.

The configuration, the metrics and the ingest stage read them here. A leaf module (no heavy
imports) so that the command line can build its options from it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from stopsearch.errors import ConfigError

KIB = 1024
GIB = 1024**3
MAX_LIMIT = 1 << 40  # 1 TiB: any larger limit is no limit at all
MAX_THRESHOLD = 1_000_000_000  # far above any real count or population; keeps sums in int64


def check_threshold(name: str, value: object) -> int:
    """The one validator of a threshold (configuration file, command line and code alike)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_THRESHOLD:
        raise ConfigError(
            f"{name} must be a whole number from 1 to {MAX_THRESHOLD:,}, got {value!r}"
        )
    return value


@dataclass(frozen=True)
class SuppressionRules:
    """Thresholds of disclosure control; defaults follow REFERENCE.md section 5.

    The one declaration of the `[suppression]` keys: the configuration reads these fields.
    """

    min_count: int = 5
    min_rate_count: int = 10
    min_rate_population: int = 100
    min_ratio_count: int = 5

    def __post_init__(self) -> None:
        """Reject thresholds that are not whole numbers from 1 to MAX_THRESHOLD."""
        for f in fields(SuppressionRules):
            check_threshold(f"suppression.{f.name}", getattr(self, f.name))

    @property
    def small_count_display(self) -> str:
        """How a primary-suppressed count is shown, e.g. "<5"."""
        return f"<{self.min_count}"


@dataclass(frozen=True)
class ReleaseRules(SuppressionRules):
    """The thresholds plus the release's disclosure mode (not a `[suppression]` key).

    ``record_level`` is the `[extracts] record_level` setting resolved for this release: True
    when the records are already public record by record (data.police.uk), so the thresholds
    serve reliability and only the primary ones apply; False for a source whose records are not
    public, where the whole release is protected as one linked system
    (:mod:`stopsearch.metrics.linked`).
    """

    record_level: bool = True

    def __post_init__(self) -> None:
        """Check the thresholds, and that the mode is a bool."""
        super().__post_init__()
        if not isinstance(self.record_level, bool):
            raise ConfigError(f"record_level must be true or false, got {self.record_level!r}")


def record_level_mode(rules: SuppressionRules) -> bool:
    """False only for ``ReleaseRules(record_level=False)``: records that are not public."""
    return bool(getattr(rules, "record_level", True))


def check_limit(name: str, value: object) -> int:
    """The one validator of an input size limit (configuration file, command line and code)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        raise ConfigError(f"{name} must be a whole number from 1 to {MAX_LIMIT:,}, got {value!r}")
    return value


# Input size limits, enforced while the bytes stream in (the defaults are generous): the longest
# line in the real data.police.uk files is 276 characters and no field holds a quote, so the
# defaults leave two orders of magnitude of headroom while keeping a hostile file from taking the
# machine's memory or the interpreter's stack.
@dataclass(frozen=True)
class Limits:
    """Per-line, per-field, per-file limits; a value past one is rejected or its file refused."""

    line_bytes: int = 64 * KIB  # a longer CSV line is rejected (its bytes are never kept)
    field_bytes: int = 16 * KIB  # a longer field rejects its row (CSV) or record (API JSON)
    json_depth: int = 64  # deeper nesting refuses the API JSON file (before it is parsed)
    json_number_digits: int = 64  # a longer JSON number rejects its record
    expanded_bytes: int = 2 * GIB  # a file or archive member growing past this is refused

    def __post_init__(self) -> None:
        """Reject limits that are not whole numbers from 1 to MAX_LIMIT."""
        for f in fields(self):
            check_limit(f"limits.{f.name}", getattr(self, f.name))


DEFAULT_LIMITS = Limits()
