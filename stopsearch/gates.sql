-- The sanity gates' queries (gates.py): what a release must pass before the switch.

-- name: unplaced
-- Per boundary layer that searches are placed in: the located searches in its scope (its force,
-- its dates) and how many of them lie in no area of its kind. A layer in the wrong CRS, or with
-- longitude and latitude swapped, places (almost) none.
SELECT l.layer_id,
       l.kind,
       count(*) AS located,
       count(*) FILTER (
           WHERE CASE l.kind
                     WHEN 'ward' THEN a.ward_code
                     WHEN 'neighbourhood' THEN a.neighbourhood_code
                     WHEN 'small_area' THEN a.small_area_code
                     ELSE a.la_code
                 END IS NULL
       ) AS unplaced
FROM boundary_layers AS l
JOIN search_areas AS a
  ON (l.force IS NULL OR a.force = l.force)
 AND (l.valid_from IS NULL OR a.on_date >= l.valid_from)
 AND (l.valid_to IS NULL OR a.on_date <= l.valid_to)
WHERE l.kind IN ('ward', 'neighbourhood', 'small_area', 'local_authority')
GROUP BY l.layer_id, l.kind
ORDER BY l.layer_id;

-- name: population
-- Per population table given for small areas and per layer it is carried to: the source total
-- (its small areas) and the total the layer received. Priority areas cover part of a force by
-- design and are left out; a layer that received nothing counts 0.
WITH sources AS (
    SELECT population_id, sum(persons) AS source_persons
    FROM population
    WHERE layer_kind = 'small_area' AND layer_id IS NOT NULL
    GROUP BY population_id
),
totals AS (
    SELECT population_id, layer_id, sum(persons) AS persons
    FROM population
    WHERE layer_id IS NOT NULL
    GROUP BY population_id, layer_id
)
SELECT s.population_id, l.layer_id, l.kind, s.source_persons, coalesce(t.persons, 0) AS persons
FROM sources AS s
CROSS JOIN boundary_layers AS l
LEFT JOIN totals AS t ON t.population_id = s.population_id AND t.layer_id = l.layer_id
WHERE l.kind IN ('ward', 'neighbourhood', 'local_authority')
ORDER BY s.population_id, l.layer_id;
