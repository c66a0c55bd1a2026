-- Statements of stopsearch.geography.join: assign located searches to areas in force on their date.
--
-- Rules (see join.py):
-- * vintage: an area is in force on the search's Europe/London calendar date when
--   valid_from <= date <= valid_to (both inclusive; null = open), so a search dated the day a new
--   vintage starts uses the new one;
-- * cover: a point belongs to an area that covers it (interior or boundary), exactly as
--   ST_Covers / shapely `covers`; a point covered by several areas of one kind (on a shared edge
--   or vertex, or where areas overlap) takes the smallest code;
-- * speed: candidates come from ST_DWithin(geom, point, 1e-9 degrees) (the spatial join operator,
--   an R-tree on the areas); a candidate more than 1 mm inside by the local metric distance is
--   covered, and only candidates within 1 mm of an edge are settled by the exact ST_Covers.
--   Work is done once per key (point, force, period in which no area starts or ends), not per
--   search: police locations are snapped to a fixed list of points, so keys are few. When points
--   are mostly distinct, each search is its own key (kid = search_id) and nothing is shared.
--   Keys are probed in Hilbert order, so that neighbouring points meet the same polygons.

-- name: areas
-- Areas that can be assigned. aid follows (kind, code, layer_id), so the smallest aid of a kind
-- is its smallest code.
CREATE OR REPLACE TEMP TABLE _geo_areas AS
SELECT row_number() OVER (ORDER BY kind, code, layer_id)::INTEGER AS aid,
       CASE kind WHEN 'ward' THEN 1 WHEN 'neighbourhood' THEN 2 WHEN 'small_area' THEN 3
                 WHEN 'priority_area' THEN 4 ELSE 5 END::TINYINT AS kind_no,
       layer_id, kind, code, parent_code, force, valid_from, valid_to, geom,
       mx_lon, mx_lat, mx_off, my_lon, my_lat, my_off
FROM areas
WHERE kind IN ('ward', 'neighbourhood', 'small_area', 'priority_area', 'local_authority');

-- name: shapes
-- What the spatial join needs: geometry, edge in local metres, and the in-force test's fields.
CREATE OR REPLACE TEMP TABLE _geo_shapes AS
SELECT aid, kind_no, valid_from, valid_to, force, geom,
       mx_lon, mx_lat, mx_off, my_lon, my_lat, my_off,
       ST_Affine(ST_Boundary(geom), mx_lon, mx_lat, my_lon, my_lat, mx_off, my_off) AS edge_m
FROM _geo_areas;

-- name: breaks
-- Days on which some area starts or stops being in force: the starts of the periods.
CREATE OR REPLACE TEMP TABLE _geo_breaks AS
SELECT DISTINCT day FROM (
    SELECT DATE '0001-01-01' AS day
    UNION ALL SELECT valid_from FROM _geo_areas WHERE valid_from IS NOT NULL
    UNION ALL SELECT valid_to + 1 FROM _geo_areas WHERE valid_to IS NOT NULL
);

-- name: box
-- The extent of all areas, for the Hilbert order of points.
CREATE OR REPLACE TEMP TABLE _geo_box AS
SELECT {'min_x': min(ST_XMin(geom)), 'min_y': min(ST_YMin(geom)),
        'max_x': max(ST_XMax(geom)), 'max_y': max(ST_YMax(geom))}::BOX_2D AS b
FROM _geo_areas;

-- name: sharing
-- Located searches in scope and their (approximate) number of distinct points.
SELECT count(*), approx_count_distinct(hash(longitude, latitude))
FROM searches
WHERE latitude IS NOT NULL AND longitude IS NOT NULL
  AND ($force IS NULL OR force = $force)
  AND ($month IS NULL OR month = $month);

