-- Statements of stopsearch.outputs.site.data: what the site reads, always in a fixed order.

-- name: published
-- Every published figure; columns in the order of metrics.contract.PUBLISHED_COLUMNS.
SELECT area_kind, area_code, area_name, period, period_label, period_kind, period_start,
       period_end, months_present, months_with_data, basis, grp, breakdown, category, measure,
       value, ci_low, ci_high, numerator, denominator, imprecise, reason, display
FROM published_metrics
ORDER BY area_kind, area_code, period, basis, grp, breakdown, category, measure;

-- name: published_csv_lines
-- Each published row as one line of the per-area CSVs, in the order of `published`: the cells
-- exactly as csv.writer writes build._csv_value's cells (formula-safe text; quoted where a cell
-- holds a comma, a quote or a line feed, the writer's rule; whole numbers without
-- a decimal point, else six decimals less trailing zeros), made here in one pass instead of ~20M
-- Python calls. tests/test_site_csv_lines.py compares the two on every row of the demo.
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
SELECT area_kind, area_code, CASE
       -- past 1e15 printf's digits are not Python's (and NaN orders above all): such a row is
       -- left to Python (NULL)
       WHEN greatest(abs(value), abs(ci_low), abs(ci_high), abs(numerator), abs(denominator))
            >= 1e15 THEN NULL
       ELSE concat_ws(',',
       csv_text(area_kind), csv_text(area_code), csv_text(area_name), csv_text(period),
       csv_text(period_label), csv_text(period_kind), coalesce(CAST(period_start AS VARCHAR), ''),
       coalesce(CAST(period_end AS VARCHAR), ''), coalesce(CAST(months_present AS VARCHAR), ''),
       csv_text(months_with_data), csv_text(basis), csv_text(grp), csv_text(breakdown),
       csv_text(category), csv_text(measure), csv_number(value), csv_number(ci_low),
       csv_number(ci_high), csv_number(numerator), csv_number(denominator),
       CASE WHEN imprecise IS NULL THEN '' WHEN imprecise THEN 'True' ELSE 'False' END,
       csv_text(reason), csv_text(display)) END
FROM published_metrics
ORDER BY area_kind, area_code, period, basis, grp, breakdown, category, measure;

-- name: layers
SELECT layer_id, kind, name, valid_from, valid_to, areas, licence, attribution, source_url,
       population_method
FROM boundary_layers
ORDER BY kind, valid_from NULLS FIRST, layer_id;

-- name: areas
-- Areas of the kinds in $kinds, geometry as WKB.
SELECT layer_id, kind, code, name, parent_code, valid_from, valid_to, ST_AsWKB(geom)
FROM areas
WHERE list_contains($kinds, kind)
ORDER BY kind, layer_id, code;

-- name: loads
SELECT force, month, rows_loaded, rows_rejected, source FROM loads ORDER BY force, month;

-- name: times_supplied
-- How many times each force-month was loaded (more than once: re-supplied).
SELECT force, month, count(*) FROM load_history GROUP BY force, month;

-- name: census_years
SELECT DISTINCT census_year FROM population ORDER BY census_year;

-- name: population_methods
SELECT population_id, layer_id, layer_kind, detail
FROM population_methods
ORDER BY population_id, layer_kind, layer_id NULLS FIRST;

-- name: load_history
SELECT CAST(loaded_at AS DATE) AS day, force, month, action
FROM load_history
ORDER BY day DESC, force, month, action;
