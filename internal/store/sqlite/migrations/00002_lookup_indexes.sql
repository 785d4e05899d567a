-- Indexes for the lookups added after the initial schema: entities by name or alias
-- (case-insensitive), findings by status newest first, the audit log by time.
-- entity_names is filled for existing entities by migration 3 (Go), which folds case the way
-- the store does (Unicode, not SQLite's ASCII-only lower()).

-- +goose Up
CREATE TABLE entity_names (
    name      TEXT NOT NULL, -- folded name or alias
    entity_id TEXT NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    PRIMARY KEY (name, entity_id)
) WITHOUT ROWID;
CREATE INDEX entity_names_entity ON entity_names (entity_id);
CREATE INDEX findings_status_created ON findings (status, created_at);
CREATE INDEX findings_created ON findings (created_at);
CREATE INDEX audit_log_time ON audit_log (time);

-- +goose Down
DROP INDEX audit_log_time;
DROP INDEX findings_created;
DROP INDEX findings_status_created;
DROP TABLE entity_names;
