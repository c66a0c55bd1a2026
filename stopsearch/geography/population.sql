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
-- Area-weighted: each small area shared by the share of its land inside each area. Land is
-- measured as lon/lat area times the cosine of the latitude of its centroid (the first-order
-- ellipsoid scale): the pieces of a small area then add up to the whole, which a reprojection
-- of each vertex (straight edges bend) does not quite do. Shares under $noise are boundary
-- noise (dropped) and shares within $noise of 1 are whole, so an area that is an exact union of
-- small areas gets exactly their sum.
WITH s AS (
    SELECT code, geom, ST_Area(geom) * cos(radians(ST_Y(ST_Centroid(geom)))) AS land
    FROM areas WHERE layer_id = $small_layer
), t AS (
    SELECT code, geom FROM areas WHERE layer_id = $layer_id
), pieces AS (
    SELECT s.code AS small_code, t.code, s.land, ST_Intersection(s.geom, t.geom) AS piece
    FROM s JOIN t ON ST_Intersects(s.geom, t.geom)
), shares AS (
    SELECT small_code, code,
           ST_Area(piece) * cos(radians(ST_Y(ST_Centroid(piece)))) / land AS share
    FROM pieces
    WHERE NOT ST_IsEmpty(piece)
)
SELECT small_code, code, CASE WHEN share > 1 - $noise THEN 1.0 ELSE share END AS weight
FROM shares
WHERE share >= $noise;

-- name: weights_finer_points
-- Each small area shared by where its finer points' residents are: the residents of its points
-- inside each area over the residents of all its points (a point on a shared edge goes to the
-- smallest code). Points in no area leave their share unplaced.
WITH pts AS (
    SELECT point_code, small_code, persons, ST_Point(longitude, latitude) AS pt
    FROM staged_points WHERE persons > 0
), totals AS (
    SELECT small_code, sum(persons) AS total FROM pts GROUP BY small_code
), placed AS (
    SELECT p.point_code, p.small_code, p.persons, min(t.code) AS code
    FROM pts AS p
    JOIN (SELECT code, geom FROM areas WHERE layer_id = $layer_id) AS t
      ON ST_Covers(t.geom, p.pt)
    GROUP BY p.point_code, p.small_code, p.persons
)
SELECT placed.small_code, placed.code, sum(placed.persons) / totals.total AS weight
FROM placed JOIN totals USING (small_code)
GROUP BY placed.small_code, placed.code, totals.total;

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
