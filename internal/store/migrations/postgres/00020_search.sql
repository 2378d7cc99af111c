-- +goose Up
-- The search index (internal/search). One document per file content and
-- search index version: a MILL.LIB shared by many packages is indexed once.
-- Lines and section vectors are stored once per distinct content too, so
-- posts derived from the same template share most of their index.
CREATE TABLE search_docs (
    id            BIGSERIAL PRIMARY KEY,
    sha256        TEXT NOT NULL,
    index_version TEXT NOT NULL,
    kind          TEXT NOT NULL,
    line_count    INTEGER NOT NULL,
    bytes         BIGINT NOT NULL,
    vector        BYTEA NOT NULL, -- the file's structural embedding, float32 little-endian
    signature     BYTEA NOT NULL, -- MinHash of its lines, uint32 little-endian
    created_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (sha256, index_version)
);

-- Distinct analysed lines.
CREATE TABLE search_texts (
    id     BIGSERIAL PRIMARY KEY,
    hash   TEXT NOT NULL UNIQUE, -- of every column below
    class  SMALLINT NOT NULL,    -- 0 code, 1 :T: output, 2 comment
    text   TEXT NOT NULL,
    output TEXT NOT NULL,
    words  TEXT NOT NULL, -- words of the code (identifiers, keywords, output), lower case, blank-separated
    prose  TEXT NOT NULL, -- words of comments, labels and other values
    parts  TEXT NOT NULL, -- identifier parts that are not whole words of the line
    defs   TEXT NOT NULL, -- names defined on the line
    sets   TEXT NOT NULL  -- names assigned on the line
);
-- The 'simple' configuration's lexemes, built from the term columns as they
-- are (the text search parser would split SPINDLE_DIR at the '_'). The
-- pg_trgm index for substrings is created by store.Migrate when the
-- extension is available.
CREATE INDEX search_texts_terms ON search_texts
    USING GIN (array_to_tsvector(array_remove(string_to_array(words || ' ' || prose || ' ' || parts, ' '), '')));

-- The non-blank lines of each document.
CREATE TABLE search_lines (
    doc_id  BIGINT NOT NULL REFERENCES search_docs (id) ON DELETE CASCADE,
    line    INTEGER NOT NULL,
    text_id BIGINT NOT NULL REFERENCES search_texts (id),
    section INTEGER NOT NULL, -- ord in search_sections, -1 outside sections
    kind    SMALLINT NOT NULL, -- its section's kind: 0 none, 1 system, 2 template, 3 calc, 4 user
    PRIMARY KEY (doc_id, line)
);
-- Covering the per-document counts of a query's lines (DocStats).
CREATE INDEX search_lines_text ON search_lines (text_id, doc_id, kind);

-- Distinct section embeddings, keyed by the section's bytes and the index
-- version (pgvector's HNSW column is added by store.Migrate when the
-- extension is on).
CREATE TABLE search_vectors (
    id        BIGSERIAL PRIMARY KEY,
    key       TEXT NOT NULL UNIQUE,
    embedding REAL[] NOT NULL
);
-- Section embeddings by an external model (VERIPOST_EMBEDDINGS_*), any size.
CREATE TABLE search_external_vectors (
    vector_id BIGINT NOT NULL REFERENCES search_vectors (id) ON DELETE CASCADE,
    model     TEXT NOT NULL,
    vector    REAL[] NOT NULL,
    PRIMARY KEY (vector_id, model)
);

CREATE TABLE search_sections (
    doc_id     BIGINT NOT NULL REFERENCES search_docs (id) ON DELETE CASCADE,
    ord        INTEGER NOT NULL,
    name       TEXT NOT NULL,
    canonical  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    start_line INTEGER NOT NULL,
    end_line   INTEGER NOT NULL,
    hash       TEXT NOT NULL, -- of the section's bytes
    vector_id  BIGINT NOT NULL REFERENCES search_vectors (id),
    PRIMARY KEY (doc_id, ord)
);
CREATE INDEX search_sections_vector ON search_sections (vector_id);

-- Per package version: the combined embedding of its files and the MinHash
-- of all its lines, with the LSH band keys that find near-duplicates.
CREATE TABLE search_versions (
    id            BIGSERIAL PRIMARY KEY,
    version_id    UUID NOT NULL UNIQUE REFERENCES package_versions (id) ON DELETE CASCADE,
    index_version TEXT NOT NULL,
    signature     BYTEA NOT NULL,
    embedding     REAL[] NOT NULL
);
CREATE TABLE search_version_bands (
    band        BIGINT NOT NULL,
    version_row BIGINT NOT NULL REFERENCES search_versions (id) ON DELETE CASCADE,
    PRIMARY KEY (band, version_row)
);
CREATE INDEX search_version_bands_row ON search_version_bands (version_row);

-- +goose Down
DROP TABLE search_version_bands;
DROP TABLE search_versions;
DROP TABLE search_sections;
DROP TABLE search_external_vectors;
DROP TABLE search_vectors;
DROP TABLE search_lines;
DROP TABLE search_texts;
DROP TABLE search_docs;
