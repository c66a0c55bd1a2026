-- Issue 19: a lean warehouse row. The records move from the table `searches` to `search_rows`,
-- where the seven published label columns are small integer ids into the append-only
-- `search_labels`, and force, month and file come through the load id (`loads`); search_id and
-- is_person_search are computed, and the published timestamp text is kept only where it is not
-- the canonical rendering of the parsed timestamp, strftime(datetime, '%Y-%m-%dT%H:%M:%S+00:00')
-- (the view renders it back: exact, since the same function decides and renders). A view `searches` gives readers today's exact columns, names,
-- order and types (closed vocabularies stay ENUMs). Writers write `search_rows`
-- (stopsearch/ingest/write.sql, stopsearch/ingest/labels.py).
-- The move happens in place, in this migration's transaction.

-- Published label texts: ids 1, 2, 3, ... per field in order of first appearance. Append-only:
-- a label's id never changes and is never reused, even when no record uses it any more.
CREATE TABLE search_labels (
    field     VARCHAR NOT NULL,   -- the `searches` column: operation_name, street_name, ...
    label_id  INTEGER NOT NULL,   -- dense per field (1..n): the view decodes by list position
    label     VARCHAR NOT NULL,   -- the text exactly as loaded
    PRIMARY KEY (field, label_id)
);

CREATE TABLE search_rows (
    load_id                       INTEGER NOT NULL,   -- loads.load_id: force, month, source file
    source_line                   INTEGER NOT NULL,   -- physical line (CSV) or record index (JSON)
    datetime_odd                  VARCHAR,            -- the published timestamp text, only
                                                      -- where it is not the canonical one
    datetime                      TIMESTAMP NOT NULL,
    type                          search_type NOT NULL,
    part_of_operation             BOOLEAN,
    operation_name_id             INTEGER,            -- search_labels, field 'operation_name'
    latitude                      DOUBLE,
    longitude                     DOUBLE,
    location_issue                location_issue_code,
    street_id                     BIGINT,
    street_name_id                INTEGER,
    gender                        gender_label,
    age_range                     age_band,
    self_defined_ethnicity_raw_id INTEGER,
    self_defined_ethnicity        ethnicity_detailed NOT NULL,
    self_defined_group            ethnicity_group NOT NULL,
    officer_defined_ethnicity_id  INTEGER,
    officer_defined_group         ethnicity_group NOT NULL,
    legislation_id                INTEGER,
    object_of_search_id           INTEGER,
    object_group                  object_group_label NOT NULL,
    outcome_raw_id                INTEGER,
    outcome_class                 outcome_class_label NOT NULL,
    is_positive                   BOOLEAN,
    outcome_linked                BOOLEAN,
    removal_more_than_outer       BOOLEAN,
    involved_person               BOOLEAN
);

-- What the lean row computes must be what the old row held; otherwise stop (the transaction
-- rolls back and the warehouse stays as it was).
SELECT CASE WHEN count(*) > 0 THEN error(
    'cannot move searches to the lean row: ' || count(*) || ' record(s) disagree with their'
    || ' load (force, month, source file, search_id) or type (is_person_search), e.g. search_id '
    || min(s.search_id)) END
FROM searches AS s
LEFT JOIN loads AS l ON l.load_id = s.load_id
WHERE l.load_id IS NULL
   OR s.search_id <> s.load_id::BIGINT * 10000000 + s.source_line
   OR s.force <> l.force OR s.month <> l.month OR s.source_file <> l.source
   OR s.is_person_search <> (s.type IN ('Person search', 'Person and Vehicle search'));

INSERT INTO search_labels
SELECT field, row_number() OVER (PARTITION BY field ORDER BY first_seen)::INTEGER, label
FROM (
    SELECT field, label, min(search_id) AS first_seen
    FROM (
        UNPIVOT (
            SELECT search_id, operation_name, street_name, self_defined_ethnicity_raw,
                   officer_defined_ethnicity, legislation, object_of_search, outcome_raw
            FROM searches
        )
        ON operation_name, street_name, self_defined_ethnicity_raw, officer_defined_ethnicity,
           legislation, object_of_search, outcome_raw
        INTO NAME field VALUE label
    )
    GROUP BY field, label
);

