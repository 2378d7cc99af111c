-- +goose Up
-- The search index (internal/search). One document per file content and
-- search index version: a MILL.LIB shared by many packages is indexed once.
-- Lines and section vectors are stored once per distinct content too, so
-- posts derived from the same template share most of their index.
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

-- Distinct analysed lines; the FTS5 tables below index them by rowid.
CREATE TABLE search_texts (
    id     INTEGER PRIMARY KEY,
    hash   TEXT NOT NULL UNIQUE, -- of every column below
    class  INTEGER NOT NULL,     -- 0 code, 1 :T: output, 2 comment
    text   TEXT NOT NULL,
    output TEXT NOT NULL,
    words  TEXT NOT NULL, -- words of the code (identifiers, keywords, output), lower case, blank-separated
    prose  TEXT NOT NULL, -- words of comments, labels and other values
    parts  TEXT NOT NULL, -- identifier parts that are not whole words of the line
    defs   TEXT NOT NULL, -- names defined on the line
    sets   TEXT NOT NULL  -- names assigned on the line
);
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
CREATE TRIGGER search_texts_deleted AFTER DELETE ON search_texts BEGIN
    DELETE FROM search_terms WHERE rowid = OLD.id;
    DELETE FROM search_trigrams WHERE rowid = OLD.id;
END;
-- +goose StatementEnd

-- The non-blank lines of each document.
CREATE TABLE search_lines (
    doc_id  INTEGER NOT NULL REFERENCES search_docs (id) ON DELETE CASCADE,
    line    INTEGER NOT NULL,
    text_id INTEGER NOT NULL REFERENCES search_texts (id),
    section INTEGER NOT NULL, -- ord in search_sections, -1 outside sections
    kind    SMALLINT NOT NULL, -- its section's kind: 0 none, 1 system, 2 template, 3 calc, 4 user
    PRIMARY KEY (doc_id, line)
) WITHOUT ROWID;
-- Covering the per-document counts of a query's lines (DocStats).
CREATE INDEX search_lines_text ON search_lines (text_id, doc_id, kind);

-- Distinct section embeddings (sqlite-vec vec0, rowid = search_vectors.id),
-- keyed by the section's bytes and the index version.
CREATE TABLE search_vectors (
    id  INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE search_vector_index USING vec0 (embedding float[512] distance_metric=cosine);
-- +goose StatementBegin
CREATE TRIGGER search_vectors_deleted AFTER DELETE ON search_vectors BEGIN
    DELETE FROM search_vector_index WHERE rowid = OLD.id;
END;
-- +goose StatementEnd
-- Section embeddings by an external model (VERIPOST_EMBEDDINGS_*), any size.
CREATE TABLE search_external_vectors (
    vector_id INTEGER NOT NULL REFERENCES search_vectors (id) ON DELETE CASCADE,
    model     TEXT NOT NULL,
    vector    BLOB NOT NULL,
    PRIMARY KEY (vector_id, model)
);

CREATE TABLE search_sections (
    doc_id     INTEGER NOT NULL REFERENCES search_docs (id) ON DELETE CASCADE,
    ord        INTEGER NOT NULL,
    name       TEXT NOT NULL,
    canonical  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    start_line INTEGER NOT NULL,
    end_line   INTEGER NOT NULL,
    hash       TEXT NOT NULL, -- of the section's bytes
    vector_id  INTEGER NOT NULL REFERENCES search_vectors (id),
    PRIMARY KEY (doc_id, ord)
) WITHOUT ROWID;
CREATE INDEX search_sections_vector ON search_sections (vector_id);

-- Per package version: the combined embedding of its files and the MinHash
-- of all its lines, with the LSH band keys that find near-duplicates.
CREATE TABLE search_versions (
    id            INTEGER PRIMARY KEY,
    version_id    TEXT NOT NULL UNIQUE REFERENCES package_versions (id) ON DELETE CASCADE,
    index_version TEXT NOT NULL,
    signature     BLOB NOT NULL
);
CREATE VIRTUAL TABLE search_version_vectors USING vec0 (embedding float[512] distance_metric=cosine);
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
DROP TABLE search_sections;
DROP TABLE search_external_vectors;
DROP TRIGGER search_vectors_deleted;
DROP TABLE search_vector_index;
DROP TABLE search_vectors;
DROP TABLE search_lines;
DROP TRIGGER search_texts_deleted;
DROP TABLE search_trigrams;
DROP TABLE search_terms;
DROP TABLE search_texts;
DROP TABLE search_docs;
