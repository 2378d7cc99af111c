-- +goose Up
-- What each copilot call was about and who asked, for the admins' view.
ALTER TABLE llm_usage ADD COLUMN subject TEXT NOT NULL DEFAULT '';
ALTER TABLE llm_usage ADD COLUMN username TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE llm_usage DROP COLUMN username;
ALTER TABLE llm_usage DROP COLUMN subject;
