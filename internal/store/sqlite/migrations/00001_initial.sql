-- Initial schema. Times are Unix nanoseconds (UTC), 0 meaning "not set". String lists and maps
-- are JSON text, '' meaning empty.

-- +goose Up
CREATE TABLE sources (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    kind         TEXT    NOT NULL DEFAULT '',
    url          TEXT    NOT NULL DEFAULT '',
    reliability  TEXT    NOT NULL DEFAULT 'F',
    confidence   INTEGER NOT NULL DEFAULT 0,
    tlp          INTEGER NOT NULL DEFAULT 0,
    enabled      INTEGER NOT NULL DEFAULT 1,
    created_at   INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL DEFAULT 0,
    last_run     INTEGER NOT NULL DEFAULT 0,
    last_success INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT    NOT NULL DEFAULT ''
);

-- Rows are appended in ID order (the ingester assigns IDs); the unique key is the only
-- secondary index, so an ingest touches one random B-tree per new indicator.
CREATE TABLE indicators (
    id           INTEGER PRIMARY KEY,
    type         TEXT    NOT NULL,
    value        TEXT    NOT NULL,
    first_seen   INTEGER NOT NULL DEFAULT 0,
    last_seen    INTEGER NOT NULL DEFAULT 0,
    warninglists TEXT    NOT NULL DEFAULT '',
    UNIQUE (type, value)
);

-- One row per indicator × source, clustered by indicator so that the reports of new indicators
-- are appended at the end of the B-tree.
CREATE TABLE reports (
    indicator_id INTEGER NOT NULL REFERENCES indicators (id) ON DELETE CASCADE,
    source_id    INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    confidence   INTEGER NOT NULL DEFAULT 0,
    tlp          INTEGER NOT NULL DEFAULT 0,
    first_seen   INTEGER NOT NULL DEFAULT 0,
    last_seen    INTEGER NOT NULL DEFAULT 0,
    valid_until  INTEGER NOT NULL DEFAULT 0,
    tags         TEXT    NOT NULL DEFAULT '',
    threat_type  TEXT    NOT NULL DEFAULT '',
    malware      TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (indicator_id, source_id)
) WITHOUT ROWID;

CREATE TABLE entities (
    id          TEXT    NOT NULL PRIMARY KEY,
    type        TEXT    NOT NULL,
    name        TEXT    NOT NULL DEFAULT '',
    aliases     TEXT    NOT NULL DEFAULT '',
    description TEXT    NOT NULL DEFAULT '',
    source      TEXT    NOT NULL DEFAULT '',
    tlp         INTEGER NOT NULL DEFAULT 0,
    created     INTEGER NOT NULL DEFAULT 0,
    modified    INTEGER NOT NULL DEFAULT 0,
    attributes  TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX entities_type_name ON entities (type, name);

CREATE TABLE relationships (
    id         TEXT    NOT NULL PRIMARY KEY,
    type       TEXT    NOT NULL,
    source_ref TEXT    NOT NULL,
    target_ref TEXT    NOT NULL,
    source     TEXT    NOT NULL DEFAULT '',
    tlp        INTEGER NOT NULL DEFAULT 0,
    created    INTEGER NOT NULL DEFAULT 0,
    modified   INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX relationships_source_ref ON relationships (source_ref);
CREATE INDEX relationships_target_ref ON relationships (target_ref);

CREATE TABLE sightings (
    id         INTEGER PRIMARY KEY,
    type       TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    location   TEXT    NOT NULL,
    first_seen INTEGER NOT NULL DEFAULT 0,
    last_seen  INTEGER NOT NULL DEFAULT 0,
    count      INTEGER NOT NULL DEFAULT 0,
    verdict    TEXT    NOT NULL DEFAULT '',
    note       TEXT    NOT NULL DEFAULT '',
    UNIQUE (type, value, location)
);

CREATE TABLE assets (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL,
    name         TEXT    NOT NULL DEFAULT '',
    asset_values TEXT    NOT NULL DEFAULT '',
    criticality  TEXT    NOT NULL DEFAULT '',
    data_class   TEXT    NOT NULL DEFAULT '',
    service      TEXT    NOT NULL DEFAULT '',
    owner        TEXT    NOT NULL DEFAULT '',
    exposure     TEXT    NOT NULL DEFAULT '',
    attributes   TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX assets_kind ON assets (kind);

CREATE TABLE findings (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL DEFAULT '',
    title           TEXT    NOT NULL DEFAULT '',
    obs_type        TEXT    NOT NULL DEFAULT '',
    obs_value       TEXT    NOT NULL DEFAULT '',
    asset_id        INTEGER NOT NULL DEFAULT 0,
    priority        INTEGER NOT NULL DEFAULT 0,
    status          TEXT    NOT NULL DEFAULT 'new',
    assignee        TEXT    NOT NULL DEFAULT '',
    tlp             INTEGER NOT NULL DEFAULT 0,
    evidence        TEXT    NOT NULL DEFAULT '',
    recommendations TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY,
    time   INTEGER NOT NULL,
    actor  TEXT    NOT NULL DEFAULT '',
    action TEXT    NOT NULL DEFAULT '',
    object TEXT    NOT NULL DEFAULT '',
    detail TEXT    NOT NULL DEFAULT ''
);

-- Only the SHA-256 of a key is stored, never the key.
CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    role       TEXT    NOT NULL,
    prefix     TEXT    NOT NULL DEFAULT '',
    hash       BLOB    NOT NULL UNIQUE,
    clearance  INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL DEFAULT 0,
    last_used  INTEGER NOT NULL DEFAULT 0,
    revoked    INTEGER NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE api_keys;
DROP TABLE audit_log;
DROP TABLE findings;
DROP TABLE assets;
DROP TABLE sightings;
DROP TABLE relationships;
DROP TABLE entities;
DROP TABLE reports;
DROP TABLE indicators;
DROP TABLE sources;
