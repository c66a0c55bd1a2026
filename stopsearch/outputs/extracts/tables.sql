-- Statements of stopsearch.outputs.extracts.tables: the rows of each extract, in a fixed order.
-- Only published_metrics is read for figures. `/* wide_metrics */` marks where tables.py inserts
-- one column (and its CI and reason columns) per declared wide metric (columns.WIDE_METRICS).

-- name: record_bounds
SELECT min(longitude), min(latitude), max(longitude), max(latitude) FROM searches
WHERE latitude IS NOT NULL AND longitude IS NOT NULL;

-- name: records
-- searches.parquet rows in Hilbert order of their point within $min_x..$max_y (when
-- $has_bounds), unlocated records last (2**32 is above every UINTEGER Hilbert value), then by
-- search_id. DuckDB sorts (spilling to disk when it must) and the rows stream out in batches, so
-- the export's memory does not grow with the number of records. Only the file name of
-- source_file is published, never the operator's folders.
WITH prio AS (
    SELECT search_id,
           array_to_string(list_sort(list(priority_code)), ';') AS priority_code,
           array_to_string(list_sort(list_distinct(list(layer_id))), ';') AS priority_layer_id
    FROM search_priority_areas GROUP BY search_id
), la AS (
    -- Council names: a local-authority layer's name, else the name the ward file gives.
    SELECT code, arg_max(name, coalesce(valid_from, DATE '1900-01-01')) AS la_name
    FROM areas WHERE kind = 'local_authority' GROUP BY code
    UNION ALL
    SELECT parent_code, arg_max(parent_name, coalesce(valid_from, DATE '1900-01-01'))
    FROM areas
    WHERE kind = 'ward' AND parent_code IS NOT NULL AND parent_name IS NOT NULL
      AND parent_code NOT IN (SELECT code FROM areas WHERE kind = 'local_authority')
    GROUP BY parent_code
), b AS (
    SELECT s.*,
           (s.latitude IS NULL OR s.longitude IS NULL) AS no_location,
           a.outside_area, a.near_boundary, a.ward_code, a.ward_layer_id,
           a.neighbourhood_code, a.small_area_code, a.la_code, la.la_name,
           p.priority_code, p.priority_layer_id
    FROM searches AS s
    LEFT JOIN search_areas AS a USING (search_id)
    LEFT JOIN prio AS p USING (search_id)
    LEFT JOIN la ON la.code = a.la_code
), rows AS (
    SELECT
        b.search_id, b.force, b.month,
        regexp_extract(b.source_file, '[^/\\]*$') AS source_file,
        b.source_line, b.datetime_published, b.datetime,
        b.type::VARCHAR AS type, b.is_person_search, b.part_of_operation, b.operation_name,
        b.latitude, b.longitude, b.location_issue::VARCHAR AS location_issue,
        b.street_id, b.street_name,
        b.gender::VARCHAR AS gender, b.age_range::VARCHAR AS age_range,
        b.self_defined_ethnicity_raw,
        b.self_defined_ethnicity::VARCHAR AS self_defined_ethnicity,
        b.self_defined_group::VARCHAR AS self_defined_group,
        b.officer_defined_ethnicity,
        b.officer_defined_group::VARCHAR AS officer_defined_group,
        b.legislation, b.object_of_search,
        b.object_group::VARCHAR AS object_group,
        b.outcome_raw, b.outcome_class::VARCHAR AS outcome_class,
        b.is_positive, b.outcome_linked, b.removal_more_than_outer, b.involved_person,
        b.no_location, b.outside_area, b.near_boundary,
        b.ward_code, b.ward_layer_id, b.neighbourhood_code, b.small_area_code, b.la_code,
        b.la_name, b.priority_code, b.priority_layer_id,
        CASE WHEN NOT b.no_location THEN ST_AsWKB(ST_Point(b.longitude, b.latitude)) END
            AS geometry,
        CASE WHEN NOT b.no_location THEN {'xmin': b.longitude, 'ymin': b.latitude,
            'xmax': b.longitude, 'ymax': b.latitude} END AS bbox,
        CASE WHEN $has_bounds AND NOT b.no_location
             THEN ST_Hilbert(ST_Point(b.longitude, b.latitude),
                  {'min_x': $min_x, 'min_y': $min_y, 'max_x': $max_x, 'max_y': $max_y}::BOX_2D)
        END AS _hilbert
    FROM b
)
SELECT * EXCLUDE (_hilbert) FROM rows
ORDER BY coalesce(_hilbert::UBIGINT, 4294967296), search_id;

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
               max(months_with_data)) AS months_with_data,
           /* wide_metrics */
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

-- name: drop_polygons
DROP TABLE IF EXISTS _x_polys;
