"""Reference figures the operator declares (e.g. England and Wales rates by ethnic group).

A reference table is read at build time from the file the boundary manifest names
([[reference]]), with the period the operator declares for it: it is shown beside the force's
figures, marked as a different period and area, and never mixed into any computed figure.
Nothing of it is committed to the repository.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import duckdb
import pandas as pd

from stopsearch.errors import GeographyError
from stopsearch.geography.manifest import Manifest, Reference
from stopsearch.sqlfiles import SqlFile

SQL = SqlFile("stopsearch.metrics", "reference.sql")
# Ethnicity facts and figures "by ethnicity" download: the labels of its broad rows.
EFF_COLUMNS = ("Ethnicity", "Rate of stop and search", "Number of stop and searches")
EFF_BROAD = {
    "All": "All",
    "Asian": "Asian",
    "Black": "Black",
    "Mixed": "Mixed",
    "White": "White",
    "Other": "Other",
    "Unknown": "Unknown",
}
BROAD_ORDER = ("All", "Asian", "Black", "Mixed", "White", "Other", "Unknown")


@dataclass(frozen=True)
class ReferenceRow:
    """One row of a reference table as shown."""

    grp: str
    broad_group: str | None
    rate_per_1000: float | None
    searches: int | None


@dataclass(frozen=True)
class ReferenceTable:
    """A declared reference table with what it covers."""

    reference_id: str
    title: str
    period_label: str
    note: str
    fictional: bool
    attribution: str
    source_url: str
    rows: tuple[ReferenceRow, ...]

    def broad(self) -> list[ReferenceRow]:
        """All, the five broad groups and Unknown, in that order."""
        by_group = {r.broad_group: r for r in self.rows if r.broad_group}
        return [by_group[g] for g in BROAD_ORDER if g in by_group]


def _number(text: str, where: str, *, integer: bool) -> float | int | None:
    value = text.strip().replace(",", "")
    if value.upper() in ("N/A", "NA", "", "-", "..", "[X]", "[C]", "[Z]"):
        return None
    try:
        return int(value) if integer else float(value)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise GeographyError(f"{where}: not {kind}: {text!r}") from None


def read_ethnicity_facts(reference: Reference) -> pd.DataFrame:
    """Rows of an Ethnicity facts and figures 'by ethnicity' table (group, rate, searches)."""
    path = reference.path
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise GeographyError(f"reference '{reference.id}' ({path}): cannot read: {exc}") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != EFF_COLUMNS:
        raise GeographyError(
            f"{path}, line 1: expected the columns {', '.join(EFF_COLUMNS)}; got {header}"
        )
    rows = []
    for line, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(EFF_COLUMNS):
            raise GeographyError(f"{path}, line {line}: {len(record)} fields, expected 3")
        group, rate, searches = (cell.strip() for cell in record)
        if not group:
            raise GeographyError(f"{path}, line {line}, field 'Ethnicity': empty")
        rows.append(
            {
                "grp": group,
                "broad_group": EFF_BROAD.get(group),
                "rate_per_1000": _number(
                    rate, f"{path}, line {line}, field '{EFF_COLUMNS[1]}'", integer=False
                ),
                "searches": _number(
                    searches, f"{path}, line {line}, field '{EFF_COLUMNS[2]}'", integer=True
                ),
                "row_order": line - 1,
            }
        )
    if not any(r["broad_group"] == "All" for r in rows):
        raise GeographyError(f"{path}: no 'All' row")
    return pd.DataFrame(rows)


def load_references(con: duckdb.DuckDBPyConnection, manifest: Manifest) -> int:
    """Replace the reference figures with the manifest's declared tables; rows loaded."""
    frames = []
    for reference in manifest.references:
        frame = read_ethnicity_facts(reference)
        frame.insert(0, "reference_id", reference.id)
        frame["title"] = reference.area
        frame["period_label"] = reference.period
        frame["period_start"] = reference.period_start
        frame["period_end"] = reference.period_end
        frame["note"] = reference.note
        frame["source_url"] = reference.source_url
        frame["licence"] = reference.licence
        frame["attribution"] = reference.attribution
        frame["fictional"] = reference.fictional
        frames.append(frame)
    con.execute("BEGIN TRANSACTION")
    try:
        SQL.execute(con, "delete")
        if frames:
            staged = pd.concat(frames, ignore_index=True)
            staged["searches"] = staged["searches"].astype("Int64")
            con.register("staged_reference", staged)
            SQL.execute(con, "insert")
            con.unregister("staged_reference")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return sum(len(f) for f in frames)


def reference_tables(con: duckdb.DuckDBPyConnection) -> list[ReferenceTable]:
    """Every loaded reference table with its rows in source order."""
    tables: dict[str, dict] = {}
    for row in SQL.execute(con, "tables").fetchall():
        (ref_id, title, label, note, fictional, attribution, url) = row[:7]
        grp, broad, rate, searches = row[7:]
        entry = tables.setdefault(
            ref_id,
            {
                "reference_id": ref_id,
                "title": title,
                "period_label": label,
                "note": note,
                "fictional": bool(fictional),
                "attribution": attribution,
                "source_url": url,
                "rows": [],
            },
        )
        entry["rows"].append(
            ReferenceRow(
                grp,
                broad,
                None if rate is None else float(rate),
                None if searches is None else int(searches),
            )
        )
    return [ReferenceTable(**{**t, "rows": tuple(t["rows"])}) for t in tables.values()]
