-- Statements of stopsearch.outputs.extracts.package (the data package's closed vocabularies).

-- name: enums
-- The warehouse's ENUM types and their values, in order.
SELECT type_name, labels FROM duckdb_types() WHERE logical_type = 'ENUM' ORDER BY ALL;
