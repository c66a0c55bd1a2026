-- Issue 14: labels and denominators that never overstate.

-- Every figure says which months it covers: a readable label ("Latest 10 months (Sep 2016 to
-- Jun 2017)", "2016 (Jun to Dec, 7 months)") and the months with data as ISO 8601 month ranges
-- ("2016-09/2017-06"). See stopsearch/metrics/periods.py.
ALTER TABLE metrics ADD COLUMN period_label VARCHAR DEFAULT '';
ALTER TABLE metrics ADD COLUMN months_with_data VARCHAR DEFAULT '';
ALTER TABLE published_metrics ADD COLUMN period_label VARCHAR DEFAULT '';
ALTER TABLE published_metrics ADD COLUMN months_with_data VARCHAR DEFAULT '';
-- Figures built before this migration have no labels: rebuild every period.
DELETE FROM metrics_units;
DELETE FROM metrics_runs;

-- The name of each area's parent (e.g. the council of a ward), when the boundary file gives it.
ALTER TABLE areas ADD COLUMN parent_name VARCHAR;

-- Reference figures declared in the boundary manifest ([[reference]]), e.g. the England and
-- Wales rates per 1,000 by ethnic group of the Home Office (a different period and area from
-- the force's figures: shown beside them, never mixed into them).
CREATE TABLE reference_figures (
    reference_id   VARCHAR NOT NULL,   -- manifest id
    title          VARCHAR NOT NULL,   -- e.g. 'England and Wales'
    period_label   VARCHAR NOT NULL,   -- e.g. 'year ending 31 March 2024'
    period_start   DATE,
    period_end     DATE,
    grp            VARCHAR NOT NULL,   -- the table's own group label, e.g. 'Black Caribbean'
    broad_group    VARCHAR,            -- All | Asian | Black | Mixed | White | Other | Unknown; null for detailed rows
    rate_per_1000  DOUBLE,             -- null where the table gives none (e.g. Unknown: N/A)
    searches       BIGINT,
    row_order      INTEGER NOT NULL,   -- order of the row in the source table
    note           VARCHAR NOT NULL,   -- what the operator declared about the table
    source_url     VARCHAR NOT NULL,
    licence        VARCHAR NOT NULL,
    attribution    VARCHAR NOT NULL,
    fictional      BOOLEAN NOT NULL    -- the demo's made-up national table
);
