"""One benchmark run in its own process, so its peak memory is its own. Prints one JSON line.

    python benchmarks/run_stage.py publish INPUTS MANIFEST WORKDIR
    python benchmarks/run_stage.py floor INPUTS WARDS
    python benchmarks/run_stage.py naive INPUTS WARDS
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

MEMORY_LIMIT = None  # the publish job's default (stopsearch.config.PublishConfig)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def publish(inputs: Path, manifest: Path, workdir: Path) -> dict:
    """Ingest, join, metrics, extracts and site on a fresh warehouse: per-stage seconds."""
    from stopsearch.outputs.extracts import export
    from stopsearch.outputs.site import build_site
    from stopsearch.pipeline import prepare
    from stopsearch.warehouse import connect

    stages: dict[str, float] = {}
    started = time.perf_counter()
    con = connect(workdir / "bench.duckdb", memory_limit=MEMORY_LIMIT)
    report = prepare(con, [inputs], manifest)
    stages.update(report.durations)
    t = time.perf_counter()
    exported = export(con, workdir / "site" / "downloads", record_level=True, demo=False)
    stages["export"] = time.perf_counter() - t
    t = time.perf_counter()
    site = build_site(con, workdir / "site", demo=False)
    stages["site"] = time.perf_counter() - t
    stages["total"] = time.perf_counter() - started
    rows = con.execute("SELECT count(*) FROM searches").fetchone()[0]
    sizes = {f.name: f.bytes for f in exported.files}
    return {"stages": stages, "rows": rows, "sizes": sizes, "site_bytes": site.total_bytes,
            "overview_bytes": site.overview_bytes}


def floor(inputs: Path, wards: Path) -> dict:
    """The hardware floor: DuckDB read_csv (typed) + ST_DWithin join + group by."""
    import duckdb

    from stopsearch.warehouse import load_spatial

    con = duckdb.connect()
    load_spatial(con)
    t = time.perf_counter()
    con.execute(
        "CREATE TABLE w AS SELECT WD13CD AS code, geom FROM ST_Read(?)", [str(wards)]
    )
    rows = con.execute(
        f"""
        WITH r AS (
            SELECT Latitude AS lat, Longitude AS lon, Outcome AS outcome
            FROM read_csv('{inputs}/**/*.csv', header = true,
                          columns = {{'Type': 'VARCHAR', 'Date': 'VARCHAR',
                          'Part of a policing operation': 'VARCHAR',
                          'Policing operation': 'VARCHAR', 'Latitude': 'DOUBLE',
                          'Longitude': 'DOUBLE', 'Gender': 'VARCHAR', 'Age range': 'VARCHAR',
                          'Self-defined ethnicity': 'VARCHAR',
                          'Officer-defined ethnicity': 'VARCHAR', 'Legislation': 'VARCHAR',
                          'Object of search': 'VARCHAR', 'Outcome': 'VARCHAR',
                          'Outcome linked to object of search': 'VARCHAR',
                          'Removal of more than just outer clothing': 'VARCHAR'}})
            WHERE lat IS NOT NULL
        )
        SELECT w.code, count(*), avg((r.outcome NOT LIKE '%no further action%')::INT)
        FROM r JOIN w ON ST_DWithin(w.geom, ST_Point(r.lon, r.lat), 0)
        GROUP BY w.code
        """
    ).fetchall()
    return {"stages": {"total": time.perf_counter() - t}, "wards": len(rows)}


def naive(inputs: Path, wards: Path) -> dict:
    """The usual analyst script: pandas read_csv, geopandas sjoin, groupby."""
    import geopandas as gpd
    import pandas as pd

    t = time.perf_counter()
    frame = pd.concat(
        (pd.read_csv(p) for p in sorted(inputs.rglob("*-stop-and-search.csv"))),
        ignore_index=True,
    )
    frame = frame.dropna(subset=["Latitude", "Longitude"])
    points = gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(frame.Longitude, frame.Latitude), crs="EPSG:4326"
    )
    polygons = gpd.read_file(wards)[["WD13CD", "geometry"]]
    joined = gpd.sjoin(points, polygons, predicate="within")
    joined["positive"] = ~joined.Outcome.str.contains("no further action", case=False)
    result = joined.groupby("WD13CD").agg(searches=("positive", "size"),
                                          positive_rate=("positive", "mean"))
    return {"stages": {"total": time.perf_counter() - t}, "wards": len(result)}


if __name__ == "__main__":
    kind, *args = sys.argv[1:]
    result = globals()[kind](*map(Path, args))
    result["peak_mb"] = _peak_mb()
    print(json.dumps(result))
