"""Issue 13: an independent attacker (tests/attacker.py) against whole releases.

Acceptance with record_level = false, on the demo and on the real data (skipped when absent):
no primary cell (a count of 1-4 below force level) is recovered exactly, and every one keeps a
feasible range at least 4 values wide. With record_level on the release makes no such claim, and
the attacker shows why: small counts there are recovered.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from stopsearch.warehouse import connect
from tests.attacker import Attacker, is_short, summarise
from tests.extracts_fixtures import demo_export  # noqa: F401


def _parents(con: duckdb.DuckDBPyConnection) -> dict:
    """Each ward's council, as the layer files publish it (parent_code)."""
    rows = con.execute(
        "SELECT DISTINCT code, parent_code FROM areas"
        " WHERE kind = 'ward' AND parent_code IS NOT NULL"
    ).fetchall()
    return {("ward", c): ("local_authority", p) for c, p in rows}


def _attack(
    published: pd.DataFrame, truth: pd.DataFrame, parents: dict, target_kinds=None
) -> dict[str, int]:
    attacker = Attacker(published, parents, target_kinds)
    attacker.check_truth(truth)  # every relation the attacker uses holds in the true counts
    findings = attacker.attack()
    found = summarise(findings, truth)
    # A quarter or window count below force is withheld with its whole period (protected
    # mode). Recovered exactly, it is a published figure of the same cell (a year, the latest
    # 12 months) whose other months the release shows to have no searches (zero rows are left
    # out), never a count of its own.
    rows = published.rename(columns={"ethnic_group": "grp"})
    shown = rows[rows.value.notna() & rows.measure.eq("searches")]
    cells = {
        (*k, v)
        for *k, v in shown[
            ["area_kind", "area_code", "basis", "grp", "breakdown", "category", "measure", "value"]
        ].itertuples(index=False)
    }
    for f in findings:
        if is_short(f.period) and f.exact and not 1 <= f.low <= 4:
            assert (*f.key, float(f.low)) in cells, f
    return found


def test_record_level_release_does_not_hide_small_counts(demo_export, demo_warehouse_path):  # noqa: F811
    """The default (public records): primary thresholds only, and the attacker recovers many
    "<5" cells exactly from the metrics files alone, which is why nothing claims otherwise."""
    published = pq.read_table(demo_export.folder / "metrics").to_pandas()  # every period
    with connect(demo_warehouse_path, read_only=True) as con:
        truth = con.execute("SELECT * FROM metrics").df()
        parents = _parents(con)
    # The attack bounds the counts of the latest 12 months, years and months (quarters and
    # trend windows enter its relations): their "<5" cells make the point, and bounding the
    # quarters' and windows' too would add some 1,600 linear programmes.
    found = _attack(published, truth, parents, ("rolling", "year", "month"))
    assert found["primary"] == found["withheld"] > 0  # only small counts are withheld
    assert found["exact"] > found["primary"] // 10


def test_protected_demo_resists_the_attacker(demo_confidential_warehouse_path):
    with connect(demo_confidential_warehouse_path, read_only=True) as con:
        published = con.execute("SELECT * FROM published_metrics").df()
        truth = con.execute("SELECT * FROM metrics").df()
        parents = _parents(con)
    counts = published[published.measure.isin(["searches", "contradictory_outcomes"])]
    withheld = counts[counts.reason.notna()]
    assert set(withheld.display) == {"suppressed"}  # one label for every withheld count
    below = published[(published.area_kind != "force") & (published.period_kind == "month")]
    assert below[below.measure == "searches"].value.isna().all()  # no monthly counts below force
    # Quarters and trend windows (issue 17): for the force only; below it nothing but residents.
    short = published[published.period_kind.isin(["quarter", "window"])]
    assert short[short.area_kind == "force"].value.notna().sum() > 500
    hidden = short[(short.area_kind != "force") & (short.measure != "population")]
    assert len(hidden) > 5000 and hidden.value.isna().all()
    found = _attack(published, truth, parents)
    assert found["primary"] > 2000  # with the quarters' and windows' small counts
    assert found["exact"] == 0
    assert found["narrow"] == 0
    assert found["secondary_exact"] == 0
