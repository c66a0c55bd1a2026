"""Column mappings of census ethnic-group tables onto broad and detailed police.uk groups."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from stopsearch.errors import GeographyError

BROAD_GROUPS = ("Asian", "Black", "Mixed", "White", "Other")

_A = "Asian/Asian British - "
_B = "Black/African/Caribbean/Black British - "
_M = "Mixed/Multiple ethnic groups - "
_W = "White - "
_O = "Other ethnic group - "
# The canonical detailed labels of stopsearch/crosswalks/self_defined_ethnicity.csv, by broad group.
DETAILED_GROUPS: dict[str, str] = {
    _A + "Bangladeshi": "Asian",
    _A + "Chinese": "Asian",
    _A + "Indian": "Asian",
    _A + "Pakistani": "Asian",
    _A + "Any other Asian background": "Asian",
    _B + "African": "Black",
    _B + "Caribbean": "Black",
    _B + "Any other Black/African/Caribbean background": "Black",
    _M + "White and Asian": "Mixed",
    _M + "White and Black African": "Mixed",
    _M + "White and Black Caribbean": "Mixed",
    _M + "Any other Mixed/Multiple ethnic background": "Mixed",
    _W + "English/Welsh/Scottish/Northern Irish/British": "White",
    _W + "Irish": "White",
    _W + "Gypsy or Irish Traveller": "White",
    _W + "Roma": "White",
    _W + "Any other White background": "White",
    _O + "Arab": "Other",
    _O + "Any other ethnic group": "Other",
}


@dataclass(frozen=True)
class ColumnMapping:
    """How one table's columns map to groups: each count column to (broad, detailed or None)."""

    name: str
    code: str
    total: str | None
    groups: tuple[tuple[str, str, str | None], ...]
    residual: tuple[str, str | None] | None = None  # total minus the groups goes here
    broad_checks: tuple[tuple[str, str], ...] = ()  # (column, broad): must equal the sum


def group_of(label: str) -> tuple[str, str | None]:
    """(broad, detailed) for a detailed police.uk label or a broad group name."""
    if label in DETAILED_GROUPS:
        return DETAILED_GROUPS[label], label
    if label in BROAD_GROUPS:
        return label, None
    raise GeographyError(
        f"unknown ethnic group {label!r}: use a broad group ({', '.join(BROAD_GROUPS)})"
        f" or a detailed label such as {_A + 'Indian'!r}"
    )


def _mapping(name: str, code: str, total: str | None, pairs: list[tuple[str, str]], **kw: Any):
    return ColumnMapping(name, code, total, tuple((c, *group_of(g)) for c, g in pairs), **kw)


CENSUS2011_LSOA14 = _mapping(
    "census2011-lsoa14",
    "LSOA",
    "Persons",
    [
        ("WhiteBrit", _W + "English/Welsh/Scottish/Northern Irish/British"),
        ("Irish", _W + "Irish"),
        ("OtherWhite", _W + "Any other White background"),
        ("Mixed", "Mixed"),
        ("Indian", _A + "Indian"),
        ("Pakistani", _A + "Pakistani"),
        ("Bangladeshi", _A + "Bangladeshi"),
        ("Chinese", _A + "Chinese"),
        ("OtherAsian", _A + "Any other Asian background"),
        ("BlkAfrican", _B + "African"),
        ("BlkCaribbean", _B + "Caribbean"),
        ("OtherBlk", _B + "Any other Black/African/Caribbean background"),
        ("Arab", _O + "Arab"),
        ("Other", _O + "Any other ethnic group"),
    ],
    # The 14 columns omit White: Gypsy or Irish Traveller; Persons minus their sum is that group.
    residual=("White", _W + "Gypsy or Irish Traveller"),
)

