-- Statements of stopsearch.outputs.site.search: the postcodes the search can find.

-- name: postcodes
-- Every postcode of the manifest's lookups with its small area (normalised postcodes).
SELECT postcode, layer_id, small_area_code
FROM postcodes
ORDER BY postcode, lookup_id;

-- name: attributions
SELECT DISTINCT attribution FROM postcode_lookups ORDER BY attribution;
