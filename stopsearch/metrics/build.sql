-- Statements of stopsearch.metrics.build: the counts behind every metric, then what build.py
-- reads from and writes to the warehouse.

-- name: stale_loads
-- The loads whose force-months the counts below are computed for tonight (issue 19: new or
-- re-supplied force-months only; every load when the geography or the definitions changed).
CREATE OR REPLACE TEMP TABLE _m_stale AS
SELECT load_id, force, month FROM loads WHERE list_contains($load_ids, load_id);

-- name: counts
-- Counts behind every metric, by area, month and breakdown (six statements, run in order), of
-- the force-months of _m_stale only: every row is of one force-month, and depends on nothing
-- but that force-month's records and the areas.
-- Strategy: aggregate the records once per family of breakdown keeping all four area columns
-- (a small table), then unpivot the areas of that small table; never unpivot the records
-- themselves.

-- The fields metrics need, one row per search with its areas (null when not placed).
CREATE OR REPLACE TEMP VIEW _m_facts AS
SELECT
    s.search_id,
    s.force,
    s.month,
    s.is_person_search AS person,
    s.self_defined_group AS sdg,
    s.officer_defined_group AS odg,
    s.outcome_class,
    s.is_positive,
    coalesce(s.outcome_linked, false) AS linked,
    -- A find: a positive outcome linked to the object of search. "Article found - Detailed
    -- outcome unavailable" is positive but never a find (its detail, and so any link, is missing).
    coalesce(s.is_positive AND s.outcome_linked
             AND s.outcome_class <> 'positive-detail-unknown', false) AS is_find,
    coalesce(s.legislation, 'Not recorded') AS legislation,
    s.object_group,
    coalesce(s.age_range::VARCHAR, 'Not recorded') AS age_range,
    s.type,
    s.latitude IS NOT NULL AS located,
    coalesce(a.outside_area, false) AS outside_area,
    coalesce(a.near_boundary, false) AND NOT coalesce(a.outside_area, false) AS near,
    s.force AS area_force,
    a.la_code AS area_local_authority,
    a.ward_code AS area_ward,
    a.neighbourhood_code AS area_neighbourhood
FROM searches AS s
LEFT JOIN (
    SELECT * FROM search_areas SEMI JOIN _m_stale USING (force, month)
) AS a USING (search_id)
WHERE s.load_id IN (SELECT load_id FROM _m_stale);

-- Priority-area membership regardless of date (for before/after designation), by location.
CREATE OR REPLACE TEMP TABLE _m_priority AS
SELECT s.search_id, p.code AS area_code, p.valid_from, p.valid_to,
       CAST(s.datetime AS DATE) AS day
FROM searches AS s
JOIN areas AS p
  ON p.kind = 'priority_area'
 AND ST_Intersects(p.geom, ST_Point(s.longitude, s.latitude))
WHERE s.latitude IS NOT NULL AND s.load_id IN (SELECT load_id FROM _m_stale);

-- Searches inside a priority area while it was designated (force-level inside/outside split).
CREATE OR REPLACE TEMP TABLE _m_inside AS
SELECT DISTINCT search_id
FROM _m_priority
WHERE (valid_from IS NULL OR day >= valid_from) AND (valid_to IS NULL OR day <= valid_to);

