-- Statements of stopsearch.geography.population: weights from small areas to a layer, totals.

-- name: delete_population
DELETE FROM population WHERE population_id = $population_id;

-- name: delete_methods
DELETE FROM population_methods WHERE population_id = $population_id;

-- name: layer_codes
SELECT code FROM areas WHERE layer_id = $layer_id;

-- name: weights_lookup
-- An official best-fit lookup: each small area goes whole to one area.
SELECT from_code AS small_code, to_code AS code, 1.0 AS weight
FROM area_lookups
WHERE from_layer_id = $small_layer AND to_layer_id = $layer_id;

-- name: weights_nested
-- Areas defined as sets of small areas: exact.
SELECT member_code AS small_code, code, 1.0 AS weight
FROM area_members
WHERE member_layer_id = $small_layer AND layer_id = $layer_id;

-- name: weights_centroid
-- Each small area goes whole to the area covering its point on surface (smallest code on a tie).
SELECT s.code AS small_code, min(t.code) AS code, 1.0 AS weight
FROM (SELECT code, ST_PointOnSurface(geom) AS pt FROM areas WHERE layer_id = $small_layer) AS s
JOIN (SELECT code, geom FROM areas WHERE layer_id = $layer_id) AS t ON ST_Covers(t.geom, s.pt)
GROUP BY s.code;

-- name: weights_points
-- Each small area goes whole to the area covering its given (population-weighted) centroid.
SELECT s.small_code, min(t.code) AS code, 1.0 AS weight
FROM staged_centroids AS s
JOIN (SELECT code, geom FROM areas WHERE layer_id = $layer_id) AS t
  ON ST_Covers(t.geom, ST_Point(s.longitude, s.latitude))
GROUP BY s.small_code;

-- name: weights_area
-- Each small area split by the share of its area (in EPSG:27700) inside each area.
SELECT small_code, code, overlap / total AS weight
FROM (
    SELECT s.code AS small_code, t.code,
           ST_Area(ST_Transform(ST_Intersection(s.geom, t.geom), 'EPSG:4326', 'EPSG:27700',
                                always_xy := true)) AS overlap,
           ST_Area(ST_Transform(s.geom, 'EPSG:4326', 'EPSG:27700', always_xy := true)) AS total
    FROM (SELECT code, geom FROM areas WHERE layer_id = $small_layer) AS s
    JOIN (SELECT code, geom FROM areas WHERE layer_id = $layer_id) AS t
      ON ST_Intersects(s.geom, t.geom)
)
WHERE overlap > 0;

-- name: insert_direct
INSERT INTO population
SELECT $population_id, $census_year, $layer_id, $layer_kind, area_code, broad_group,
       detailed_group, persons, 'direct'
FROM staged_population;

-- name: insert_weighted
INSERT INTO population
SELECT $population_id, $census_year, $layer_id, $layer_kind, w.code, p.broad_group,
       p.detailed_group, sum(p.persons * w.weight), $method
FROM staged_population AS p
JOIN staged_weights AS w ON w.small_code = p.area_code
GROUP BY w.code, p.broad_group, p.detailed_group;

-- name: placed
-- Persons reaching the layer, and persons of small areas (or parts) the method left out.
WITH placed AS (
    SELECT coalesce(sum(p.persons * w.weight), 0) AS persons
    FROM staged_population AS p
    JOIN staged_weights AS w ON w.small_code = p.area_code
),
total AS (SELECT coalesce(sum(persons), 0) AS persons FROM staged_population)
SELECT placed.persons, total.persons - placed.persons FROM placed, total;

-- name: placed_direct
-- Persons of a table given for the layer itself: all placed, none left out.
SELECT sum(persons), 0.0::DOUBLE FROM staged_population;

-- name: insert_method
INSERT INTO population_methods VALUES
    ($population_id, $layer_id, $layer_kind, $method, $detail, $persons, $unplaced);

-- name: set_layer_method
UPDATE boundary_layers SET population_method = $method WHERE layer_id = $layer_id;

-- name: totals_by_parent
-- Population of a layer's areas summed to their parent (e.g. wards to local authorities).
SELECT a.parent_code, p.broad_group, sum(p.persons) AS persons
FROM population AS p
JOIN areas AS a ON a.layer_id = p.layer_id AND a.code = p.area_code
WHERE p.population_id = $population_id AND p.layer_id = $layer_id
GROUP BY a.parent_code, p.broad_group
ORDER BY a.parent_code, p.broad_group;
