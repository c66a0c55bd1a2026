"""truth.json: the planted parameters, expected values and the counts actually generated."""

from __future__ import annotations

import numpy as np

from stopsearch.demo import planted as P
from stopsearch.demo import vocab as V
from stopsearch.demo.geography import Geography
from stopsearch.demo.records import KINDS, Context, expected_counts

SHARE_RULES = {
    "known_ethnicity": (
        "For each small area a, broad group g and month: person searches ~ Poisson(rate_g / 12 / "
        "1000 * residents_g(a) * multiplier(a, month)). The multiplier is the same for every "
        "group in an area, so the ratio of any group's rate to the White rate is rate_g / "
        "rate_White in every area and month. The detailed self-defined group is drawn in "
        "proportion to the area's residents of the detailed groups within g."
    ),
    "multiplier": (
        "multiplier(a, month) = base_multiplier(a) * priority_uplift for each priority area "
        "containing a that is designated on the first day of the month (designations start on "
        "a 1st and end on a last day). base_multiplier has population-weighted mean 1."
    ),
    "not_stated": (
        "Drawn IN ADDITION to the known-ethnicity searches: Poisson with mean 0.08/0.92 times "
        "the area's expected known-ethnicity person searches (8% of person searches in "
        "expectation, spread like all searches, independent of group). Known-ethnicity rates "
        "therefore estimate the planted rates exactly; unknown-ethnicity bounds contain them. "
        "40% of these rows have an empty Self-defined ethnicity, 60% the era's not-stated "
        "label (legacy 'Not Stated (NS)', current 'Other ethnic group - Not stated')."
    ),
    "vehicle_only": (
        "Vehicle search rows (person fields empty): Poisson with mean 0.10/0.90 times the "
        "area's expected person searches (10% of rows in expectation)."
    ),
    "person_and_vehicle": "20% of person searches (known or not stated) are typed "
    "'Person and Vehicle search'; they count as person searches.",
    "no_location": "Each row independently has empty Latitude and Longitude with probability "
    "0.04 (rows placed on on-edge points always keep theirs).",
    "on_edge_points": "3-6 rows per month from small areas owning an on-edge snap point are "
    "placed on one; all other located rows use interior points (>= 60 m from every edge).",
    "late_rows": "2-6 rows per month are dated 23:xx on the last day of the previous month.",
    "officer_defined": "40% empty; otherwise the self-defined broad group with probability "
    "0.9 White, 0.85 Asian/Black, 0.6 Other, 0.55 Mixed, else a uniformly random label.",
    "outcome": (
        "Positive with the group's probability (not stated 0.25, vehicle-only 0.18); in the "
        "current era 1% of rows have an empty outcome independently of positivity, so "
        "P(positive | known outcome) equals the planted probability. 2-4 no-further-action "
        "rows per month have 'Outcome linked to object of search' = True (contradictory)."
    ),
    "legacy_labels": (
        "Months 1-12 use the legacy coded self-defined labels and outcomes. Legacy codes have "
        "no Arab, Roma or Gypsy/Traveller labels: Arab -> '(O9)', Roma and Gypsy or Irish "
        "Traveller -> '(W9)'; Chinese -> 'Chinese or other ethnic group - Chinese (O1)' "
        "(broad group Asian, as in Census 2021). Broad groups are unchanged by this mapping."
    ),
}


def _r(x: float) -> float:
    return round(float(x), 6)


def _group_dict(values) -> dict[str, float]:
    return {g: _r(v) for g, v in zip(V.BROAD_GROUPS, values, strict=True)}