-- One scan of the records, aggregated per (month, all four areas) for every family of
-- breakdown at once (grouping sets); the areas are unpivoted afterwards from this small table.
CREATE OR REPLACE TEMP TABLE _m_grain AS
SELECT
    force, month, area_force, area_local_authority, area_ward, area_neighbourhood,
    CASE WHEN GROUPING(sdg) = 0 THEN 'self_defined'
         WHEN GROUPING(odg) = 0 THEN 'officer_defined' ELSE 'none' END AS basis,
    CASE WHEN GROUPING(sdg) = 0 THEN sdg::VARCHAR
         WHEN GROUPING(odg) = 0 THEN odg::VARCHAR ELSE 'All' END AS grp,
    CASE WHEN GROUPING(outcome_class) = 0 THEN 'outcome_class'
         WHEN GROUPING(legislation) = 0 THEN 'legislation'
         WHEN GROUPING(object_group) = 0 THEN 'object_group'
         WHEN GROUPING(age_range) = 0 THEN 'age_range'
         WHEN GROUPING(type) = 0 THEN 'type' ELSE 'total' END AS breakdown,
    CASE WHEN GROUPING(outcome_class) = 0 THEN outcome_class::VARCHAR
         WHEN GROUPING(legislation) = 0 THEN legislation
         WHEN GROUPING(object_group) = 0 THEN object_group::VARCHAR
         WHEN GROUPING(age_range) = 0 THEN age_range
         WHEN GROUPING(type) = 0 THEN type::VARCHAR ELSE '' END AS category,
    GROUPING(person) = 0 AND NOT person AS drop_row,
    count(*) AS searches,
    count(is_positive) AS known,
    count(*) FILTER (WHERE is_positive) AS positive,
    count(*) FILTER (WHERE outcome_class = 'arrest') AS arrests,
    count(*) FILTER (WHERE is_find) AS finds,
    count(*) FILTER (WHERE outcome_class = 'no further action' AND linked) AS contradictory,
    count(*) FILTER (WHERE located) AS located,
    count(*) FILTER (WHERE located AND outside_area) AS outside,
    count(*) FILTER (WHERE near) AS near
FROM _m_facts
GROUP BY GROUPING SETS (
    (force, month, area_force, area_local_authority, area_ward, area_neighbourhood, person, sdg),
    (force, month, area_force, area_local_authority, area_ward, area_neighbourhood, person, odg),
    (force, month, area_force, area_local_authority, area_ward, area_neighbourhood),
    (force, month, area_force, area_local_authority, area_ward, area_neighbourhood,
     outcome_class),
    (force, month, area_force, area_local_authority, area_ward, area_neighbourhood, legislation),
    (force, month, area_force, area_local_authority, area_ward, area_neighbourhood,
     object_group),
    (force, month, area_force, area_local_authority, area_ward, area_neighbourhood, age_range),
    (force, month, area_force, area_local_authority, area_ward, area_neighbourhood, type)
);

-- Small: only the records in priority areas.
CREATE OR REPLACE TEMP TABLE _m_priority_facts AS
SELECT f.* FROM _m_facts AS f WHERE search_id IN (SELECT search_id FROM _m_priority);

-- Monthly counts per area (areas unpivoted from the small grain table), plus priority areas
-- and the force-level inside/outside split. Every later figure is a sum of these.
CREATE OR REPLACE TEMP TABLE _m_monthly AS
SELECT replace(area_col, 'area_', '') AS area_kind, area_code, force, month, basis, grp,
       breakdown, category,
       sum(searches) AS searches, sum(known) AS known, sum(positive) AS positive,
       sum(arrests) AS arrests, sum(finds) AS finds, sum(contradictory) AS contradictory,
       sum(located) AS located, sum(outside) AS outside, sum(near) AS near
FROM (
    UNPIVOT (SELECT * EXCLUDE (drop_row) FROM _m_grain WHERE NOT drop_row)
    ON area_force, area_local_authority, area_ward, area_neighbourhood
    INTO NAME area_col VALUE area_code
)
GROUP BY ALL
UNION ALL
SELECT 'priority_area', p.area_code, f.force, f.month,
       CASE WHEN fam.basis = 'self' THEN 'self_defined'
            WHEN fam.basis = 'officer' THEN 'officer_defined' ELSE 'none' END,
       CASE WHEN fam.basis = 'self' THEN f.sdg::VARCHAR
            WHEN fam.basis = 'officer' THEN f.odg::VARCHAR ELSE 'All' END,
       CASE WHEN fam.basis = 'none' AND NOT designated THEN 'designation' ELSE 'total' END,
       CASE WHEN fam.basis = 'none' AND NOT designated THEN phase ELSE '' END,
       count(*), count(f.is_positive), count(*) FILTER (WHERE f.is_positive),
       count(*) FILTER (WHERE f.outcome_class = 'arrest'),
       count(*) FILTER (WHERE f.is_find),
       count(*) FILTER (WHERE f.outcome_class = 'no further action' AND f.linked),
       count(*) FILTER (WHERE f.located), count(*) FILTER (WHERE f.located AND f.outside_area),
       count(*) FILTER (WHERE f.near)
