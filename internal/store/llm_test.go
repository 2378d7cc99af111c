package store_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/llm"
	"github.com/veripost/veripost/internal/store"
	"github.com/veripost/veripost/internal/testenv"
)

// openBoth runs fn against a fresh, migrated database of each engine.
func openBoth(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	cases := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "v.db") }},
		{"postgres", func(t *testing.T) string { return testenv.PostgresURL(t) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(ctx, c.url(t), store.Options{PoolSize: 2, Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			fn(t, db)
		})
	}
}

func TestLLMAnswerCache(t *testing.T) {
	openBoth(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, ok, err := db.GetLLMAnswer(ctx, "missing"); ok || err != nil {
			t.Fatalf("missing key: ok=%v err=%v", ok, err)
		}
		a := llm.Answer{
			Text: "It outputs the tool change.", Dropped: 1, Provider: "anthropic", Model: "m1", StopReason: "end_turn",
			Citations: []llm.Citation{{Source: 0, SourceID: "f1", File: "MILL.LIB", StartLine: 3, EndLine: 4, Quote: "L3: x", Offset: 27}},
			Usage:     llm.Usage{InputTokens: 1200, OutputTokens: 80, CostUSD: 0.0048}, CacheKey: "k1", Cached: true,
		}
		if err := db.PutLLMAnswer(ctx, "k1", a); err != nil {
			t.Fatal(err)
		}
		got, ok, err := db.GetLLMAnswer(ctx, "k1")
		if err != nil || !ok {
			t.Fatalf("get: ok=%v err=%v", ok, err)
		}
		want := a
		want.Cached = false // the flag belongs to a serving, not to the stored answer
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
		}
		// Replacing keeps one row; every read counts a hit.
		a.Text = "Replaced."
		if err := db.PutLLMAnswer(ctx, "k1", a); err != nil {
			t.Fatal(err)
		}
		got, _, _ = db.GetLLMAnswer(ctx, "k1")
		if got.Text != "Replaced." {
			t.Fatalf("replaced answer: %q", got.Text)
		}
		var rows, hits int
		if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*), MAX(hits) FROM llm_answers`).Scan(&rows, &hits); err != nil {
			t.Fatal(err)
		}
		if rows != 1 || hits != 2 {
			t.Fatalf("rows=%d hits=%d, want 1 and 2", rows, hits)
		}
	})
}

func TestLLMUsage(t *testing.T) {
	openBoth(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		month := time.Date(2026, time.July, 1, 0, 0, 0, 0, time.UTC)
		recs := []llm.UsageRecord{
			{At: month.Add(-time.Microsecond), Provider: "openai", Model: "m", Outcome: llm.OutcomeOK,
				Usage: llm.Usage{InputTokens: 1000, OutputTokens: 1000}},
			{At: month, Provider: "anthropic", Model: "m", Kind: "section", CacheKey: "k", Outcome: llm.OutcomeOK,
				Subject: "section TOOL_CHANGE of Demo v2", User: "engineer",
				Usage:            llm.Usage{InputTokens: 300, OutputTokens: 40, CostUSD: 0.0015},
				DroppedCitations: 2, Duration: 1500 * time.Millisecond, FirstText: 120 * time.Millisecond},
			{At: month.Add(48 * time.Hour), Provider: "anthropic", Model: "m", Outcome: apperror.CodeLLMBadReply,
				Usage: llm.Usage{InputTokens: 50, OutputTokens: 7, Estimated: true}},
			{At: month.Add(72 * time.Hour), Provider: "anthropic", Model: "m", Outcome: llm.OutcomeCanceled,
				Usage: llm.Usage{InputTokens: 5, OutputTokens: 1, Estimated: true}},
		}
		for _, r := range recs {
			if err := db.RecordLLMUsage(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		n, err := db.LLMTokensSince(ctx, month)
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(300 + 40 + 50 + 7 + 5 + 1); n != want {
			t.Fatalf("tokens since %s = %d, want %d (the record before the month must not count)", month, n, want)
		}
		if n, _ := db.LLMTokensSince(ctx, month.AddDate(0, 1, 0)); n != 0 {
			t.Fatalf("tokens of an empty month = %d", n)
		}

		sum, err := db.SummarizeLLMUsage(ctx, month)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Calls != 3 || sum.Failed != 1 || sum.InputTokens != 355 || sum.OutputTokens != 48 || sum.CostUSD != 0.0015 {
			t.Fatalf("summary %+v", sum)
		}

		recent, err := db.RecentLLMUsage(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(recent) != 2 || !recent[0].At.Equal(recs[3].At) || !reflect.DeepEqual(recent[1], recs[2]) {
			t.Fatalf("recent:\n%+v", recent)
		}
		all, _ := db.RecentLLMUsage(ctx, 10)
		if len(all) != 4 || !reflect.DeepEqual(all[2], recs[1]) {
			t.Fatalf("full record round trip:\n got %+v\nwant %+v", all[2], recs[1])
		}
	})
}
