-- Statements of stopsearch.outputs.site.funnel: the funnel rows and the dispersion figures.

-- name: points
-- Published area figures on a funnel (metrics_funnel holds published values only).
SELECT area_kind, area_code, area_name, measure, grp, value, exposure, target,
       band, band_adjusted, unusual
FROM metrics_funnel
WHERE period = $period
ORDER BY area_kind, measure, grp, area_code;

-- name: dispersion
-- Both dispersion figures of the period with their inputs.
SELECT area_kind, scope, measure, grp, n_areas, chi_square, df, phi_raw, phi, tau2, target
FROM metrics_dispersion
WHERE period = $period
ORDER BY scope, area_kind, measure, grp;
