"""Timestamps are read by pyarrow's strptime behind an ASCII-only shape: the accepted forms are the
ones data.police.uk CSVs and API answers use, and no Unicode digit is ever read as a digit."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest

from stopsearch.ingest.normalise import parse_timestamps

ACCEPTED = {
    "2023-01-05T14:32:00+00:00": datetime(2023, 1, 5, 14, 32),  # CSV and API JSON
    "2023-07-01T00:30:00+01:00": datetime(2023, 6, 30, 23, 30),
    "2023-07-01T00:30:00+0100": datetime(2023, 6, 30, 23, 30),
    "2023-07-01T10:00:00.000-02:30": datetime(2023, 7, 1, 12, 30),  # fraction ignored
    "2023-07-01T10:00:00Z": datetime(2023, 7, 1, 10),
    "2023-07-01T10:00:00": datetime(2023, 7, 1, 10),  # no zone: UTC
    "2023-07-01 10:00:00+00:00": datetime(2023, 7, 1, 10),
    " 2024-02-29T23:59:59+00:00\t": datetime(2024, 2, 29, 23, 59, 59),
    "0001-01-01T00:00:00+00:00": datetime(1, 1, 1),
}
REFUSED = [
    "2016-09-01T0\u00b9:09:00+00:00",  # superscript one (isdigit, but int() fails)
    "2016-09-01T0\u0661:09:00+00:00",  # Arabic-Indic one (a Unicode decimal digit)
    "\u0662\u0660\u0661\u0666-09-01T01:09:00+00:00",
    "2016-09-01T01:09:00+0\u0661:00",
    "2016-09-01T01:09:00+\uff10\uff10:00",  # fullwidth zeros
    "2023-02-29T10:00:00+00:00",  # not a leap year
    "2023-02-30T10:00:00+00:00",
    "2023-04-31T10:00:00+00:00",
    "2023-00-05T10:00:00+00:00",
    "2023-13-05T10:00:00+00:00",
    "0000-01-01T00:00:00+00:00",
    "2023-01-05T24:00:00+00:00",
    "2023-01-05T10:60:00+00:00",
    "2023-01-05T10:00:60+00:00",
    "2023-01-05T10:00+00:00",
    "2023-01-05X10:00:00",
    "2023-01-05t10:00:00",
    "2023-01-05T10:00:00z",
    "2023-01-05T10:00:00+0:00",
    "2023-01-05T10:00:00+01",
    "2023-1-5T10:00:00+00:00",
    "2023-W01-1T10:00:00",
    "05/01/2023 10:00",
    "2023-01-05",
    "",
    None,
]


def _parse(texts):
    stamps, valid = parse_timestamps(pa.array(texts, pa.string()))
    return stamps.to_pylist(), valid.to_pylist()


def test_the_published_forms_are_read_and_normalised_to_utc():
    stamps, valid = _parse(list(ACCEPTED))
    assert valid == [True] * len(ACCEPTED)
    assert stamps == list(ACCEPTED.values())


@pytest.mark.parametrize("text", REFUSED)
def test_anything_else_is_not_a_timestamp(text):
    stamps, valid = _parse([text, "2023-01-05T14:32:00+00:00"])
    assert (stamps[0], valid) == (None, [False, True])


def test_repeated_values_are_parsed_once_and_spread_to_every_row():
    texts = ["2023-01-05T14:32:00+00:00", None, "bad", "2023-01-05T14:32:00+00:00"]
    stamps, valid = _parse(texts)
    assert valid == [True, False, False, True]
    assert stamps == [datetime(2023, 1, 5, 14, 32), None, None, datetime(2023, 1, 5, 14, 32)]
