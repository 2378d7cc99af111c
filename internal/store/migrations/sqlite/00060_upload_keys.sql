-- +goose Up
-- Idempotency-Key of uploads: a retried upload with the same key answers
-- with the version the first one recorded. Written in the transaction that
-- records the version, so a key never exists without its version.
CREATE TABLE upload_keys (
    scope       TEXT NOT NULL,  -- who uploaded ('' without authentication)
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,  -- what was sent: target, name, note, files
    version_id  TEXT NOT NULL REFERENCES package_versions (id) ON DELETE CASCADE,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX upload_keys_created ON upload_keys (created_at);
CREATE INDEX upload_keys_version ON upload_keys (version_id);

-- +goose Down
DROP TABLE upload_keys;
