"""Lean warehouse row prototype (issue 19; not a test, not the shipped schema): bytes and CPU.

Usage: python benchmarks/bench_lean_row.py [ROWS]   (default 1000000; inputs as bench_ingest)

The inputs are parsed and normalised once; then the same Arrow records are inserted, one
transaction per force-month file as the loader does, into
  * `current`: today's `searches` table (benchmarks' copy of the write in ingest/write.sql);
  * `lean`: a prototype row where the published labels (operation name, street name, raw
    self-defined ethnicity, officer-defined ethnicity, legislation, object of search, raw outcome)
    are INTEGER ids into one append-only `labels` table, force, month and file come through the
    load id, and search_id and is_person_search are computed;
  * `lean+ts`: as `lean`, and the published timestamp text is stored only where it differs from
    the canonical rendering of the parsed timestamp (`YYYY-MM-DDTHH:MM:SS+00:00`).
A view over each lean table gives today's `searches` shape (names, order and types); the script
checks it returns exactly the rows of `current`. `lean` decodes through joins (labels, loads);
`lean+ts` through literal lists and maps written into the view (regenerated whenever labels or
loads change), so a query that reads no decoded column pays nothing for them. Reported per
variant: the insert CPU seconds (all files, commits included), warehouse bytes per record after
CHECKPOINT (less the empty warehouse; DuckDB's 256 KiB blocks make this coarse below 1M records),
and the best of 3 CPU seconds of four reader queries through the view.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent))

from inputs import FORCE, make_inputs  # noqa: E402

from stopsearch.ingest.csv_rows import parse_csv  # noqa: E402
from stopsearch.ingest.normalise import normalise  # noqa: E402
from stopsearch.ingest.read import read_text  # noqa: E402
from stopsearch.sqlfiles import run_sql  # noqa: E402
from stopsearch.thresholds import DEFAULT_LIMITS  # noqa: E402
from stopsearch.warehouse import connect  # noqa: E402

LABELS = (
    "operation_name",
    "street_name",
    "self_defined_ethnicity_raw",
    "officer_defined_ethnicity",
    "legislation",
    "object_of_search",
    "outcome_raw",
)
CANONICAL_TS = "%Y-%m-%dT%H:%M:%S+00:00"
CANONICAL_RE = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\+00:00$"
LEAN_TABLE = """
CREATE TABLE labels (
    field    VARCHAR NOT NULL,
    label_id INTEGER NOT NULL,
    label    VARCHAR NOT NULL,
    PRIMARY KEY (field, label_id)
);
CREATE TABLE searches_lean (
    load_id                    INTEGER NOT NULL,
    source_line                INTEGER NOT NULL,
    {published},
    datetime                   TIMESTAMP NOT NULL,
    type                       search_type NOT NULL,
    part_of_operation          BOOLEAN,
    operation_name_id          INTEGER,
    latitude                   DOUBLE,
    longitude                  DOUBLE,
    location_issue             location_issue_code,
    street_id                  BIGINT,
    street_name_id             INTEGER,
    gender                     gender_label,
    age_range                  age_band,
    self_defined_ethnicity_raw_id INTEGER,
    self_defined_ethnicity     ethnicity_detailed NOT NULL,
    self_defined_group         ethnicity_group NOT NULL,
    officer_defined_ethnicity_id INTEGER,
    officer_defined_group      ethnicity_group NOT NULL,
    legislation_id             INTEGER,
    object_of_search_id        INTEGER,
    object_group               object_group_label NOT NULL,
    outcome_raw_id             INTEGER,
    outcome_class              outcome_class_label NOT NULL,
    is_positive                BOOLEAN,
    outcome_linked             BOOLEAN,
    removal_more_than_outer    BOOLEAN,
    involved_person            BOOLEAN
);
"""


def _view(published: str) -> str:
    joins = "\n".join(
        f"LEFT JOIN labels AS l_{f} ON l_{f}.field = '{f}' AND l_{f}.label_id = s.{f}_id"
        for f in LABELS
    )
    return f"""
CREATE VIEW searches AS
SELECT
    s.load_id::BIGINT * 10000000 + s.source_line AS search_id,
    s.load_id, l.force, l.month, l.source AS source_file, s.source_line,
    {published} AS datetime_published,
    s.datetime, s.type,
    s.type IN ('Person search', 'Person and Vehicle search') AS is_person_search,
    s.part_of_operation, l_operation_name.label AS operation_name,
    s.latitude, s.longitude, s.location_issue, s.street_id, l_street_name.label AS street_name,
    s.gender, s.age_range,
    l_self_defined_ethnicity_raw.label AS self_defined_ethnicity_raw,
    s.self_defined_ethnicity, s.self_defined_group,
    l_officer_defined_ethnicity.label AS officer_defined_ethnicity,
    s.officer_defined_group,
    l_legislation.label AS legislation,
    l_object_of_search.label AS object_of_search,
    s.object_group,
    l_outcome_raw.label AS outcome_raw,
    s.outcome_class, s.is_positive, s.outcome_linked, s.removal_more_than_outer,
    s.involved_person
