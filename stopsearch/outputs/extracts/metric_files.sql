-- Statements of stopsearch.outputs.extracts.metric_files: published metrics, one file per period.

-- name: period_fingerprints
-- Per period: its rows and two order-free sums of a hash of every row (every column), so that a
-- period whose published rows are unchanged is recognised without writing it (metric_files.py).
SELECT m.period, count(*), bit_xor(hash(m)), sum(hash(m)::HUGEINT)
FROM published_metrics AS m
GROUP BY m.period
ORDER BY m.period;

-- name: period_rows
-- The rows of the periods in $periods (with the unit of their measure, from the registered table
-- _x_units: measure, unit), period by period, each in the order of the single file before.
SELECT m.area_kind, m.area_code, m.area_name, m.period, m.period_label, m.period_kind,
       m.period_start, m.period_end, m.months_present, m.months_with_data, m.basis,
       m.grp AS ethnic_group, m.breakdown, m.category,
       m.measure, u.unit, m.value, m.ci_low, m.ci_high, m.imprecise, m.numerator, m.denominator,
       m.reason, m.display
FROM published_metrics AS m
LEFT JOIN _x_units AS u USING (measure)
WHERE list_contains($periods, m.period)
ORDER BY m.period, m.area_kind, m.area_code, m.basis, m.grp, m.breakdown, m.category, m.measure;
