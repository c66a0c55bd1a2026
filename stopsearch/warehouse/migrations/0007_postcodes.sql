-- Issue 16: postcode lookups declared in the boundary manifest ([[postcodes]]), for the site's
-- "find your area" search: each postcode in force and its small area.
CREATE TABLE postcode_lookups (
    lookup_id          VARCHAR PRIMARY KEY,  -- manifest id
    small_area_layer   VARCHAR NOT NULL,     -- the small-area layer its codes belong to
    file               VARCHAR NOT NULL,     -- path as written in the manifest
    sha256             VARCHAR NOT NULL,
    postcodes          INTEGER NOT NULL,     -- postcodes loaded
    terminated         INTEGER NOT NULL,     -- left out: a termination date (end_field)
    outside            INTEGER NOT NULL,     -- left out: no small area, or one not in the layer
    source_url         VARCHAR NOT NULL,
    licence            VARCHAR NOT NULL,
    attribution        VARCHAR NOT NULL,
    loaded_at          TIMESTAMP NOT NULL
);

CREATE TABLE postcodes (
    lookup_id        VARCHAR NOT NULL,
    postcode         VARCHAR NOT NULL,       -- normalised: outward code, one space, inward code
    layer_id         VARCHAR NOT NULL,       -- the small-area layer
    small_area_code  VARCHAR NOT NULL
);
