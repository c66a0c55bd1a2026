"""Benchmark inputs: N records in monthly data.police.uk CSVs, made by replicating real months.

The real West Midlands months in ../shared/data are repeated with dates shifted into new months
and coordinates jittered by up to ~100 m (points that leave the county are moved back to their
original snap point). Without the real data the fictional demo generator is used instead.
Nothing here is committed: inputs go to benchmarks/work/ (ignored by git).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STOPSEARCH_SHARED_DATA", REPO.parent / "shared" / "data"))
REAL_STOPS = SHARED / "police" / "stop-and-search" / "west-midlands"
REAL_WARDS = SHARED / "boundaries" / "west-midlands-wards-2013.geojson"
WORK = REPO / "benchmarks" / "work"
FORCE = "west-midlands"  # the real ward layer joins only this force's records


def source_folder() -> tuple[Path, str]:
    """Real months when present, else the fictional demo records (generated once)."""
    if REAL_STOPS.is_dir():
        return REAL_STOPS, "real West Midlands months (../shared/data)"
    from stopsearch.demo import generate_demo

    demo = WORK / "demo"
    if not (demo / "truth.json").exists():
        generate_demo(demo)
    return demo / "records", "fictional demo records"


def make_inputs(
    total_rows: int, months: int = 10, start: tuple[int, int] = (2011, 4), seed: int = 7
) -> Path:
    """Write `months` monthly files holding `total_rows` rows between them; reuse if present.

    The default window (from April 2011) lies inside both the 2013 ward layer (to May 2018) and
    the 2011 LSOA layer.
    """
    rows_per_file = -(-total_rows // months)
    out = WORK / f"inputs-{total_rows}-{months}-{start[0]}{start[1]:02d}"
    marker = out / ".complete"
    if marker.exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    folder, _ = source_folder()
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE src AS SELECT row_number() OVER () AS k, * FROM read_csv(?, header=true,"
        " all_varchar=true, union_by_name=false)",
        [str(folder / "**" / "*-stop-and-search.csv")],
    )
    n_src = con.execute("SELECT count(*) FROM src").fetchone()[0]
    snap_back = REAL_WARDS.is_file() and REAL_STOPS.is_dir()
    if snap_back:  # jittered points that leave the county go back to their snap point
        from stopsearch.warehouse import load_spatial

        load_spatial(con)
        con.execute("CREATE TABLE wards AS SELECT geom FROM ST_Read(?)", [str(REAL_WARDS)])
    files = -(-total_rows // rows_per_file)
    for i in range(files):
        rows = min(rows_per_file, total_rows - i * rows_per_file)
        index = start[0] * 12 + start[1] - 1 + i
        year, month = index // 12, index % 12 + 1
        path = (
            out / f"{year:04d}-{month:02d}" / f"{year:04d}-{month:02d}-{FORCE}-stop-and-search.csv"
        )
        path.parent.mkdir(exist_ok=True)
        jittered = f"""
                SELECT s."Type",
                    printf('%04d-%02d-%02d', {year}, {month}, 1 + (hash(r.i, {seed}) % 28))
                        || substr(s."Date", 11) AS "Date",
                    s."Part of a policing operation", s."Policing operation",
                    CASE WHEN s."Latitude" IS NULL THEN NULL ELSE printf('%.6f',
                        s."Latitude"::DOUBLE
                        + ((hash(r.i, 1, {seed}) % 2001)::BIGINT - 1000) * 1e-6)
                    END AS "Latitude",
                    CASE WHEN s."Longitude" IS NULL THEN NULL ELSE printf('%.6f',
                        s."Longitude"::DOUBLE
                        + ((hash(r.i, 2, {seed}) % 2001)::BIGINT - 1000) * 1.6e-6)
                    END AS "Longitude",
                    s."Gender", s."Age range", s."Self-defined ethnicity",
                    s."Officer-defined ethnicity", s."Legislation", s."Object of search",
                    s."Outcome", s."Outcome linked to object of search",
                    s."Removal of more than just outer clothing"
                FROM range({i * rows_per_file}, {i * rows_per_file + rows}) r(i)
                JOIN src s ON s.k = 1 + (r.i % {n_src})
                ORDER BY r.i
        """
        if snap_back:
            numbered = jittered.replace('SELECT s."Type",', 'SELECT r.i, s.k, s."Type",', 1)
            con.execute(f"CREATE OR REPLACE TEMP TABLE j AS {numbered}")
            con.execute(
                "CREATE OR REPLACE TEMP TABLE inside AS SELECT DISTINCT j.i FROM j JOIN wards w "
                'ON ST_DWithin(w.geom, ST_Point(j."Longitude"::DOUBLE, j."Latitude"::DOUBLE), 0) '
                'WHERE j."Latitude" IS NOT NULL'
            )
            query = """
                SELECT j.* EXCLUDE (i, k) REPLACE (
                    CASE WHEN j."Latitude" IS NULL OR n.i IS NOT NULL THEN j."Latitude"
                         ELSE s."Latitude" END AS "Latitude",
                    CASE WHEN j."Latitude" IS NULL OR n.i IS NOT NULL THEN j."Longitude"
                         ELSE s."Longitude" END AS "Longitude")
                FROM j JOIN src s ON s.k = j.k LEFT JOIN inside n ON n.i = j.i
                ORDER BY j.i
            """
        else:
            query = jittered
        con.execute(f"COPY ({query}) TO '{path}' (HEADER, DELIMITER ',')")
    marker.write_text("ok")
    return out