FROM searches_lean AS s
JOIN loads AS l USING (load_id)
{joins}
"""


def _text(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _literal_view(con: duckdb.DuckDBPyConnection, published: str) -> str:
    """The `searches` view decoding ids through literals of the current labels and loads."""
    texts: dict[str, list[str]] = {f: [] for f in LABELS}
    for field, label in con.execute(
        "SELECT field, label FROM labels ORDER BY field, label_id"
    ).fetchall():
        texts[field].append(label)
    loads = con.execute("SELECT load_id, force, month, source FROM loads").fetchall()

    def by_load(index: int, kind: str) -> str:
        pairs = ", ".join(f"{row[0]}: {_text(row[index])}::{kind}" for row in loads)
        return f"(MAP {{{pairs}}})[s.load_id]"

    label = {f: f"([{', '.join(map(_text, v))}]::VARCHAR[])[s.{f}_id]" for f, v in texts.items()}
    return f"""
CREATE OR REPLACE VIEW searches AS
SELECT
    s.load_id::BIGINT * 10000000 + s.source_line AS search_id,
    s.load_id, {by_load(1, "VARCHAR")} AS force, {by_load(2, "DATE")} AS month,
    {by_load(3, "VARCHAR")} AS source_file, s.source_line,
    {published} AS datetime_published,
    s.datetime, s.type,
    s.type IN ('Person search', 'Person and Vehicle search') AS is_person_search,
    s.part_of_operation, {label["operation_name"]} AS operation_name,
    s.latitude, s.longitude, s.location_issue, s.street_id, {label["street_name"]} AS street_name,
    s.gender, s.age_range,
    {label["self_defined_ethnicity_raw"]} AS self_defined_ethnicity_raw,
    s.self_defined_ethnicity, s.self_defined_group,
    {label["officer_defined_ethnicity"]} AS officer_defined_ethnicity,
    s.officer_defined_group,
    {label["legislation"]} AS legislation,
    {label["object_of_search"]} AS object_of_search,
    s.object_group,
    {label["outcome_raw"]} AS outcome_raw,
    s.outcome_class, s.is_positive, s.outcome_linked, s.removal_more_than_outer,
    s.involved_person
