-- +goose Up
-- Answers of the LLM copilot, keyed by llm.CacheKey (content hashes of the
-- sources, question, model, prompt version); answer is the llm.Answer JSON.
CREATE TABLE llm_answers (
    cache_key   TEXT PRIMARY KEY,
    provider    TEXT NOT NULL,
    model       TEXT NOT NULL,
    answer      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    hits        INTEGER NOT NULL DEFAULT 0,
    last_hit_at TIMESTAMP
);

-- One row per provider call, for the admins' view and the monthly budget.
CREATE TABLE llm_usage (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    at                TIMESTAMP NOT NULL,
    provider          TEXT NOT NULL,
    model             TEXT NOT NULL,
    kind              TEXT NOT NULL DEFAULT '',
    cache_key         TEXT NOT NULL DEFAULT '',
    input_tokens      INTEGER NOT NULL,
    output_tokens     INTEGER NOT NULL,
    cost_usd          REAL NOT NULL DEFAULT 0,
    estimated         BOOLEAN NOT NULL DEFAULT FALSE,
    outcome           TEXT NOT NULL,
    dropped_citations INTEGER NOT NULL DEFAULT 0,
    duration_ms       INTEGER NOT NULL DEFAULT 0,
    first_text_ms     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX llm_usage_at ON llm_usage (at);

-- +goose Down
DROP TABLE llm_usage;
DROP TABLE llm_answers;
