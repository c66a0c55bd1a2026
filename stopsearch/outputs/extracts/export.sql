-- Statements of the extracts' export: what the README and datapackage.json say about the data.

-- name: month_range
SELECT min(month), max(month) FROM loads;

-- name: months
SELECT DISTINCT month FROM loads ORDER BY 1;

-- name: latest_label
-- The force-wide label and months of the latest-12 period (what the area layers hold).
SELECT min(period_label), min(months_with_data) FROM published_metrics
WHERE period = $period AND area_kind = 'force' AND basis = 'none' AND grp = 'All'
  AND breakdown = 'total' AND category = '' AND measure = 'searches';

-- name: forces
SELECT DISTINCT force FROM loads ORDER BY 1;

-- name: layers
SELECT kind, name, source_url, licence, attribution FROM boundary_layers ORDER BY layer_id;

-- name: provenance
-- One row per loaded force-month; only the file name of its source, never the folders.
SELECT force, strftime(month, '%Y-%m'), regexp_extract(source, '[^/\\]*$'), sha256, rows_loaded
FROM loads
ORDER BY force, month;

-- name: record_extent
SELECT min(longitude), min(latitude), max(longitude), max(latitude) FROM searches;

-- name: area_extent
SELECT min(ST_XMin(geom)), min(ST_YMin(geom)), max(ST_XMax(geom)), max(ST_YMax(geom)) FROM areas;

-- name: figures_of_kind
SELECT count(*) FROM published_metrics WHERE area_kind = $kind;

-- name: dispersion
-- Both dispersion figures of every period with their inputs (issue 22; metrics/dispersion.py).
SELECT period, area_kind, scope, measure, grp, n_areas, round(chi_square, 6), df,
       round(phi_raw, 6), round(phi, 6), round(tau2, 6), round(target, 6)
FROM metrics_dispersion
ORDER BY period, scope, area_kind, measure, grp;
