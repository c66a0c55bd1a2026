-- Write the staged rows of one file into the warehouse. Parameters as in normalise.sql.
INSERT INTO searches
SELECT
    $load_id::BIGINT * 10000000 + line,
    $load_id,
    $force,
    $month,
    $source_file,
    line,
    date_t,
    datetime_utc,
    type_t,
    is_person_search,
    part_of_operation,
    operation_name_t,
    CASE WHEN location_issue IS NULL AND NOT (lat_n = 0 AND lon_n = 0) THEN lat_n END,
    CASE WHEN location_issue IS NULL AND NOT (lat_n = 0 AND lon_n = 0) THEN lon_n END,
    location_issue,
    street_id,
    street_name_t,
    CASE WHEN gender_unmapped THEN NULL ELSE gender_t END,
    CASE WHEN age_unmapped THEN NULL ELSE age_t END,
    sde_t,
    sde_canonical,
    sde_group,
    ode_t,
    ode_group,
    legislation_t,
    object_t,
    object_group,
    outcome_t,
    outcome_class,
    is_positive,
    outcome_linked,
    removal,
    involved_person
FROM staged
WHERE reject_field IS NULL;

INSERT INTO warnings
SELECT $load_id, $force, $month, $source_file, line, field, code, detail
FROM (
    SELECT line, 'Latitude/Longitude' AS field, location_issue AS code,
           'location ''' || coalesce(lat_t, '') || ',' || coalesce(lon_t, '')
           || ''' ignored: record kept without a location' AS detail
    FROM staged WHERE reject_field IS NULL AND location_issue IS NOT NULL
    UNION ALL
    SELECT line, 'Part of a policing operation', 'bad_boolean', 'not True/False: kept as unknown'
    FROM staged WHERE reject_field IS NULL AND operation_bad
    UNION ALL
    SELECT line, 'Outcome linked to object of search', 'bad_boolean',
           'not True/False: kept as unknown'
    FROM staged WHERE reject_field IS NULL AND linked_bad
    UNION ALL
    SELECT line, 'Removal of more than just outer clothing', 'bad_boolean',
           'not True/False: kept as unknown'
    FROM staged WHERE reject_field IS NULL AND removal_bad
);

INSERT INTO unmapped_labels
SELECT $load_id, $force, $month, field, label, count(*)::INTEGER, min(line)::INTEGER
FROM (
    SELECT 'Self-defined ethnicity' AS field, sde_t AS label, line FROM staged
    WHERE reject_field IS NULL AND sde_unmapped
    UNION ALL
    SELECT 'Officer-defined ethnicity', ode_t, line FROM staged
    WHERE reject_field IS NULL AND ode_unmapped
    UNION ALL
    SELECT 'Outcome', outcome_t, line FROM staged WHERE reject_field IS NULL AND outcome_unmapped
    UNION ALL
    SELECT 'Object of search', object_t, line FROM staged
    WHERE reject_field IS NULL AND object_unmapped
    UNION ALL
    SELECT 'Gender', gender_t, line FROM staged WHERE reject_field IS NULL AND gender_unmapped
    UNION ALL
    SELECT 'Age range', age_t, line FROM staged WHERE reject_field IS NULL AND age_unmapped
)
GROUP BY field, label
ORDER BY field, label;
