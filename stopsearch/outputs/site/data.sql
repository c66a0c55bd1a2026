-- Statements of stopsearch.outputs.site.data: what the site reads, always in a fixed order.

-- name: published
-- Every published figure; columns in the order of metrics.contract.PUBLISHED_COLUMNS.
SELECT area_kind, area_code, area_name, period, period_label, period_kind, period_start,
       period_end, months_present, months_with_data, basis, grp, breakdown, category, measure,
       value, ci_low, ci_high, numerator, denominator, imprecise, reason, display
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
