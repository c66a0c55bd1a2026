-- Initial warehouse schema: normalised searches, what was rejected and why, one row per force-month load.

CREATE SEQUENCE load_id_seq START 1;

-- Closed vocabularies are ENUMs: small on disk and cheap to load. Raw labels stay VARCHAR.
CREATE TYPE search_type AS ENUM (
    'Person search',
    'Vehicle search',
    'Person and Vehicle search'
);
CREATE TYPE gender_label AS ENUM (
    'Male',
    'Female',
    'Other'
);
CREATE TYPE age_band AS ENUM (
    'under 10',
    '10-17',
    '18-24',
    '25-34',
    'over 34'
);
CREATE TYPE ethnicity_detailed AS ENUM (
    'Asian/Asian British - Any other Asian background',
    'Asian/Asian British - Bangladeshi',
    'Asian/Asian British - Chinese',
    'Asian/Asian British - Indian',
    'Asian/Asian British - Pakistani',
    'Black/African/Caribbean/Black British - African',
    'Black/African/Caribbean/Black British - Any other Black/African/Caribbean background',
    'Black/African/Caribbean/Black British - Caribbean',
    'Mixed/Multiple ethnic groups - Any other Mixed/Multiple ethnic background',
    'Mixed/Multiple ethnic groups - White and Asian',
    'Mixed/Multiple ethnic groups - White and Black African',
    'Mixed/Multiple ethnic groups - White and Black Caribbean',
    'Other ethnic group - Any other ethnic group',
    'Other ethnic group - Arab',
    'White - Any other White background',
    'White - English/Welsh/Scottish/Northern Irish/British',
    'White - Gypsy or Irish Traveller',
    'White - Irish',
    'White - Roma',
    'Not stated',
    'Unknown'
);
CREATE TYPE ethnicity_group AS ENUM (
    'Asian',
    'Black',
    'Mixed',
    'White',
    'Other',
    'Not stated',
    'Unknown'
);
CREATE TYPE object_group_label AS ENUM (
    'drugs',
    'weapons',
    'stolen goods',
    'other',
    'unknown'
);
CREATE TYPE outcome_class_label AS ENUM (
    'arrest',
    'summons',
    'caution',
    'drugs warning',
    'penalty notice',
    'community resolution',
    'positive-detail-unknown',
    'no further action',
    'unknown'
);
CREATE TYPE location_issue_code AS ENUM (
    'partial',
    'not_a_number',
    'outside_uk'
);

-- One row per force-month currently in the warehouse (the live version of that month).
CREATE TABLE loads (
    load_id        INTEGER PRIMARY KEY,
    force          VARCHAR NOT NULL,
    month          DATE NOT NULL,           -- first day of the reporting month (the file's month)
    source         VARCHAR NOT NULL,        -- path, zip member or URL the rows came from
    source_kind    VARCHAR NOT NULL,        -- 'csv' or 'api-json'
    sha256         VARCHAR NOT NULL,        -- checksum of the raw bytes as read
    rows_read      INTEGER NOT NULL,
    rows_loaded    INTEGER NOT NULL,
    rows_rejected  INTEGER NOT NULL,
    loaded_at      TIMESTAMP NOT NULL,
    crosswalk_version VARCHAR NOT NULL,
    UNIQUE (force, month)
);

-- Every load ever attempted, for the changelog (new, re-supplied, unchanged).
CREATE TABLE load_history (
    load_id        INTEGER NOT NULL,
    force          VARCHAR NOT NULL,
    month          DATE NOT NULL,
    source         VARCHAR NOT NULL,
    sha256         VARCHAR NOT NULL,
    action         VARCHAR NOT NULL,        -- 'new', 'resupplied'
    previous_sha256 VARCHAR,
    rows_read      INTEGER NOT NULL,
    rows_loaded    INTEGER NOT NULL,
    rows_rejected  INTEGER NOT NULL,
    loaded_at      TIMESTAMP NOT NULL
);

CREATE TABLE searches (
    search_id                  BIGINT NOT NULL,     -- load_id * 10,000,000 + source_line (unique)
    load_id                    INTEGER NOT NULL,
    force                      VARCHAR NOT NULL,
    month                      DATE NOT NULL,       -- reporting month: the file's month
    source_file                VARCHAR NOT NULL,
    source_line                INTEGER NOT NULL,    -- physical line (CSV) or 1-based record index (JSON)
    datetime_published         VARCHAR NOT NULL,    -- the timestamp text exactly as published
    datetime                   TIMESTAMP NOT NULL,  -- parsed; data.police.uk writes +00:00 even in BST
    type                       search_type NOT NULL,
    is_person_search           BOOLEAN NOT NULL,
    part_of_operation          BOOLEAN,
    operation_name             VARCHAR,
    latitude                   DOUBLE,
    longitude                  DOUBLE,
    location_issue             location_issue_code, -- null when fine or simply absent
    street_id                  BIGINT,              -- API only
    street_name                VARCHAR,             -- API only
    gender                     gender_label,
    age_range                  age_band,
    self_defined_ethnicity_raw VARCHAR,
    self_defined_ethnicity     ethnicity_detailed NOT NULL, -- 19 Census categories, Not stated, Unknown
    self_defined_group         ethnicity_group NOT NULL,
    officer_defined_ethnicity  VARCHAR,             -- kept as published; never mixed with self-defined
    officer_defined_group      ethnicity_group NOT NULL, -- never 'Not stated'
    legislation                VARCHAR,
    object_of_search           VARCHAR,
    object_group               object_group_label NOT NULL,
    outcome_raw                VARCHAR,
    outcome_class              outcome_class_label NOT NULL,
    is_positive                BOOLEAN,             -- null when the outcome is unknown
    outcome_linked             BOOLEAN,
    removal_more_than_outer    BOOLEAN,
    involved_person            BOOLEAN
);
-- No indexes: DuckDB's zone maps serve force-month deletes; an ART index would slow bulk loads.

-- Rows that could not be records: the good rows of the same file still load.
CREATE TABLE rejected (
    load_id      INTEGER,                -- null when the whole file was refused
    force        VARCHAR,
    month        DATE,
    source_file  VARCHAR NOT NULL,
    line         INTEGER,                -- null when the whole file was refused
    field        VARCHAR,
    reason       VARCHAR NOT NULL,
    raw_line     VARCHAR
);

-- Field-level faults that did not lose the record (bad coordinates, undecodable bytes, unmapped labels).
CREATE TABLE warnings (
    load_id      INTEGER NOT NULL,
    force        VARCHAR NOT NULL,
    month        DATE NOT NULL,
    source_file  VARCHAR NOT NULL,
    line         INTEGER,
    field        VARCHAR NOT NULL,
    code         VARCHAR NOT NULL,
    detail       VARCHAR
);

-- Labels the crosswalks do not know: loaded as Unknown and listed here, never silently.
CREATE TABLE unmapped_labels (
    load_id      INTEGER NOT NULL,
    force        VARCHAR NOT NULL,
    month        DATE NOT NULL,
    field        VARCHAR NOT NULL,
    label        VARCHAR NOT NULL,
    rows         INTEGER NOT NULL,
    first_line   INTEGER NOT NULL
);
