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
	Subject  string    `json:"subject"` // Request.Subject
	User     string    `json:"user"`    // Request.User
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

// UsageSummary totals the provider calls of a period.
type UsageSummary struct {
	Calls        int64   `json:"calls"`
	Failed       int64   `json:"failed"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	CostUSD      float64 `json:"cost_usd"`
}

// UsageLister lists and totals usage records for the admins' view.
// internal/store implements it.
type UsageLister interface {
	// RecentLLMUsage returns the newest records first.
	RecentLLMUsage(ctx context.Context, limit int) ([]UsageRecord, error)
	// SummarizeLLMUsage totals the records made at or after since.
	SummarizeLLMUsage(ctx context.Context, since time.Time) (UsageSummary, error)
}

// UsageReport is what the admins see of the copilot: the month so far
// (UTC) against the budget, and the latest answers.
type UsageReport struct {
	Enabled  bool          `json:"enabled"`
	Provider string        `json:"provider,omitempty"`
	Model    string        `json:"model,omitempty"`
	Since    time.Time     `json:"since"`
	Month    UsageSummary  `json:"month"`
	Budget   int64         `json:"budget_tokens" doc:"VERIPOST_LLM_MONTHLY_TOKENS; 0: no cap"`
	Left     int64         `json:"left_tokens" doc:"tokens left this month (0 when there is no cap)"`
	Recent   []UsageRecord `json:"recent"`
}

// Report builds the admins' view from the stored records. It works with
// the copilot off (c nil): the records of earlier months stay readable.
func (c *Copilot) Report(ctx context.Context, l UsageLister, recent int) (UsageReport, error) {
	now := time.Now()
	if c != nil {
		now = c.now()
	}
	r := UsageReport{Enabled: c.Enabled(), Since: monthStart(now)}
	if c != nil {
		r.Provider, r.Model, r.Budget = c.opt.Provider, c.opt.Model, c.opt.MonthlyTokens
	}
	var err error
	if r.Month, err = l.SummarizeLLMUsage(ctx, r.Since); err != nil {
		return r, err
	}
	if r.Budget > 0 {
		r.Left = max(0, r.Budget-r.Month.InputTokens-r.Month.OutputTokens)
	}
	if r.Recent, err = l.RecentLLMUsage(ctx, recent); err != nil {
		return r, err
	}
	if r.Recent == nil {
		r.Recent = []UsageRecord{}
	}
	return r, nil
}

// monthStart is the first instant of t's calendar month, in UTC: the
// budget's period.
func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}
