"""Normalise parsed text rows into typed `searches` columns, vectorised with pyarrow.

Categorical fields are dictionary-encoded, so each distinct label is looked up in the crosswalks
once, not once per row; dates and coordinates are parsed with pyarrow compute kernels. The result
is an Arrow table in the column order of `searches` (less the ids the loader adds), plus the rows
that cannot be records, the field-level warnings and the labels no crosswalk knows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stopsearch.crosswalks import enum_values, read_crosswalk

EXAMPLE_DATE = "2023-01-05T14:32:00+00:00"
UK_LATITUDE = (49.8, 60.95)
UK_LONGITUDE = (-8.75, 1.85)
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
# YYYY-MM-DD, T or space, HH:MM:SS, an ignored fraction, then Z, +HH:MM, +HHMM or nothing (UTC);
# ASCII digits only.
_TIMESTAMP = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-5][0-9]"
    r"(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?$"
)
_STRPTIME = "%Y-%m-%dT%H:%M:%S%z"
_STREET_ID = re.compile(r"[0-9]{1,19}")
_BIGINT_MAX = 2**63 - 1
_UNKNOWN_OUTCOME = {"false", "null", "none"}


@dataclass(frozen=True)
class RowIssue:
    """A rejected row or a field-level warning, by physical line."""

    line: int
    field: str
    code: str
    detail: str


@dataclass(frozen=True)
class Unmapped:
    """A label the crosswalks do not know, with how often and where it first appears."""

    field: str
    label: str
    rows: int
    first_line: int


@dataclass
class Normalised:
    """Typed records ready to insert, and what was wrong with the rest."""

    records: pa.Table
    rejects: list[RowIssue]
    warnings: list[RowIssue]
    unmapped: list[Unmapped]


@dataclass(frozen=True)
class _Crosswalks:
    # Keyed by the raw value, which is None for an empty field (never a key: looked up by .get)
    self_defined: dict[str | None, tuple[str, str]]
    officer_defined: dict[str | None, str]
    outcome: dict[str, tuple[str, bool | None]]
    object_group: dict[str | None, str]
    types: frozenset[str]
    genders: frozenset[str]
    ages: frozenset[str]


@cache
def _crosswalks() -> _Crosswalks:
    positive = {"true": True, "false": False, "": None}
    return _Crosswalks(
        self_defined={
            r["label"]: (r["canonical"], r["group"])
            for r in read_crosswalk("self_defined_ethnicity.csv")
        },
        officer_defined={
            r["label"]: r["group"] for r in read_crosswalk("officer_defined_ethnicity.csv")
        },
        outcome={
            r["label"]: (r["outcome_class"], positive[r["is_positive"]])
            for r in read_crosswalk("outcome.csv")
        },
        object_group={
            r["label"]: r["object_group"] for r in read_crosswalk("object_of_search.csv")
        },
        types=frozenset(enum_values("type")),
        genders=frozenset(enum_values("gender")),
        ages=frozenset(enum_values("age_range")),
    )


def _clean(column: pa.ChunkedArray | pa.Array, trim: bool = True) -> pa.DictionaryArray:
    """Dictionary-encode a text column with whitespace trimmed and empty text as null."""
    encoded = pc.dictionary_encode(column)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.unify_dictionaries().combine_chunks()
    dictionary = encoded.dictionary
    if trim:
        dictionary = pc.utf8_trim_whitespace(dictionary)
    dictionary = pc.if_else(pc.equal(dictionary, ""), pa.scalar(None, pa.string()), dictionary)
    return pa.DictionaryArray.from_arrays(encoded.indices, dictionary)


def _apply(
    encoded: pa.DictionaryArray, mapper: Callable[[str | None], Any], out_type: pa.DataType
) -> pa.Array:
    """Map each distinct value once, then spread the results to every row."""
    values = [mapper(v) for v in encoded.dictionary.to_pylist()]
    mapped = pa.array(values, out_type)
    indices = encoded.indices
    if encoded.null_count:
        indices = pc.fill_null(indices, len(values))
        mapped = pa.concat_arrays([mapped, pa.array([mapper(None)], out_type)])
    return mapped.take(indices)


def _unmapped(
    field: str, encoded: pa.DictionaryArray, known: Callable[[str], bool], lines: pa.Array
) -> list[Unmapped]:
    out = []
    for position, label in enumerate(encoded.dictionary.to_pylist()):
        if label is None or known(label):
            continue
        mask = pc.equal(encoded.indices, position)
        hits = pc.filter(lines, mask)
        if len(hits):
            out.append(Unmapped(field, label, len(hits), pc.min(hits).as_py()))
    return out


def _parse_distinct(texts: pa.Array) -> pa.Array:
    """UTC timestamps for timestamp texts (null where a text is not one), parsed by pyarrow.

    The shape is checked first with ASCII-only classes, so no Unicode digit gets through, and fixes
    where the date and the time of day sit; pyarrow's strptime reads the values. A date strptime
    would roll over into the next month (30 February) is refused, as are year 0 and second 60. A
    fraction of a second is ignored.
    """
    null = pa.scalar(None, pa.string())
    texts = pc.if_else(pc.match_substring_regex(texts, _TIMESTAMP), texts, null)
    date = pc.utf8_slice_codeunits(texts, 0, 10)
    zone = pc.replace_substring_regex(pc.utf8_slice_codeunits(texts, 19), r"^\.[0-9]+", "")
    zone = pc.replace_substring(zone, ":", "")
    zone = pc.if_else(pc.is_in(zone, pa.array(["", "Z"])), "+0000", zone)
    time_of_day = pc.utf8_slice_codeunits(texts, 11, 19)
    stamp = pc.binary_join_element_wise(date, "T", time_of_day, zone, "")
    parsed = pc.strptime(stamp, format=_STRPTIME, unit="us", error_is_null=True)
    day = pc.strptime(date, format="%Y-%m-%d", unit="s", error_is_null=True)
    month = pc.cast(pc.utf8_slice_codeunits(date, 5, 7), pa.int64())  # ASCII digits by now
    real_day = pc.and_(pc.equal(pc.month(day), month), pc.greater_equal(pc.year(day), 1))
    valid = pc.fill_null(pc.and_(pc.is_valid(parsed), real_day), False)
    naive = pc.cast(parsed, pa.timestamp("us"))
    return pc.if_else(valid, naive, pa.scalar(None, pa.timestamp("us")))


def parse_timestamps(dates: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(UTC-normalised timestamp, validity) for published date texts.

    A month has few distinct timestamps, so each distinct text is parsed once and spread with
    dictionary indices.
    """
    encoded = pc.dictionary_encode(pc.utf8_trim_whitespace(dates))
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.unify_dictionaries().combine_chunks()
    parsed = _parse_distinct(encoded.dictionary)
    indices = encoded.indices
    if encoded.null_count:
        indices = pc.fill_null(indices, len(parsed))
        parsed = pa.concat_arrays([parsed, pa.nulls(1, parsed.type)])
    stamps = parsed.take(indices)
    return stamps, pc.is_valid(stamps)