FROM _m_priority_facts AS f
JOIN (
    SELECT search_id, area_code,
           (valid_from IS NULL OR day >= valid_from) AND (valid_to IS NULL OR day <= valid_to)
               AS designated,
           CASE WHEN valid_from IS NOT NULL AND day < valid_from THEN 'before'
                ELSE 'after_end' END AS phase
    FROM _m_priority
) AS p USING (search_id)
CROSS JOIN (VALUES ('self'), ('officer'), ('none')) AS fam(basis)
WHERE (fam.basis = 'none' OR (f.person AND p.designated))
GROUP BY ALL
UNION ALL
SELECT 'priority_area', area_code, force, month, 'none', 'All',
       CASE breakdown WHEN 'outcome_class_cat' THEN 'outcome_class' ELSE breakdown END,
       category,
       count(*), count(is_positive), count(*) FILTER (WHERE is_positive),
       count(*) FILTER (WHERE outcome_class = 'arrest'),
       count(*) FILTER (WHERE is_find),
       count(*) FILTER (WHERE outcome_class = 'no further action' AND linked), 0, 0, 0
FROM (
    UNPIVOT (
        SELECT p.area_code, f.force, f.month, f.is_positive, f.linked, f.is_find,
               f.outcome_class,
               f.outcome_class::VARCHAR AS outcome_class_cat, f.legislation,
               f.object_group::VARCHAR AS object_group, f.age_range, f.type::VARCHAR AS type
        FROM _m_priority_facts AS f
        JOIN _m_priority AS p USING (search_id)
        WHERE (p.valid_from IS NULL OR p.day >= p.valid_from)
          AND (p.valid_to IS NULL OR p.day <= p.valid_to)
    )
    ON outcome_class_cat, legislation, object_group, age_range, type
    INTO NAME breakdown VALUE category
)
GROUP BY ALL
UNION ALL
SELECT 'force', f.force, f.force, f.month, 'none', 'All', 'priority',
       CASE WHEN i.search_id IS NULL THEN 'outside' ELSE 'inside' END,
       count(*), count(f.is_positive), count(*) FILTER (WHERE f.is_positive),
       count(*) FILTER (WHERE f.outcome_class = 'arrest'),
       count(*) FILTER (WHERE f.is_find),
       count(*) FILTER (WHERE f.outcome_class = 'no further action' AND f.linked),
       count(*) FILTER (WHERE f.located), 0, 0
FROM _m_facts AS f
LEFT JOIN _m_inside AS i USING (search_id)
WHERE EXISTS (SELECT 1 FROM areas WHERE kind = 'priority_area')
GROUP BY ALL;

-- name: state_loads
-- The fingerprint of the metrics' inputs (see build.state_hash): loaded force-months,
SELECT force, month, sha256 FROM loads ORDER BY force, month;

-- name: state_layers
-- boundary layers,
SELECT layer_id, sha256 FROM boundary_layers ORDER BY layer_id;

-- name: state_population
-- and how population reached each layer.
SELECT population_id, layer_id, method, round(persons, 6) FROM population_methods ORDER BY ALL;

-- name: last_state
-- The fingerprint of the inputs of the last build.
SELECT state_hash FROM metrics_runs ORDER BY built_at DESC LIMIT 1;

