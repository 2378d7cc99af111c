package llm_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/config"
	"github.com/veripost/veripost/internal/llm"
	"github.com/veripost/veripost/internal/store"
)

// newStore is a real, migrated SQLite store (the PostgreSQL side of the
// same methods is tested in internal/store).
func newStore(t testing.TB) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "v.db"), store.Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

func newCopilot(t testing.TB, f *fake, st llm.Store, mod func(*llm.Options)) *llm.Copilot {
	t.Helper()
	o := llm.Options{
		Provider: f.Kind, BaseURL: f.BaseURL(), Model: "test-model", APIKey: testKey,
		Timeout: 10 * time.Second, IdleTimeout: 5 * time.Second, MaxOutputTokens: 700,
		PriceInput: 3, PriceOutput: 15, Store: st, Log: slog.New(slog.DiscardHandler),
	}
	if mod != nil {
		mod(&o)
	}
	c, err := llm.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// request asks about the TOOL_CHANGE section (TOOLCHG.SRC lines 2-10) with
// COOLANT.LIB beside it: two files, and a source that does not start at
// line 1, so block indexes and line numbers differ.
func request(t testing.TB) llm.Request {
	src := source(t, "TOOLCHG.SRC")
	section := llm.Source{ID: src.ID, File: src.File, FirstLine: 2, Lines: src.Lines[1:10]}
	return llm.Request{
		Kind:     "section",
		Question: "What does TOOL_CHANGE output?",
		Sources:  []llm.Source{section, source(t, "COOLANT.LIB")},
		Notes:    []llm.Note{{Title: "M06", Text: "Tool change miscellaneous code."}},
	}
}

// result is everything a stream delivered.
type result struct {
	texts  []string
	cites  []llm.Citation
	usages []llm.Usage
	done   *llm.Answer
	err    *llm.Error
	closed bool
}

func (r result) text() string { return strings.Join(r.texts, "") }

func drain(t testing.TB, ch <-chan llm.Event) result {
	t.Helper()
	var r result
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				r.closed = true
				return r
			}
			if r.done != nil || r.err != nil {
				t.Fatalf("event %s after the final event", ev.Kind)
			}
			switch ev.Kind {
			case llm.EventText:
				r.texts = append(r.texts, ev.Text)
			case llm.EventCitation:
				if ev.Citation.Offset != len(r.text()) {
					t.Errorf("citation offset %d, but %d bytes of text were streamed before it", ev.Citation.Offset, len(r.text()))
				}
				r.cites = append(r.cites, *ev.Citation)
			case llm.EventUsage:
				r.usages = append(r.usages, *ev.Usage)
			case llm.EventDone:
				r.done = ev.Answer
			case llm.EventError:
				r.err = ev.Err
			default:
				t.Fatalf("unknown event %q", ev.Kind)
			}
		case <-timeout:
			t.Fatal("the stream did not end within 20 s")
		}
	}
}

func codeOf(err error) string {
	if e, ok := apperror.As(err); ok {
		return e.Code
	}
	return ""
}

