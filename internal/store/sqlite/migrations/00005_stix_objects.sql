-- STIX object versions and TAXII status resources (store.STIXStore).
--
-- stix_objects holds one row per version: (collection, id, modified) is the version's key, with
-- modified and created in Unix nanoseconds (0 = the object has none). date_added is in Unix
-- microseconds (TAXII's resolution) and strictly increasing over the whole store: stix_clock keeps
-- the last value handed out, so that it never moves back, even after the newest row is deleted.
-- Pages are read in date_added order through stix_objects_added; the version filters (first,
-- last, the default spec version) look up the other versions of an object through the primary key.
-- raw is the object's JSON as received; a rowid table keeps these large rows out of the indexes.

-- +goose Up
CREATE TABLE stix_objects (
    collection   TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    modified     INTEGER NOT NULL DEFAULT 0,
    type         TEXT    NOT NULL,
    spec_version TEXT    NOT NULL DEFAULT '',
    created      INTEGER NOT NULL DEFAULT 0,
    revoked      INTEGER NOT NULL DEFAULT 0,
    tlp          INTEGER NOT NULL DEFAULT 0,
    confidence   INTEGER NOT NULL DEFAULT -1,
    date_added   INTEGER NOT NULL,
    raw          BLOB    NOT NULL,
    PRIMARY KEY (collection, id, modified)
);
CREATE UNIQUE INDEX stix_objects_added ON stix_objects (collection, date_added);

CREATE TABLE stix_clock (
    one        INTEGER NOT NULL PRIMARY KEY CHECK (one = 1),
    date_added INTEGER NOT NULL
);
INSERT INTO stix_clock (one, date_added) VALUES (1, 0);

CREATE TABLE taxii_status (
    id      TEXT    NOT NULL PRIMARY KEY,
    status  BLOB    NOT NULL,
    updated INTEGER NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE taxii_status;
DROP TABLE stix_clock;
DROP INDEX stix_objects_added;
DROP TABLE stix_objects;
