"""Bad input: rows that cannot be records, field-level faults, wrong headers, odd encodings."""

from __future__ import annotations

import pytest

from stopsearch.errors import IngestError
from stopsearch.ingest import find_inputs, ingest_paths, parse_file_name
from tests.factories import BASE_ROW, csv_bytes, row, write_csv


def _rejected(con):
    return con.execute(
        "SELECT line, field, reason, raw_line FROM rejected ORDER BY line"
    ).fetchall()


@pytest.mark.parametrize(
    "bad",
    [
        "2023-02-30T10:00:00+00:00",
        "2023-01-05T24:00:00+00:00",
        "2023-01-05T10:00+00:00",
        "2023-01-05X10:00:00",
        "2023-01-05T10:00:00+0:00",
        "05/01/2023 10:00",
    ],
)
def test_impossible_dates_are_rejected(con, tmp_path, bad):
    [result] = ingest_paths(con, [write_csv(tmp_path, [row(Date=bad), row()])]).files
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    assert con.execute("SELECT line, field FROM rejected").fetchall() == [(2, "Date")]


def test_wrong_field_count_bad_date_and_unknown_type_are_rejected_the_rest_loads(con, tmp_path):
    path = write_csv(
        tmp_path,
        [row(), row(Date="yesterday"), row(Type="Horse search"), row(), row(Date="")],
    )
    # Make line 5 (the fourth record) one field short.
    lines = path.read_bytes().split(b"\r\n")
    lines[4] = lines[4].rsplit(b",", 1)[0]
    path.write_bytes(b"\r\n".join(lines))
    report = ingest_paths(con, [path])
    [result] = report.files
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (5, 1, 4)
    rejected = _rejected(con)
    assert [(r[0], r[1]) for r in rejected] == [(3, "Date"), (4, "Type"), (5, None), (6, "Date")]
    assert "unparseable Date 'yesterday'" in rejected[0][2]
    assert "unknown Type 'Horse search'" in rejected[1][2]
    assert "wrong number of fields: 14 (expected 15)" in rejected[2][2]
    assert rejected[1][3].startswith("Horse search,2023-01-05T14:32:00+00:00,")
    assert con.execute("SELECT source_line FROM searches").fetchall() == [(2,)]


@pytest.mark.parametrize(
    ("lat", "lon", "issue", "located"),
    [
        ("", "", None, False),
        ("0", "0", None, False),
        ("0.000000", "0.000000", None, False),
        ("abc", "-1.9", "not_a_number", False),
        ("52.48", "", "partial", False),
        ("40.7128", "-74.0060", "outside_uk", False),
        ("nan", "1", "not_a_number", False),
        ("52.48", "-1.9", None, True),
    ],
)
def test_coordinates(con, tmp_path, lat, lon, issue, located):
    ingest_paths(con, [write_csv(tmp_path, [row(Latitude=lat, Longitude=lon)])])
    got = con.execute("SELECT latitude IS NOT NULL, location_issue FROM searches").fetchone()
    assert got == (located, issue)
    warnings = con.execute("SELECT field, code FROM warnings").fetchall()
    assert warnings == ([("Latitude/Longitude", issue)] if issue else [])


def test_wrong_header_refuses_the_file_and_others_still_load(con, tmp_path):
    bad = write_csv(tmp_path, [row()], month="2023-01")
    bad.write_bytes(bad.read_bytes().replace(b"Latitude", b"Lat", 1))
    good = write_csv(tmp_path, [row(), row()], month="2023-02")
    report = ingest_paths(con, [bad, good])
    assert [f.action for f in report.files] == ["refused", "new"]
    assert "missing ['Latitude']" in report.files[0].error
    assert str(bad) in report.files[0].error
    assert con.execute("SELECT count(*) FROM searches").fetchone()[0] == 2
    assert con.execute(
        "SELECT source_file, line FROM rejected WHERE load_id IS NULL"
    ).fetchall() == [(str(bad), None)]


def test_refused_resupply_keeps_the_month_already_loaded(con, tmp_path):
    path = write_csv(tmp_path, [row(), row(), row()])
    ingest_paths(con, [path])
    path.write_bytes(b"garbage\r\n1,2,3\r\n")
    report = ingest_paths(con, [path])
    assert report.files[0].action == "refused"
    assert con.execute("SELECT count(*) FROM searches").fetchone()[0] == 3


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
@pytest.mark.parametrize("bom", [False, True])
def test_line_endings_and_bom(con, tmp_path, newline, bom):
    path = write_csv(tmp_path, [row(), row(Type="Vehicle search")], newline=newline, bom=bom)
    [result] = ingest_paths(con, [path]).files
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 2, 0)
    assert con.execute("SELECT list_sort(list(source_line)) FROM searches").fetchone()[0] == [2, 3]


