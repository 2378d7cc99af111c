-- +goose Up
-- search_sections was the second largest search table (about 140 bytes a
-- row): the section's hash is the tail of its vector's key
-- (search_vectors.key = index version ':' hash, see vectorKey), the
-- canonical name is almost always the name itself (stored '' then), and
-- the kind becomes the code search_postings uses (1 system, 2 template,
-- 3 calc, 4 user; sectionKinds in internal/store/search_write.go).
CREATE TABLE search_sections_new (
    doc_id     INTEGER NOT NULL REFERENCES search_docs (id) ON DELETE CASCADE,
    ord        INTEGER NOT NULL,
    name       TEXT NOT NULL,
    canonical  TEXT NOT NULL, -- '' when it equals name
    kind       INTEGER NOT NULL,
    start_line INTEGER NOT NULL,
    end_line   INTEGER NOT NULL,
    vector_id  INTEGER NOT NULL REFERENCES search_vectors (id),
    PRIMARY KEY (doc_id, ord)
) WITHOUT ROWID;
INSERT INTO search_sections_new (doc_id, ord, name, canonical, kind, start_line, end_line, vector_id)
SELECT doc_id, ord, name, CASE WHEN canonical = name THEN '' ELSE canonical END,
    CASE kind WHEN 'system' THEN 1 WHEN 'template' THEN 2 WHEN 'calc' THEN 3 WHEN 'user' THEN 4 ELSE 0 END,
    start_line, end_line, vector_id
FROM search_sections;
DROP TABLE search_sections;
ALTER TABLE search_sections_new RENAME TO search_sections;
CREATE INDEX search_sections_vector ON search_sections (vector_id);

-- +goose Down
CREATE TABLE search_sections_old (
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
INSERT INTO search_sections_old (doc_id, ord, name, canonical, kind, start_line, end_line, hash, vector_id)
SELECT s.doc_id, s.ord, s.name, CASE WHEN s.canonical = '' THEN s.name ELSE s.canonical END,
    CASE s.kind WHEN 1 THEN 'system' WHEN 2 THEN 'template' WHEN 3 THEN 'calc' WHEN 4 THEN 'user' ELSE 'none' END,
    s.start_line, s.end_line, substr(v.key, length(v.key) - 63), s.vector_id
FROM search_sections s JOIN search_vectors v ON v.id = s.vector_id;
DROP TABLE search_sections;
ALTER TABLE search_sections_old RENAME TO search_sections;
CREATE INDEX search_sections_vector ON search_sections (vector_id);
