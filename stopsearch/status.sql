-- What `stopsearch status` reports, the warehouse's invariants, and the pipeline's small
-- key/value memory (pipeline_state). Run by status.py.

-- name: warehouse_status
SELECT l.force, l.month, l.source, l.rows_read, l.rows_loaded, l.rows_rejected,
       (SELECT count(*) FROM warnings w WHERE w.load_id = l.load_id),
       (SELECT coalesce(sum(u.rows), 0) FROM unmapped_labels u WHERE u.load_id = l.load_id),
       (SELECT count(*) FROM searches s
         WHERE s.load_id = l.load_id AND s.latitude IS NULL)
FROM loads l ORDER BY l.force, l.month;

-- name: refused_files
SELECT source_file, reason FROM rejected WHERE load_id IS NULL ORDER BY source_file;

-- name: unmapped_summary
SELECT field, label, sum(rows)::INTEGER FROM unmapped_labels
GROUP BY field, label ORDER BY field, label;

-- name: loads_rows_loaded
SELECT count(*) FROM loads l
WHERE rows_loaded <> (SELECT count(*) FROM searches s WHERE s.load_id = l.load_id);

-- name: loads_rows_read
SELECT count(*) FROM loads WHERE rows_read <> rows_loaded + rows_rejected;

-- name: loads_rows_rejected
-- (a summary row stands for `omitted` rejected lines; every other row for one)
SELECT count(*) FROM loads l WHERE rows_rejected <>
    (SELECT coalesce(sum(coalesce(r.omitted, 1)), 0) FROM rejected r WHERE r.load_id = l.load_id);

-- name: orphan_searches
SELECT count(*) FROM searches s
WHERE NOT EXISTS (SELECT 1 FROM loads l WHERE l.load_id = s.load_id);

-- name: duplicate_search_ids
SELECT count(*) - count(DISTINCT search_id) FROM searches;

-- name: orphan_assignments
SELECT count(*) FROM search_areas a
WHERE NOT EXISTS (SELECT 1 FROM searches s WHERE s.search_id = a.search_id);

-- name: duplicate_assignments
SELECT count(*) - count(DISTINCT search_id) FROM search_areas;

-- name: get_state
SELECT value FROM pipeline_state WHERE key = $key;

-- name: set_state
INSERT INTO pipeline_state VALUES ($key, $value) ON CONFLICT (key) DO UPDATE SET value = $value;
