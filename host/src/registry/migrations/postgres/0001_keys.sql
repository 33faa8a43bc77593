-- Registered keys, one row per key id. `point` is the validated point, uncompressed, so a lookup
-- never decompresses or subgroup-checks again. Times are Unix milliseconds.
CREATE TABLE keys (
    key_id TEXT PRIMARY KEY NOT NULL,
    variant TEXT NOT NULL,
    public_key BYTEA NOT NULL,
    point BYTEA NOT NULL,
    registered_at BIGINT NOT NULL,
    revoked_at BIGINT
);

-- The audit trail: append-only, enforced by the trigger below.
CREATE TABLE key_events (
    seq BIGSERIAL PRIMARY KEY,
    key_id TEXT NOT NULL,
    event TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX key_events_by_key ON key_events (key_id, seq);

CREATE FUNCTION key_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'key_events is append-only';
END
$$;
CREATE TRIGGER key_events_append_only BEFORE UPDATE OR DELETE ON key_events
FOR EACH ROW EXECUTE FUNCTION key_events_append_only();

-- Every replica LISTENs on this channel and drops the revoked key from its cache; NOTIFY is
-- delivered at commit, so a replica never hears of a revocation that did not happen.
CREATE FUNCTION keys_announce_revocation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tollgate_key_revoked', NEW.key_id);
    RETURN NEW;
END
$$;
CREATE TRIGGER keys_announce_revocation AFTER UPDATE OF revoked_at ON keys
FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
EXECUTE FUNCTION keys_announce_revocation();
