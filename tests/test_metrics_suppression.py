"""Disclosure control: rules, reason codes, and proofs that published tables cannot reveal 1-4.

The property tests play a reader who holds only the publishable table. From it they rebuild the
margin equations (groups sum to the area total, areas sum to each force total) with the
suppressed figures as unknowns, and check with independent tools (numpy ranks, scipy linprog)
that no unknown is determined: the protection code (a graph algorithm) is never consulted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from stopsearch.errors import ConfigError
from stopsearch.metrics import (
    DEFAULT_RULES,
    INSUFFICIENT_DATA,
    LEVEL_AREA_TOTAL,
    LEVEL_CELL,
    LEVEL_FORCE,
    NO_DATA,
    NO_POPULATION,
    RATE_SMALL_COUNT,
    RATE_SMALL_POPULATION,
    RATIO_INSUFFICIENT_DATA,
    REASONS,
    SECONDARY,
    SMALL_COUNT,
    SUPPRESSED,
    SuppressionRules,
    display_for,
    protect_table,
    rate_reasons,
    ratio_reasons,
    suppress_crosstab,
)

TOTAL = "Total"


def long_frame(counts: np.ndarray) -> pd.DataFrame:
    """An areas x groups matrix as the long frame suppress_crosstab takes."""
    rows = [
        (f"A{a}", f"G{g}", int(counts[a, g]))
        for a in range(counts.shape[0])
        for g in range(counts.shape[1])
    ]
    return pd.DataFrame(rows, columns=["area", "group", "count"])


def truth_table(counts: np.ndarray) -> dict[tuple[str, str], int]:
    """Every below-force figure (cells and area totals) keyed like the published frame."""
    truth = {}
    for a in range(counts.shape[0]):
        for g in range(counts.shape[1]):
            truth[(f"A{a}", f"G{g}")] = int(counts[a, g])
        truth[(f"A{a}", TOTAL)] = int(counts[a].sum())
    return truth


class Reader:
    """What someone holding only the published table can set up: equations and bounds."""

    def __init__(self, published: pd.DataFrame, everything_hidden: dict | None = None) -> None:
        """Unknowns are the suppressed figures (or, for the what-if, every below-force one)."""
        below = published[published["level"] != LEVEL_FORCE]
        force = published[published["level"] == LEVEL_FORCE].set_index("group")["value"]
        self.areas = list(dict.fromkeys(below["area"]))
        self.groups = [g for g in dict.fromkeys(below["group"]) if g != TOTAL]
        self.known: dict[tuple[str, str], int] = {}
        self.bounds: dict[tuple[str, str], tuple[float, float | None]] = {}
        for row in below.itertuples(index=False):
            key = (row.area, row.group)
            if everything_hidden is not None:
                small = 1 <= everything_hidden[key] <= DEFAULT_RULES.min_count - 1
                self.bounds[key] = (1.0, 4.0) if small else (0.0, None)
            elif row.value is None:
                self.bounds[key] = (1.0, 4.0) if row.display == "<5" else (0.0, None)
            else:
                self.known[key] = int(row.value)
        self.unknowns = list(self.bounds)
        index = {k: i for i, k in enumerate(self.unknowns)}
        equations: list[tuple[dict, float]] = []
        for a in self.areas:
            equations.append(({(a, g): 1.0 for g in self.groups} | {(a, TOTAL): -1.0}, 0.0))
        for g in [*self.groups, TOTAL]:
            equations.append(({(a, g): 1.0 for a in self.areas}, float(force[g])))
        rows, rhs = [], []
        for coefs, total in equations:
            row = np.zeros(len(self.unknowns))
            b = total
            for key, c in coefs.items():
                if key in index:
                    row[index[key]] += c
                else:
                    b -= c * self.known[key]
            rows.append(row)
            rhs.append(b)
        self.a_eq = np.array(rows)
        self.b_eq = np.array(rhs)
        self.margins = equations

    def linearly_derivable(self, key: tuple[str, str]) -> bool:
        """True iff e_key lies in the row space of the margin matrix restricted to unknowns."""
        unit = np.zeros(len(self.unknowns))
        unit[self.unknowns.index(key)] = 1.0
        rank = np.linalg.matrix_rank(self.a_eq)
        return np.linalg.matrix_rank(np.vstack([self.a_eq, unit])) == rank

    def value_range(self, key: tuple[str, str], labelled: bool = True) -> tuple[float, float]:
        """Least and greatest value of an unknown over all tables consistent with the reader
        (using the "<5" labels as bounds 1..4, or only non-negativity)."""
        c = np.zeros(len(self.unknowns))
        c[self.unknowns.index(key)] = 1.0
        bounds = [self.bounds[k] if labelled else (0.0, None) for k in self.unknowns]
        low = linprog(c, A_eq=self.a_eq, b_eq=self.b_eq, bounds=bounds, method="highs")
        high = linprog(-c, A_eq=self.a_eq, b_eq=self.b_eq, bounds=bounds, method="highs")
        assert low.status == 0 and high.status == 0
        return low.fun, -high.fun


def assert_safe(counts: np.ndarray) -> pd.DataFrame:
    """Check every disclosure guarantee of the published table made from ``counts``."""
    published = suppress_crosstab(long_frame(counts))
    truth = truth_table(counts)
    small = range(1, DEFAULT_RULES.min_count)
    force = published[published["level"] == LEVEL_FORCE]
    assert force["reason"].isna().all()
    assert dict(zip(force["group"], force["value"], strict=True)) == {
        **{f"G{g}": int(counts[:, g].sum()) for g in range(counts.shape[1])},
        TOTAL: int(counts.sum()),
    }
    below = published[published["level"] != LEVEL_FORCE]
    for row in below.itertuples(index=False):
        true = truth[(row.area, row.group)]
        # 1. nothing in 1..4 is shown, and what is shown is true
        if row.value is not None:
            assert row.value == true and true not in small and row.reason is None
            assert row.display == str(true)
        else:
            assert row.reason == (SMALL_COUNT if true in small else SECONDARY)
            assert row.display == ("<5" if true in small else SUPPRESSED)
    reader = Reader(published)
    # 2. derived sums: total minus published members is never a small positive aggregate
    for coefs, total in reader.margins:
        if any(c < 0 for c in coefs.values()):
            area_total = next(k for k, c in coefs.items() if c < 0)
            if area_total not in reader.known:
                continue
            total = reader.known[area_total]
            coefs = {k: c for k, c in coefs.items() if c > 0}
        hidden = [k for k in coefs if k in reader.bounds]
        if hidden:
            derived = sum(truth[k] for k in hidden)
            assert derived >= min(DEFAULT_RULES.min_count, total) and derived >= 1
            assert len(hidden) >= 2
    # 3. no suppressed figure is a linear combination of published ones (rank test), nor pinned
    #    by the margins and non-negativity (linear programme ignoring the "<5" labels; the
    #    labelled range is inside the unlabelled one, so it is tried first)
    # 4. no "<5" figure is pinned using its 1..4 label, unless the force totals alone pin it
    what_if = None
    for key in reader.unknowns:
        assert not reader.linearly_derivable(key), key
        low, high = reader.value_range(key)
        assert low - 1e-7 <= truth[key] <= high + 1e-7
        if high - low > 0.5:
            continue
        low, high = reader.value_range(key, labelled=False)
        assert high - low > 0.5, key
        if reader.bounds[key] != (1.0, 4.0):
            continue  # a secondary cell pinned only via force-exposed "<5" neighbours
        what_if = what_if or Reader(published, everything_hidden=truth)
        low_all, high_all = what_if.value_range(key)
        assert high_all - low_all < 0.5, f"{key} pinned but could be protected"
    return published


tables = st.integers(2, 6).flatmap(
    lambda n_areas: st.integers(1, 5).flatmap(
        lambda n_groups: st.lists(
            st.lists(
                st.one_of(st.integers(0, 4), st.integers(0, 30)),
                min_size=n_groups,
                max_size=n_groups,
            ),
            min_size=n_areas,
            max_size=n_areas,
        )
    )
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables)
def test_published_tables_never_reveal_small_counts(counts: list[list[int]]) -> None:
    """Property: guarantees 1-4 of stopsearch.metrics.protection hold for random cross-tabs."""
    assert_safe(np.array(counts))


@pytest.mark.parametrize(
    "counts",
    [
        [[3, 10, 20], [12, 15, 30], [8, 0, 25]],
        [[4, 4, 20], [12, 15, 30], [8, 9, 25]],
        [[1, 0], [1, 0], [0, 7]],
        [[1], [2], [3]],
        [[0, 0], [0, 0]],
        [[2, 2, 2, 2, 2], [9, 9, 9, 9, 9], [1, 30, 30, 30, 30]],
    ],
)
def test_hand_picked_tables_are_safe(counts: list[list[int]]) -> None:
    """Awkward shapes: a lone small cell, two 4s summing to 8, tiny force totals, one group."""
    assert_safe(np.array(counts))


def test_reader_catches_primary_only_suppression() -> None:
    """The audit is not vacuous: hiding only the 3 lets a reader subtract it back."""
    counts = np.array([[3, 10], [12, 15]])
    truth = truth_table(counts)
    naive = suppress_crosstab(long_frame(counts))
    for i in naive.index[naive["reason"] == SECONDARY]:
        value = truth[(naive.at[i, "area"], naive.at[i, "group"])]
        naive.loc[i, ["value", "display", "reason"]] = [value, str(value), None]
    reader = Reader(naive)
    assert reader.unknowns == [("A0", "G0")]
    assert reader.linearly_derivable(("A0", "G0"))
    assert reader.value_range(("A0", "G0")) == pytest.approx((3.0, 3.0))


def test_four_and_four_summing_to_eight_gets_an_unbounded_partner() -> None:
    """Two "<5" cells whose margin says 8 would both be 4: a secondary joins them."""
    counts = np.array([[4, 4, 20], [12, 15, 30], [8, 9, 25]])
    published = assert_safe(counts).set_index(["area", "group"])
    assert published.loc[("A0", "G0"), "reason"] == SMALL_COUNT
    assert published.loc[("A0", "G2"), "reason"] == SECONDARY


def test_lone_small_cell_gets_a_rectangle() -> None:
    """One 3 in a table of large counts: exactly a 2 x 2 rectangle is suppressed."""
    counts = np.array([[3, 10, 20], [12, 15, 30], [8, 6, 25]])
    protection = protect_table(counts)
    assert protection.suppressed.sum() == 4
    assert protection.primary.sum() == 1
    assert not protection.exposed_by_force_totals.any()


def test_force_totals_that_pin_a_cell_are_reported() -> None:
    """Force total 2 over two areas with 1 each: each is 1 whatever is hidden below force."""
    protection = protect_table(np.array([[1, 0], [1, 0], [0, 7]]))
    assert protection.exposed_by_force_totals[:, 0].tolist() == [True, True, False]
    assert protection.suppressed[:2, 0].all()


def test_all_zero_and_all_large_tables_publish_everything() -> None:
    """No small counts, nothing to hide: zeros are publishable."""
    for counts in (np.zeros((3, 4), int), np.full((3, 4), 7)):
        published = suppress_crosstab(long_frame(counts))
        assert published["reason"].isna().all()
        assert published["value"].notna().all()


def test_crosstab_layout_and_missing_pairs_are_zero() -> None:
    """Cells, area totals and the force row; a pair absent from the input is a zero."""
    frame = pd.DataFrame(
        {"area": ["a", "a", "b", "c"], "group": ["X", "Y", "X", "Y"], "count": [12, 30, 20, 9]}
    )
    out = suppress_crosstab(frame)
    assert list(out.columns) == ["area", "group", "level", "value", "display", "reason"]
    assert len(out) == 3 * 3 + 3
    indexed = out.set_index(["area", "group"])
    assert indexed.loc[("b", "Y"), "value"] == 0 and indexed.loc[("b", "Y"), "display"] == "0"
    assert indexed.loc[("c", TOTAL), "level"] == LEVEL_AREA_TOTAL
    assert indexed.loc[("a", "X"), "level"] == LEVEL_CELL
    assert indexed.loc[(TOTAL, TOTAL), "value"] == 71
    assert "count" not in out.columns
    assert out["value"].dtype == object


def test_by_slices_are_protected_independently() -> None:
    """Each month is its own table; one month's small cell does not touch another month."""
    frame = pd.concat(
        [
            long_frame(np.array([[3, 10], [12, 15]])).assign(month="2024-01"),
            long_frame(np.array([[30, 10], [12, 15]])).assign(month="2024-02"),
        ]
    )
    out = suppress_crosstab(frame, by=["month"])
    assert list(out.columns[:3]) == ["month", "area", "group"]
    assert out[out["month"] == "2024-02"]["reason"].isna().all()
    jan = out[out["month"] == "2024-01"]
    assert (jan["reason"] == SMALL_COUNT).sum() == 1
    assert (jan["reason"] == SECONDARY).sum() >= 3


