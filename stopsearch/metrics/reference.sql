-- Statements of stopsearch.metrics.reference: declared reference tables (e.g. England and Wales).

-- name: delete
DELETE FROM reference_figures;

-- name: insert
INSERT INTO reference_figures (reference_id, title, period_label, period_start, period_end, grp,
                               broad_group, rate_per_1000, searches, row_order, note,
                               source_url, licence, attribution, fictional)
SELECT reference_id, title, period_label, period_start, period_end, grp, broad_group,
       rate_per_1000, searches, row_order, note, source_url, licence, attribution, fictional
FROM staged_reference;

-- name: tables
SELECT reference_id, title, period_label, note, fictional, attribution, source_url,
       grp, broad_group, rate_per_1000, searches
FROM reference_figures
ORDER BY reference_id, row_order;