CENSUS2011_QS201EW = _mapping(
    "census2011-qs201ew",
    "geography code",
    "All categories: Ethnic group",
    [
        (
            "White: English/Welsh/Scottish/Northern Irish/British",
            _W + "English/Welsh/Scottish/Northern Irish/British",
        ),
        ("White: Irish", _W + "Irish"),
        ("White: Gypsy or Irish Traveller", _W + "Gypsy or Irish Traveller"),
        ("White: Other White", _W + "Any other White background"),
        (
            "Mixed/multiple ethnic group: White and Black Caribbean",
            _M + "White and Black Caribbean",
        ),
        ("Mixed/multiple ethnic group: White and Black African", _M + "White and Black African"),
        ("Mixed/multiple ethnic group: White and Asian", _M + "White and Asian"),
        (
            "Mixed/multiple ethnic group: Other Mixed",
            _M + "Any other Mixed/Multiple ethnic background",
        ),
        ("Asian/Asian British: Indian", _A + "Indian"),
        ("Asian/Asian British: Pakistani", _A + "Pakistani"),
        ("Asian/Asian British: Bangladeshi", _A + "Bangladeshi"),
        ("Asian/Asian British: Chinese", _A + "Chinese"),
        ("Asian/Asian British: Other Asian", _A + "Any other Asian background"),
        ("Black/African/Caribbean/Black British: African", _B + "African"),
        ("Black/African/Caribbean/Black British: Caribbean", _B + "Caribbean"),
        (
            "Black/African/Caribbean/Black British: Other Black",
            _B + "Any other Black/African/Caribbean background",
        ),
        ("Other ethnic group: Arab", _O + "Arab"),
        ("Other ethnic group: Any other ethnic group", _O + "Any other ethnic group"),
    ],
    broad_checks=(
        ("White", "White"),
        ("Mixed", "Mixed"),
        ("Asian", "Asian"),
        ("Black", "Black"),
        ("Other", "Other"),
    ),
)

_A21 = "Asian, Asian British or Asian Welsh"
_B21 = "Black, Black British, Black Welsh, Caribbean or African"
_M21 = "Mixed or Multiple ethnic groups"
CENSUS2021_TS021 = _mapping(
    "census2021-ts021",
    "geography code",
    "Total: All usual residents",
    [
        (_A21 + ": Bangladeshi", _A + "Bangladeshi"),
        (_A21 + ": Chinese", _A + "Chinese"),
        (_A21 + ": Indian", _A + "Indian"),
        (_A21 + ": Pakistani", _A + "Pakistani"),
        (_A21 + ": Other Asian", _A + "Any other Asian background"),
        (_B21 + ": African", _B + "African"),
        (_B21 + ": Caribbean", _B + "Caribbean"),
        (_B21 + ": Other Black", _B + "Any other Black/African/Caribbean background"),
        (_M21 + ": White and Asian", _M + "White and Asian"),
        (_M21 + ": White and Black African", _M + "White and Black African"),
        (_M21 + ": White and Black Caribbean", _M + "White and Black Caribbean"),
        (
            _M21 + ": Other Mixed or Multiple ethnic groups",
            _M + "Any other Mixed/Multiple ethnic background",
        ),
        (
            "White: English, Welsh, Scottish, Northern Irish or British",
            _W + "English/Welsh/Scottish/Northern Irish/British",
        ),
        ("White: Irish", _W + "Irish"),
        ("White: Gypsy or Irish Traveller", _W + "Gypsy or Irish Traveller"),
        ("White: Roma", _W + "Roma"),
        ("White: Other White", _W + "Any other White background"),
        ("Other ethnic group: Arab", _O + "Arab"),
        ("Other ethnic group: Any other ethnic group", _O + "Any other ethnic group"),
    ],
    broad_checks=(
        (_A21, "Asian"),
        (_B21, "Black"),
        (_M21, "Mixed"),
        ("White", "White"),
        ("Other ethnic group", "Other"),
    ),
)

PRESETS: dict[str, ColumnMapping] = {
    m.name: m for m in (CENSUS2011_LSOA14, CENSUS2011_QS201EW, CENSUS2021_TS021)
}

_PREFIX = re.compile(r"^ethnic group: ", re.IGNORECASE)
_SUFFIX = re.compile(r"; measures: value$", re.IGNORECASE)


def normalise_column(name: str) -> str:
    """A header without the Nomis/ONS decorations ('Ethnic group: ', '; measures: Value')."""
    return _SUFFIX.sub("", _PREFIX.sub("", name.strip().lstrip("\ufeff"))).strip().casefold()


