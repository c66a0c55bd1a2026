"""The metrics are the same to the last bit however often they are built (issue 18).

A nightly release hard-links a period's metric files from the release before when the period's
rows are unchanged (extracts/metric_files.py); a figure that differs in its last floating-point
digit from one build to the next makes every period look changed, so every period file was
rewritten every night. The population summed by a parallel SUM of doubles did exactly that.
"""

from __future__ import annotations

import shutil

import pytest

from stopsearch.disk import sha256_file
from stopsearch.metrics.build import build_metrics
from stopsearch.outputs.extracts.metric_files import write_periods
from stopsearch.warehouse import connect

pytestmark = pytest.mark.realdata


def test_a_cold_rebuild_writes_byte_identical_metric_files(real_warehouse_path, tmp_path):
    """The real warehouse's metrics rebuilt from nothing (no unit reused) give every period's
    Parquet and CSV file byte for byte as the first build did, and the same rows."""
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(real_warehouse_path, copy)
    with connect(copy) as con:
        # Parallel aggregation even on a one-core runner: the order-dependence shows with threads.
        con.execute("SET threads = 4")
        con.execute("DELETE FROM metrics_units")  # nothing cached: every period recomputed
        build_metrics(con)
        rebuilt = write_periods(con, tmp_path / "rebuilt", None, sha256_file)
        rebuilt_rows = con.execute("SELECT * FROM published_metrics ORDER BY ALL").fetchall()
    with connect(real_warehouse_path, read_only=True) as con:
        first = write_periods(con, tmp_path / "first", None, sha256_file)
        first_rows = con.execute("SELECT * FROM published_metrics ORDER BY ALL").fetchall()
    assert len(first) == 27  # latest-12, 2016, 2017, 4 quarters, 10 months, 10 trend points
    assert rebuilt_rows == first_rows
    for a, b in zip(first, rebuilt, strict=True):
        assert (a.month, a.rows) == (b.month, b.rows)
        for name in (a.parquet.name, a.csv.name):
            assert (tmp_path / "rebuilt" / name).read_bytes() == (
                tmp_path / "first" / name
            ).read_bytes(), name
