-- The pipeline's small key/value memory (pipeline_state), read and written by pipeline.py.

-- name: get_state
SELECT value FROM pipeline_state WHERE key = $key;

-- name: set_state
INSERT INTO pipeline_state VALUES ($key, $value) ON CONFLICT (key) DO UPDATE SET value = $value;