FROM searches_lean AS s
"""


def records(folder: Path) -> list[tuple[dict, pa.Table]]:
    """(loader parameters, normalised records) of every file, parsed once."""
    out = []
    for load_id, path in enumerate(sorted(folder.rglob("*-stop-and-search.csv")), start=1):
        raw = read_text(lambda p=path: p.open("rb"), path.name, DEFAULT_LIMITS, csv=True)
        table = normalise(parse_csv(raw, path.name, DEFAULT_LIMITS).table).records
        year, month = map(int, path.name[:7].split("-"))
        params = {
            "load_id": load_id,
            "force": FORCE,
            "month": date(year, month, 1),
            "source_file": path.name,
        }
        out.append((params, table))
    return out


def _record_load(con: duckdb.DuckDBPyConnection, params: dict, rows: int) -> None:
    con.execute(
        "INSERT INTO loads VALUES ($load_id, $force, $month, $source_file, 'csv', '', $rows,"
        " $rows, 0, now()::TIMESTAMP, '')",
        {**params, "rows": rows},
    )


class Labels:
    """Append-only label ids per field, kept in step with the `labels` table."""

    def __init__(self) -> None:
        self.ids: dict[str, dict[str, int]] = {f: {} for f in LABELS}

    def encode(self, con: duckdb.DuckDBPyConnection, field: str, column: pa.Array) -> pa.Array:
        encoded = pc.dictionary_encode(pc.cast(column, pa.string()))
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        known = self.ids[field]
        new = []
        for text in encoded.dictionary.to_pylist():
            if text not in known:
                known[text] = len(known) + 1
                new.append((field, known[text], text))
        if new:
            con.executemany("INSERT INTO labels VALUES (?, ?, ?)", new)
        ids = pa.array([known[t] for t in encoded.dictionary.to_pylist()], pa.int32())
        return ids.take(encoded.indices)


def lean_table(
    con: duckdb.DuckDBPyConnection, labels: Labels, table: pa.Table, odd_only: bool
) -> pa.Table:
    out = table.drop_columns(["is_person_search", *LABELS])
    for field in LABELS:
        out = out.append_column(f"{field}_id", labels.encode(con, field, table.column(field)))
    if odd_only:
        # A kept row's text in this exact form is what strftime(datetime, CANONICAL_TS) gives back
        # (years below 1000 excepted: DuckDB does not pad them); checked once per distinct text.
        published = table.column("datetime_published").combine_chunks()
        encoded = pc.dictionary_encode(published)
        canonical = pc.match_substring_regex(encoded.dictionary, CANONICAL_RE)
        same = canonical.take(encoded.indices)
        odd = pc.if_else(same, pa.scalar(None, pa.string()), published)
        out = out.drop_columns(["datetime_published"]).append_column("datetime_odd", odd)
    return out


def build(path: Path, variant: str, files: list[tuple[dict, pa.Table]]) -> float:
    """CPU seconds to insert every file (one transaction each) into a new warehouse at path."""
    con = connect(path)
    if variant != "current":
        published = (
            "datetime_odd               VARCHAR"
            if variant == "lean+ts"
            else "datetime_published         VARCHAR NOT NULL"
        )
        con.execute("DROP TABLE searches")
        con.execute(LEAN_TABLE.format(published=published))
    con.execute("CHECKPOINT")
    labels = Labels()
    cpu = time.process_time()
    for params, table in files:
        con.execute("BEGIN TRANSACTION")
        if variant == "current":
            con.register("records", table)
            run_sql(con, "stopsearch.ingest", "write.sql", params)
        else:
            lean = lean_table(con, labels, table, variant == "lean+ts")
            con.register("records", lean)
            con.execute(
                "INSERT INTO searches_lean BY NAME SELECT $load_id AS load_id, * FROM records",
                {"load_id": params["load_id"]},
            )
        con.unregister("records")
        _record_load(con, params, table.num_rows)
        con.execute("COMMIT")
    cpu = time.process_time() - cpu
    if variant != "current":
        published = (
            f"coalesce(s.datetime_odd, strftime(s.datetime, '{CANONICAL_TS}'))"
            if variant == "lean+ts"
            else "s.datetime_published"
        )
        con.execute(_literal_view(con, published) if variant == "lean+ts" else _view(published))
    con.execute("CHECKPOINT")
    con.close()
    return cpu


READS = {
    "group by group": "SELECT self_defined_group, count(*) FROM searches GROUP BY ALL",
    "group by month, group": (
        "SELECT month, self_defined_group, count(*) FROM searches GROUP BY ALL"
    ),
    "group by label": "SELECT legislation, outcome_raw, count(*) FROM searches GROUP BY ALL",
    "all columns to Arrow": "SELECT * FROM searches",
}


def reads(path: Path) -> dict[str, float]:
    con = duckdb.connect(str(path), read_only=True)
    out = {}
    for name, sql in READS.items():
        best = []
        for _ in range(3):
            cpu = time.process_time()
            con.execute(sql).to_arrow_table()
            best.append(time.process_time() - cpu)
        out[name] = min(best)
    con.close()
    return out


def same_rows(current: Path, lean: Path) -> bool:
    con = duckdb.connect(str(lean), read_only=True)
    con.execute(f"ATTACH '{current}' AS cur (READ_ONLY)")
    shape = "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'searches'"
    ours = con.execute(
        shape + " AND database_name = current_database() ORDER BY column_index"
    ).fetchall()
    theirs = con.execute(shape + " AND database_name = 'cur' ORDER BY column_index").fetchall()
    differ = con.execute(
        "SELECT (SELECT count(*) FROM (SELECT * FROM cur.searches EXCEPT ALL"
        " SELECT * FROM searches)) + (SELECT count(*) FROM (SELECT * FROM searches"
        " EXCEPT ALL SELECT * FROM cur.searches))"
    ).fetchone()[0]
    con.close()
    return ours == theirs and differ == 0


def main(rows: int) -> None:
    files = records(make_inputs(rows))
    total = sum(t.num_rows for _, t in files)
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty.duckdb"
        connect(empty).close()
        base = empty.stat().st_size
        print(f"{total:,} records in {len(files)} files; empty warehouse {base:,} bytes")
        print("| variant | insert CPU s | bytes/record | same rows as current |", end="")
        print("".join(f" read CPU s: {name} |" for name in READS))
        print("|---|---:|---:|---|" + "---:|" * len(READS))
        for variant in ("current", "lean", "lean+ts"):
            path = Path(tmp) / f"{variant.replace('+', '-')}.duckdb"
            cpu = build(path, variant, files)
            per_record = (path.stat().st_size - base) / total
            same = (
                "-" if variant == "current" else str(same_rows(Path(tmp) / "current.duckdb", path))
            )
            cost = reads(path)
            print(
                f"| {variant} | {cpu:.2f} | {per_record:.1f} | {same} |"
                + "".join(f" {cost[name]:.3f} |" for name in READS)
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
