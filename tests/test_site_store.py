"""The site's Store reads the figures no page shows (data.is_deferred) only when a page asks for
one: it answers every question exactly as a Store holding every published row does."""

from __future__ import annotations

import pytest

from stopsearch.metrics.contract import PUBLISHED_COLUMNS
from stopsearch.outputs.site import data
from stopsearch.warehouse import connect

ALL_ROWS = f"""
SELECT {", ".join(PUBLISHED_COLUMNS)} FROM published_metrics
ORDER BY area_kind, area_code, period, basis, grp, breakdown, category, measure
"""


def _answers(store: data.Store, keys: list[tuple]) -> dict:
    """Everything a page can ask the Store, for every area, period and published key."""
    areas = sorted({(k[0], k[1]) for k in keys})
    periods = sorted({k[2] for k in keys}) + ["no-such-period"]
    return {
        "names": store.names,
        "periods": store.periods,
        "ordered": [store.ordered_periods(kinds) for kinds in (("rolling", "year"), ("window",))],
        "areas": [store.areas(kind) for kind in sorted({a[0] for a in areas})],
        "has": [store.has(k, c, p) for k, c in areas for p in [None, *periods]],
        "counted": [store.counted(k, p) for k in sorted({a[0] for a in areas}) for p in periods],
        "own": [
            store.period_of(k, c, period) for k, c in areas for period in store.periods.values()
        ],
        "cats": [store.categories(*k[:3], k[5]) for k in keys],
        "figs": [
            store.fig(kind, code, period, measure, basis=b, grp=g, breakdown=br, category=cat)
            for kind, code, period, b, g, br, cat, measure in keys
        ],
    }


@pytest.fixture(scope="module", params=["public", "protected", "30 months"])
def warehouse(
    request, demo_warehouse_path, demo_confidential_warehouse_path, demo30_warehouse_path
):
    """The demo, public and protected, and over 30 months (earlier years read in part)."""
    return {
        "public": demo_warehouse_path,
        "protected": demo_confidential_warehouse_path,
        "30 months": demo30_warehouse_path,
    }[request.param]


def test_deferred_figures_change_no_answer(warehouse):
    with connect(warehouse, read_only=True) as con:
        rows = con.execute(ALL_ROWS).fetchall()
        lazy = data.Store.load(con)
        keys = [(r[0], r[1], r[3], *r[10:15]) for r in rows]
        deferred = [k for k, r in zip(keys, rows, strict=True)
                    if data.is_deferred(r[5], r[3], *r[12:13], *r[10:12], r[14],
                                        lazy.full_years)]  # fmt: skip
        assert len(deferred) > 1000  # the demo has them: the test reaches the lazy path
        full = data.Store(rows)
        misses = [(*k[:7], "no_such_measure") for k in keys[:50]]
        # The indexes first (no deferred figure asked for yet), then every figure.
        before = _answers(lazy, [])
        assert before["names"] == full.names and before["periods"] == full.periods
        assert lazy._deferred is not None  # nothing asked: not read
        assert _answers(lazy, keys + misses) == _answers(full, keys + misses)
        assert lazy._deferred is None  # a deferred figure was asked for: read once


def test_a_store_without_deferred_figures_is_complete(demo_warehouse_path):
    """Asking for a figure that is not published never reads the deferred ones."""
    with connect(demo_warehouse_path, read_only=True) as con:
        lazy = data.Store.load(con)
        force = lazy.force_code()
        assert force is not None
        assert not lazy.fig("force", force, "latest-12", "no_such_measure").shown
        assert lazy._deferred is not None
