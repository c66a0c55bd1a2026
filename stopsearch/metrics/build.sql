-- Counts behind every metric, by area, period and breakdown. Run in order by build.py.
-- Statements are separated by lines ending in ';'; $parameters are bound by name.

-- One row per search with the fields metrics need and its areas (null when not placed).
CREATE OR REPLACE TEMP TABLE _m_facts AS
SELECT
    s.search_id,
    s.force,
    s.month,
    CAST(s.datetime AS DATE) AS day,
    s.latitude,
    s.longitude,
    s.is_person_search AS person,
    s.self_defined_group::VARCHAR AS sdg,
    s.officer_defined_group::VARCHAR AS odg,
    s.outcome_class::VARCHAR AS outcome_class,
    s.is_positive,
    coalesce(s.outcome_linked, false) AS linked,
    coalesce(s.legislation, 'Not recorded') AS legislation,
    s.object_group::VARCHAR AS object_group,
    coalesce(s.age_range::VARCHAR, 'Not recorded') AS age_range,
    s.type::VARCHAR AS type,
    s.latitude IS NOT NULL AS located,
    coalesce(a.outside_area, false) AS outside_area,
    coalesce(a.near_boundary, false) AS near_boundary,
    s.force AS area_force,
    a.la_code AS area_local_authority,
    a.ward_code AS area_ward,
    a.neighbourhood_code AS area_neighbourhood
FROM searches AS s
LEFT JOIN search_areas AS a USING (search_id);

-- Priority-area membership regardless of date (for before/after designation), by location.
CREATE OR REPLACE TEMP TABLE _m_priority AS
SELECT f.search_id, p.code AS area_code, p.valid_from, p.valid_to
FROM _m_facts AS f
JOIN areas AS p
  ON p.kind = 'priority_area'
 AND ST_Intersects(p.geom, ST_Point(f.longitude, f.latitude))
WHERE f.located;

-- Searches inside a priority area while it was designated (force-level inside/outside split).
CREATE OR REPLACE TEMP TABLE _m_inside AS
SELECT DISTINCT search_id
FROM _m_priority AS p
JOIN _m_facts AS f USING (search_id)
WHERE (p.valid_from IS NULL OR f.day >= p.valid_from)
  AND (p.valid_to IS NULL OR f.day <= p.valid_to);

-- Searches in long form by area: one row per (search, area kind, area code).
CREATE OR REPLACE TEMP VIEW _m_by_area AS
SELECT
    f.* EXCLUDE (area_force, area_local_authority, area_ward, area_neighbourhood),
    u.area_kind,
    u.area_code,
    '' AS phase
FROM _m_facts AS f
JOIN (
    SELECT search_id, replace(area_col, 'area_', '') AS area_kind, area_code
    FROM (
        UNPIVOT (SELECT search_id, area_force, area_local_authority, area_ward,
                        area_neighbourhood FROM _m_facts)
        ON area_force, area_local_authority, area_ward, area_neighbourhood
        INTO NAME area_col VALUE area_code
    )
) AS u USING (search_id)
UNION ALL BY NAME
SELECT
    f.* EXCLUDE (area_force, area_local_authority, area_ward, area_neighbourhood),
    'priority_area' AS area_kind,
    p.area_code,
    CASE WHEN p.valid_from IS NOT NULL AND f.day < p.valid_from THEN 'before'
         WHEN p.valid_to IS NOT NULL AND f.day > p.valid_to THEN 'after_end'
         ELSE 'designated' END AS phase
FROM _m_facts AS f
JOIN _m_priority AS p USING (search_id);

-- Monthly counts per area and family of breakdown; every later figure is a sum of these.
CREATE OR REPLACE TEMP TABLE _m_monthly AS
WITH base AS (SELECT * FROM _m_by_area)
SELECT area_kind, area_code, force, month, 'self_defined' AS basis, sdg AS grp,
       'total' AS breakdown, '' AS category,
       count(*) AS searches,
       count(is_positive) AS known,
       count(*) FILTER (WHERE is_positive) AS positive,
       count(*) FILTER (WHERE outcome_class = 'arrest') AS arrests,
       count(*) FILTER (WHERE is_positive AND linked) AS finds,
       count(*) FILTER (WHERE outcome_class = 'no further action' AND linked) AS contradictory,
       count(*) FILTER (WHERE located) AS located,
       count(*) FILTER (WHERE located AND outside_area) AS outside,
       count(*) FILTER (WHERE located AND near_boundary AND NOT outside_area) AS near
FROM base WHERE person AND phase IN ('', 'designated')
GROUP BY ALL
UNION ALL
SELECT area_kind, area_code, force, month, 'officer_defined', odg, 'total', '',
       count(*), count(is_positive), count(*) FILTER (WHERE is_positive),
       count(*) FILTER (WHERE outcome_class = 'arrest'),
       count(*) FILTER (WHERE is_positive AND linked),
       count(*) FILTER (WHERE outcome_class = 'no further action' AND linked),
       count(*) FILTER (WHERE located), count(*) FILTER (WHERE located AND outside_area),
       count(*) FILTER (WHERE located AND near_boundary AND NOT outside_area)
FROM base WHERE person AND phase IN ('', 'designated')
GROUP BY ALL
UNION ALL
SELECT area_kind, area_code, force, month, 'none', 'All',
       CASE WHEN phase IN ('', 'designated') THEN 'total' ELSE 'designation' END,
       CASE WHEN phase IN ('', 'designated') THEN '' ELSE phase END,
       count(*), count(is_positive), count(*) FILTER (WHERE is_positive),
       count(*) FILTER (WHERE outcome_class = 'arrest'),
       count(*) FILTER (WHERE is_positive AND linked),
       count(*) FILTER (WHERE outcome_class = 'no further action' AND linked),
       count(*) FILTER (WHERE located), count(*) FILTER (WHERE located AND outside_area),
       count(*) FILTER (WHERE located AND near_boundary AND NOT outside_area)
FROM base
GROUP BY ALL
UNION ALL
SELECT area_kind, area_code, force, month, 'none', 'All',
       CASE breakdown WHEN 'outcome_class_cat' THEN 'outcome_class' ELSE breakdown END, category,
       count(*), count(is_positive), count(*) FILTER (WHERE is_positive),
       count(*) FILTER (WHERE outcome_class = 'arrest'),
       count(*) FILTER (WHERE is_positive AND linked),
       count(*) FILTER (WHERE outcome_class = 'no further action' AND linked),
       0, 0, 0
FROM (
    UNPIVOT (SELECT area_kind, area_code, force, month, is_positive, linked, outcome_class,
                    outcome_class AS outcome_class_cat, legislation, object_group, age_range,
                    type
             FROM base WHERE phase IN ('', 'designated'))
    ON outcome_class_cat, legislation, object_group, age_range, type
    INTO NAME breakdown VALUE category
)
GROUP BY ALL
UNION ALL
SELECT 'force', f.force, f.force, f.month, 'none', 'All', 'priority',
       CASE WHEN i.search_id IS NULL THEN 'outside' ELSE 'inside' END,
       count(*), count(f.is_positive), count(*) FILTER (WHERE f.is_positive),
       count(*) FILTER (WHERE f.outcome_class = 'arrest'),
       count(*) FILTER (WHERE f.is_positive AND f.linked),
       count(*) FILTER (WHERE f.outcome_class = 'no further action' AND f.linked),
       count(*) FILTER (WHERE f.located), 0, 0
FROM _m_facts AS f
LEFT JOIN _m_inside AS i USING (search_id)
WHERE EXISTS (SELECT 1 FROM areas WHERE kind = 'priority_area')
GROUP BY ALL;
