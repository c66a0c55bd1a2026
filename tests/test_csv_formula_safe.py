"""Formula-safe CSV: no text cell of any published CSV starts with a spreadsheet formula character.

Issue 12 case 4: `=HYPERLINK(...)`, `=cmd|' /C calc'!A0`, `+1+1` and `@SUM(1,1)` in a record or
an area name were written unchanged into metrics.csv, searches.csv and the per-area CSVs.
"""

from __future__ import annotations

import csv
import re

import pyarrow as pa
import pyarrow.parquet as pq

from stopsearch.outputs.csvsafe import safe_table, safe_text, unsafe_text
from stopsearch.release import current_release
from tests.factories import row, write_csv
from tests.tiny_county import POINTS, config, county, publish

PAYLOADS = (
    '=HYPERLINK("http://example.invalid/x","click")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "@SUM(1,1)",
)
FORMULA = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def test_text_gets_an_apostrophe_and_numbers_do_not():
    for payload in (*PAYLOADS, "-2+3", "\tx", "\rx"):
        assert safe_text(payload) == "'" + payload
        assert unsafe_text(safe_text(payload)) == payload
    assert safe_text("Misuse of Drugs Act") == "Misuse of Drugs Act"
    assert unsafe_text("'quoted") == "'quoted"  # an apostrophe we did not add stays
    table = pa.table(
        {
            "longitude": pa.array([-1.9, None]),
            "name": pa.array(["-1.9", None]),
            "kind": pa.array(["=x", "ward"]).dictionary_encode(),
            "count": pa.array([-3, 4]),
        }
    )
    safe = safe_table(table)
    assert safe.schema == table.schema
    assert safe.column("longitude").to_pylist() == [-1.9, None]
    assert safe.column("count").to_pylist() == [-3, 4]
    assert safe.column("name").to_pylist() == ["'-1.9", None]
    assert safe.column("kind").to_pylist() == ["'=x", "ward"]


def test_every_published_csv_of_a_build_with_the_payloads_is_safe(tmp_path):
    names = {"W1": PAYLOADS[0], "W2": PAYLOADS[2], "S1": PAYLOADS[1], "S3": PAYLOADS[3]}
    manifest = county(tmp_path / "geo", names=names)
    police = tmp_path / "police"
    police.mkdir()
    rows = []
    for i, payload in enumerate(PAYLOADS * 2):
        lon, lat = POINTS[i % 2]
        fields = {"Latitude": f"{lat:.6f}", "Longitude": f"{lon:.6f}"}
        rows.append(row(Policing_operation=payload, Legislation=payload, **fields))
        rows.append(row(Object_of_search=payload, Outcome=payload, **fields))
    write_csv(police, rows)
    run = publish(config(tmp_path, police, manifest))
    assert run.exit_code == 0, run.output
    release = current_release(tmp_path / "site")
    files = sorted(release.rglob("*.csv"))
    assert {
        "downloads/searches-csv/month=2023-01/part-0.csv",
        "downloads/metrics-csv/latest-12.csv",
    } <= {
        f.relative_to(release).as_posix() for f in files
    }
    assert any("downloads/areas/" in f.as_posix() for f in files)
    cells = []
    for path in files:
        with path.open(encoding="utf-8", newline="") as handle:
            for record in csv.reader(handle):
                cells += [(path.name, cell) for cell in record]
    unsafe = [
        (name, cell)
        for name, cell in cells
        if cell.startswith(FORMULA) and not NUMBER.fullmatch(cell)
    ]
    assert unsafe == []
    found = {cell for _, cell in cells}
    assert {"'" + p for p in PAYLOADS} <= found  # the payloads are there, made safe
    assert any(cell.startswith("-") and NUMBER.fullmatch(cell) for cell in found)  # -1.9 etc.
    parquet = pq.read_table(release / "downloads" / "searches" / "month=2023-01" / "part-0.parquet")
    assert set(PAYLOADS) <= set(parquet.column("legislation").to_pylist())  # Parquet unchanged
