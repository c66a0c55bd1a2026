-- Metrics in long form. `metrics` holds every computed value and never leaves the warehouse;
-- `published_metrics` is the same grid after suppression and is the ONLY source for the site and
-- the extracts. See stopsearch/metrics/contract.py for every measure, unit and definition.
CREATE TABLE metrics (
    area_kind        VARCHAR NOT NULL,  -- force | local_authority | ward | neighbourhood | priority_area
    area_code        VARCHAR NOT NULL,
    area_name        VARCHAR NOT NULL,
    period           VARCHAR NOT NULL,  -- 'latest-12' | 'YYYY' | 'YYYY-MM'
    period_kind      VARCHAR NOT NULL,  -- rolling | year | month
    period_start     DATE NOT NULL,     -- first month of the period
    period_end       DATE NOT NULL,     -- last month of the period (first day of it)
    months_present   INTEGER NOT NULL,  -- force-months with data in the period
    basis            VARCHAR NOT NULL,  -- self_defined | officer_defined | none
    grp              VARCHAR NOT NULL,  -- All | Asian | Black | Mixed | White | Other | Not stated | Unknown
    breakdown        VARCHAR NOT NULL,  -- total | legislation | object_group | age_range | type | outcome_class | priority | designation
    category         VARCHAR NOT NULL,  -- '' for total, else the breakdown's value
    measure          VARCHAR NOT NULL,  -- see contract.MEASURES
    value            DOUBLE,
    ci_low           DOUBLE,
    ci_high          DOUBLE,
    numerator        DOUBLE,
    denominator      DOUBLE
);

CREATE TABLE published_metrics (
    area_kind        VARCHAR NOT NULL,
    area_code        VARCHAR NOT NULL,
    area_name        VARCHAR NOT NULL,
    period           VARCHAR NOT NULL,
    period_kind      VARCHAR NOT NULL,
    period_start     DATE NOT NULL,
    period_end       DATE NOT NULL,
    months_present   INTEGER NOT NULL,
    basis            VARCHAR NOT NULL,
    grp              VARCHAR NOT NULL,
    breakdown        VARCHAR NOT NULL,
    category         VARCHAR NOT NULL,
    measure          VARCHAR NOT NULL,
    value            DOUBLE,            -- null when suppressed
    ci_low           DOUBLE,
    ci_high          DOUBLE,
    numerator        DOUBLE,            -- null when suppressed
    denominator      DOUBLE,            -- null when it would reveal a suppressed count
    reason           VARCHAR,           -- suppression reason code; null when published
    display          VARCHAR NOT NULL   -- the text shown: '12.3', '<5', 'insufficient data'
);

-- What one metrics build covered, for the coverage page and the changelog.
CREATE TABLE metrics_runs (
    built_at         TIMESTAMP NOT NULL,
    state_hash       VARCHAR NOT NULL,  -- hash of loads, boundary layers, crosswalks and thresholds
    latest_month     DATE,
    rows             BIGINT NOT NULL
);

-- Small key/value memory of the pipeline (e.g. the fingerprint of the loaded boundary manifest).
CREATE TABLE pipeline_state (
    key    VARCHAR PRIMARY KEY,
    value  VARCHAR NOT NULL
);