def test_a_latin1_byte_does_not_crash_and_is_flagged(con, tmp_path):
    data = csv_bytes([row(Policing_operation="Op Caf\u00e9"), row()])
    data = data.replace("Caf\u00e9".encode(), b"Caf\xe9")
    path = tmp_path / "2023-01-testshire-stop-and-search.csv"
    path.write_bytes(data)
    [result] = ingest_paths(con, [path]).files
    assert result.rows_loaded == 2
    assert con.execute("SELECT operation_name FROM searches WHERE source_line = 2").fetchone() == (
        "Op Caf\u00e9",
    )
    assert con.execute("SELECT line, code FROM warnings").fetchall() == [(2, "encoding")]


def test_quoted_commas_load_and_a_line_break_inside_quotes_rejects_its_two_lines(con, tmp_path):
    """A record is one physical line: a quoted field may hold a comma, never a line break."""
    path = write_csv(
        tmp_path,
        [row(Policing_operation="Op North, South"), row(Policing_operation="two\nlines"), row()],
    )
    [result] = ingest_paths(con, [path]).files
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (4, 2, 2)
    got = con.execute(
        "SELECT source_line, operation_name FROM searches ORDER BY source_line"
    ).fetchall()
    assert got == [(2, "Op North, South"), (5, None)]
    rejected = _rejected(con)
    assert [(r[0], r[1]) for r in rejected] == [(3, "Policing operation"), (4, None)]
    assert "not closed on the same line" in rejected[0][2]
    assert rejected[1][2] == "wrong number of fields: 12 (expected 15)"
    assert rejected[0][3].endswith(',"two') and rejected[1][3].startswith('lines",')


def test_unmapped_labels_load_as_unknown_and_are_listed(con, tmp_path):
    rows = [
        row(Self_defined_ethnicity="Martian - Any other Martian background"),
        row(Self_defined_ethnicity="Martian - Any other Martian background"),
        row(Outcome="Community service penalty"),
        row(Object_of_search="Unicorns"),
    ]
    [result] = ingest_paths(con, [write_csv(tmp_path, rows)]).files
    assert result.rows_loaded == 4
    assert [(u.field, u.label, u.rows, u.first_line) for u in result.unmapped] == [
        ("Object of search", "Unicorns", 1, 5),
        ("Outcome", "Community service penalty", 1, 4),
        ("Self-defined ethnicity", "Martian - Any other Martian background", 2, 2),
    ]
    stored = con.execute(
        "SELECT u.load_id = l.load_id AND u.force = l.force AND u.month = l.month, u.field,"
        " u.label, u.rows, u.first_line FROM unmapped_labels u, loads l ORDER BY u.field"
    ).fetchall()
    assert stored == [(True, u.field, u.label, u.rows, u.first_line) for u in result.unmapped]
    got = con.execute(
        "SELECT self_defined_ethnicity, self_defined_group, outcome_class, is_positive, "
        "object_group FROM searches ORDER BY source_line"
    ).fetchall()
    assert got[0] == ("Unknown", "Unknown", "no further action", False, "drugs")
    assert got[2] == (
        "White - English/Welsh/Scottish/Northern Irish/British",
        "White",
        "unknown",
        None,
        "drugs",
    )
    assert got[3][4] == "unknown"


def test_empty_outcome_is_unknown_never_no_further_action(con, tmp_path):
    ingest_paths(con, [write_csv(tmp_path, [row(Outcome=""), row(Outcome="false")])])
    assert con.execute("SELECT DISTINCT outcome_class, is_positive FROM searches").fetchall() == [
        ("unknown", None)
    ]
    assert con.execute("SELECT count(*) FROM unmapped_labels").fetchone()[0] == 0


def test_legacy_and_current_vocabularies_and_the_stray_space(con, tmp_path):
    rows = [
        row(
            Self_defined_ethnicity="Black or Black British - Caribbean (B1)",
            Outcome="Suspect arrested",
        ),
        row(
            Self_defined_ethnicity="Black/ African/Caribbean/Black British - Caribbean",
            Outcome="Arrest",
        ),
        row(
            Self_defined_ethnicity="Black/African/Caribbean/Black British - Caribbean",
            Outcome="Offender given drugs possession warning",
        ),
        row(Self_defined_ethnicity="Not Stated (NS)", Outcome="Khat or Cannabis warning"),
        row(
            Self_defined_ethnicity="Chinese or other ethnic group - Chinese (O1)",
            Outcome="Article found - Detailed outcome unavailable",
        ),
    ]
    ingest_paths(con, [write_csv(tmp_path, rows)])
    got = con.execute(
        "SELECT self_defined_ethnicity, self_defined_group, outcome_class, is_positive "
        "FROM searches ORDER BY source_line"
    ).fetchall()
    caribbean = "Black/African/Caribbean/Black British - Caribbean"
    assert got == [
        (caribbean, "Black", "arrest", True),
        (caribbean, "Black", "arrest", True),
        (caribbean, "Black", "drugs warning", True),
        ("Not stated", "Not stated", "drugs warning", True),
        ("Asian/Asian British - Chinese", "Asian", "positive-detail-unknown", True),
    ]


