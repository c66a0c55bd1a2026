"""The precision rule: exact boundary cases, so a change to the rule is caught."""

import numpy as np

from stopsearch.metrics.precision import ratio_imprecise, value_imprecise


def test_ratio_span_boundary() -> None:
    got = ratio_imprecise([1.0, 1.0, 1.57, 0.0, np.nan], [3.0, 3.0001, 8.53, 2.0, 2.0])
    assert got.tolist() == [False, True, True, True, True]


def test_value_half_width_boundary() -> None:
    # value 4, interval 2..6: half-width 2 = half of 4 -> precise; 1.9..6.1 -> imprecise
    got = value_imprecise([4.0, 4.0, 0.0, 4.0], [2.0, 1.9, 0.0, np.nan], [6.0, 6.1, 1.0, 6.0])
    assert got.tolist() == [False, True, True, True]
