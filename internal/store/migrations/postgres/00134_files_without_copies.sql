-- +goose Up
-- A file row no longer repeats what another row says: its creation time is
-- its version's upload time (both were written from one clock reading), and
-- its blob key is its SHA-256 (every row held the SHA-256 or '').
ALTER TABLE files DROP COLUMN created_at, DROP COLUMN blob_key;

-- +goose Down
ALTER TABLE files ADD COLUMN blob_key TEXT NOT NULL DEFAULT '', ADD COLUMN created_at TIMESTAMPTZ;
UPDATE files SET created_at = v.uploaded_at FROM package_versions v WHERE v.id = files.version_id;
ALTER TABLE files ALTER COLUMN created_at SET NOT NULL;