// usageRows returns the usage records in the order they were made.
func usageRows(t testing.TB, st *store.DB) []llm.UsageRecord {
	t.Helper()
	rows, err := st.RecentLLMUsage(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(rows)
	return rows
}

const wantAnswer = "On a tool change the post stops the spindle with M05, then calls the tool and remembers it as CURRENT_TOOL. Coolant follows COOLANT_TYPE."

// groundedPlay answers wantAnswer in each wire format, citing TOOLCHG.SRC
// line 5 (M05), lines 6-7 (T/M06 and CURRENT_TOOL) and COOLANT.LIB line 2.
func groundedPlay(s *sse) {
	switch s.Kind {
	case llm.ProviderAnthropic:
		s.MessageStart(812)
		s.Ping()
		s.BlockStart(0, false)
		s.TextDelta(0, "On a tool change the post ")
		s.BlockStop(0)
		s.BlockStart(1, true)
		s.Cite(1, 0, 3, 4, nil) // block 3 of a source starting at line 2: line 5
		s.TextDelta(1, "stops the spindle with M05")
		s.BlockStop(1)
		s.BlockStart(2, false)
		s.TextDelta(2, ", then ")
		s.BlockStop(2)
		s.BlockStart(3, true)
		s.Cite(3, 0, 4, 6, nil) // lines 6-7
		s.TextDelta(3, "calls the tool and ")
		s.Ping()
		s.TextDelta(3, "remembers it as CURRENT_TOOL")
		s.BlockStop(3)
		s.BlockStart(4, false)
		s.TextDelta(4, ". Coolant ")
		s.BlockStop(4)
		s.BlockStart(5, true)
		s.Cite(5, 1, 1, 2, nil) // COOLANT.LIB line 2
		s.TextDelta(5, "follows COOLANT_TYPE")
		s.BlockStop(5)
		s.BlockStart(6, false)
		s.TextDelta(6, ".")
		s.BlockStop(6)
		s.MessageEnd("end_turn", 57)
	case llm.ProviderOpenAI:
		s.Chunk(map[string]any{"role": "assistant", "content": ""}, nil)
		s.Content("On a tool change the post stops the spindle with M05 [TOOL")
		s.Content("CHG.SRC:L5], then calls the tool and remembers it as CURRENT_TOOL [TOOLCHG.SRC:L6-")
		s.Content("L7]. Coolant follows COOLANT_TYPE [COOLANT.LIB:L2].")
		s.Finish("stop", 640, 48)
	}
}

var providers = []string{llm.ProviderAnthropic, llm.ProviderOpenAI}

func TestGroundedAnswer(t *testing.T) {
	for _, prov := range providers {
		t.Run(prov, func(t *testing.T) {
			f := newFake(t, prov, groundedPlay)
			st := newStore(t)
			cp := newCopilot(t, f, st, nil)
			req := request(t)
			ch, err := cp.Stream(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			r := drain(t, ch)
			if r.err != nil || r.done == nil {
				t.Fatalf("err %v, done %v", r.err, r.done)
			}
			a := r.done
			if r.text() != wantAnswer || a.Text != wantAnswer {
				t.Fatalf("streamed %q\nanswer   %q\nwant     %q", r.text(), a.Text, wantAnswer)
			}
			type ref struct {
				file       string
				start, end int
				after      string // the statement the citation follows
				names      string // what the cited lines must contain
			}
			want := []ref{
				{"TOOLCHG.SRC", 5, 5, "with M05", "<M:05>"},
				{"TOOLCHG.SRC", 6, 7, "as CURRENT_TOOL", "CURRENT_TOOL"},
				{"COOLANT.LIB", 2, 2, "follows COOLANT_TYPE", "COOLANT_TYPE"},
			}
			if len(a.Citations) != len(want) || !slices.Equal(a.Citations, r.cites) || a.Dropped != 0 {
				t.Fatalf("citations %+v (streamed %+v), dropped %d", a.Citations, r.cites, a.Dropped)
			}
			for i, w := range want {
				c := a.Citations[i]
				if c.File != w.file || c.StartLine != w.start || c.EndLine != w.end || c.SourceID != "file-"+w.file {
					t.Errorf("citation %d: %+v, want %s %d-%d", i, c, w.file, w.start, w.end)
				}
				if c.Offset != strings.Index(a.Text, w.after)+len(w.after) {
					t.Errorf("citation %d stands at %d, not after %q", i, c.Offset, w.after)
				}
				// The cited lines hold what the statement names.
				src := req.Sources[c.Source]
				cited := strings.Join(src.Lines[c.StartLine-src.FirstLine:c.EndLine-src.FirstLine+1], "\n")
				if !strings.Contains(cited, w.names) {
					t.Errorf("citation %d: lines %d-%d of %s do not contain %q:\n%s", i, c.StartLine, c.EndLine, c.File, w.names, cited)
				}
				if prov == llm.ProviderAnthropic && !strings.Contains(c.Quote, w.names) {
					t.Errorf("citation %d: quote %q does not contain %q", i, c.Quote, w.names)
				}
			}
			wantIn, wantOut := int64(812), int64(57)
			if prov == llm.ProviderOpenAI {
				wantIn, wantOut = 640, 48
			}
			wantCost := (float64(wantIn)*3 + float64(wantOut)*15) / 1e6
			if a.Usage.InputTokens != wantIn || a.Usage.OutputTokens != wantOut || a.Usage.Estimated || a.Usage.CostUSD != wantCost {
				t.Fatalf("usage %+v, want %d/%d costing %v", a.Usage, wantIn, wantOut, wantCost)
			}
			if len(r.usages) == 0 || r.usages[len(r.usages)-1].OutputTokens != wantOut {
				t.Fatalf("usage events %+v", r.usages)
			}
			if a.Cached || a.Truncated || a.CacheKey != cp.CacheKey(req) || a.Model != "test-model" || a.Provider != prov {
				t.Fatalf("answer flags %+v", a)
			}
			rows := usageRows(t, st)
			if len(rows) != 1 || rows[0].Outcome != llm.OutcomeOK || rows[0].InputTokens != wantIn || rows[0].Kind != "section" ||
				rows[0].CacheKey != a.CacheKey || rows[0].FirstText <= 0 || rows[0].Duration < rows[0].FirstText {
				t.Fatalf("usage records %+v", rows)
			}
			if _, ok, _ := st.GetLLMAnswer(context.Background(), a.CacheKey); !ok {
				t.Fatal("the answer was not cached")
			}
			if f.Calls.Load() != 1 {
				t.Fatalf("%d provider calls", f.Calls.Load())
			}
		})
	}
}

// TestWireFormat checks what reached the provider: the request layout each
// format needs for grounding.
func TestWireFormat(t *testing.T) {
	req := request(t)
	req.Instructions = "Explain the output in order."
	req.LeftOut = []string{"callers of TOOL_CHANGE (about 900 tokens)"}

	t.Run(llm.ProviderAnthropic, func(t *testing.T) {
		f := newFake(t, llm.ProviderAnthropic, groundedPlay)
		if _, err := newCopilot(t, f, nil, nil).Ask(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		got := f.Anth()
		if got.Model != "test-model" || got.MaxTokens != 700 {
			t.Fatalf("model %q max_tokens %d", got.Model, got.MaxTokens)
		}
		if !strings.Contains(got.System[0].Text, "one block per line") || !strings.Contains(got.System[0].Text, req.Instructions) {
			t.Fatalf("system prompt lacks the citation rule or the instructions:\n%s", got.System[0].Text)
		}
		docs := got.Docs()
		if len(docs) != len(req.Sources) {
			t.Fatalf("%d documents for %d sources", len(docs), len(req.Sources))
		}
		for i, s := range req.Sources {
			if len(docs[i]) != len(s.Lines) {
				t.Fatalf("document %d has %d blocks for %d lines", i, len(docs[i]), len(s.Lines))
			}
			for j, l := range s.Lines {
				if want := "L" + strconv.Itoa(s.FirstLine+j) + ": " + l + "\n"; docs[i][j] != want {
					t.Fatalf("document %d block %d = %q, want %q", i, j, docs[i][j], want)
				}
			}
		}
		if title := got.Messages[0].Content[0].Title; title != "TOOLCHG.SRC lines 2-10" {
			t.Fatalf("document title %q", title)
		}
		tail := got.Messages[0].Content[len(req.Sources)].Text
		for _, want := range []string{"## M06", "Tool change miscellaneous code.", req.LeftOut[0], "Question: " + req.Question} {
			if !strings.Contains(tail, want) {
				t.Fatalf("question block lacks %q:\n%s", want, tail)
			}
		}
	})
	t.Run(llm.ProviderOpenAI, func(t *testing.T) {
		f := newFake(t, llm.ProviderOpenAI, groundedPlay)
		if _, err := newCopilot(t, f, nil, nil).Ask(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		got := f.OAI()
		if got.Model != "test-model" || got.MaxCompletionTokens != 700 {
			t.Fatalf("model %q max_completion_tokens %d", got.Model, got.MaxCompletionTokens)
		}
		sys, user := got.Messages[0].Content, got.Messages[1].Content
		if !strings.Contains(sys, "[FILE:L12-L14]") || !strings.Contains(sys, req.Instructions) {
			t.Fatalf("system prompt lacks the marker rule or the instructions:\n%s", sys)
		}
		for _, want := range []string{
			"<source file=\"TOOLCHG.SRC\" lines=\"2-10\">\nL2: :SECTION=TOOL_CHANGE\n",
			"L5: :T:<N><M:05><EOL>\n", "L8: \n",
			"<source file=\"COOLANT.LIB\" lines=\"1-4\">\n",
			"## M06", req.LeftOut[0], "Question: " + req.Question,
		} {
			if !strings.Contains(user, want) {
				t.Fatalf("user message lacks %q:\n%s", want, user)
			}
		}
	})
}

func TestUnverifiableCitationsDropped(t *testing.T) {
	plays := map[string]func(s *sse){
		llm.ProviderAnthropic: func(s *sse) {
			s.MessageStart(300)
			s.BlockStart(0, true)
			s.Cite(0, 0, 3, 4, &[2]int{7, 8}) // claims line 5 but quotes the G43 line
			s.Cite(0, 7, 0, 1, nil)           // a document that was never sent
			s.Cite(0, 0, 8, 12, nil)          // runs past the last line
			s.Cite(0, 0, 4, 5, nil)           // line 6: holds
			s.TextDelta(0, "It changes the tool")
			s.BlockStop(0)
			s.BlockStart(1, false)
			s.TextDelta(1, ".")
			s.BlockStop(1)
			s.MessageEnd("end_turn", 12)
		},
		llm.ProviderOpenAI: func(s *sse) {
			s.Content("It changes the tool [TOOLCHG.SRC:L99] [NOPE.LIB:L1] [L5] [TOOLCHG.SRC:L6].")
			s.Finish("stop", 300, 12)
		},
	}
	for _, prov := range providers {
		t.Run(prov, func(t *testing.T) {
			f := newFake(t, prov, plays[prov])
			st := newStore(t)
			r := drain(t, must(newCopilot(t, f, st, nil).Stream(context.Background(), request(t))))
			if r.done == nil {
				t.Fatalf("no answer: %v", r.err)
			}
			a := r.done
			if a.Text != "It changes the tool." || a.Dropped != 3 || len(a.Citations) != 1 {
				t.Fatalf("text %q, %d citations %+v, dropped %d; want one citation and 3 dropped", a.Text, len(a.Citations), a.Citations, a.Dropped)
			}
			if c := a.Citations[0]; c.File != "TOOLCHG.SRC" || c.StartLine != 6 || c.EndLine != 6 || c.Offset != len("It changes the tool") {
				t.Fatalf("kept citation %+v", c)
			}
			if rows := usageRows(t, st); len(rows) != 1 || rows[0].DroppedCitations != 3 {
				t.Fatalf("usage records %+v", rows)
			}
		})
	}
}

func must(ch <-chan llm.Event, err error) <-chan llm.Event {
	if err != nil {
		panic(err)
	}
	return ch
}

func TestProviderErrors(t *testing.T) {
	anthErr := func(status int, typ, headerKey, headerVal string) func(s *sse) {
		return func(s *sse) {
			h := map[string]string{"Request-Id": "req_err"}
			if headerKey != "" {
				h[headerKey] = headerVal
			}
			s.Fail(status, h, `{"type":"error","error":{"type":"`+typ+`","message":"test failure"},"request_id":"req_err"}`)
		}
	}
	oaiErr := func(status int, typ, code, headerKey, headerVal string) func(s *sse) {
		return func(s *sse) {
			h := map[string]string{}
			if headerKey != "" {
				h[headerKey] = headerVal
			}
			s.Fail(status, h, `{"error":{"message":"test failure","type":"`+typ+`","param":null,"code":"`+code+`"}}`)
		}
	}
	anthPartial := func(s *sse) {
		s.MessageStart(100)
		s.BlockStart(0, false)
		s.TextDelta(0, "Partial")
	}
	oaiPartial := func(s *sse) {
		s.Chunk(map[string]any{"role": "assistant", "content": ""}, nil)
		s.Content("Partial")
	}
	cases := []struct {
		name, prov string
		play       func(s *sse)
		code       string
		status     int
		midStream  bool // the error arrives as the stream's last event, after "Partial"
		retryAfter time.Duration
		message    string
	}{
		{"429 with Retry-After", llm.ProviderAnthropic, anthErr(429, "rate_limit_error", "Retry-After", "7"),
			apperror.CodeLLMRateLimited, 429, false, 7 * time.Second, "Try again in 7 seconds"},
		{"429 with Retry-After", llm.ProviderOpenAI, oaiErr(429, "requests", "rate_limit_exceeded", "Retry-After", "20"),
			apperror.CodeLLMRateLimited, 429, false, 20 * time.Second, "Try again in 20 seconds"},
		{"429 without Retry-After", llm.ProviderOpenAI, oaiErr(429, "requests", "rate_limit_exceeded", "", ""),
			apperror.CodeLLMRateLimited, 429, false, 0, "Try again in a minute"},
		{"500", llm.ProviderAnthropic, anthErr(500, "api_error", "", ""), apperror.CodeLLMUnavailable, 503, false, 0, "HTTP 500"},
		{"529 overloaded", llm.ProviderAnthropic, anthErr(529, "overloaded_error", "", ""), apperror.CodeLLMUnavailable, 503, false, 0, "HTTP 529"},
		{"503", llm.ProviderOpenAI, oaiErr(503, "server_error", "", "", ""), apperror.CodeLLMUnavailable, 503, false, 0, "HTTP 503"},
		{"401", llm.ProviderAnthropic, anthErr(401, "authentication_error", "", ""), apperror.CodeLLMRejected, 502, false, 0, "VERIPOST_LLM_API_KEY"},
		{"404 model", llm.ProviderOpenAI, oaiErr(404, "invalid_request_error", "model_not_found", "", ""), apperror.CodeLLMRejected, 502, false, 0, "VERIPOST_LLM_MODEL"},
		{"400 too long", llm.ProviderAnthropic, anthErr(400, "invalid_request_error", "", ""), apperror.CodeLLMRejected, 502, false, 0, "VERIPOST_LLM_CONTEXT_TOKENS"},
		{"error event mid-stream", llm.ProviderAnthropic, func(s *sse) {
			anthPartial(s)
			s.Event("error", `{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}`)
		}, apperror.CodeLLMUnavailable, 503, true, 0, "not answering"},
		{"error chunk mid-stream", llm.ProviderOpenAI, func(s *sse) {
			oaiPartial(s)
			s.Raw(`data: {"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}` + "\n\n")
		}, apperror.CodeLLMUnavailable, 503, true, 0, "not answering"},
		{"malformed JSON mid-stream", llm.ProviderAnthropic, func(s *sse) {
			anthPartial(s)
			s.Raw("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"oop\n\n")
			s.WaitGone()
		}, apperror.CodeLLMBadReply, 502, true, 0, "cannot read"},
		{"malformed JSON mid-stream", llm.ProviderOpenAI, func(s *sse) {
			oaiPartial(s)
			s.Raw("data: {\"id\":\"chatcmpl-test\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"oop\n\n")
			s.WaitGone()
		}, apperror.CodeLLMBadReply, 502, true, 0, "cannot read"},
		{"connection cut mid-stream", llm.ProviderAnthropic, func(s *sse) { anthPartial(s); s.Cut() },
			apperror.CodeLLMBadReply, 502, true, 0, "broke off"},
		{"connection cut mid-stream", llm.ProviderOpenAI, func(s *sse) { oaiPartial(s); s.Cut() },
			apperror.CodeLLMBadReply, 502, true, 0, "broke off"},
		{"delta before its block", llm.ProviderAnthropic, func(s *sse) {
			anthPartial(s)
			s.TextDelta(3, "to nowhere")
		}, apperror.CodeLLMBadReply, 502, true, 0, "cannot read"},
		{"ends without message_stop", llm.ProviderAnthropic, func(s *sse) {
			anthPartial(s)
			s.BlockStop(0)
		}, apperror.CodeLLMBadReply, 502, true, 0, "cannot read"},
		{"ends without finish_reason", llm.ProviderOpenAI, func(s *sse) {
			oaiPartial(s)
			s.Raw("data: [DONE]\n\n")
		}, apperror.CodeLLMBadReply, 502, true, 0, "cannot read"},
		{"silent mid-stream", llm.ProviderAnthropic, func(s *sse) { anthPartial(s); s.WaitGone() },
			apperror.CodeLLMTimeout, 504, true, 0, "took too long"},
		{"silent mid-stream", llm.ProviderOpenAI, func(s *sse) { oaiPartial(s); s.WaitGone() },
			apperror.CodeLLMTimeout, 504, true, 0, "took too long"},
		{"no reply at all", llm.ProviderAnthropic, func(s *sse) { s.WaitGone() },
			apperror.CodeLLMTimeout, 504, false, 0, "took too long"},
	}
	for _, c := range cases {
		t.Run(c.prov+"/"+c.name, func(t *testing.T) {
			f := newFake(t, c.prov, c.play)
			st := newStore(t)
			cp := newCopilot(t, f, st, func(o *llm.Options) { o.IdleTimeout = 300 * time.Millisecond })
			req := request(t)
			ch, err := cp.Stream(context.Background(), req)
			var e *llm.Error
			if c.midStream {
				if err != nil {
					t.Fatalf("Stream failed before the stream: %v", err)
				}
				r := drain(t, ch)
				if r.done != nil || r.err == nil {
					t.Fatalf("want an error event, got done=%v err=%v", r.done, r.err)
				}
				if r.text() != "Partial" {
					t.Fatalf("text before the error: %q", r.text())
				}
				e = r.err
			} else {
				var ok bool
				if e, ok = errors.AsType[*llm.Error](err); !ok {
					t.Fatalf("Stream: %v, want an *llm.Error", err)
				}
			}
			if e.Code() != c.code || e.App.Status != c.status || e.RetryAfter != c.retryAfter || !strings.Contains(e.App.Message, c.message) {
				t.Fatalf("error %+v (retry after %s), want %s %d %s containing %q", e.App, e.RetryAfter, c.code, c.status, c.retryAfter, c.message)
			}
			if !strings.Contains(e.App.Message, "offline explanation") {
				t.Fatalf("the message does not say the offline explanation stays: %q", e.App.Message)
			}
			if codeOf(e) != c.code {
				t.Fatalf("apperror.As finds %q", codeOf(e))
			}
			if n := f.Calls.Load(); n != 1 {
				t.Fatalf("%d provider calls; failures must not be retried behind the user's back", n)
			}
			rows := usageRows(t, st)
			if len(rows) != 1 || rows[0].Outcome != c.code {
				t.Fatalf("usage records %+v, want one with outcome %s", rows, c.code)
			}
			if c.midStream && (rows[0].InputTokens == 0 || rows[0].OutputTokens == 0 || !rows[0].Estimated) {
				t.Fatalf("a broken stream must still count what the provider bills: %+v", rows[0])
			}
			if _, ok, _ := st.GetLLMAnswer(context.Background(), cp.CacheKey(req)); ok {
				t.Fatal("a failed answer was cached")
			}
		})
	}
}

func TestProviderDown(t *testing.T) {
	for _, prov := range providers {
		t.Run(prov, func(t *testing.T) {
			f := newFake(t, prov, groundedPlay)
			f.Srv.Close() // nothing listens there any more
			_, err := newCopilot(t, f, nil, nil).Stream(context.Background(), request(t))
			if codeOf(err) != apperror.CodeLLMUnavailable || !strings.Contains(err.Error(), "cannot be reached") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestBudget(t *testing.T) {
	now := time.Now().UTC()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name             string
		lastMonth, month int64
		limit            int64
		refused          bool
		message          string
	}{
		{"used up", 0, 2_000_000, 2_000_000, true, "is used up"},
		{"not enough left for this question", 0, 1_999_500, 2_000_000, true, "are left"},
		{"last month does not count", 5_000_000, 0, 2_000_000, false, ""},
		{"no cap", 0, 9_000_000, 0, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, llm.ProviderAnthropic, groundedPlay)
			st := newStore(t)
			ctx := context.Background()
			for at, n := range map[time.Time]int64{month.Add(-time.Second): c.lastMonth, month: c.month} {
				if n > 0 {
					if err := st.RecordLLMUsage(ctx, llm.UsageRecord{At: at, Provider: "anthropic", Model: "m", Outcome: llm.OutcomeOK,
						Usage: llm.Usage{InputTokens: n / 2, OutputTokens: n - n/2}}); err != nil {
						t.Fatal(err)
					}
				}
			}
			cp := newCopilot(t, f, st, func(o *llm.Options) { o.MonthlyTokens = c.limit })
			_, err := cp.Ask(ctx, request(t))
			if !c.refused {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if codeOf(err) != apperror.CodeLLMBudgetExhausted || !strings.Contains(err.Error(), c.message) {
				t.Fatalf("err = %v", err)
			}
			if n := f.Calls.Load(); n != 0 {
				t.Fatalf("%d requests were sent over budget", n)
			}
			used, limit, err := cp.BudgetStatus(ctx)
			if err != nil || used != c.month || limit != c.limit {
				t.Fatalf("budget status %d/%d %v", used, limit, err)
			}
		})
	}
}

func TestCache(t *testing.T) {
	for _, prov := range providers {
		t.Run(prov, func(t *testing.T) {
			f := newFake(t, prov, groundedPlay)
			st := newStore(t)
			cp := newCopilot(t, f, st, nil)
			ctx := context.Background()
			first, err := cp.Ask(ctx, request(t))
			if err != nil {
				t.Fatal(err)
			}

			// The same lines in another package version (other file IDs).
			again := request(t)
			again.Sources[0].ID, again.Sources[1].ID = "other-version-src", "other-version-lib"
			again.Kind = "question"
			r := drain(t, must(cp.Stream(ctx, again)))
			if f.Calls.Load() != 1 {
				t.Fatalf("%d provider calls; the second answer must come from the cache", f.Calls.Load())
			}
			a := r.done
			if a == nil || !a.Cached || a.Text != first.Text || r.text() != first.Text || a.Usage != (llm.Usage{}) || a.Dropped != 0 {
				t.Fatalf("cached answer %+v (streamed %q)", a, r.text())
			}
			if len(a.Citations) != len(first.Citations) || !slices.Equal(a.Citations, r.cites) {
				t.Fatalf("cached citations %+v, streamed %+v", a.Citations, r.cites)
			}
			for i, c := range a.Citations {
				f0 := first.Citations[i]
				if c.StartLine != f0.StartLine || c.EndLine != f0.EndLine || c.Offset != f0.Offset || c.SourceID != again.Sources[c.Source].ID {
					t.Fatalf("cached citation %d: %+v, first %+v", i, c, f0)
				}
			}
			if rows := usageRows(t, st); len(rows) != 1 {
				t.Fatalf("%d usage records; a cache hit costs nothing", len(rows))
			}

			// A changed line or another question is another answer.
			edited := request(t)
			edited.Sources[0].Lines = slices.Clone(edited.Sources[0].Lines)
			edited.Sources[0].Lines[3] = ":T:<N><M:05><M:09><EOL>"
			other := request(t)
			other.Question = "Where is the tool length offset output?"
			for _, rq := range []llm.Request{edited, other} {
				if _, err := cp.Ask(ctx, rq); err != nil {
					t.Fatal(err)
				}
			}
			if f.Calls.Load() != 3 {
				t.Fatalf("%d provider calls after two different questions, want 3", f.Calls.Load())
			}
		})
	}
}

func TestCancel(t *testing.T) {
	for _, prov := range providers {
		t.Run(prov, func(t *testing.T) {
			gone := make(chan bool, 1)
			f := newFake(t, prov, func(s *sse) {
				if s.Kind == llm.ProviderAnthropic {
					s.MessageStart(400)
					s.BlockStart(0, false)
					s.TextDelta(0, "First words")
				} else {
					s.Content("First words")
				}
				gone <- s.WaitGone()
			})
			st := newStore(t)
			cp := newCopilot(t, f, st, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ch, err := cp.Stream(ctx, request(t))
			if err != nil {
				t.Fatal(err)
			}
			for ev := range ch {
				if ev.Kind == llm.EventText {
					break
				}
			}
			cancel()
			deadline := time.After(5 * time.Second)
		wait:
			for {
				select {
				case ev, ok := <-ch:
					if !ok {
						break wait
					}
					if ev.Kind == llm.EventDone || ev.Kind == llm.EventError {
						t.Fatalf("final %s event after cancel", ev.Kind)
					}
				case <-deadline:
					t.Fatal("the stream did not close after cancel")
				}
			}
			select {
			case ok := <-gone:
				if !ok {
					t.Fatal("the provider connection stayed open after cancel")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the provider never saw the cancel")
			}
			rows := usageRows(t, st)
			if len(rows) != 1 || rows[0].Outcome != llm.OutcomeCanceled || rows[0].OutputTokens == 0 {
				t.Fatalf("usage records %+v", rows)
			}
		})
	}
}

func TestOffAndInvalid(t *testing.T) {
	var off *llm.Copilot
	if off.Enabled() {
		t.Fatal("nil copilot is enabled")
	}
	if _, err := off.Stream(context.Background(), request(t)); codeOf(err) != apperror.CodeLLMDisabled {
		t.Fatalf("nil copilot: %v", err)
	}
	cfg, err := config.LoadFrom(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if cp, err := llm.FromConfig(cfg, nil, nil); cp != nil || err != nil {
		t.Fatalf("no provider configured: %v %v", cp, err)
	}
	cfg, err = config.LoadFrom(map[string]string{"VERIPOST_LLM_PROVIDER": "openai", "VERIPOST_LLM_MODEL": "llama3.1",
		"VERIPOST_LLM_BASE_URL": "http://127.0.0.1:11434/v1/"})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := llm.FromConfig(cfg, nil, nil)
	if err != nil || !cp.Enabled() || cp.Provider() != "openai" || cp.Model() != "llama3.1" || cp.ContextTokens() != cfg.LLMContextLimit {
		t.Fatalf("from config: %+v %v", cp, err)
	}
	if _, err := llm.New(llm.Options{Provider: "openai", Model: "m", BaseURL: "ftp://x"}); err == nil {
		t.Fatal("a non-http base URL was accepted")
	}

	f := newFake(t, llm.ProviderAnthropic, groundedPlay)
	cp = newCopilot(t, f, nil, nil)
	bad := []func(r *llm.Request){
		func(r *llm.Request) { r.Question = "  " },
		func(r *llm.Request) { r.Question = strings.Repeat("x", llm.MaxQuestionBytes+1) },
		func(r *llm.Request) { r.Sources = nil },
		func(r *llm.Request) { r.Sources[0].FirstLine = 0 },
		func(r *llm.Request) { r.Sources[0].Lines = []string{"one\ntwo"} },
		func(r *llm.Request) { r.Sources[1].File = "" },
		func(r *llm.Request) { r.Sources[1].File = "A\nB.LIB" },
		func(r *llm.Request) { r.Sources[1].Lines = nil },
	}
	for i, mod := range bad {
		r := request(t)
		mod(&r)
		if _, err := cp.Stream(context.Background(), r); codeOf(err) != apperror.CodeBadRequest {
			t.Errorf("bad request %d: %v", i, err)
		}
	}
	if f.Calls.Load() != 0 {
		t.Fatal("an invalid request reached the provider")
	}
}

// TestErrorJSON: the error event carries the API's error shape plus the
// wait.
func TestErrorJSON(t *testing.T) {
	f := newFake(t, llm.ProviderAnthropic, func(s *sse) {
		s.Fail(429, map[string]string{"Retry-After": "2.5"}, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`)
	})
	_, err := newCopilot(t, f, nil, nil).Stream(context.Background(), request(t))
	e, ok := errors.AsType[*llm.Error](err)
	if !ok {
		t.Fatal(err)
	}
	b, _ := e.MarshalJSON()
	for _, want := range []string{`"code":"LLM_RATE_LIMITED"`, `"retry_after_seconds":3`, `"message":"The AI provider is limiting`} {
		if !strings.Contains(string(b), want) {
			t.Fatalf("%s lacks %s", b, want)
		}
	}
}

// TestSlowReader: a consumer slower than the idle timeout (a slow browser)
// is not the provider's silence and must not end the answer.
func TestSlowReader(t *testing.T) {
	const n = 200 // more events than the channel holds, so the copilot waits on the reader
	f := newFake(t, llm.ProviderAnthropic, func(s *sse) {
		s.MessageStart(100)
		s.BlockStart(0, false)
		for range n {
			s.TextDelta(0, "x")
		}
		s.BlockStop(0)
		s.MessageEnd("end_turn", n)
	})
	cp := newCopilot(t, f, nil, func(o *llm.Options) { o.IdleTimeout = 150 * time.Millisecond })
	ch, err := cp.Stream(context.Background(), request(t))
	if err != nil {
		t.Fatal(err)
	}
	<-ch
	time.Sleep(500 * time.Millisecond)
	r := drain(t, ch)
	if r.err != nil || r.done == nil || len(r.done.Text) != n {
		t.Fatalf("err %v, answer %+v", r.err, r.done)
	}
}
