-- Findings that fold events (issue 5): the dedupe key, the band of the strongest event, the count
-- of events folded in, when the latest was seen, when the finding was closed, the omen.priority
-- object of the strongest event (JSON text, '' meaning none), the action history (JSON array) and
-- the analyst's note. Existing findings count one event, last seen when created, and closed when
-- last updated if they are resolved or false positives.
-- The allowlist: values the organisation never wants alerts on, unique by observable.
-- Learned reliability: analysts' verdicts counted per source.
-- Nothing is dropped or rewritten on the way up; existing rows only gain the new columns.

-- +goose Up
ALTER TABLE findings ADD COLUMN dedupe_key TEXT    NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN level     TEXT    NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN count     INTEGER NOT NULL DEFAULT 1;
ALTER TABLE findings ADD COLUMN last_seen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE findings ADD COLUMN closed_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE findings ADD COLUMN detail    TEXT    NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN actions   TEXT    NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN note      TEXT    NOT NULL DEFAULT '';
UPDATE findings SET last_seen = created_at WHERE last_seen = 0;
UPDATE findings SET closed_at = updated_at WHERE status IN ('resolved', 'false-positive');
CREATE INDEX findings_key ON findings (dedupe_key, created_at);
CREATE INDEX findings_observable ON findings (obs_type, obs_value);

CREATE TABLE allowlist (
    id         INTEGER PRIMARY KEY,
    type       TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    actor      TEXT    NOT NULL DEFAULT '',
    finding_id INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL DEFAULT 0,
    UNIQUE (type, value)
);

ALTER TABLE sources ADD COLUMN true_positives  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sources ADD COLUMN false_positives INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE sources DROP COLUMN false_positives;
ALTER TABLE sources DROP COLUMN true_positives;
DROP TABLE allowlist;
DROP INDEX findings_observable;
DROP INDEX findings_key;
ALTER TABLE findings DROP COLUMN note;
ALTER TABLE findings DROP COLUMN actions;
ALTER TABLE findings DROP COLUMN detail;
ALTER TABLE findings DROP COLUMN closed_at;
ALTER TABLE findings DROP COLUMN last_seen;
ALTER TABLE findings DROP COLUMN count;
ALTER TABLE findings DROP COLUMN level;
ALTER TABLE findings DROP COLUMN dedupe_key;