def truth_dict(
    geo: Geography,
    ctx: Context,
    pop: np.ndarray,
    seed: int,
    months: int,
    month_counts: list[dict],
    by_cell_kind: np.ndarray,
) -> dict:
    """The whole truth.json document (plain dict, deterministic order)."""
    labels = [P.month_start(i).strftime("%Y-%m") for i in range(1, months + 1)]
    expected = np.zeros((geo.part.n_cells, len(KINDS)))
    for i in range(1, months + 1):
        expected += expected_counts(ctx, P.month_start(i))
    broad_pop = ctx.broad_pop.sum(axis=0).astype(np.float64)
    exp_known = expected[:, : len(V.BROAD_GROUPS)].sum(axis=0)
    county_rate = 1000.0 * exp_known / broad_pop / (months / 12.0)
    white = V.BROAD_GROUPS.index("White")
    new_codes = [c for c in geo.wards[1].codes if c not in geo.wards[0].codes]
    rewarded = sorted({geo.la_codes[int(la)] for c, la in zip(geo.wards[1].codes,
                                                             geo.wards[1].la, strict=True)
                       if c in new_codes})
    rows = [int(c["rows"]) for c in month_counts]
    totals_by_kind = {k: int(sum(c["rows_by_kind"][k] for c in month_counts)) for k in KINDS}
    small_areas = {}
    for c in (int(c) for c in geo.sa_order):
        small_areas[geo.sa_codes[c]] = {
            "local_authority": geo.la_codes[int(geo.sa_la[c])],
            **{f"ward_{w.label}": w.codes[int(w.of_cell[c])] for w in geo.wards},
            "neighbourhood": geo.nb_codes[int(geo.sa_nb[c])],
            "priority_areas": [p.code for p in geo.priority if c in p.cells],
            "base_multiplier": float(ctx.planted.base_multiplier[c]),
            "residents": int(pop[c].sum()),
            "residents_by_broad_group": {
                g: int(ctx.broad_pop[c, k]) for k, g in enumerate(V.BROAD_GROUPS)
            },
            "rows_by_kind": {k: int(by_cell_kind[c, j]) for j, k in enumerate(KINDS)},
        }
    return {
        "description": "Planted truth of the FICTIONAL Demoshire demonstration data (not real "
        "places or people).",
        "seed": seed,
        "months": months,
        "month_labels": labels,
        "force": V.FORCE,
        "county": V.COUNTY_NAME,
        "model": {
            "annual_search_rate_per_1000": {g: P.RATES[g] for g in V.BROAD_GROUPS},
            "positive_outcome_probability": {
                **{g: P.POSITIVE[g] for g in V.BROAD_GROUPS},
                "not_stated": P.POSITIVE_NOT_STATED,
                "vehicle": P.POSITIVE_VEHICLE,
            },
            "expected_disproportionality_vs_white": P.expected_ratios(),
            "priority_uplift": P.PRIORITY_UPLIFT,
            "shares": {
                "not_stated_of_person_searches": P.NOT_STATED_SHARE,
                "vehicle_only_of_rows": P.VEHICLE_SHARE,
                "no_location_of_rows": P.NO_LOCATION_SHARE,
                "person_and_vehicle_of_person_searches": P.PERSON_AND_VEHICLE_SHARE,
                "officer_defined_empty": P.OFFICER_EMPTY_SHARE,
                "outcome_unknown_current_era": P.OUTCOME_UNKNOWN_SHARE,
            },
            "share_rules": SHARE_RULES,
            "vocabulary": {
                "legacy_months": [m for m in range(1, months + 1) if m <= P.LEGACY_MONTHS],
                "current_months": [m for m in range(1, months + 1) if m > P.LEGACY_MONTHS],
                "stray_space_months": [m for m in P.STRAY_SPACE_MONTHS if m <= months],
            },
            "ward_vintages": [
                {"vintage": w.label, "valid_from": w.valid_from, "valid_to": w.valid_to,
                 "wards": len(w.codes)}
                for w in geo.wards
            ],
            "rewarded_local_authorities": rewarded,
        },
        "expected": {
            "note": "Poisson means summed over the period; county-level ratios differ from the "
            "within-area ratios because groups live in areas with different multipliers.",
            "known_person_searches": _group_dict(exp_known),
            "not_stated": _r(expected[:, len(V.BROAD_GROUPS)].sum()),
            "vehicle_only": _r(expected[:, -1].sum()),
            "county_annual_rate_per_1000": _group_dict(county_rate),
            "county_ratio_vs_white": _group_dict(county_rate / county_rate[white]),
        },
        "priority_areas": [
            {"code": p.code, "name": p.name, "designated_from": p.designated_from,
             "designated_to": p.designated_to,
             "small_areas": sorted(geo.sa_codes[c] for c in p.cells)}
            for p in geo.priority
        ],
        "counts": {
            "total_rows": sum(rows),
            "rows_per_month": dict(zip(labels, rows, strict=True)),
            "rows_without_location": int(sum(c["rows_without_location"] for c in month_counts)),
            "rows_by_kind": totals_by_kind,
            "by_month": month_counts,
        },
        "small_areas": small_areas,
    }
