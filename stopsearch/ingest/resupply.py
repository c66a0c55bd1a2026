"""The re-supply guard: a re-supplied force-month that loses too many rows is held back.

data.police.uk re-supplies months; a truncated or header-only re-supply would silently replace
a good month. Before a re-supplied file replaces the loaded month, the guard compares the rows
it would load with the rows loaded now. Losing more than `max_loss_percent` of them (or all of
them) quarantines the file: it is not applied, a copy is kept aside, and the loader reports it
as "quarantined" until the operator accepts that force-month.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb

from stopsearch.ingest.discover import SourceFile
from stopsearch.ingest.normalise import normalise
from stopsearch.ingest.parse import ParsedFile

DEFAULT_MAX_LOSS_PERCENT = 20.0


def loss_percent(rows_before: int, rows_after: int) -> float:
    """Share of the loaded rows a replacement would lose, in percent (0 when it gains)."""
    if rows_before <= 0:
        return 0.0
    return max(0.0, 100.0 * (rows_before - rows_after) / rows_before)


def too_great_a_loss(rows_before: int, rows_after: int, max_loss_percent: float) -> bool:
    """True when a replacement loses every row, or more than `max_loss_percent` of them."""
    if rows_before > 0 and rows_after == 0:
        return True
    return loss_percent(rows_before, rows_after) > max_loss_percent


@dataclass(frozen=True)
class Held:
    """A re-supply the guard held back (or let through because the operator accepted it)."""

    force: str
    month: str  # YYYY-MM
    source: str
    sha256: str
    rows_before: int
    rows_after: int
    loss_percent: float
    kept_at: str | None = None  # where the quarantined file's copy is kept

    def reason(self) -> str:
        return (
            f"re-supplied {self.force} {self.month} has {self.rows_after} loadable rows where"
            f" the loaded month has {self.rows_before} (loses {self.loss_percent:.1f}%)"
        )


@dataclass
class ResupplyGuard:
    """Decides, before a re-supplied force-month replaces the loaded one, whether it may.

    `accepted` holds (force, 'YYYY-MM') pairs the operator accepted; `keep_dir`, when given,
    receives a copy of each quarantined file (<force>-<YYYY-MM>/<sha256 prefix>-<file name>).
    """

    max_loss_percent: float = DEFAULT_MAX_LOSS_PERCENT
    accepted: frozenset[tuple[str, str]] = frozenset()
    keep_dir: Path | None = None
    quarantined: list[Held] = field(default_factory=list)
    accepted_applied: list[Held] = field(default_factory=list)

    def hold(
        self,
        con: duckdb.DuckDBPyConnection,
        source: SourceFile,
        digest: str,
        parsed: ParsedFile,
        previous_load_id: int,
    ) -> str | None:
        """The reason to quarantine this re-supply, or None to let it replace the month."""
        row = con.execute(
            "SELECT rows_loaded FROM loads WHERE load_id = ?", [previous_load_id]
        ).fetchone()
        before = int(row[0]) if row else 0
        if parsed.normalised is None:
            parsed.normalised = normalise(parsed.table)
        after = int(parsed.normalised.records.num_rows)
        if not too_great_a_loss(before, after, self.max_loss_percent):
            return None
        month = f"{source.month:%Y-%m}"
        held = Held(
            source.force,
            month,
            source.name,
            digest,
            before,
            after,
            round(loss_percent(before, after), 1),
        )
        if (source.force, month) in self.accepted:
            self.accepted_applied.append(held)
            return None
        if self.keep_dir is not None:
            held = _keep_aside(held, source, self.keep_dir)
        self.quarantined.append(held)
        return f"quarantined: {held.reason()}"


def _keep_aside(held: Held, source: SourceFile, keep_dir: Path) -> Held:
    """Copy the quarantined file's bytes aside (once per checksum) and say where."""
    folder = keep_dir / f"{held.force}-{held.month}"
    target = folder / f"{held.sha256[:12]}-{Path(source.name.split(':')[-1]).name}"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        data = source.read()
        if hashlib.sha256(data).hexdigest() == held.sha256:
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_bytes(data)
            tmp.replace(target)
    return replace(held, kept_at=str(target)) if target.exists() else held
