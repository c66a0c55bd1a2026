-- Statements of stopsearch.outputs.site.data: what the site reads, always in a fixed order.

-- name: horizon
-- The first day of the pages' horizon, the $page_months months up to the last month with data
-- (trend windows, quarters and months whose last month is before it are not read: the per-area
-- CSVs hold them), whether any published period ends before it, and the months of data.
-- period_end is the first day of a period's last month.
WITH last AS (
    SELECT CAST(date_trunc('month', max(period_end)) AS DATE) AS month
    FROM published_metrics
    WHERE period_kind IN ('month', 'rolling')  -- (a quarter or year may end after it)
),
horizon AS (
    SELECT CAST(month - to_months($page_months - 1) AS DATE) AS since
    FROM last
    WHERE month IS NOT NULL
)
SELECT since,
       coalesce((SELECT bool_or(p.period_end < horizon.since) FROM published_metrics AS p
                 WHERE list_contains($horizon_kinds, p.period_kind)), false) AS trimmed,
       (SELECT count(DISTINCT period) FROM published_metrics WHERE period_kind = 'month')
FROM horizon;

-- name: full_years
-- The latest $n calendar years: the Store reads all their figures at once.
SELECT period FROM published_metrics WHERE period_kind = 'year'
GROUP BY period ORDER BY max(period_start) DESC, period DESC LIMIT $n;

-- name: published
-- Every published figure the pages read, that is all but the deferred ones (data.is_deferred:
-- of windows and quarters those whose 'breakdown basis grp measure' is not in $shown, of years
-- other than $full_years those not in $shown_in_years; the per-area CSVs hold them, no page
-- shows them) and those before the horizon ('horizon'); columns in the order of
-- metrics.contract.PUBLISHED_COLUMNS.
SELECT area_kind, area_code, area_name, period, period_label, period_kind, period_start,
       period_end, months_present, months_with_data, basis, grp, breakdown, category, measure,
       value, ci_low, ci_high, numerator, denominator, imprecise, reason, display
FROM published_metrics
WHERE NOT (CASE period_kind
                WHEN 'window' THEN NOT list_contains($shown, concat_ws(' ', breakdown, basis, grp, measure))
                WHEN 'quarter' THEN NOT list_contains($shown, concat_ws(' ', breakdown, basis, grp, measure))
                WHEN 'year' THEN NOT list_contains($full_years, period)
                    AND NOT list_contains($shown_in_years, concat_ws(' ', breakdown, basis, grp, measure))
                ELSE false END)
  AND NOT (list_contains($horizon_kinds, period_kind) AND period_end < $since)
ORDER BY area_kind, area_code, period, basis, grp, breakdown, category, measure;

-- name: published_deferred
-- The deferred figures (read only if a page asks for one), in the same order and columns.
SELECT area_kind, area_code, area_name, period, period_label, period_kind, period_start,
       period_end, months_present, months_with_data, basis, grp, breakdown, category, measure,
       value, ci_low, ci_high, numerator, denominator, imprecise, reason, display
FROM published_metrics
WHERE (CASE period_kind
           WHEN 'window' THEN NOT list_contains($shown, concat_ws(' ', breakdown, basis, grp, measure))
           WHEN 'quarter' THEN NOT list_contains($shown, concat_ws(' ', breakdown, basis, grp, measure))
           WHEN 'year' THEN NOT list_contains($full_years, period)
               AND NOT list_contains($shown_in_years, concat_ws(' ', breakdown, basis, grp, measure))
           ELSE false END)
  AND NOT (list_contains($horizon_kinds, period_kind) AND period_end < $since)
ORDER BY area_kind, area_code, period, basis, grp, breakdown, category, measure;

-- name: deferred_index
-- What the Store's indexes need of the deferred figures: each area's periods, with its name,
-- whether a count is among them, and the period as its first row gives it (as 'published').
SELECT area_kind, area_code, period,
       first(area_name ORDER BY basis, grp, breakdown, category, measure),
       bool_or(measure = 'searches'),
       first(period_label ORDER BY basis, grp, breakdown, category, measure),
       first(period_kind ORDER BY basis, grp, breakdown, category, measure),
       first(period_start ORDER BY basis, grp, breakdown, category, measure),
       first(period_end ORDER BY basis, grp, breakdown, category, measure),
       first(months_present ORDER BY basis, grp, breakdown, category, measure)
FROM published_metrics
WHERE (CASE period_kind
           WHEN 'window' THEN NOT list_contains($shown, concat_ws(' ', breakdown, basis, grp, measure))
           WHEN 'quarter' THEN NOT list_contains($shown, concat_ws(' ', breakdown, basis, grp, measure))
           WHEN 'year' THEN NOT list_contains($full_years, period)
               AND NOT list_contains($shown_in_years, concat_ws(' ', breakdown, basis, grp, measure))
           ELSE false END)
  AND NOT (list_contains($horizon_kinds, period_kind) AND period_end < $since)
GROUP BY area_kind, area_code, period
ORDER BY area_kind, area_code, period;

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
