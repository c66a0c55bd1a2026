-- The migration log of the warehouse (connection.py applies migrations/NNNN_*.sql in order).

-- name: create_migrations
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL
);

-- name: current_version
SELECT coalesce(max(version), 0) FROM schema_migrations;

-- name: record_migration
INSERT INTO schema_migrations VALUES ($version, $name, now()::TIMESTAMP);