-- name: records
-- Located searches in scope, with the date that picks the vintage and the start of its period.
-- data.police.uk timestamps are UTC (written +00:00 all year); only 23:xx UTC can fall on the
-- next Europe/London day.
CREATE OR REPLACE TEMP TABLE _geo_records AS
WITH r AS MATERIALIZED (
    SELECT search_id, force, month, longitude AS lon, latitude AS lat,
           CASE WHEN hour(datetime) = 23
                THEN CAST(timezone('Europe/London', timezone('UTC', datetime)) AS DATE)
                ELSE CAST(datetime AS DATE) END AS on_date
    FROM searches
    WHERE latitude IS NOT NULL AND longitude IS NOT NULL
      AND ($force IS NULL OR force = $force)
      AND ($month IS NULL OR month = $month)
),
days AS (
    SELECT d.on_date, b.day AS period
    FROM (SELECT DISTINCT on_date FROM r) AS d
    ASOF JOIN _geo_breaks AS b ON d.on_date >= b.day
)
SELECT r.*, days.period FROM r JOIN days USING (on_date)

-- name: hilbert_order
-- Appended to `records` when each search is its own key.
ORDER BY ST_Hilbert(lon, lat, (SELECT b FROM _geo_box))

-- name: keys_shared
-- Distinct (point, force, period), in Hilbert order.
CREATE OR REPLACE TEMP TABLE _geo_key_table AS
SELECT row_number() OVER (ORDER BY h)::BIGINT AS kid, lon, lat, force, period
FROM (
    SELECT k.*, ST_Hilbert(k.lon, k.lat, (SELECT b FROM _geo_box)) AS h
    FROM (SELECT DISTINCT lon, lat, force, period FROM _geo_records) AS k
)
ORDER BY h;
CREATE OR REPLACE TEMP VIEW _geo_keys AS SELECT * FROM _geo_key_table;

-- name: keys_own
-- Each search is its own key; _geo_records is already in Hilbert order.
CREATE OR REPLACE TEMP VIEW _geo_keys AS
SELECT search_id AS kid, lon, lat, force, period FROM _geo_records;

-- name: assigned
-- Per key: the areas in force that cover its point (exact cover: see the top of this file),
-- reduced to the smallest area of each kind (aid order = code order) and the distance to the
-- edge of the ward kept.
CREATE OR REPLACE TEMP TABLE _geo_assigned AS
SELECT kid,
       min(aid) FILTER (WHERE kind_no = 1) AS ward_aid,
       min(aid) FILTER (WHERE kind_no = 2) AS neighbourhood_aid,
       min(aid) FILTER (WHERE kind_no = 3) AS small_area_aid,
       min(aid) FILTER (WHERE kind_no = 5) AS la_aid,
       arg_min(distance_m, aid) FILTER (WHERE kind_no = 1) AS boundary_distance_m,
       count(*) FILTER (WHERE kind_no = 1) AS ward_candidates
FROM (
    SELECT k.kid, k.lon, k.lat, s.aid, s.kind_no, s.geom,
           coalesce(k.period >= s.valid_from, true) AND coalesce(k.period <= s.valid_to, true)
           AND coalesce(s.force = k.force, true) AS in_force,
           ST_Distance(
               ST_Point(s.mx_lon * k.lon + s.mx_lat * k.lat + s.mx_off,
                        s.my_lon * k.lon + s.my_lat * k.lat + s.my_off),
               s.edge_m) AS distance_m
    FROM _geo_keys AS k
    JOIN (SELECT * FROM _geo_shapes WHERE kind_no <> 4) AS s
      ON ST_DWithin(s.geom, ST_Point(k.lon, k.lat), 1e-9)
)
WHERE in_force
  AND CASE WHEN distance_m > 0.001 THEN true ELSE ST_Covers(geom, ST_Point(lon, lat)) END
GROUP BY kid;

