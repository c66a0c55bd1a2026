-- Statements of stopsearch.geography.postcodes: the manifest's postcode lookups.

-- name: layer_codes
SELECT code FROM areas WHERE layer_id = $layer_id;

-- name: delete_postcodes
DELETE FROM postcodes;
-- name: delete_lookups
DELETE FROM postcode_lookups;

-- name: insert_lookups
INSERT INTO postcode_lookups
SELECT lookup_id, small_area_layer, file, sha256, postcodes, terminated, outside, source_url,
       licence, attribution, now()::TIMESTAMP
FROM staged_postcode_lookups;

-- name: insert_postcodes
INSERT INTO postcodes SELECT lookup_id, postcode, layer_id, small_area_code FROM staged_postcodes;
