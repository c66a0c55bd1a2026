-- Statements of stopsearch.outputs.extracts.records: the record-level extract, one file per month.

-- name: month_counts
-- Records per reporting month (the months that get a file).
SELECT strftime(month, '%Y-%m'), count(*) FROM searches GROUP BY month ORDER BY month;

-- name: month_loads
-- What each month's rows came from: a month whose loads are unchanged has unchanged rows (with
-- the same boundaries and code; see records.month_fingerprints).
SELECT strftime(month, '%Y-%m'), load_id, force, sha256, regexp_extract(source, '[^/\\]*$'),
       rows_loaded, crosswalk_version
FROM loads
ORDER BY month, force, load_id;

-- name: boundary_state
-- The boundary layers every record is joined to (a change re-joins, and so rewrites, every month).
SELECT layer_id, sha256 FROM boundary_layers ORDER BY layer_id;

-- name: month_bounds
-- Extent of the located records of each month in $months: the file's bbox and Hilbert box.
SELECT strftime(month, '%Y-%m'), min(longitude), min(latitude), max(longitude), max(latitude)
FROM searches
WHERE month IN (SELECT unnest($months::DATE[]))
  AND latitude IS NOT NULL AND longitude IS NOT NULL
GROUP BY month;

-- name: month_records
-- The rows of each month in $months, month by month; within a month in Hilbert order of the
-- point within that month's own extent (so a month's file never depends on other months),
-- unlocated records last (2**32 is above every UINTEGER Hilbert value), then by search_id.
-- Every table is restricted to the months first, so one new month reads one month's rows.
-- DuckDB sorts (spilling to disk when it must) and the rows stream out in batches. Only the file
-- name of source_file is published, never the operator's folders.
WITH wanted AS (
    SELECT unnest($months::DATE[]) AS month
), s AS (
    SELECT * FROM searches WHERE month IN (SELECT month FROM wanted)
), box AS (
    SELECT month, {'min_x': min(longitude), 'min_y': min(latitude),
                   'max_x': max(longitude), 'max_y': max(latitude)}::BOX_2D AS box
    FROM s WHERE latitude IS NOT NULL AND longitude IS NOT NULL GROUP BY month
), prio AS (
    SELECT search_id,
           array_to_string(list_sort(list(priority_code)), ';') AS priority_code,
           array_to_string(list_sort(list_distinct(list(layer_id))), ';') AS priority_layer_id
    FROM search_priority_areas WHERE month IN (SELECT month FROM wanted) GROUP BY search_id
), sa AS (
    SELECT * FROM search_areas WHERE month IN (SELECT month FROM wanted)
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
           p.priority_code, p.priority_layer_id, x.box
    FROM s
    LEFT JOIN sa AS a USING (search_id)
    LEFT JOIN prio AS p USING (search_id)
    LEFT JOIN la ON la.code = a.la_code
    LEFT JOIN box AS x ON x.month = s.month
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
        CASE WHEN NOT b.no_location
             THEN ST_Hilbert(ST_Point(b.longitude, b.latitude), b.box)
        END AS _hilbert
    FROM b
)
SELECT * EXCLUDE (_hilbert) FROM rows
ORDER BY month, coalesce(_hilbert::UBIGINT, 4294967296), search_id;
