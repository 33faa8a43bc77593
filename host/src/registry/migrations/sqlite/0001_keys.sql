-- Registered keys, one row per key id. `point` is the validated point, uncompressed, so a lookup
-- never decompresses or subgroup-checks again. Times are Unix milliseconds.
CREATE TABLE keys (
    key_id TEXT PRIMARY KEY NOT NULL,
    variant TEXT NOT NULL,
    public_key BLOB NOT NULL,
    point BLOB NOT NULL,
    registered_at BIGINT NOT NULL,
    revoked_at BIGINT
) WITHOUT ROWID;

-- The audit trail: append-only, enforced by the triggers below.
CREATE TABLE key_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id TEXT NOT NULL,
    event TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX key_events_by_key ON key_events (key_id, seq);

CREATE TRIGGER key_events_no_update BEFORE UPDATE ON key_events
BEGIN SELECT RAISE(ABORT, 'key_events is append-only'); END;
CREATE TRIGGER key_events_no_delete BEFORE DELETE ON key_events
BEGIN SELECT RAISE(ABORT, 'key_events is append-only'); END;
