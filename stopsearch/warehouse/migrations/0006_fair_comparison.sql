-- Issue 22: fair comparison of areas (overdispersion, funnel plots, one precision rule).

-- The precision rule (stopsearch/metrics/precision.py) for every figure with an interval: true
-- when its 95% interval is too wide to lean on; null for figures without an interval and for
-- withheld figures.
ALTER TABLE metrics ADD COLUMN imprecise BOOLEAN;
ALTER TABLE published_metrics ADD COLUMN imprecise BOOLEAN;

-- Both dispersion figures with their inputs, per period and area kind (see
-- stopsearch/metrics/dispersion.py). scope = 'within_time': phi_t of a count (measure: searches,
-- person_searches, all_person_searches; grp) from each area's monthly counts about its own
-- mean, pooled over areas and floored at 1 (phi); rate and ratio intervals are widened by
-- sqrt(phi). scope = 'between_areas': phi_b of a published indicator (search_rate All,
-- disproportionality_ratio Black/Asian) about the force figure (target), from winsorised
-- standardised residuals, and the DerSimonian-Laird tau2 added to its funnel limits.
CREATE TABLE metrics_dispersion (
    period      VARCHAR NOT NULL,
    area_kind   VARCHAR NOT NULL,
    scope       VARCHAR NOT NULL,  -- within_time | between_areas
    measure     VARCHAR NOT NULL,
    grp         VARCHAR NOT NULL,
    n_areas     INTEGER NOT NULL,  -- areas that entered the figure
    chi_square  DOUBLE,            -- Pearson chi-square (between: n x winsorised phi_b)
    df          INTEGER,           -- its degrees of freedom (between: n - 1)
    phi_raw     DOUBLE,            -- chi_square / df (between: phi_b)
    phi         DOUBLE,            -- the figure used: within floored at 1; between phi_b
    tau2        DOUBLE,            -- between only: additive between-area variance (0 if phi_b <= 1)
    target      DOUBLE             -- between only: the force figure the areas are compared with
);

-- One row per published area figure on a funnel plot (wards and neighbourhoods; search rate,
-- Black/White and Asian/White ratios), with its limits by chance alone and adjusted for the
-- between-area spread (tau2). band: -2..2 (beyond the lower/upper 99.8% or 95% limit; 0 within).
CREATE TABLE metrics_funnel (
    period         VARCHAR NOT NULL,
    area_kind      VARCHAR NOT NULL,
    area_code      VARCHAR NOT NULL,
    area_name      VARCHAR NOT NULL,
    measure        VARCHAR NOT NULL,
    grp            VARCHAR NOT NULL,
    value          DOUBLE NOT NULL,
    exposure       DOUBLE NOT NULL,  -- rates: person-years; ratios: precision of ln(ratio)
    target         DOUBLE NOT NULL,
    lo95           DOUBLE, hi95 DOUBLE, lo998 DOUBLE, hi998 DOUBLE,
    lo95_adj       DOUBLE, hi95_adj DOUBLE, lo998_adj DOUBLE, hi998_adj DOUBLE,
    band           INTEGER NOT NULL,
    band_adjusted  INTEGER NOT NULL,
    unusual        BOOLEAN NOT NULL  -- beyond the adjusted 99.8% limit
);

-- Figures built before this migration have no precision flag and Poisson-only intervals.
DELETE FROM metrics_units;
DELETE FROM metrics_runs;