def test_custom_threshold_changes_what_is_small() -> None:
    """With min_count 3, counts 3 and 4 are published and the label reads "<3"."""
    rules = SuppressionRules(min_count=3)
    counts = np.array([[3, 4, 20], [2, 15, 30], [8, 9, 25]])
    out = suppress_crosstab(long_frame(counts), rules).set_index(["area", "group"])
    assert out.loc[("A1", "G0"), "display"] == "<3"
    assert out.loc[("A1", "G0"), "reason"] == SMALL_COUNT
    assert (out["reason"] == SMALL_COUNT).sum() == 1
    assert out.loc[("A0", "G0"), "reason"] == SECONDARY  # a 3: hidden only as a partner


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"area": ["a", "b"], "group": ["X", "X"], "count": [1, -1]}), "whole"),
        (pd.DataFrame({"area": ["a", "b"], "group": ["X", "X"], "count": [1.5, 1]}), "whole"),
        (pd.DataFrame({"area": ["a", "b"], "group": ["X", "X"], "count": [None, 1]}), "whole"),
        (pd.DataFrame({"area": ["a", "a"], "group": ["X", "X"], "count": [1, 1]}), "duplicate"),
        (pd.DataFrame({"area": ["a", "a"], "group": ["X", "Y"], "count": [1, 1]}), "two areas"),
        (pd.DataFrame({"area": ["a", "b"], "group": ["X", "Total"], "count": [1, 1]}), "label"),
        (pd.DataFrame({"area": ["a", "b"], "count": [1, 1]}), "missing"),
    ],
)
def test_invalid_crosstabs_are_rejected(frame: pd.DataFrame, message: str) -> None:
    """Bad input raises rather than publishing something wrong."""
    with pytest.raises(ValueError, match=message):
        suppress_crosstab(frame)


