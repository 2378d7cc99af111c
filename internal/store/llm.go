package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/veripost/veripost/internal/llm"
)

var _ llm.Store = (*DB)(nil)

// GetLLMAnswer implements llm.Store: the cached answer under key, counting
// the hit in the same statement.
func (db *DB) GetLLMAnswer(ctx context.Context, key string) (llm.Answer, bool, error) {
	var raw string
	err := db.SQL.QueryRowContext(ctx, `UPDATE llm_answers SET hits = hits + 1, last_hit_at = $2
		WHERE cache_key = $1 RETURNING answer`, key, now()).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return llm.Answer{}, false, nil
	}
	if err != nil {
		return llm.Answer{}, false, fmt.Errorf("reading cached LLM answer: %w", err)
	}
	var a llm.Answer
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		return llm.Answer{}, false, fmt.Errorf("cached LLM answer %s is unreadable: %w", key, err)
	}
	return a, true, nil
}

// PutLLMAnswer implements llm.Store.
func (db *DB) PutLLMAnswer(ctx context.Context, key string, a llm.Answer) error {
	a.Cached = false
	raw, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = db.SQL.ExecContext(ctx, `INSERT INTO llm_answers (cache_key, provider, model, answer, created_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (cache_key) DO UPDATE SET provider = excluded.provider, model = excluded.model,
			answer = excluded.answer, created_at = excluded.created_at`,
		key, a.Provider, a.Model, string(raw), now())
	if err != nil {
		return fmt.Errorf("caching LLM answer: %w", err)
	}
	return nil
}

// RecordLLMUsage implements llm.Store.
func (db *DB) RecordLLMUsage(ctx context.Context, u llm.UsageRecord) error {
	at := u.At
	if at.IsZero() {
		at = now()
	}
	_, err := db.SQL.ExecContext(ctx, `INSERT INTO llm_usage (at, provider, model, kind, cache_key,
			input_tokens, output_tokens, cost_usd, estimated, outcome, dropped_citations, duration_ms, first_text_ms,
			subject, username)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		at.UTC().Truncate(time.Microsecond), u.Provider, u.Model, u.Kind, u.CacheKey,
		u.InputTokens, u.OutputTokens, u.CostUSD, u.Estimated, u.Outcome, u.DroppedCitations,
		u.Duration.Milliseconds(), u.FirstText.Milliseconds(), clip(u.Subject, 300), clip(u.User, 200))
	if err != nil {
		return fmt.Errorf("recording LLM usage: %w", err)
	}
	return nil
}

// LLMTokensSince implements llm.Store.
func (db *DB) LLMTokensSince(ctx context.Context, since time.Time) (int64, error) {
	var n int64
	err := db.SQL.QueryRowContext(ctx, `SELECT CAST(COALESCE(SUM(input_tokens + output_tokens), 0) AS BIGINT)
		FROM llm_usage WHERE at >= $1`, since.UTC()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("summing LLM tokens: %w", err)
	}
	return n, nil
}

// RecentLLMUsage returns the newest usage records first, for the admins'
// view.
func (db *DB) RecentLLMUsage(ctx context.Context, limit int) ([]llm.UsageRecord, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT at, provider, model, kind, cache_key, input_tokens, output_tokens,
			cost_usd, estimated, outcome, dropped_citations, duration_ms, first_text_ms, subject, username
		FROM llm_usage ORDER BY at DESC, id DESC LIMIT $1`, max(limit, 1))
	if err != nil {
		return nil, fmt.Errorf("listing LLM usage: %w", err)
	}
	defer rows.Close()
	var out []llm.UsageRecord
	for rows.Next() {
		var u llm.UsageRecord
		var durMS, firstMS int64
		if err := rows.Scan(&u.At, &u.Provider, &u.Model, &u.Kind, &u.CacheKey, &u.InputTokens, &u.OutputTokens,
			&u.CostUSD, &u.Estimated, &u.Outcome, &u.DroppedCitations, &durMS, &firstMS, &u.Subject, &u.User); err != nil {
			return nil, err
		}
		u.At = u.At.UTC()
		u.Duration, u.FirstText = time.Duration(durMS)*time.Millisecond, time.Duration(firstMS)*time.Millisecond
		out = append(out, u)
	}
	return out, rows.Err()
}

// LLMUsageSummary totals the provider calls made at or after a time.
type LLMUsageSummary = llm.UsageSummary

var _ llm.UsageLister = (*DB)(nil)

// clip bounds a label stored with a usage record.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// SummarizeLLMUsage totals the usage since a time (the admins' monthly
// figure).
func (db *DB) SummarizeLLMUsage(ctx context.Context, since time.Time) (LLMUsageSummary, error) {
	var s LLMUsageSummary
	err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*),
			CAST(COALESCE(SUM(CASE WHEN outcome NOT IN ($2, $3) THEN 1 ELSE 0 END), 0) AS BIGINT),
			CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT), CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT),
			CAST(COALESCE(SUM(cost_usd), 0) AS DOUBLE PRECISION)
		FROM llm_usage WHERE at >= $1`, since.UTC(), llm.OutcomeOK, llm.OutcomeCanceled).
		Scan(&s.Calls, &s.Failed, &s.InputTokens, &s.OutputTokens, &s.CostUSD)
	if err != nil {
		return s, fmt.Errorf("summarizing LLM usage: %w", err)
	}
	return s, nil
}
