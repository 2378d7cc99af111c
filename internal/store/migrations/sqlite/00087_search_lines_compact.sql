-- +goose Up
-- PostgreSQL only (4-byte ids in search_lines); SQLite stores integers in
-- as few bytes as they need already.
SELECT 1;

-- +goose Down
SELECT 1;
