-- Normalise one parsed file (`raw_rows`: text fields + physical line) into typed columns.
-- Parameters: $load_id, $force, $month, $source_file. Crosswalks are the temp tables xw_*.
-- `reject_field` / `reject_reason` mark rows that cannot be records (they go to `rejected`).
CREATE OR REPLACE TEMP TABLE staged AS
WITH t AS (
    SELECT
        line,
        nullif(trim(type), '') AS type_t,
        trim(date) AS date_t,
        nullif(trim(part_of_operation), '') AS operation_t,
        nullif(trim(operation_name), '') AS operation_name_t,
        nullif(trim(latitude), '') AS lat_t,
        nullif(trim(longitude), '') AS lon_t,
        nullif(trim(gender), '') AS gender_t,
        nullif(trim(age_range), '') AS age_t,
        nullif(trim(self_defined), '') AS sde_t,
        nullif(trim(officer_defined), '') AS ode_t,
        nullif(trim(legislation), '') AS legislation_t,
        nullif(trim(object_of_search), '') AS object_t,
        CASE WHEN lower(trim(outcome)) IN ('', 'false', 'null', 'none') THEN NULL
             ELSE trim(outcome) END AS outcome_t,
        nullif(trim(outcome_linked), '') AS linked_t,
        nullif(trim(removal), '') AS removal_t,
        nullif(trim(street_id), '') AS street_id_t,
        nullif(trim(street_name), '') AS street_name_t,
        nullif(trim(involved_person), '') AS involved_t
    FROM raw_rows
), parsed AS (
    SELECT
        t.*,
        try_strptime(replace(left(date_t, 19), ' ', 'T'), '%Y-%m-%dT%H:%M:%S') AS clock,
        regexp_extract(date_t, '^.{19}(\.\d+)?(Z|([+-])(\d{2}):?(\d{2}))?$',
                       ['fraction', 'zone', 'sign', 'hh', 'mm']) AS tz,
        regexp_full_match(date_t, '^.{19}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$') AS date_shape_ok,
        try_cast(lat_t AS DOUBLE) AS lat_n,
        try_cast(lon_t AS DOUBLE) AS lon_n
    FROM t
)
SELECT
    p.line,
    p.date_t,
    p.clock - to_minutes(
        CASE WHEN tz.sign = '-' THEN -1 ELSE 1 END
        * (coalesce(try_cast(nullif(tz.hh, '') AS INTEGER), 0) * 60
           + coalesce(try_cast(nullif(tz.mm, '') AS INTEGER), 0))
    ) AS datetime_utc,
    p.type_t,
    p.type_t IN ('Person search', 'Person and Vehicle search') AS is_person_search,
    CASE lower(p.operation_t) WHEN 'true' THEN true WHEN 'false' THEN false END AS part_of_operation,
    p.operation_t IS NOT NULL AND lower(p.operation_t) NOT IN ('true', 'false') AS operation_bad,
    p.operation_name_t,
    -- location: empty or 0,0 is "no location"; a text that is not a number, or a point outside
    -- the UK, keeps the record without a location and a location_issue code.
    CASE
        WHEN p.lat_t IS NULL AND p.lon_t IS NULL THEN NULL
        WHEN p.lat_t IS NULL OR p.lon_t IS NULL THEN 'partial'
        WHEN p.lat_n IS NULL OR p.lon_n IS NULL OR NOT isfinite(p.lat_n) OR NOT isfinite(p.lon_n)
            THEN 'not_a_number'
        WHEN p.lat_n = 0 AND p.lon_n = 0 THEN NULL
        WHEN p.lat_n NOT BETWEEN 49.8 AND 60.95 OR p.lon_n NOT BETWEEN -8.75 AND 1.85
            THEN 'outside_uk'
    END AS location_issue,
    p.lat_t,
    p.lon_t,
    p.lat_n,
    p.lon_n,
    try_cast(p.street_id_t AS BIGINT) AS street_id,
    p.street_name_t,
    p.gender_t,
    g.label IS NULL AND p.gender_t IS NOT NULL AS gender_unmapped,
    p.age_t,
    a.label IS NULL AND p.age_t IS NOT NULL AS age_unmapped,
    p.sde_t,
    CASE WHEN p.sde_t IS NULL THEN 'Unknown' ELSE coalesce(s.canonical, 'Unknown') END
        AS sde_canonical,
    CASE WHEN p.sde_t IS NULL THEN 'Unknown' ELSE coalesce(s."group", 'Unknown') END AS sde_group,
    s.label IS NULL AND p.sde_t IS NOT NULL AS sde_unmapped,
    p.ode_t,
    coalesce(o."group", 'Unknown') AS ode_group,
    o.label IS NULL AND p.ode_t IS NOT NULL AS ode_unmapped,
    p.legislation_t,
    p.object_t,
    coalesce(ob.object_group, 'unknown') AS object_group,
    ob.label IS NULL AND p.object_t IS NOT NULL AS object_unmapped,
    p.outcome_t,
    coalesce(oc.outcome_class, 'unknown') AS outcome_class,
    CASE oc.is_positive WHEN 'true' THEN true WHEN 'false' THEN false END AS is_positive,
    oc.label IS NULL AND p.outcome_t IS NOT NULL AS outcome_unmapped,
    CASE lower(p.linked_t) WHEN 'true' THEN true WHEN 'false' THEN false END AS outcome_linked,
    p.linked_t IS NOT NULL AND lower(p.linked_t) NOT IN ('true', 'false') AS linked_bad,
    CASE lower(p.removal_t) WHEN 'true' THEN true WHEN 'false' THEN false END AS removal,
    p.removal_t IS NOT NULL AND lower(p.removal_t) NOT IN ('true', 'false') AS removal_bad,
    CASE lower(p.involved_t) WHEN 'true' THEN true WHEN 'false' THEN false END AS involved_person,
    CASE
        WHEN p.type_t IS NULL THEN 'Type'
        WHEN ty.label IS NULL THEN 'Type'
        WHEN p.clock IS NULL OR NOT p.date_shape_ok THEN 'Date'
    END AS reject_field,
    CASE
        WHEN p.type_t IS NULL THEN 'empty Type (expected Person search, Vehicle search or '
            || 'Person and Vehicle search)'
        WHEN ty.label IS NULL THEN 'unknown Type ''' || p.type_t || ''' (expected Person search, '
            || 'Vehicle search or Person and Vehicle search)'
        WHEN p.clock IS NULL OR NOT p.date_shape_ok THEN 'unparseable Date '''
            || coalesce(p.date_t, '') || ''' (expected e.g. 2023-01-05T14:32:00+00:00)'
    END AS reject_reason
FROM parsed p
LEFT JOIN (SELECT label FROM xw_enum WHERE field = 'type') ty ON ty.label = p.type_t
LEFT JOIN (SELECT label FROM xw_enum WHERE field = 'gender') g ON g.label = p.gender_t
LEFT JOIN (SELECT label FROM xw_enum WHERE field = 'age_range') a ON a.label = p.age_t
LEFT JOIN xw_self_defined s ON s.label = p.sde_t
LEFT JOIN xw_officer_defined o ON o.label = p.ode_t
LEFT JOIN xw_object ob ON ob.label = p.object_t
LEFT JOIN xw_outcome oc ON oc.label = p.outcome_t;
