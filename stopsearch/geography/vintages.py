"""Versions of a boundary series: each in force from valid_from to valid_to (both inclusive)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from stopsearch.errors import GeographyError

# Priority areas are designated and lifted area by area: their layers may overlap or leave gaps.
UNCHECKED_KINDS = ("priority_area",)


@dataclass(frozen=True)
class Vintage:
    """When one layer (one version of a series) is in force."""

    layer_id: str
    kind: str
    series: str
    valid_from: date | None
    valid_to: date | None


def in_force(vintage: Vintage, day: date) -> bool:
    """Whether `day` falls within the vintage (valid_from and valid_to both inclusive)."""
    return (vintage.valid_from is None or day >= vintage.valid_from) and (
        vintage.valid_to is None or day <= vintage.valid_to
    )


def _text(day: date | None, open_end: str) -> str:
    return day.isoformat() if day else open_end


def _check_series(series: str, versions: Sequence[Vintage], where: str) -> None:
    ordered = sorted(versions, key=lambda v: v.valid_from or date.min)
    for before, after in zip(ordered, ordered[1:], strict=False):
        pair = (
            f"{where}: series '{series}': layer '{before.layer_id}'"
            f" ({_text(before.valid_from, 'always')} to {_text(before.valid_to, 'open')}) and"
            f" layer '{after.layer_id}' ({_text(after.valid_from, 'always')} to"
            f" {_text(after.valid_to, 'open')})"
        )
        if before.valid_to is None or after.valid_from is None:
            raise GeographyError(
                f"{pair} overlap: only the newest version may be open-ended and only the"
                " oldest may have no valid_from"
            )
        if after.valid_from <= before.valid_to:
            last = min(before.valid_to, after.valid_to or before.valid_to)
            raise GeographyError(
                f"{pair} overlap from {after.valid_from} to {last};"
                f" valid_to is the last day in force (inclusive), so set valid_to ="
                f" {after.valid_from - timedelta(days=1)} on '{before.layer_id}'"
            )
        if after.valid_from > before.valid_to + timedelta(days=1):
            raise GeographyError(
                f"{pair} leave a gap from {before.valid_to + timedelta(days=1)} to"
                f" {after.valid_from - timedelta(days=1)}; valid_to is the last day in force"
                f" (inclusive), so set valid_to = {after.valid_from - timedelta(days=1)}"
                f" on '{before.layer_id}'"
            )


def check_vintages(vintages: Iterable[Vintage], where: str = "boundaries") -> None:
    """Raise GeographyError if versions of one series overlap or leave a gap."""
    by_series: dict[str, list[Vintage]] = {}
    for vintage in vintages:
        by_series.setdefault(vintage.series, []).append(vintage)
    for series, versions in by_series.items():
        kinds = sorted({v.kind for v in versions})
        if len(kinds) > 1:
            raise GeographyError(
                f"{where}: series '{series}' mixes kinds {kinds}; give each kind its own series"
            )
        if kinds[0] not in UNCHECKED_KINDS:
            _check_series(series, versions, where)


def version_on(vintages: Iterable[Vintage], day: date) -> Vintage | None:
    """The version of a (checked) series in force on `day`, if any."""
    found = [v for v in vintages if in_force(v, day)]
    return found[0] if found else None
