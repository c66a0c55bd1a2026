"""Postcode lookups ([[postcodes]] in the boundary manifest): postcode -> small area.

The file is a CSV with the ONS Postcode Directory's column names: the postcode (`pcds`, or any
form that differs only in spaces and case, such as `pcd`) and the small area of the layer named
by `small_area_layer` (e.g. `lsoa11` or `lsoa21`). A postcode with a termination date (`doterm`)
is left out, as is one whose small area is empty or not in the layer (a national file covers
far more than one force). Anything malformed is an error naming the file, line and field. The
site's search (stopsearch.outputs.site.search) takes each postcode to the ward and neighbourhood
that hold its small area.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from stopsearch.disk import sha256_tree
from stopsearch.errors import GeographyError
from stopsearch.geography.manifest import Manifest, PostcodeLookup
from stopsearch.sqlfiles import SqlFile

SQL = SqlFile("stopsearch.geography", "postcodes.sql")
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_SPACES = re.compile(r"\s+")
MAX_FIELD = 64  # longer than any postcode or area code: a sign of the wrong column or file


def normal_postcode(postcode: str) -> str | None:
    """'B6 4AA' from ' b64aa ' (outward code, one space, inward code); None when the text is not
    a postcode in form."""
    squeezed = _SPACES.sub("", postcode).upper()
    match = _POSTCODE.match(squeezed)
    return f"{match.group(1)} {match.group(2)}" if match else None


@dataclass
class PostcodeRead:
    """One lookup file read: (postcode, small area) pairs and what was left out."""

    rows: list[tuple[str, str]] = field(default_factory=list)
    terminated: int = 0
    outside: int = 0


def _where(path: Path, line: int, column: str | None = None) -> str:
    return f"{path}, line {line}" + (f", field '{column}'" if column else "")


def read_postcodes(lookup: PostcodeLookup, known: set[str]) -> PostcodeRead:
    """Every postcode in force whose small area is in `known`; GeographyError on bad input."""
    path = lookup.path
    result = PostcodeRead()
    first_line: dict[str, int] = {}
    area_of: dict[str, str] = {}
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [h.strip() for h in next(reader, [])]
            for column in (lookup.postcode_field, lookup.small_area_field):
                if column not in header:
                    raise GeographyError(
                        f"{_where(path, 1)}: no column '{column}' (postcodes '{lookup.id}');"
                        f" the columns are {', '.join(header) or 'none'}"
                    )
            at_postcode = header.index(lookup.postcode_field)
            at_area = header.index(lookup.small_area_field)
            at_end = header.index(lookup.end_field) if lookup.end_field in header else None
            for row in reader:
                line = reader.line_num
                if not row or row == [""]:
                    continue
                if len(row) != len(header):
                    raise GeographyError(
                        f"{_where(path, line)}: {len(row)} fields where the header has"
                        f" {len(header)}"
                    )
                if at_end is not None and row[at_end].strip():
                    result.terminated += 1
                    continue
                raw = row[at_postcode]
                postcode = normal_postcode(raw) if len(raw) <= MAX_FIELD else None
                if postcode is None:
                    raise GeographyError(
                        f"{_where(path, line, lookup.postcode_field)}: {raw[:MAX_FIELD]!r} is not"
                        " a postcode (for example: B6 4AA)"
                    )
                area = row[at_area].strip()
                if len(area) > MAX_FIELD:
                    raise GeographyError(
                        f"{_where(path, line, lookup.small_area_field)}: {area[:MAX_FIELD]!r}..."
                        " is too long for an area code"
                    )
                if postcode in area_of:  # (only postcodes kept are remembered: a national
                    if area_of[postcode] != area:  # file has millions of others)
                        raise GeographyError(
                            f"{_where(path, line, lookup.small_area_field)}: {postcode} is in"
                            f" {area!r} here but in {area_of[postcode]!r} on line"
                            f" {first_line[postcode]}"
                        )
                    continue
                if not area or area not in known:
                    result.outside += 1
                    continue
                area_of[postcode] = area
                first_line[postcode] = line
                result.rows.append((postcode, area))
    except UnicodeDecodeError as exc:
        raise GeographyError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise GeographyError(f"{path}: not a readable CSV ({exc})") from None
    result.rows.sort()
    return result


@dataclass
class PostcodeReport:
    """What `load_postcodes` loaded, lookup by lookup, and notes worth showing to a person."""

    loaded: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def load_postcodes(con: duckdb.DuckDBPyConnection, manifest: Manifest) -> PostcodeReport:
    """Replace the warehouse's postcodes with the manifest's lookups (after load_boundaries)."""
    report = PostcodeReport()
    lookups, parts = [], []
    for lookup in manifest.postcodes:
        known = {
            str(code)
            for (code,) in SQL.execute(
                con, "layer_codes", {"layer_id": lookup.small_area_layer}
            ).fetchall()
        }
        read = read_postcodes(lookup, known)
        report.loaded[lookup.id] = len(read.rows)
        if read.terminated or read.outside:
            report.notes.append(
                f"postcodes '{lookup.id}': {len(read.rows)} loaded; left out"
                f" {read.terminated} terminated and {read.outside} outside layer"
                f" '{lookup.small_area_layer}'"
            )
        lookups.append(
            {
                "lookup_id": lookup.id,
                "small_area_layer": lookup.small_area_layer,
                "file": lookup.file,
                "sha256": sha256_tree(lookup.path),
                "postcodes": len(read.rows),
                "terminated": read.terminated,
                "outside": read.outside,
                "source_url": lookup.source_url,
                "licence": lookup.licence,
                "attribution": lookup.attribution,
            }
        )
        parts.append(
            pd.DataFrame(
                {
                    "lookup_id": lookup.id,
                    "postcode": [p for p, _ in read.rows],
                    "layer_id": lookup.small_area_layer,
                    "small_area_code": [a for _, a in read.rows],
                },
                dtype=str,
            )
        )
    columns = ["lookup_id", "postcode", "layer_id", "small_area_code"]
    staged = {
        "staged_postcode_lookups": pd.DataFrame(
            lookups,
            columns=[
                "lookup_id",
                "small_area_layer",
                "file",
                "sha256",
                "postcodes",
                "terminated",
                "outside",
                "source_url",
                "licence",
                "attribution",
            ],
        ),
        "staged_postcodes": pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=columns, dtype=str),
    }
    for name, table in staged.items():
        con.register(name, table)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            for statement in (
                "delete_postcodes",
                "delete_lookups",
                "insert_lookups",
                "insert_postcodes",
            ):
                SQL.execute(con, statement)
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise GeographyError(f"{manifest.path}: loading postcodes failed: {exc}") from exc
    finally:
        for name in staged:
            con.unregister(name)
    return report