def test_booleans_and_vehicle_searches(con, tmp_path):
    rows = [
        row(Outcome_linked_to_object_of_search="True", Removal_of_more_than_just_outer_clothing=""),
        row(
            Type="Vehicle search",
            Gender="",
            Age_range="",
            Self_defined_ethnicity="",
            Officer_defined_ethnicity="",
            Removal_of_more_than_just_outer_clothing="",
        ),
        row(Outcome_linked_to_object_of_search="maybe"),
    ]
    ingest_paths(con, [write_csv(tmp_path, rows)])
    got = con.execute(
        "SELECT is_person_search, outcome_linked, removal_more_than_outer, gender, "
        "self_defined_group, officer_defined_group FROM searches ORDER BY source_line"
    ).fetchall()
    assert got == [
        (True, True, None, "Male", "White", "White"),
        (False, False, None, None, "Unknown", "Unknown"),
        (True, None, False, "Male", "White", "White"),
    ]
    assert con.execute("SELECT line, code FROM warnings").fetchall() == [(4, "bad_boolean")]


def test_timestamp_kept_as_published_and_offsets_applied(con, tmp_path):
    rows = [
        row(Date="2023-06-30T23:30:00+00:00"),
        row(Date="2023-07-01T00:30:00+01:00"),
        row(Date="2023-07-01T10:00:00"),
        row(Date="2023-07-01T10:00:00Z"),
        row(Date="2023-07-01 10:00:00+00:00"),
        row(Date="2023-07-01T10:00:00.000-02:30"),
    ]
    ingest_paths(con, [write_csv(tmp_path, rows, month="2023-07")])
    got = con.execute(
        "SELECT month, datetime_published, strftime(datetime, '%Y-%m-%d %H:%M') "
        "FROM searches ORDER BY source_line"
    ).fetchall()
    assert [g[2] for g in got] == [
        "2023-06-30 23:30",
        "2023-06-30 23:30",
        "2023-07-01 10:00",
        "2023-07-01 10:00",
        "2023-07-01 10:00",
        "2023-07-01 12:30",
    ]
    assert {str(g[0]) for g in got} == {"2023-07-01"}  # late rows stay in the file's month
    assert got[1][1] == "2023-07-01T00:30:00+01:00"


def test_file_names_are_checked(tmp_path):
    assert parse_file_name("2023-01-west-midlands-stop-and-search.csv")[0] == "west-midlands"
    with pytest.raises(IngestError, match="expected e.g. 2023-01-west-midlands"):
        parse_file_name("stops.csv")
    with pytest.raises(IngestError, match="month 13"):
        parse_file_name("2023-13-west-midlands-stop-and-search.csv")
    named = tmp_path / "street.csv"
    named.write_text("x")
    found = find_inputs([named])
    assert (found.sources, found.empty, found.ignored) == ([], [str(named)], {})
    [refused] = found.refused
    assert refused.path == str(named)
    assert refused.reason.startswith(f"{named}: not a stop-and-search file name")


def test_base_row_is_valid(con, tmp_path):
    """Guards the factory: the base record loads with every field mapped."""
    [result] = ingest_paths(con, [write_csv(tmp_path, [BASE_ROW])]).files
    assert (result.rows_loaded, result.unmapped, result.warnings) == (1, (), 0)


def test_a_month_of_junk_lines_keeps_every_reject_with_its_line(con, tmp_path):
    """20,000 one-byte lines between two good rows: each is one rejected row (stored in bulk)."""
    data = csv_bytes([row()]) + b"x\r\n" * 20_000 + csv_bytes([row()]).split(b"\r\n", 1)[1]
    path = tmp_path / "2023-01-testshire-stop-and-search.csv"
    path.write_bytes(data)
    [result] = ingest_paths(con, [path]).files
    assert (result.rows_loaded, result.rows_rejected) == (2, 20_000)
    rejected = _rejected(con)
    assert [line for line, *_ in rejected] == list(range(3, 20_003))
    assert set(rejected[i][1:] for i in (0, -1)) == {
        (None, "wrong number of fields: 1 (expected 15)", "x")
    }
    assert con.execute(
        "SELECT count(*) FROM rejected r JOIN loads l USING (load_id, force, month)"
        " WHERE r.source_file = l.source"
    ).fetchone() == (20_000,)