INSERT INTO search_rows
SELECT
    s.load_id, s.source_line,
    CASE WHEN s.datetime_published = strftime(s.datetime, '%Y-%m-%dT%H:%M:%S+00:00') THEN NULL
         ELSE s.datetime_published END,
    s.datetime, s.type, s.part_of_operation,
    l_op.label_id, s.latitude, s.longitude, s.location_issue, s.street_id, l_street.label_id,
    s.gender, s.age_range, l_sde.label_id, s.self_defined_ethnicity, s.self_defined_group,
    l_ode.label_id, s.officer_defined_group, l_leg.label_id, l_obj.label_id, s.object_group,
    l_out.label_id, s.outcome_class, s.is_positive, s.outcome_linked, s.removal_more_than_outer,
    s.involved_person
FROM searches AS s
LEFT JOIN search_labels AS l_op
       ON l_op.field = 'operation_name' AND l_op.label = s.operation_name
LEFT JOIN search_labels AS l_street
       ON l_street.field = 'street_name' AND l_street.label = s.street_name
LEFT JOIN search_labels AS l_sde
       ON l_sde.field = 'self_defined_ethnicity_raw' AND l_sde.label = s.self_defined_ethnicity_raw
LEFT JOIN search_labels AS l_ode
       ON l_ode.field = 'officer_defined_ethnicity' AND l_ode.label = s.officer_defined_ethnicity
LEFT JOIN search_labels AS l_leg
       ON l_leg.field = 'legislation' AND l_leg.label = s.legislation
LEFT JOIN search_labels AS l_obj
       ON l_obj.field = 'object_of_search' AND l_obj.label = s.object_of_search
LEFT JOIN search_labels AS l_out
       ON l_out.field = 'outcome_raw' AND l_out.label = s.outcome_raw
ORDER BY s.search_id;

DROP TABLE searches;

-- Today's `searches`, column for column. Labels decode by position in a list built once per
-- query (cheaper than a join per label, and free for queries that read no label).
CREATE VIEW searches AS
SELECT
    s.load_id::BIGINT * 10000000 + s.source_line AS search_id,
    s.load_id,
    l.force,
    l.month,
    l.source AS source_file,
    s.source_line,
    coalesce(s.datetime_odd, strftime(s.datetime, '%Y-%m-%dT%H:%M:%S+00:00'))
        AS datetime_published,
    s.datetime,
    s.type,
    s.type IN ('Person search', 'Person and Vehicle search') AS is_person_search,
    s.part_of_operation,
    (SELECT list(label ORDER BY label_id) FROM search_labels
      WHERE field = 'operation_name')[s.operation_name_id] AS operation_name,
    s.latitude,
    s.longitude,
    s.location_issue,
    s.street_id,
    (SELECT list(label ORDER BY label_id) FROM search_labels
      WHERE field = 'street_name')[s.street_name_id] AS street_name,
    s.gender,
    s.age_range,
    (SELECT list(label ORDER BY label_id) FROM search_labels
      WHERE field = 'self_defined_ethnicity_raw')[s.self_defined_ethnicity_raw_id]
      AS self_defined_ethnicity_raw,
    s.self_defined_ethnicity,
    s.self_defined_group,
    (SELECT list(label ORDER BY label_id) FROM search_labels
      WHERE field = 'officer_defined_ethnicity')[s.officer_defined_ethnicity_id]
      AS officer_defined_ethnicity,
    s.officer_defined_group,
    (SELECT list(label ORDER BY label_id) FROM search_labels
      WHERE field = 'legislation')[s.legislation_id] AS legislation,
    (SELECT list(label ORDER BY label_id) FROM search_labels
      WHERE field = 'object_of_search')[s.object_of_search_id] AS object_of_search,
    s.object_group,
    (SELECT list(label ORDER BY label_id) FROM search_labels
      WHERE field = 'outcome_raw')[s.outcome_raw_id] AS outcome_raw,
    s.outcome_class,
    s.is_positive,
    s.outcome_linked,
    s.removal_more_than_outer,
    s.involved_person
FROM search_rows AS s
LEFT JOIN loads AS l ON l.load_id = s.load_id;

-- Also for issue 19: a file keeps its first rejects in full (ingest.parse.REJECTS_IN_FULL); the
-- rest are counted in one summary row per file, whose `omitted` is the number of rejected lines
-- it stands for (null on every other row). So loads.rows_rejected = sum(coalesce(omitted, 1)).
ALTER TABLE rejected ADD COLUMN omitted INTEGER;
