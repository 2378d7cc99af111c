-- +goose Up
-- An identical re-upload is looked for among its own package's versions
-- (VersionByContent), which the key (package_id, number) already walks,
-- newest first; an index of every version's content key cost each upload
-- more bytes than the scan of a package's few versions costs time.
DROP INDEX package_versions_content;

-- +goose Down
CREATE INDEX package_versions_content ON package_versions (package_id, content_key);
