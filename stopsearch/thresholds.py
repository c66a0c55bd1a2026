"""Disclosure-control thresholds, declared once: the configuration and the metrics read them here.

A leaf module (no heavy imports) so that the command line can build its options from it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from stopsearch.errors import ConfigError

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
        for f in fields(self):
            check_threshold(f"suppression.{f.name}", getattr(self, f.name))

    @property
    def small_count_display(self) -> str:
        """How a primary-suppressed count is shown, e.g. "<5"."""
        return f"<{self.min_count}"
