-- +goose Up
-- A file row no longer repeats what another row says: its creation time is
-- its version's upload time (both were written from one clock reading), and
-- its blob key is its SHA-256 (every row held the SHA-256 or '').
ALTER TABLE files DROP COLUMN created_at;
ALTER TABLE files DROP COLUMN blob_key;

-- +goose Down
ALTER TABLE files ADD COLUMN blob_key TEXT NOT NULL DEFAULT '';
ALTER TABLE files ADD COLUMN created_at TIMESTAMP NOT NULL DEFAULT '';
UPDATE files SET created_at = (SELECT v.uploaded_at FROM package_versions v WHERE v.id = files.version_id);