-- name: priority_hits
-- Per key: every priority area in force that covers its point (same exact cover).
CREATE OR REPLACE TEMP TABLE _geo_priority AS
SELECT kid, aid
FROM (
    SELECT k.kid, k.lon, k.lat, s.aid, s.geom,
           coalesce(k.period >= s.valid_from, true) AND coalesce(k.period <= s.valid_to, true)
           AND coalesce(s.force = k.force, true) AS in_force,
           ST_Distance(
               ST_Point(s.mx_lon * k.lon + s.mx_lat * k.lat + s.mx_off,
                        s.my_lon * k.lon + s.my_lat * k.lat + s.my_off),
               s.edge_m) AS distance_m
    FROM _geo_keys AS k
    JOIN (SELECT * FROM _geo_shapes WHERE kind_no = 4) AS s
      ON ST_DWithin(s.geom, ST_Point(k.lon, k.lat), 1e-9)
)
WHERE in_force
  AND CASE WHEN distance_m > 0.001 THEN true ELSE ST_Covers(geom, ST_Point(lon, lat)) END;

-- name: has_priority
SELECT count(*) > 0 FROM _geo_areas WHERE kind_no = 4;

-- name: no_priority
CREATE OR REPLACE TEMP TABLE _geo_priority (kid BIGINT, aid INTEGER);

-- name: all_in_ward
SELECT (SELECT count(*) FROM _geo_assigned WHERE ward_aid IS NOT NULL)
     = (SELECT count(*) FROM _geo_keys);

-- name: no_outside
CREATE OR REPLACE TEMP TABLE _geo_outside (kid BIGINT, distance_m DOUBLE);

-- name: outside_distance
-- Keys outside every ward in force: distance to the nearest such ward, if within 1 km
-- (0.02 degrees is more than 1 km in both directions at British latitudes).
CREATE OR REPLACE TEMP TABLE _geo_outside AS
SELECT o.kid, min(ST_Distance(
           ST_Point(s.mx_lon * o.lon + s.mx_lat * o.lat + s.mx_off,
                    s.my_lon * o.lon + s.my_lat * o.lat + s.my_off),
           s.edge_m)) AS distance_m
FROM (
    SELECT k.* FROM _geo_keys AS k
    ANTI JOIN (SELECT kid FROM _geo_assigned WHERE ward_aid IS NOT NULL) AS a USING (kid)
) AS o
JOIN _geo_shapes AS s ON ST_DWithin(s.geom, ST_Point(o.lon, o.lat), 0.02)
WHERE s.kind_no = 1
  AND coalesce(o.period >= s.valid_from, true) AND coalesce(o.period <= s.valid_to, true)
  AND coalesce(s.force = o.force, true)
GROUP BY o.kid
HAVING min(ST_Distance(
           ST_Point(s.mx_lon * o.lon + s.mx_lat * o.lat + s.mx_off,
                    s.my_lon * o.lon + s.my_lat * o.lat + s.my_off),
           s.edge_m)) <= 1000;

-- name: delete_areas
DELETE FROM search_areas
WHERE ($force IS NULL OR force = $force) AND ($month IS NULL OR month = $month);

-- name: delete_priority
DELETE FROM search_priority_areas
WHERE ($force IS NULL OR force = $force) AND ($month IS NULL OR month = $month);

-- name: insert_areas_shared
INSERT INTO search_areas
SELECT r.search_id, r.force, r.month, r.on_date, w.code, w.layer_id, n.code, sa.code,
       coalesce(w.parent_code, la.code),
       a.ward_aid IS NULL AS outside_area,
       coalesce(a.boundary_distance_m, o.distance_m) AS boundary_distance_m,
       coalesce(a.boundary_distance_m, o.distance_m) < $near_m AS near_boundary,
       coalesce(a.ward_candidates, 0)
FROM _geo_records AS r
JOIN _geo_key_table AS k
  ON k.lon = r.lon AND k.lat = r.lat AND k.force = r.force AND k.period = r.period
