-- +goose Up
-- PostgreSQL only (autovacuum settings of symbol_names): SQLite updates a
-- row in place.
SELECT 1;

-- +goose Down
SELECT 1;
