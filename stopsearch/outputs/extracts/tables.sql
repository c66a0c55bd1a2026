-- Statements of stopsearch.outputs.extracts.tables: the rows of each extract, in a fixed order.
-- Only published_metrics is read for figures. The area layers' wide metric columns
-- (columns.WIDE_METRICS) are picked by `layer_figures` and pivoted in tables.py.

-- name: metrics
-- metrics.parquet: every row of published_metrics with the unit of its measure (from the
-- registered table _x_units: measure, unit).
SELECT m.area_kind, m.area_code, m.area_name, m.period, m.period_label, m.period_kind,
       m.period_start, m.period_end, m.months_present, m.months_with_data, m.basis,
       m.grp AS ethnic_group, m.breakdown, m.category,
       m.measure, u.unit, m.value, m.ci_low, m.ci_high, m.imprecise, m.numerator, m.denominator, m.reason,
       m.display
FROM published_metrics AS m
LEFT JOIN _x_units AS u USING (measure)
ORDER BY m.area_kind, m.area_code, m.period, m.basis, m.grp, m.breakdown, m.category, m.measure;

-- name: latest_period
SELECT min(period_start), max(period_end) FROM published_metrics WHERE period = $period;

-- name: has_areas
SELECT count(*) > 0 FROM areas WHERE kind = $kind;

-- name: layer_polygons
-- The newest polygon of every code of $kind in force at some time in $first..$last (any time
-- when not $has_period).
CREATE OR REPLACE TEMP TABLE _x_polys AS
SELECT a.code, a.name, a.parent_code,
       coalesce((SELECT arg_max(c.name, coalesce(c.valid_from, DATE '1900-01-01'))
                 FROM areas AS c WHERE c.kind = 'local_authority' AND c.code = a.parent_code),
                a.parent_name) AS parent_name,
       a.layer_id, a.valid_from, a.valid_to, a.area_m2, a.geom
FROM (
    SELECT *, row_number() OVER (
        PARTITION BY code ORDER BY valid_from DESC NULLS LAST, layer_id DESC) AS pick
    FROM areas WHERE kind = $kind
) AS a
WHERE a.pick = 1
  AND a.code IN (
      SELECT code FROM areas
      WHERE kind = $kind
        AND (NOT $has_period
             OR ((valid_from IS NULL OR valid_from <= last_day($last::DATE))
                 AND (valid_to IS NULL OR valid_to >= $first::DATE))));

-- name: polygon_bounds
SELECT min(ST_XMin(geom)), min(ST_YMin(geom)), max(ST_XMax(geom)), max(ST_YMax(geom))
FROM _x_polys;

-- name: polygon_types
SELECT DISTINCT ST_GeometryType(geom)::VARCHAR FROM _x_polys WHERE geom IS NOT NULL;

-- name: layer_rows
-- One row per code (with a polygon, or with figures) of the layer and $period's figures of
-- $kind in wide form; Hilbert order of the polygons within $min_x..$max_y when $has_bounds.
WITH w AS (
    SELECT area_code,
           any_value(area_name) AS area_name,
           min(period_start) AS period_start,
           max(period_end) AS period_end,
           coalesce(
               first(months_present) FILTER (
                   WHERE basis = 'none' AND grp = 'All' AND breakdown = 'total'
                   AND measure = 'searches'),
               max(months_present)) AS months_present,
           coalesce(
               first(period_label) FILTER (
                   WHERE basis = 'none' AND grp = 'All' AND breakdown = 'total'
                   AND measure = 'searches'),
               max(period_label)) AS period_label,
           coalesce(
               first(months_with_data) FILTER (
                   WHERE basis = 'none' AND grp = 'All' AND breakdown = 'total'
                   AND measure = 'searches'),
               max(months_with_data)) AS months_with_data
    FROM published_metrics
    WHERE area_kind = $kind AND period = $period
    GROUP BY area_code
),
c AS (SELECT code FROM _x_polys UNION SELECT area_code FROM w)
SELECT c.code, coalesce(p.name, w.area_name) AS name, p.parent_code, p.parent_name, p.layer_id,
       p.valid_from, p.valid_to, p.area_m2 / 1e6 AS area_km2,
       CASE WHEN $has_period THEN $period END AS period,
       $first::DATE AS period_start, $last::DATE AS period_end,
       CASE WHEN w.area_code IS NULL AND $has_period THEN 0 ELSE w.months_present END
           AS months_present,
       CASE WHEN w.area_code IS NULL AND $has_period THEN 'No months with data'
            ELSE w.period_label END AS period_label,
       CASE WHEN w.area_code IS NULL AND $has_period THEN '' ELSE w.months_with_data END
           AS months_with_data,
       w.* EXCLUDE (area_code, area_name, period_start, period_end, months_present,
                    period_label, months_with_data),
       ST_AsWKB(p.geom) AS geometry,
       CASE WHEN p.geom IS NOT NULL THEN {'xmin': ST_XMin(p.geom), 'ymin': ST_YMin(p.geom),
           'xmax': ST_XMax(p.geom), 'ymax': ST_YMax(p.geom)} END AS bbox,
       ST_AsText(p.geom) AS geometry_wkt
FROM c LEFT JOIN _x_polys AS p ON p.code = c.code LEFT JOIN w ON w.area_code = c.code
ORDER BY CASE WHEN $has_bounds
              THEN ST_Hilbert(p.geom,
                   {'min_x': $min_x, 'min_y': $min_y, 'max_x': $max_x, 'max_y': $max_y}::BOX_2D)
         END NULLS LAST,
         c.code;

-- name: layer_figures
-- The long rows of $kind's $period that a wide column picks: one join with the registered table
-- _x_wide (idx, basis, grp, breakdown, category, measure, is_integer) instead of one filtered
-- aggregate per column (hundreds of them: seconds per layer). Integer columns are rounded here.
SELECT m.area_code, x.idx,
       CASE WHEN x.is_integer THEN round(m.value) ELSE m.value END AS value,
       m.ci_low, m.ci_high, m.reason
FROM published_metrics AS m
JOIN _x_wide AS x
  ON x.basis = m.basis AND x.grp = m.grp AND x.breakdown = m.breakdown
 AND x.category = m.category AND x.measure = m.measure
WHERE m.area_kind = $kind AND m.period = $period
ORDER BY m.area_code, x.idx;

-- name: drop_polygons
DROP TABLE IF EXISTS _x_polys;
