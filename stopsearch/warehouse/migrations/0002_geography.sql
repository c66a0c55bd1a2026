-- Geography: boundary layers and their areas, per-search area assignment, small-area population.
-- Geometry is stored in EPSG:4326 (lon/lat); lengths and areas are computed in EPSG:27700.

-- One row per boundary layer declared in a manifest (one version of one series).
CREATE TABLE boundary_layers (
    layer_id          VARCHAR PRIMARY KEY,  -- manifest id, e.g. 'wm-wards-2013'
    kind              VARCHAR NOT NULL,     -- ward | neighbourhood | priority_area | small_area | local_authority
    series            VARCHAR NOT NULL,     -- versions of one series may not overlap or leave gaps
    name              VARCHAR NOT NULL,
    file              VARCHAR NOT NULL,     -- path as written in the manifest
    format            VARCHAR NOT NULL,
    force             VARCHAR,              -- only records of this force are joined (null: any)
    valid_from        DATE,                 -- first day in force (null: since always)
    valid_to          DATE,                 -- last day in force, inclusive (null: still in force)
    source_url        VARCHAR NOT NULL,
    licence           VARCHAR NOT NULL,
    attribution       VARCHAR NOT NULL,
    sha256            VARCHAR NOT NULL,     -- of the file (or of a folder's files, in name order)
    areas             INTEGER NOT NULL,
    repaired          INTEGER NOT NULL,     -- areas whose geometry was invalid and was repaired
    population_method VARCHAR,              -- lookup | nested | population_weighted_centroid | centroid | area_weighted | direct
    loaded_at         TIMESTAMP NOT NULL
);

CREATE TABLE areas (
    layer_id     VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,
    code         VARCHAR NOT NULL,
    name         VARCHAR NOT NULL,
    parent_code  VARCHAR,                   -- e.g. the local authority of a ward
    force        VARCHAR,
    valid_from   DATE,                      -- the layer's dates, or a priority area's designation
    valid_to     DATE,
    geom         GEOMETRY NOT NULL,         -- EPSG:4326, polygon or multipolygon, valid
    area_m2      DOUBLE NOT NULL,           -- in EPSG:27700
    perimeter_m  DOUBLE NOT NULL,
    repaired     BOOLEAN NOT NULL,
    -- Local linear map lon/lat -> EPSG:27700 metres, fitted at the area's centre:
    -- x = mx_lon*lon + mx_lat*lat + mx_off, y = my_lon*lon + my_lat*lat + my_off.
    mx_lon DOUBLE NOT NULL, mx_lat DOUBLE NOT NULL, mx_off DOUBLE NOT NULL,
    my_lon DOUBLE NOT NULL, my_lat DOUBLE NOT NULL, my_off DOUBLE NOT NULL,
    PRIMARY KEY (layer_id, code)
);

-- Priority areas built from small areas: which small areas make each one.
CREATE TABLE area_members (
    layer_id         VARCHAR NOT NULL,
    code             VARCHAR NOT NULL,
    member_layer_id  VARCHAR NOT NULL,
    member_code      VARCHAR NOT NULL
);

-- Official best-fit lookups between layers (e.g. LSOA 2011 -> ward).
CREATE TABLE area_lookups (
    lookup_id      VARCHAR NOT NULL,
    from_layer_id  VARCHAR NOT NULL,
    from_code      VARCHAR NOT NULL,
    to_layer_id    VARCHAR NOT NULL,
    to_code        VARCHAR NOT NULL
);

-- One row per located search: its areas at the search's date. Searches without coordinates
-- have no row here (count them from `searches`; see view location_summary).
CREATE TABLE search_areas (
    search_id           BIGINT NOT NULL,
    force               VARCHAR NOT NULL,
    month               DATE NOT NULL,
    on_date             DATE NOT NULL,     -- Europe/London date of the search: picks the vintage
    ward_code           VARCHAR,
    ward_layer_id       VARCHAR,
    neighbourhood_code  VARCHAR,
    small_area_code     VARCHAR,
    la_code             VARCHAR,
    outside_area        BOOLEAN NOT NULL,  -- no ward in force covers the point
    boundary_distance_m DOUBLE,            -- to the nearest edge of its ward (outside: nearest ward, <= 1 km)
    near_boundary       BOOLEAN,           -- boundary_distance_m < 50
    ward_candidates     INTEGER NOT NULL   -- wards covering the point (> 1: tie broken by smallest code)
);

CREATE TABLE search_priority_areas (
    search_id      BIGINT NOT NULL,
    force          VARCHAR NOT NULL,
    month          DATE NOT NULL,
    layer_id       VARCHAR NOT NULL,
    priority_code  VARCHAR NOT NULL
);

-- Resident population by ethnic group per area (fractional after area-weighted apportionment).
CREATE TABLE population (
    population_id   VARCHAR NOT NULL,      -- manifest id of the source table
    census_year     INTEGER NOT NULL,
    layer_id        VARCHAR,               -- null for tables given directly by area code
    layer_kind      VARCHAR NOT NULL,
    area_code       VARCHAR NOT NULL,
    broad_group     VARCHAR NOT NULL,      -- Asian | Black | Mixed | White | Other
    detailed_group  VARCHAR,               -- police.uk label; null where the table merges groups
    persons         DOUBLE NOT NULL,
    method          VARCHAR NOT NULL       -- direct | lookup | nested | ... (see boundary_layers)
);

-- How each population source reached each layer.
CREATE TABLE population_methods (
    population_id    VARCHAR NOT NULL,
    layer_id         VARCHAR,
    layer_kind       VARCHAR NOT NULL,
    method           VARCHAR NOT NULL,
    detail           VARCHAR NOT NULL,
    persons          DOUBLE NOT NULL,      -- total reaching the layer
    persons_unplaced DOUBLE NOT NULL       -- total of small areas the method could not place
);

-- Per force-month: records, located, no_location, inside a ward, outside, not yet assigned.
CREATE VIEW location_summary AS
SELECT
    s.force,
    s.month,
    count(*) AS records,
    count(*) FILTER (WHERE s.latitude IS NOT NULL AND s.longitude IS NOT NULL) AS located,
    count(*) FILTER (WHERE s.latitude IS NULL OR s.longitude IS NULL) AS no_location,
    count(a.search_id) FILTER (WHERE NOT a.outside_area) AS in_ward,
    count(a.search_id) FILTER (WHERE a.outside_area) AS outside_area,
    count(*) FILTER (
        WHERE s.latitude IS NOT NULL AND s.longitude IS NOT NULL AND a.search_id IS NULL
    ) AS unassigned
FROM searches AS s
LEFT JOIN search_areas AS a USING (search_id)
GROUP BY s.force, s.month;

-- Per ward: how many of its records lie within 50 m of its boundary.
CREATE VIEW ward_boundary_uncertainty AS
SELECT
    ward_layer_id,
    ward_code,
    count(*) AS records,
    count(*) FILTER (WHERE near_boundary) AS near_boundary,
    count(*) FILTER (WHERE near_boundary) / count(*) AS near_boundary_share,
    median(boundary_distance_m) AS median_distance_m
FROM search_areas
WHERE NOT outside_area
GROUP BY ward_layer_id, ward_code;
