-- Insert one file's lean records (the Arrow table `records`: normalised records with label ids,
-- see labels.py) into search_rows; force, month and file are the load's (loads.load_id). The
-- published timestamp text is kept only where it is not the canonical rendering of `datetime`
-- (the view `searches` renders it back; see migrations/*_lean_searches.sql).
-- The view gives search_id = load_id * 10,000,000 + source_line, unique because load ids are
-- never reused and a line number is below 10,000,000.
INSERT INTO search_rows BY NAME
SELECT
    $load_id AS load_id,
    * EXCLUDE (is_person_search, datetime_published),
    CASE WHEN datetime_published = strftime(datetime, '%Y-%m-%dT%H:%M:%S+00:00') THEN NULL
         ELSE datetime_published END AS datetime_odd
FROM records;
