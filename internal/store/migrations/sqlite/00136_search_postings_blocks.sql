-- +goose Up
-- PostgreSQL only (packed posting blocks, internal/store/search_postings.go):
-- SQLite keeps a row per posting, already small WITHOUT ROWID.
SELECT 1;

-- +goose Down
SELECT 1;
