-- Statements of stopsearch.ingest.labels: label texts to the append-only ids of search_labels.
-- `_labels_wanted` (field, position, label) holds the distinct texts of one file, in order of
-- first appearance per field.

-- name: add_labels
-- Texts not seen before get the next ids of their field (existing ids never change).
INSERT INTO search_labels
SELECT w.field,
       (coalesce(m.top, 0) + row_number() OVER (PARTITION BY w.field ORDER BY w.position))::INTEGER,
       w.label
FROM _labels_wanted AS w
LEFT JOIN (SELECT field, max(label_id) AS top FROM search_labels GROUP BY field) AS m
       ON m.field = w.field
WHERE NOT EXISTS (
    SELECT 1 FROM search_labels AS l WHERE l.field = w.field AND l.label = w.label
);

-- name: label_ids
-- The id of every wanted text, by its position.
SELECT w.position, l.label_id
FROM _labels_wanted AS w
JOIN search_labels AS l ON l.field = w.field AND l.label = w.label
ORDER BY w.position;
