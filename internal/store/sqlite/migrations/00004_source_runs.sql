-- Source run statistics and collector state: the counts of the last run (JSON text of
-- intel.RunStats, '' meaning none), the record count of the last good full run (the yardstick for
-- "the list suddenly shrank"), and the collector state saved by the last good run (NULL meaning none).
-- Existing sources get the defaults: no statistics, no state.

-- +goose Up
ALTER TABLE sources ADD COLUMN last_stats   TEXT    NOT NULL DEFAULT '';
ALTER TABLE sources ADD COLUMN good_records INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sources ADD COLUMN state        BLOB;

-- +goose Down
ALTER TABLE sources DROP COLUMN state;
ALTER TABLE sources DROP COLUMN good_records;
ALTER TABLE sources DROP COLUMN last_stats;