-- name: population
-- Residents by (area_kind, area_code, grp), one source and one layer per area code: the source
-- with small areas first, then the newest layer. Deterministic to the last bit (issue 18): the
-- detailed groups are summed in a fixed order (a plain parallel SUM of doubles adds them in
-- whatever order the threads finish, and every rate and interval built on the population then
-- differed in its last digit from one build to the next, so that the files of periods nothing
-- touched were rewritten every night), and the rows come in a fixed order (build._population
-- sums the force's councils in that order).
WITH primary_source AS (
    SELECT population_id FROM population
    GROUP BY population_id
    ORDER BY bool_or(layer_kind = 'small_area') DESC, population_id
    LIMIT 1
), chosen AS (
    SELECT p.*, row_number() OVER (
        PARTITION BY p.layer_kind, p.area_code, p.broad_group, p.detailed_group
        ORDER BY (p.population_id = (SELECT population_id FROM primary_source)) DESC,
                 l.valid_from DESC NULLS LAST, p.population_id, p.layer_id
    ) AS pick
    FROM population AS p
    LEFT JOIN boundary_layers AS l USING (layer_id)
)
SELECT layer_kind AS area_kind, area_code, broad_group AS grp,
       sum(persons ORDER BY detailed_group) AS persons
FROM chosen WHERE pick = 1
GROUP BY ALL
ORDER BY area_kind, area_code, grp;

-- name: forces
SELECT DISTINCT force FROM loads;

-- name: months
SELECT DISTINCT month FROM loads;

-- name: own_authorities
-- The force's local authorities: parents of its wards, or the local-authority layer.
SELECT DISTINCT parent_code FROM areas WHERE kind = 'ward' AND parent_code IS NOT NULL
UNION SELECT DISTINCT code FROM areas WHERE kind = 'local_authority';

-- name: area_names
-- The newest name of each area code; councils without a layer of their own take the name their
-- wards' boundary file gives them (parent_name_field).
SELECT kind, code, arg_max(name, coalesce(valid_from, DATE '1900-01-01'))
FROM areas GROUP BY kind, code
UNION ALL
SELECT 'local_authority', parent_code, arg_max(parent_name, coalesce(valid_from, DATE '1900-01-01'))
FROM areas
WHERE kind = 'ward' AND parent_code IS NOT NULL AND parent_name IS NOT NULL
  AND parent_code NOT IN (SELECT code FROM areas WHERE kind = 'local_authority')
GROUP BY parent_code;

-- name: area_spans
-- First and last day each area code exists (across vintages).
SELECT kind AS area_kind, code AS area_code, min(valid_from) AS valid_from,
       CASE WHEN bool_or(valid_to IS NULL) THEN NULL ELSE max(valid_to) END AS valid_to
FROM areas WHERE kind <> 'priority_area' GROUP BY ALL;

-- name: current_sources
-- What each force-month's counts are computed from: its load, and how many of its records the
-- join placed (a force-month joined after its counts were kept is counted again).
SELECT l.force, l.month, l.load_id, l.sha256, coalesce(j.joined, 0) AS joined
FROM loads AS l
LEFT JOIN (SELECT force, month, count(*) AS joined FROM search_areas GROUP BY ALL) AS j
    USING (force, month)
ORDER BY l.force, l.month;

-- name: cached_sources
SELECT force, month, load_id, sha256, joined, shared FROM metrics_monthly_sources;

-- name: counts_state
-- What every force-month's counts depend on besides its records: the geography (the boundary
-- manifest's fingerprint, each layer and each priority area's designation).
SELECT 'manifest', value, NULL, NULL, NULL, NULL, NULL
FROM pipeline_state WHERE key = 'boundary_manifest_sha256'
UNION ALL
SELECT 'layer', layer_id, kind, force, valid_from::VARCHAR, valid_to::VARCHAR, sha256
FROM boundary_layers
UNION ALL
SELECT 'priority', layer_id, code, force, valid_from::VARCHAR, valid_to::VARCHAR, NULL
FROM areas WHERE kind = 'priority_area'
ORDER BY ALL;

