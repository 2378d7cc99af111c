package llm

import (
	"context"
	"time"
)

// Store keeps what the copilot must remember between questions: cached
// answers, one usage record per provider call, and the month's token count
// for the budget. internal/store implements it on SQLite and PostgreSQL.
type Store interface {
	// GetLLMAnswer returns the answer cached under key, if any (and counts
	// the hit).
	GetLLMAnswer(ctx context.Context, key string) (Answer, bool, error)
	// PutLLMAnswer caches a complete answer under key (replacing any).
	PutLLMAnswer(ctx context.Context, key string, a Answer) error
	// RecordLLMUsage stores the usage of one provider call.
	RecordLLMUsage(ctx context.Context, u UsageRecord) error
	// LLMTokensSince sums input and output tokens of the calls made at or
	// after since.
	LLMTokensSince(ctx context.Context, since time.Time) (int64, error)
}

// Usage is what one answer cost.
type Usage struct {
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
	// CostUSD is computed from the configured prices; 0 when they are not
	// set.
	CostUSD float64 `json:"cost_usd"`
	// Estimated is true when the provider did not report the counts (a
	// cancelled or broken stream, a server that sends no usage) and they
	// were estimated with EstimateTokens.
	Estimated bool `json:"estimated,omitempty"`
}

// Outcome values of a UsageRecord besides the apperror codes of failures.
const (
	OutcomeOK       = "ok"
	OutcomeCanceled = "canceled"
)

// UsageRecord is one provider call, as stored for the admins' view and the
// monthly budget. Cache hits make no call and no record.
type UsageRecord struct {
	At       time.Time `json:"at"`
	Provider string    `json:"provider"`
	Model    string    `json:"model"`
	Kind     string    `json:"kind"`
	CacheKey string    `json:"cache_key"`
	Usage
	// Outcome is OutcomeOK, OutcomeCanceled or the apperror code of the
	// failure (LLM_RATE_LIMITED, LLM_TIMEOUT …).
	Outcome          string `json:"outcome"`
	DroppedCitations int    `json:"dropped_citations"`
	// Duration is from sending the request to the end of the stream;
	// FirstText from sending to the first text (0 when none came).
	Duration  time.Duration `json:"duration"`
	FirstText time.Duration `json:"first_text"`
}

// monthStart is the first instant of t's calendar month, in UTC: the
// budget's period.
func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}