def test_rules_defaults_validation_and_configuration() -> None:
    """Defaults follow REFERENCE.md section 5; bad settings are config errors."""
    assert SuppressionRules(5, 10, 100, 5) == DEFAULT_RULES
    assert DEFAULT_RULES.small_count_display == "<5"
    assert SuppressionRules(min_count=3).min_count == 3
    for bad in (0, -1, 2.5, True, "5"):
        with pytest.raises(ConfigError):
            SuppressionRules(min_count=bad)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        DEFAULT_RULES.min_count = 3  # type: ignore[misc]


def test_reason_codes_and_their_display() -> None:
    """Every reason code has a display text; unknown codes are an error."""
    assert set(REASONS) == {
        "small_count",
        "secondary",
        "rate_small_count",
        "rate_small_population",
        "ratio_insufficient_data",
        "no_population",
        "no_data",
    }
    assert display_for(SMALL_COUNT) == "<5"
    assert display_for(SECONDARY) == SUPPRESSED
    assert display_for(RATIO_INSUFFICIENT_DATA) == INSUFFICIENT_DATA
    assert display_for(SMALL_COUNT, SuppressionRules(min_count=10)) == "<10"
    with pytest.raises(ValueError):
        display_for("nope")


def test_rate_reasons_follow_the_thresholds_in_order() -> None:
    """N >= 10 and population >= 100 to publish; no data and no population come first."""
    reasons = rate_reasons([10, 9, 10, 10, np.nan, 0, 10], [100, 1000, 99, 0, 1000, 1000, np.nan])
    assert reasons.tolist() == [
        None,
        RATE_SMALL_COUNT,
        RATE_SMALL_POPULATION,
        NO_POPULATION,
        NO_DATA,
        RATE_SMALL_COUNT,
        NO_POPULATION,
    ]
    assert rate_reasons(50, 1000, months=0).tolist() == NO_DATA
    assert rate_reasons(50, 1000, months=3).tolist() is None