-- name: forget_monthly
-- The kept counts of force-months counted again tonight or no longer loaded (_m_forget).
DELETE FROM metrics_monthly AS m
WHERE EXISTS (SELECT 1 FROM _m_forget AS f WHERE f.force = m.force AND f.month = m.month);
DELETE FROM metrics_monthly_sources AS m
WHERE EXISTS (SELECT 1 FROM _m_forget AS f WHERE f.force = m.force AND f.month = m.month);

-- name: keep_monthly
-- Tonight's counts and what they were computed from (_m_sources).
INSERT INTO metrics_monthly BY NAME SELECT * FROM _m_monthly;
INSERT INTO metrics_monthly_sources BY NAME SELECT * FROM _m_sources;

-- name: monthly_counts
-- The kept monthly counts of some months (as the doubles pandas summed before they were kept).
SELECT area_kind, area_code, force, month, basis, grp, breakdown, category,
       searches::DOUBLE AS searches, known::DOUBLE AS known, positive::DOUBLE AS positive,
       arrests::DOUBLE AS arrests, finds::DOUBLE AS finds,
       contradictory::DOUBLE AS contradictory, located::DOUBLE AS located,
       outside::DOUBLE AS outside, near::DOUBLE AS near
FROM metrics_monthly
WHERE list_contains($months, month);

-- name: designations
-- When each priority area was first designated and when its last designation ended.
SELECT code, min(valid_from), max(valid_to) FROM areas WHERE kind = 'priority_area' GROUP BY code;

-- name: force_counts
-- The kept force-level counts of some periods (protection reads them for the periods it plans).
SELECT * FROM metrics WHERE area_kind = 'force' AND measure = 'searches'
  AND list_contains($periods, period);

-- name: cached_units
SELECT unit, digest FROM metrics_units;

-- name: delete_metrics
-- Periods whose inputs did not change keep their rows; every other row is replaced.
DELETE FROM metrics WHERE NOT list_contains($kept_periods, period);

-- name: delete_published
DELETE FROM published_metrics WHERE NOT list_contains($kept_periods, period);

-- name: delete_dispersion
DELETE FROM metrics_dispersion WHERE NOT list_contains($kept_periods, period);

-- name: delete_funnel
DELETE FROM metrics_funnel WHERE NOT list_contains($kept_periods, period);

-- name: insert_dispersion
INSERT INTO metrics_dispersion BY NAME SELECT * FROM _new_dispersion;

-- name: insert_funnel
INSERT INTO metrics_funnel BY NAME SELECT * FROM _new_funnel;

-- name: insert_metrics
-- Stored period by period (readers order the rows themselves): a night replaces a few periods,
-- and rows of one period spread over every row group made each night's checkpoint rewrite the
-- whole table (DuckDB merges row groups holding deleted rows), a cost growing with history.
INSERT INTO metrics BY NAME
SELECT * FROM _new_metrics
ORDER BY period, area_kind, area_code, basis, grp, breakdown, category, measure;

-- name: insert_published
INSERT INTO published_metrics BY NAME
SELECT * FROM _new_published
ORDER BY period, area_kind, area_code, basis, grp, breakdown, category, measure;

-- name: count_metrics
SELECT count(*) FROM metrics;

-- name: insert_run
INSERT INTO metrics_runs VALUES (now()::TIMESTAMP, $state_hash, $latest_month, $rows);

-- name: clear_units
DELETE FROM metrics_units;

-- name: insert_units
INSERT INTO metrics_units BY NAME SELECT * FROM _new_units;

-- name: published_counts
-- Figures shown and withheld.
SELECT count(*) FILTER (WHERE reason IS NULL), count(reason) FROM published_metrics;

-- name: area_parents
-- Each ward's council (the layer files publish it), for whole-release protection.
SELECT DISTINCT a.code, a.parent_code
FROM areas a
WHERE a.kind = 'ward' AND a.parent_code IS NOT NULL
ORDER BY 1, 2;
