-- +goose Up
-- Section embeddings as plain float32 little-endian blobs next to their key
-- instead of a sqlite-vec vec0 table: nearest neighbours are found by the
-- exact scan in memory (search_vectors.go) and vec0 only stored them, in
-- chunks it pre-allocates 2 MiB at a time. (The module stays registered so
-- that this migration can read and drop the old table.)
ALTER TABLE search_vectors ADD COLUMN embedding BLOB NOT NULL DEFAULT x'';
UPDATE search_vectors SET embedding = COALESCE((SELECT vi.embedding FROM search_vector_index vi WHERE vi.rowid = search_vectors.id), x'');
DROP TRIGGER search_vectors_deleted;
DROP TABLE search_vector_index;

-- +goose Down
CREATE VIRTUAL TABLE search_vector_index USING vec0 (embedding float[512] distance_metric=cosine);
INSERT INTO search_vector_index (rowid, embedding) SELECT id, embedding FROM search_vectors WHERE length(embedding) = 2048;
-- +goose StatementBegin
CREATE TRIGGER search_vectors_deleted AFTER DELETE ON search_vectors BEGIN
    DELETE FROM search_vector_index WHERE rowid = OLD.id;
END;
-- +goose StatementEnd
ALTER TABLE search_vectors DROP COLUMN embedding;
