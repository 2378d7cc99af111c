-- +goose Up
-- SQLite only: its latest_files becomes a table without rowid (see the
-- SQLite migration). PostgreSQL keeps every table in a heap beside its
-- primary key index; nothing changes here.
SELECT 1;

-- +goose Down
SELECT 1;
