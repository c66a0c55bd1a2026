"""Build data.police.uk-format inputs in code, so each test shows exactly what it feeds in."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from stopsearch.ingest import CSV_HEADER

BASE_ROW = {
    "Type": "Person search",
    "Date": "2023-01-05T14:32:00+00:00",
    "Part of a policing operation": "",
    "Policing operation": "",
    "Latitude": "52.480000",
    "Longitude": "-1.900000",
    "Gender": "Male",
    "Age range": "18-24",
    "Self-defined ethnicity": "White - English/Welsh/Scottish/Northern Irish/British",
    "Officer-defined ethnicity": "White",
    "Legislation": "Misuse of Drugs Act 1971 (section 23)",
    "Object of search": "Controlled drugs",
    "Outcome": "A no further action disposal",
    "Outcome linked to object of search": "False",
    "Removal of more than just outer clothing": "False",
}


def row(**changes: str) -> dict[str, str]:
    """A valid record with some fields changed; keys use the CSV header with _ for spaces."""
    out = dict(BASE_ROW)
    for key, value in changes.items():
        name = key.replace("_", " ").lower()
        match = [h for h in CSV_HEADER if h.lower().replace("-", " ") == name]
        assert match, f"no column {name}"
        out[match[0]] = value
    return out


def csv_bytes(rows: list[dict[str, str]], *, newline: str = "\r\n", bom: bool = False) -> bytes:
    """A CSV file as data.police.uk writes it (CRLF by default)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow([r[h] for h in CSV_HEADER])
    data = buffer.getvalue().encode("utf-8")
    return b"\xef\xbb\xbf" + data if bom else data


def write_csv(
    folder: Path,
    rows: list[dict[str, str]],
    month: str = "2023-01",
    force: str = "testshire",
    **options,
) -> Path:
    """Write `YYYY-MM-<force>-stop-and-search.csv` into folder and return its path."""
    path = folder / f"{month}-{force}-stop-and-search.csv"
    path.write_bytes(csv_bytes(rows, **options))
    return path


def api_record(**changes: object) -> dict:
    """A valid `/api/stops-force` record with some fields changed."""
    record = {
        "age_range": "18-24",
        "outcome": "A no further action disposal",
        "involved_person": True,
        "self_defined_ethnicity": "White - English/Welsh/Scottish/Northern Irish/British",
        "gender": "Male",
        "legislation": "Misuse of Drugs Act 1971 (section 23)",
        "outcome_linked_to_object_of_search": False,
        "datetime": "2023-01-05T14:32:00+00:00",
        "removal_of_more_than_outer_clothing": False,
        "outcome_object": {"id": "bu-no-further-action", "name": "A no further action disposal"},
        "location": {
            "latitude": "52.480000",
            "street": {"id": 1234567, "name": "On or near Fictional Street"},
            "longitude": "-1.900000",
        },
        "operation": False,
        "officer_defined_ethnicity": "White",
        "type": "Person search",
        "operation_name": None,
        "object_of_search": "Controlled drugs",
    }
    record.update(changes)
    return record


def write_json(
    folder: Path, records: list, month: str = "2023-01", force: str = "testshire"
) -> Path:
    """Write an API response as `YYYY-MM-<force>-stop-and-search.json`."""
    path = folder / f"{month}-{force}-stop-and-search.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    return path
