"""A FICTIONAL national comparison table in the shape of the Home Office 'by ethnicity' download.

The demo's force page shows national figures beside the force's, as a real build shows the
England and Wales table the operator declares. These numbers are made up (seeded, so the same
seed writes the same bytes) and every place that shows them says so.
"""

from __future__ import annotations

import numpy as np

from stopsearch.demo.formats import csv_text

FILE = "official/fictional-national-rates.csv"
AREA = "Fictional nation (demonstration)"
PERIOD = "fictional year ending 31 March 2024"
NOTE = (
    "FICTIONAL: made-up figures in the shape of the Home Office table, generated for the"
    " demonstration; not Home Office statistics."
)
HEADER = ("Ethnicity", "Rate of stop and search", "Number of stop and searches")
# Broad group -> its detailed rows, in the order of the Ethnicity facts and figures table.
GROUPS = (
    ("Asian", ("Bangladeshi", "Chinese", "Indian", "Pakistani", "Asian other")),
    ("Black", ("Black African", "Black Caribbean", "Black other")),
    (
        "Mixed",
        (
            "Mixed White And Asian",
            "Mixed White And Black African",
            "Mixed White And Black Caribbean",
            "Mixed other",
        ),
    ),
    ("White", ("White British", "Gypsy Or Irish Traveller", "White Irish", "Roma", "White other")),
    ("Other", ("Arab", "Any Other Ethnic Background")),
)


def _rate(searches: int, residents: int) -> str:
    return f"{1000 * searches / residents:.1f}"


def national_reference_text(rng: np.random.Generator) -> str:
    """The fictional table: All, each broad group with its detailed rows, then Unknown."""
    rows: list[tuple[str, str, str]] = []
    total_searches = total_residents = 0
    for broad, detailed in GROUPS:
        residents = [int(n) for n in rng.integers(20_000, 900_000, len(detailed))]
        if broad == "White":
            residents[0] *= 40  # the largest group, as in the census
        rates = rng.uniform(1.0, 30.0, len(detailed))
        searches = [int(round(r * n / 1000)) for r, n in zip(rates, residents, strict=True)]
        rows.append((broad, _rate(sum(searches), sum(residents)), f"{sum(searches):,}"))
        rows += [
            (label, _rate(s, n), f"{s:,}")
            for label, s, n in zip(detailed, searches, residents, strict=True)
        ]
        total_searches += sum(searches)
        total_residents += sum(residents)
    unknown = int(rng.integers(10_000, 30_000))
    everyone = total_searches + unknown
    rows = [("All", _rate(everyone, total_residents), f"{everyone:,}"), *rows]
    rows.append(("Unknown", "N/A", f"{unknown:,}"))
    return csv_text(HEADER, rows, crlf=True)