def test_rate_of_a_suppressed_count_is_withheld_too() -> None:
    """A published rate and a public population would give a hidden count back."""
    reasons = rate_reasons([12, 12, 3], [1000, 1000, 1000], count_reason=[None, SECONDARY, None])
    assert reasons.tolist() == [None, SECONDARY, RATE_SMALL_COUNT]


def test_ratio_reasons() -> None:
    """Both counts >= 5 (else insufficient data); suppressed numerators win; NaN is no data."""
    reasons = ratio_reasons(
        [5, 4, 5, 5, 5, np.nan, 6],
        [5, 50, 4, 50, 0, 50, 50],
        [100, 100, 100, 0, 100, 100, 100],
        [100, 100, 100, 100, 100, 100, 100],
        count_reason_w=[None, None, None, None, None, None, SECONDARY],
    )
    assert reasons.tolist() == [
        None,
        RATIO_INSUFFICIENT_DATA,
        RATIO_INSUFFICIENT_DATA,
        NO_POPULATION,
        RATIO_INSUFFICIENT_DATA,
        NO_DATA,
        SECONDARY,
    ]


def test_missing_count_reasons_from_pandas_mean_publish() -> None:
    """NaN or pd.NA in a reason column (as pandas stores None) is "no reason", not a reason."""
    given = pd.Series([None, np.nan, pd.NA, SECONDARY], dtype=object)
    assert rate_reasons([20] * 4, [1000] * 4, count_reason=given).tolist() == [
        None,
        None,
        None,
        SECONDARY,
    ]
