-- Issue 19: the grouping counts kept per force-month, so that a night counts only the records
-- of new or re-supplied force-months (stopsearch/metrics/build.py). `metrics_monthly` holds the
-- monthly counts per area and breakdown (build.sql `counts`) of every force-month loaded;
-- `metrics_monthly_sources` what each force-month's rows were computed from. A force-month
-- whose load, placed records or shared state differ is counted again; the others are reused.
CREATE TABLE metrics_monthly (
    area_kind      VARCHAR NOT NULL,
    area_code      VARCHAR NOT NULL,
    force          VARCHAR NOT NULL,
    month          DATE NOT NULL,
    basis          VARCHAR NOT NULL,
    grp            VARCHAR NOT NULL,
    breakdown      VARCHAR NOT NULL,
    category       VARCHAR NOT NULL,
    searches       BIGINT NOT NULL,
    known          BIGINT NOT NULL,
    positive       BIGINT NOT NULL,
    arrests        BIGINT NOT NULL,
    finds          BIGINT NOT NULL,
    contradictory  BIGINT NOT NULL,
    located        BIGINT NOT NULL,
    outside        BIGINT NOT NULL,
    near           BIGINT NOT NULL
);

CREATE TABLE metrics_monthly_sources (
    force     VARCHAR NOT NULL,
    month     DATE NOT NULL,
    load_id   INTEGER NOT NULL,  -- the load counted (loads.load_id)
    sha256    VARCHAR NOT NULL,  -- its file's checksum
    joined    BIGINT NOT NULL,   -- its records placed by the join (search_areas rows)
    shared    VARCHAR NOT NULL,  -- digest of the geography, crosswalks, definitions, counts SQL
    PRIMARY KEY (force, month)
);

-- Units are now keyed on what they are computed from (build._unit_signatures), not on their
-- counts: the next run rebuilds the metrics once, keeping every force-month's counts.
DELETE FROM metrics_units;
DELETE FROM metrics_runs;
