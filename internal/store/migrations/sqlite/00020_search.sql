-- +goose Up
-- The search index (internal/search). One document per file content and
-- search index version: a MILL.LIB shared by many packages is indexed once.
CREATE TABLE search_docs (
    id            INTEGER PRIMARY KEY,
    sha256        TEXT NOT NULL,
    index_version TEXT NOT NULL,
    kind          TEXT NOT NULL,
    line_count    INTEGER NOT NULL,
    bytes         INTEGER NOT NULL,
    vector        BLOB NOT NULL, -- the file's structural embedding, float32 little-endian
    signature     BLOB NOT NULL, -- MinHash of its lines, uint32 little-endian
    created_at    TIMESTAMP NOT NULL,
    UNIQUE (sha256, index_version)
);

-- Non-blank lines with their terms; the FTS5 tables below index them by rowid.
CREATE TABLE search_lines (
    id      INTEGER PRIMARY KEY,
    doc_id  INTEGER NOT NULL REFERENCES search_docs (id) ON DELETE CASCADE,
    line    INTEGER NOT NULL,
    section INTEGER NOT NULL, -- ord in search_sections, -1 outside sections
    class   INTEGER NOT NULL, -- 0 code, 1 :T: output, 2 comment
    text    TEXT NOT NULL,
    output  TEXT NOT NULL,
    words   TEXT NOT NULL, -- words of the code (identifiers, keywords, output), lower case, blank-separated
    prose   TEXT NOT NULL, -- words of comments, labels and other values
    parts   TEXT NOT NULL, -- identifier parts that are not whole words of the line
    defs    TEXT NOT NULL, -- names defined on the line
    sets    TEXT NOT NULL  -- names assigned on the line
);
CREATE INDEX search_lines_doc ON search_lines (doc_id, line);

-- Terms: '_' is a token character, so SPINDLE_DIR is one term.
CREATE VIRTUAL TABLE search_terms USING fts5 (
    words, prose, parts, content = '', contentless_delete = 1,
    tokenize = "unicode61 remove_diacritics 0 tokenchars '_'", prefix = '2 3'
);
-- Substrings of the text and of what :T: lines output (G43.4, M06).
CREATE VIRTUAL TABLE search_trigrams USING fts5 (
    text, output, content = '', contentless_delete = 1, tokenize = 'trigram case_sensitive 0'
);
-- +goose StatementBegin
CREATE TRIGGER search_lines_deleted AFTER DELETE ON search_lines BEGIN
    DELETE FROM search_terms WHERE rowid = OLD.id;
    DELETE FROM search_trigrams WHERE rowid = OLD.id;
END;
-- +goose StatementEnd

CREATE TABLE search_sections (
    id         INTEGER PRIMARY KEY,
    doc_id     INTEGER NOT NULL REFERENCES search_docs (id) ON DELETE CASCADE,
    ord        INTEGER NOT NULL,
    name       TEXT NOT NULL,
    canonical  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    start_line INTEGER NOT NULL,
    end_line   INTEGER NOT NULL,
    hash       TEXT NOT NULL,
    UNIQUE (doc_id, ord)
);
-- Section embeddings (sqlite-vec), rowid = search_sections.id.
CREATE VIRTUAL TABLE search_section_vectors USING vec0 (embedding float[256] distance_metric=cosine);
-- +goose StatementBegin
CREATE TRIGGER search_sections_deleted AFTER DELETE ON search_sections BEGIN
    DELETE FROM search_section_vectors WHERE rowid = OLD.id;
END;
-- +goose StatementEnd

-- Section embeddings by an external model (VERIPOST_EMBEDDINGS_*), any size.
CREATE TABLE search_external_vectors (
    doc_id INTEGER NOT NULL REFERENCES search_docs (id) ON DELETE CASCADE,
    ord    INTEGER NOT NULL,
    model  TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (doc_id, ord, model)
);

-- Per package version: the combined embedding of its files and the MinHash
-- of all its lines, with the LSH band keys that find near-duplicates.
CREATE TABLE search_versions (
    id            INTEGER PRIMARY KEY,
    version_id    TEXT NOT NULL UNIQUE REFERENCES package_versions (id) ON DELETE CASCADE,
    index_version TEXT NOT NULL,
    signature     BLOB NOT NULL
);
CREATE VIRTUAL TABLE search_version_vectors USING vec0 (embedding float[256] distance_metric=cosine);
-- +goose StatementBegin
CREATE TRIGGER search_versions_deleted AFTER DELETE ON search_versions BEGIN
    DELETE FROM search_version_vectors WHERE rowid = OLD.id;
END;
-- +goose StatementEnd
CREATE TABLE search_version_bands (
    band        INTEGER NOT NULL,
    version_row INTEGER NOT NULL REFERENCES search_versions (id) ON DELETE CASCADE,
    PRIMARY KEY (band, version_row)
);
CREATE INDEX search_version_bands_row ON search_version_bands (version_row);

-- +goose Down
DROP TABLE search_version_bands;
DROP TRIGGER search_versions_deleted;
DROP TABLE search_version_vectors;
DROP TABLE search_versions;
DROP TABLE search_external_vectors;
DROP TRIGGER search_sections_deleted;
DROP TABLE search_section_vectors;
DROP TABLE search_sections;
DROP TRIGGER search_lines_deleted;
DROP TABLE search_trigrams;
DROP TABLE search_terms;
DROP TABLE search_lines;
DROP TABLE search_docs;
