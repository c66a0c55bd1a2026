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
