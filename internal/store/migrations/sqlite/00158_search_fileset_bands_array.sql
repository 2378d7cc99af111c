-- +goose Up
-- PostgreSQL only (file set bands as a bigint[] with a GIN index): SQLite
-- has no inverted index over arrays and keeps its WITHOUT ROWID rows.
SELECT 1;

-- +goose Down
SELECT 1;