def custom_mapping(spec: dict[str, Any], where: str) -> ColumnMapping:
    """A mapping from a manifest table {code, total, residual, groups = {column = label}}."""
    allowed = {"code", "total", "residual", "groups"}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise GeographyError(f"{where}: unknown key(s) {unknown} in columns; allowed {allowed}")
    groups = spec.get("groups")
    if not isinstance(spec.get("code"), str) or not isinstance(groups, dict) or not groups:
        raise GeographyError(
            f'{where}: columns needs code = "LSOA" and a [columns.groups] table such as'
            f' Indian = "{_A}Indian"'
        )
    residual = spec.get("residual")
    return ColumnMapping(
        name="custom",
        code=spec["code"],
        total=spec.get("total"),
        groups=tuple((col, *group_of(label)) for col, label in groups.items()),
        residual=group_of(residual) if residual else None,
    )


def mapping_for(columns: str | dict[str, Any], where: str) -> ColumnMapping:
    """The preset named `columns`, or a custom mapping given as a table."""
    if isinstance(columns, str):
        if columns not in PRESETS:
            raise GeographyError(f"{where}: unknown column preset {columns!r}")
        return PRESETS[columns]
    return custom_mapping(columns, where)


def _counts(frame: pd.DataFrame, column: str, where: str) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() | (values < 0)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise GeographyError(
            f"{where}: column {column!r} row {row + 2}: {frame[column].iloc[row]!r} is not a"
            " count (a whole number >= 0)"
        )
    return values.to_numpy(dtype=float)


def to_long(frame: pd.DataFrame, mapping: ColumnMapping, where: str, code: str | None = None):
    """Long table (area_code, broad_group, detailed_group, persons) with the totals checked."""
    by_norm = {normalise_column(c): c for c in frame.columns}
    wanted = [code or mapping.code, *(c for c, _, _ in mapping.groups)]
    wanted += [mapping.total] if mapping.total else []
    wanted += [c for c, _ in mapping.broad_checks]
    missing = [c for c in wanted if normalise_column(c) not in by_norm]
    if missing:
        raise GeographyError(
            f"{where}: mapping {mapping.name!r} needs column(s) {missing};"
            f" the table has {list(frame.columns)}"
        )

    def col(name: str) -> str:
        return by_norm[normalise_column(name)]

    codes = frame[col(code or mapping.code)].astype(str).str.strip()
    duplicated = codes[codes.duplicated()]
    if len(duplicated):
        raise GeographyError(f"{where}: area code {duplicated.iloc[0]!r} appears more than once")
    parts, group_sum = [], np.zeros(len(frame))
    broad_sum = {b: np.zeros(len(frame)) for b in BROAD_GROUPS}
    for column, broad, detailed in mapping.groups:
        values = _counts(frame, col(column), where)
        group_sum += values
        broad_sum[broad] += values
        parts.append((broad, detailed, values))
    if mapping.total:
        total = _counts(frame, col(mapping.total), where)
        rest = total - group_sum
        if mapping.residual:
            if (rest < 0).any():
                row = int(np.flatnonzero(rest < 0)[0])
                raise GeographyError(
                    f"{where}: area {codes.iloc[row]}: the groups sum to more than"
                    f" {mapping.total!r} ({group_sum[row]:g} > {total[row]:g})"
                )
            broad, detailed = mapping.residual
            broad_sum[broad] += rest
            parts.append((broad, detailed, rest))
        elif (np.abs(rest) > 1e-9).any():
            row = int(np.flatnonzero(np.abs(rest) > 1e-9)[0])
            raise GeographyError(
                f"{where}: area {codes.iloc[row]}: the groups sum to {group_sum[row]:g} but"
                f" {mapping.total!r} is {total[row]:g}"
            )
    for column, broad in mapping.broad_checks:
        given = _counts(frame, col(column), where)
        off = np.abs(given - broad_sum[broad]) > 1e-9
        if off.any():
            row = int(np.flatnonzero(off)[0])
            raise GeographyError(
                f"{where}: area {codes.iloc[row]}: {broad} groups sum to"
                f" {broad_sum[broad][row]:g} but column {column!r} is {given[row]:g}"
            )
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "area_code": codes.to_numpy(),
                    "broad_group": broad,
                    "detailed_group": detailed,
                    "persons": values,
                }
            )
            for broad, detailed, values in parts
        ],
        ignore_index=True,
    )