def _coordinates(lat_text: pa.Array, lon_text: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(latitude, longitude, location_issue): empty or 0,0 is no location; bad ones get a code."""
    lat_t = pc.utf8_trim_whitespace(lat_text)
    lon_t = pc.utf8_trim_whitespace(lon_text)
    lat_empty = pc.fill_null(pc.equal(lat_t, ""), True)
    lon_empty = pc.fill_null(pc.equal(lon_t, ""), True)
    lat_ok = pc.fill_null(pc.match_substring_regex(lat_t, _NUMBER), False)
    lon_ok = pc.fill_null(pc.match_substring_regex(lon_t, _NUMBER), False)
    null_text = pa.scalar(None, pa.string())
    lat = pc.cast(pc.if_else(lat_ok, lat_t, null_text), pa.float64())
    lon = pc.cast(pc.if_else(lon_ok, lon_t, null_text), pa.float64())
    both_empty = pc.and_(lat_empty, lon_empty)
    partial = pc.xor(lat_empty, lon_empty)
    not_number = pc.and_(
        pc.invert(pc.or_(lat_empty, lon_empty)), pc.invert(pc.and_(lat_ok, lon_ok))
    )
    zero = pc.fill_null(pc.and_(pc.equal(lat, 0.0), pc.equal(lon, 0.0)), False)
    inside = pc.fill_null(
        pc.and_(
            pc.and_(pc.greater_equal(lat, UK_LATITUDE[0]), pc.less_equal(lat, UK_LATITUDE[1])),
            pc.and_(pc.greater_equal(lon, UK_LONGITUDE[0]), pc.less_equal(lon, UK_LONGITUDE[1])),
        ),
        False,
    )
    numeric = pc.and_(lat_ok, lon_ok)
    outside = pc.and_(numeric, pc.and_(pc.invert(zero), pc.invert(inside)))
    issue = pc.case_when(
        pc.make_struct(partial, not_number, outside),
        pa.scalar("partial"),
        pa.scalar("not_a_number"),
        pa.scalar("outside_uk"),
    )
    located = pc.and_(inside, pc.invert(both_empty))
    null_float = pa.scalar(None, pa.float64())
    return pc.if_else(located, lat, null_float), pc.if_else(located, lon, null_float), issue


def _boolean(encoded: pa.DictionaryArray) -> tuple[pa.Array, list[str]]:
    """True/False text as booleans (null when empty); the other labels seen are returned."""
    bad: list[str] = []

    def read(value: str | None) -> bool | None:
        if value is None:
            return None
        lowered = value.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        bad.append(value)
        return None

    return _apply(encoded, read, pa.bool_()), bad


def normalise(raw: pa.Table) -> Normalised:
    """Typed records from parsed text rows (columns as in `parse.ALL_COLUMNS` plus `line`)."""
    xw = _crosswalks()
    lines = raw.column("line").combine_chunks()
    col = {
        name: _clean(raw.column(name))
        for name in raw.column_names
        if name not in ("line", "date", "latitude", "longitude")
    }

    type_text = col["type"]
    type_ok = _apply(type_text, lambda v: v in xw.types, pa.bool_())
    datetime, date_ok = parse_timestamps(raw.column("date").combine_chunks())
    keep = pc.and_(type_ok, date_ok)

    rejects: list[RowIssue] = []
    if not pc.all(keep).as_py():
        date_texts = raw.column("date").combine_chunks()
        bad = np.flatnonzero(~keep.to_numpy(zero_copy_only=False))
        type_values = pc.take(pc.cast(type_text, pa.string()), pa.array(bad)).to_pylist()
        for index, type_value, ok_type, date_value in zip(
            bad.tolist(),
            type_values,
            pc.take(type_ok, pa.array(bad)).to_pylist(),
            pc.take(date_texts, pa.array(bad)).to_pylist(),
            strict=True,
        ):
            line = lines[index].as_py()
            if not ok_type:
                what = "empty Type" if type_value is None else f"unknown Type {type_value!r}"
                rejects.append(
                    RowIssue(
                        line,
                        "Type",
                        "reject",
                        f"{what} (expected Person search,"
                        " Vehicle search or Person and Vehicle search)",
                    )
                )
            else:
                rejects.append(
                    RowIssue(
                        line,
                        "Date",
                        "reject",
                        f"unparseable Date {date_value or ''!r} (expected e.g. {EXAMPLE_DATE})",
                    )
                )

    latitude, longitude, location_issue = _coordinates(
        raw.column("latitude").combine_chunks(), raw.column("longitude").combine_chunks()
    )
    sde = col["self_defined"]
    ode = col["officer_defined"]
    outcome = col["outcome"]
    obj = col["object_of_search"]

    def outcome_text(value: str | None) -> str | None:
        return None if value is None or value.lower() in _UNKNOWN_OUTCOME else value

    outcome_clean = _apply(outcome, outcome_text, pa.string())
    outcome = _clean(outcome_clean)

    def outcome_of(value: str | None) -> tuple[str, bool | None]:
        if value is None:
            return ("unknown", None)
        return xw.outcome.get(value, ("unknown", None))

    linked, linked_bad = _boolean(col["outcome_linked"])
    removal, removal_bad = _boolean(col["removal"])
    operation, operation_bad = _boolean(col["part_of_operation"])
    involved, _ = _boolean(col["involved_person"])
    type_plain = pc.cast(type_text, pa.string())
    street_id = _apply(col["street_id"], _street_id, pa.int64())

    records = pa.table(
        {
            "source_line": pc.cast(lines, pa.int32()),
            "datetime_published": pc.utf8_trim_whitespace(raw.column("date").combine_chunks()),
            "datetime": datetime,
            "type": type_text,
            "is_person_search": pc.is_in(
                type_plain, pa.array(["Person search", "Person and Vehicle search"])
            ),
            "part_of_operation": operation,
            "operation_name": col["operation_name"],
            "latitude": latitude,
            "longitude": longitude,
            "location_issue": location_issue,
            "street_id": street_id,
            "street_name": col["street_name"],
            "gender": _apply(col["gender"], lambda v: v if v in xw.genders else None, pa.string()),
            "age_range": _apply(
                col["age_range"], lambda v: v if v in xw.ages else None, pa.string()
            ),
            "self_defined_ethnicity_raw": sde,
            "self_defined_ethnicity": _apply(
                sde, lambda v: xw.self_defined.get(v, ("Unknown", ""))[0], pa.string()
            ),
            "self_defined_group": _apply(
                sde, lambda v: xw.self_defined.get(v, ("", "Unknown"))[1], pa.string()
            ),
            "officer_defined_ethnicity": ode,
            "officer_defined_group": _apply(
                ode, lambda v: xw.officer_defined.get(v, "Unknown"), pa.string()
            ),
            "legislation": col["legislation"],
            "object_of_search": obj,
            "object_group": _apply(obj, lambda v: xw.object_group.get(v, "unknown"), pa.string()),
            "outcome_raw": outcome,
            "outcome_class": _apply(outcome, lambda v: outcome_of(v)[0], pa.string()),
            "is_positive": _apply(outcome, lambda v: outcome_of(v)[1], pa.bool_()),
            "outcome_linked": linked,
            "removal_more_than_outer": removal,
            "involved_person": involved,
        }
    )

    warnings: list[RowIssue] = []
    issue_rows = np.flatnonzero(
        pc.and_(pc.is_valid(location_issue), keep).to_numpy(zero_copy_only=False)
    )
    if len(issue_rows):
        taken = pa.array(issue_rows)
        for line, code, lat, lon in zip(
            pc.take(lines, taken).to_pylist(),
            pc.take(location_issue, taken).to_pylist(),
            pc.take(raw.column("latitude").combine_chunks(), taken).to_pylist(),
            pc.take(raw.column("longitude").combine_chunks(), taken).to_pylist(),
            strict=True,
        ):
            warnings.append(
                RowIssue(
                    line,
                    "Latitude/Longitude",
                    code,
                    f"location '{lat or ''},{lon or ''}' ignored: record kept without a location",
                )
            )
    for field, encoded, bad_texts in (
        ("Part of a policing operation", col["part_of_operation"], operation_bad),
        ("Outcome linked to object of search", col["outcome_linked"], linked_bad),
        ("Removal of more than just outer clothing", col["removal"], removal_bad),
    ):
        if not bad_texts:
            continue
        mask = pc.and_(pc.is_in(pc.cast(encoded, pa.string()), pa.array(bad_texts)), keep)
        for line in pc.filter(lines, mask).to_pylist():
            warnings.append(RowIssue(line, field, "bad_boolean", "not True/False: kept as unknown"))
    warnings += _street_id_warnings(col["street_id"], street_id, lines, keep)
    warnings.sort(key=lambda w: (w.line, w.field))

    kept_lines = pc.filter(lines, keep)
    kept = {
        name: _clean(pc.filter(raw.column(name).combine_chunks(), keep))
        for name in ("self_defined", "officer_defined", "object_of_search", "gender", "age_range")
    }
    kept["outcome"] = _clean(pc.filter(outcome_clean, keep))
    unmapped = (
        _unmapped("Age range", kept["age_range"], xw.ages.__contains__, kept_lines)
        + _unmapped("Gender", kept["gender"], xw.genders.__contains__, kept_lines)
        + _unmapped(
            "Object of search", kept["object_of_search"], xw.object_group.__contains__, kept_lines
        )
        + _unmapped(
            "Officer-defined ethnicity",
            kept["officer_defined"],
            xw.officer_defined.__contains__,
            kept_lines,
        )
        + _unmapped("Outcome", kept["outcome"], xw.outcome.__contains__, kept_lines)
        + _unmapped(
            "Self-defined ethnicity", kept["self_defined"], xw.self_defined.__contains__, kept_lines
        )
    )
    return Normalised(
        records.filter(keep), sorted(rejects, key=lambda r: r.line), warnings, unmapped
    )


def _street_id_warnings(
    text: pa.Array, street_id: pa.Array, lines: pa.Array, keep: pa.Array
) -> list[RowIssue]:
    """A street id given that is not one (say 20 digits): the record is kept without it."""
    bad = pc.and_(pc.and_(pc.is_valid(text), pc.is_null(street_id)), keep)
    return [
        RowIssue(
            line,
            "location.street.id",
            "bad_street_id",
            "not a whole number below 2^63: record kept without a street id",
        )
        for line in pc.filter(lines, bad).to_pylist()
    ]


def _street_id(value: str | None) -> int | None:
    """A street id that fits BIGINT (ASCII digits only), else None."""
    if value is None or not _STREET_ID.fullmatch(value):
        return None
    number = int(value)
    return number if number <= _BIGINT_MAX else None
