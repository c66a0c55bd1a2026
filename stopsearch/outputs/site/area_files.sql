-- Statements of stopsearch.outputs.site.area_files: the per-area CSV downloads, made in the
-- warehouse, and a fingerprint of each file's rows so that an unchanged file is never remade.

-- name: csv_macros
-- Each published row as one line of the per-area CSVs: the cells exactly as csv.writer writes
-- build._csv_value's cells (formula-safe text; quoted where a cell holds a comma, a quote or a
-- line feed, the writer's rule; whole numbers without a decimal point, else six decimals less
-- trailing zeros), made here in one pass instead of ~20M Python calls.
-- tests/test_site_csv_lines.py compares the two on every row of the demo.
CREATE OR REPLACE TEMP MACRO csv_safe(c) AS
    CASE WHEN left(c, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) THEN '''' || c ELSE c END;
CREATE OR REPLACE TEMP MACRO csv_text(c) AS
    CASE WHEN c IS NULL THEN ''
         WHEN contains(c, ',') OR contains(c, '"') OR contains(c, chr(10))
             THEN '"' || replace(csv_safe(c), '"', '""') || '"'
         ELSE csv_safe(c) END;
CREATE OR REPLACE TEMP MACRO csv_number(x) AS
    CASE WHEN x IS NULL OR isnan(x) THEN ''
         WHEN x = trunc(x) AND abs(x) < 1e15 THEN CAST(CAST(x AS BIGINT) AS VARCHAR)
         ELSE rtrim(rtrim(printf('%.6f', x), '0'), '.') END;
-- The file a row goes in: NULL for <code>.csv, else the earlier calendar year of <code>-<year>.csv
-- (a year, its quarters and the trend windows ending in it; build.area_csv_parts says why).
CREATE OR REPLACE TEMP MACRO csv_file_year(kind, period_end, latest_year) AS
    CASE WHEN kind IN ('year', 'quarter', 'window') AND year(period_end) < latest_year
         THEN year(period_end) END;

-- name: file_fingerprints
-- Per file of the areas of $kinds: its rows and two order-free sums of a hash of every row
-- (every column), as metric_files.sql does for the metrics periods.
SELECT m.area_kind, m.area_code, csv_file_year(m.period_kind, m.period_end, $latest_year) AS y,
       count(*), bit_xor(hash(m)), sum(hash(m)::HUGEINT)
FROM published_metrics AS m
WHERE list_contains($kinds, m.area_kind)
GROUP BY ALL
ORDER BY ALL;

-- name: file_lines
-- The lines of the files listed in the registered table _wanted (area_kind, area_code, y; y -1
-- for <code>.csv), file by file, rows in the order of data.sql 'published'. NULL where Python
-- must write the line: past 1e15 printf's digits are not Python's, and NaN orders above all.
SELECT m.area_kind, m.area_code, w.y, CASE
       WHEN greatest(abs(value), abs(ci_low), abs(ci_high), abs(numerator), abs(denominator))
            >= 1e15 THEN NULL
       ELSE concat_ws(',',
       csv_text(m.area_kind), csv_text(m.area_code), csv_text(area_name), csv_text(period),
       csv_text(period_label), csv_text(period_kind), coalesce(CAST(period_start AS VARCHAR), ''),
       coalesce(CAST(period_end AS VARCHAR), ''), coalesce(CAST(months_present AS VARCHAR), ''),
       csv_text(months_with_data), csv_text(basis), csv_text(grp), csv_text(breakdown),
       csv_text(category), csv_text(measure), csv_number(value), csv_number(ci_low),
       csv_number(ci_high), csv_number(numerator), csv_number(denominator),
       CASE WHEN imprecise IS NULL THEN '' WHEN imprecise THEN 'True' ELSE 'False' END,
       csv_text(reason), csv_text(display)) END
FROM published_metrics AS m
JOIN _wanted AS w
  ON w.area_kind = m.area_kind AND w.area_code = m.area_code
 AND w.y = coalesce(csv_file_year(m.period_kind, m.period_end, $latest_year), -1)
ORDER BY m.area_kind, m.area_code, w.y, period, basis, grp, breakdown, category, measure;

-- name: area_rows
-- Every published row of one area, as data.sql 'published' gives it (the rare files holding a
-- line Python must write are made from these).
SELECT area_kind, area_code, area_name, period, period_label, period_kind, period_start,
       period_end, months_present, months_with_data, basis, grp, breakdown, category, measure,
       value, ci_low, ci_high, numerator, denominator, imprecise, reason, display
FROM published_metrics
WHERE area_kind = $kind AND area_code = $code
ORDER BY area_kind, area_code, period, basis, grp, breakdown, category, measure;
