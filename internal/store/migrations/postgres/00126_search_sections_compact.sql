-- +goose Up
-- search_sections was the second largest search table: the section's hash
-- is the tail of its vector's key (search_vectors.key = index version ':'
-- hash, see vectorKey), the canonical name is almost always the name
-- itself (stored '' then), and the kind becomes the code search_postings
-- uses (1 system, 2 template, 3 calc, 4 user; sectionKinds in
-- internal/store/search_write.go). Document and vector ids take 4 bytes,
-- as in search_postings (00110). The type changes rewrite the table, so
-- the dropped column's bytes go at once.
ALTER TABLE search_sections
    DROP COLUMN hash,
    ALTER COLUMN doc_id TYPE INTEGER,
    ALTER COLUMN vector_id TYPE INTEGER,
    ALTER COLUMN canonical TYPE TEXT USING CASE WHEN canonical = name THEN '' ELSE canonical END,
    ALTER COLUMN kind TYPE SMALLINT USING CASE kind WHEN 'system' THEN 1 WHEN 'template' THEN 2 WHEN 'calc' THEN 3 WHEN 'user' THEN 4 ELSE 0 END;

-- +goose Down
ALTER TABLE search_sections
    ADD COLUMN hash TEXT,
    ALTER COLUMN doc_id TYPE BIGINT,
    ALTER COLUMN vector_id TYPE BIGINT,
    ALTER COLUMN canonical TYPE TEXT USING CASE WHEN canonical = '' THEN name ELSE canonical END,
    ALTER COLUMN kind TYPE TEXT USING CASE kind WHEN 1 THEN 'system' WHEN 2 THEN 'template' WHEN 3 THEN 'calc' WHEN 4 THEN 'user' ELSE 'none' END;
UPDATE search_sections s SET hash = right(v.key, 64) FROM search_vectors v WHERE v.id = s.vector_id;
ALTER TABLE search_sections ALTER COLUMN hash SET NOT NULL;
