-- Statements of stopsearch.geography.load: write boundary layers, areas, members and lookups.

-- name: delete_layers
DELETE FROM boundary_layers WHERE layer_id IN (SELECT layer_id FROM staged_layers);
-- name: delete_areas
DELETE FROM areas WHERE layer_id IN (SELECT layer_id FROM staged_layers);
-- name: delete_members
DELETE FROM area_members WHERE layer_id IN (SELECT layer_id FROM staged_layers);
-- name: delete_lookups
DELETE FROM area_lookups
WHERE lookup_id IN (SELECT lookup_id FROM staged_lookups)
   OR from_layer_id IN (SELECT layer_id FROM staged_layers)
   OR to_layer_id IN (SELECT layer_id FROM staged_layers);

-- name: insert_layers
INSERT INTO boundary_layers
SELECT layer_id, kind, series, name, file, format, force, valid_from, valid_to, source_url,
       licence, attribution, sha256, areas, repaired, population_method, now()::TIMESTAMP
FROM staged_layers;

-- name: insert_areas
-- Areas and perimeters in EPSG:27700 (British National Grid), geometry kept in EPSG:4326.
INSERT INTO areas (layer_id, kind, code, name, parent_code, force, valid_from, valid_to, geom,
                   area_m2, perimeter_m, repaired, mx_lon, mx_lat, mx_off, my_lon, my_lat,
                   my_off, parent_name)
SELECT layer_id, kind, code, name, parent_code, force, valid_from, valid_to, geom,
       ST_Area(metric), ST_Perimeter(metric), repaired,
       mx_lon, mx_lat, mx_off, my_lon, my_lat, my_off, parent_name
FROM (
    SELECT *, ST_Transform(geom, 'EPSG:4326', 'EPSG:27700', always_xy := true) AS metric
    FROM (SELECT *, ST_GeomFromWKB(wkb) AS geom FROM staged_areas)
);

-- name: insert_members
INSERT INTO area_members SELECT layer_id, code, member_layer_id, member_code FROM staged_members;

-- name: insert_lookups
INSERT INTO area_lookups SELECT lookup_id, from_layer_id, from_code, to_layer_id, to_code
FROM staged_lookups;

-- name: existing_vintages
SELECT layer_id, kind, series, valid_from, valid_to FROM boundary_layers;
