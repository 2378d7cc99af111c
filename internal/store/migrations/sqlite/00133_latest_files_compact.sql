-- +goose Up
-- latest_files in fewer bytes (an identical re-upload as a new package
-- adds a row per source file): the content as its 32 bytes rather than 64
-- hex characters, the package's creation time as Unix microseconds rather
-- than ~35 characters of text (both in the row and in the indexes), the
-- name key left out (analysis.NameKey of the file name), and the rows of a
-- package keyed by their ordinal: the indexes of a table without rowid
-- hold its key, and an ordinal takes one byte where a file id took 36.
-- Byte order of the SHA-256 is the order of its lower-case hex, and
-- microseconds order as the times did.
CREATE TABLE latest_files_compact (
    package_id         TEXT NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    ord                INTEGER NOT NULL,
    file_id            TEXT NOT NULL,
    filename           TEXT NOT NULL,
    kind               TEXT NOT NULL,
    sha256             BLOB NOT NULL,
    size               INTEGER NOT NULL,
    analysis_id        INTEGER,
    package_created_at INTEGER NOT NULL,
    PRIMARY KEY (package_id, ord)
) WITHOUT ROWID;
-- Stored times are text: "2006-01-02 15:04:05.999999999-07:00" (the
-- driver's sqlite format) or, from older releases, Go's time.String()
-- "2006-01-02 15:04:05.999999999 -0700 MST"; both are read here, with
-- their zone, to the microsecond.
INSERT INTO latest_files_compact (package_id, ord, file_id, filename, kind, sha256, size, analysis_id, package_created_at)
SELECT package_id, ROW_NUMBER() OVER (PARTITION BY package_id ORDER BY file_id), file_id, filename, kind, unhex(sha256), size, analysis_id,
    (unixepoch(substr(t, 1, 19)) - sign * (hh * 3600 + mm * 60)) * 1000000 + frac
FROM (SELECT *, CASE substr(zp, 1, 1) WHEN '+' THEN 1 WHEN '-' THEN -1 ELSE 0 END AS sign, CAST(substr(zp, 2, 2) AS INTEGER) AS hh,
        CAST(CASE WHEN substr(zp, 4, 1) = ':' THEN substr(zp, 5, 2) ELSE substr(zp, 4, 2) END AS INTEGER) AS mm
    FROM (SELECT *, ltrim(substr(rest, 1 + length(digits) + (substr(rest, 1, 1) = '.')), ' ') AS zp, CAST(substr(digits || '000000', 1, 6) AS INTEGER) AS frac
        FROM (SELECT *, CASE WHEN substr(rest, 1, 1) = '.' THEN substr(rest, 2, length(rest) - 1 - length(ltrim(substr(rest, 2), '0123456789'))) ELSE '' END AS digits
            FROM (SELECT *, package_created_at AS t, substr(package_created_at, 20) AS rest FROM latest_files))));
DROP TABLE latest_files;
ALTER TABLE latest_files_compact RENAME TO latest_files;
CREATE INDEX latest_files_sha ON latest_files (sha256, package_created_at DESC, package_id DESC);
CREATE INDEX latest_files_analysis ON latest_files (analysis_id, package_id, package_created_at);

-- +goose Down
CREATE TABLE latest_files_by_key (
    package_id         TEXT NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    file_id            TEXT NOT NULL,
    filename           TEXT NOT NULL,
    name_key           TEXT NOT NULL,
    kind               TEXT NOT NULL,
    sha256             TEXT NOT NULL,
    size               INTEGER NOT NULL,
    analysis_id        INTEGER,
    package_created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (package_id, file_id)
) WITHOUT ROWID;
INSERT INTO latest_files_by_key (package_id, file_id, filename, name_key, kind, sha256, size, analysis_id, package_created_at)
-- (the times as the driver writes them, in UTC)
SELECT package_id, file_id, filename, UPPER(filename), kind, lower(hex(sha256)), size, analysis_id,
    strftime('%Y-%m-%d %H:%M:%S', package_created_at / 1000000, 'unixepoch')
    || CASE WHEN package_created_at % 1000000 = 0 THEN '' ELSE '.' || rtrim(printf('%06d', package_created_at % 1000000), '0') END
    || '+00:00'
FROM latest_files;
DROP TABLE latest_files;
ALTER TABLE latest_files_by_key RENAME TO latest_files;
CREATE INDEX latest_files_sha ON latest_files (sha256, package_created_at DESC, package_id DESC);
CREATE INDEX latest_files_analysis ON latest_files (analysis_id, package_id, package_created_at);
