-- +goose Up
-- SQLite only (section embeddings leave sqlite-vec for plain blobs);
-- PostgreSQL keeps its float4[] column and optional pgvector index.
SELECT 1;

-- +goose Down
SELECT 1;