LEFT JOIN _geo_assigned AS a ON a.kid = k.kid
LEFT JOIN _geo_outside AS o ON o.kid = k.kid
LEFT JOIN _geo_areas AS w ON w.aid = a.ward_aid
LEFT JOIN _geo_areas AS n ON n.aid = a.neighbourhood_aid
LEFT JOIN _geo_areas AS sa ON sa.aid = a.small_area_aid
LEFT JOIN _geo_areas AS la ON la.aid = a.la_aid;

-- name: insert_areas_own
INSERT INTO search_areas
SELECT r.search_id, r.force, r.month, r.on_date, w.code, w.layer_id, n.code, sa.code,
       coalesce(w.parent_code, la.code),
       a.ward_aid IS NULL AS outside_area,
       coalesce(a.boundary_distance_m, o.distance_m) AS boundary_distance_m,
       coalesce(a.boundary_distance_m, o.distance_m) < $near_m AS near_boundary,
       coalesce(a.ward_candidates, 0)
FROM _geo_records AS r
LEFT JOIN _geo_assigned AS a ON a.kid = r.search_id
LEFT JOIN _geo_outside AS o ON o.kid = r.search_id
LEFT JOIN _geo_areas AS w ON w.aid = a.ward_aid
LEFT JOIN _geo_areas AS n ON n.aid = a.neighbourhood_aid
LEFT JOIN _geo_areas AS sa ON sa.aid = a.small_area_aid
LEFT JOIN _geo_areas AS la ON la.aid = a.la_aid;

-- name: insert_priority_shared
INSERT INTO search_priority_areas
SELECT DISTINCT r.search_id, r.force, r.month, p.layer_id, p.code
FROM _geo_priority AS h
JOIN _geo_areas AS p ON p.aid = h.aid
JOIN _geo_key_table AS k ON k.kid = h.kid
JOIN _geo_records AS r
  ON r.lon = k.lon AND r.lat = k.lat AND r.force = k.force AND r.period = k.period;

-- name: insert_priority_own
INSERT INTO search_priority_areas
SELECT DISTINCT r.search_id, r.force, r.month, p.layer_id, p.code
FROM _geo_priority AS h
JOIN _geo_areas AS p ON p.aid = h.aid
JOIN _geo_records AS r ON r.search_id = h.kid;

-- name: summary
SELECT count(*) AS located,
       count(*) FILTER (WHERE NOT outside_area) AS in_ward,
       count(*) FILTER (WHERE outside_area) AS outside_area,
       count(*) FILTER (WHERE ward_candidates > 1) AS tie_broken,
       count(*) FILTER (WHERE near_boundary) AS near_boundary
FROM search_areas
WHERE ($force IS NULL OR force = $force) AND ($month IS NULL OR month = $month);

-- name: no_location
SELECT count(*) FROM searches
WHERE (latitude IS NULL OR longitude IS NULL)
  AND ($force IS NULL OR force = $force)
  AND ($month IS NULL OR month = $month);

-- name: drop_temp
DROP VIEW IF EXISTS _geo_keys;
DROP TABLE IF EXISTS _geo_key_table;
DROP TABLE IF EXISTS _geo_areas;
DROP TABLE IF EXISTS _geo_shapes;
DROP TABLE IF EXISTS _geo_breaks;
DROP TABLE IF EXISTS _geo_box;
DROP TABLE IF EXISTS _geo_records;
DROP TABLE IF EXISTS _geo_assigned;
DROP TABLE IF EXISTS _geo_priority;
DROP TABLE IF EXISTS _geo_outside;

-- name: unjoined
-- Force-months with located searches that have no area row yet (none before areas are loaded).
SELECT DISTINCT s.force, s.month FROM searches AS s
WHERE s.latitude IS NOT NULL
  AND EXISTS (SELECT 1 FROM areas)
  AND NOT EXISTS (SELECT 1 FROM search_areas AS a WHERE a.search_id = s.search_id)
ORDER BY ALL;
