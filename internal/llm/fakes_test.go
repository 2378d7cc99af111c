package llm_test

// Local HTTP servers that speak the two wire formats the copilot uses: the
// Anthropic Messages API (streaming SSE with named events) and the OpenAI
// chat completions API (data-only SSE ending with [DONE]). They decode the
// request strictly — an unknown field, a missing header or a wrong shape is
// answered with the provider's own 400 error — so the tests fail if what the
// SDKs send drifts from what the providers accept. No real provider is
// reachable from here.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/llm"
)

const testKey = "test-key-123"

// anthWire is the Messages request as the copilot must send it.
type anthWire struct {
	Model     string `json:"model"`
	MaxTokens int    `json:"max_tokens"`
	Stream    bool   `json:"stream"`
	System    []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"system"`
	Messages []struct {
		Role    string          `json:"role"`
		Content []anthWireBlock `json:"content"`
	} `json:"messages"`
}

type anthWireBlock struct {
	Type   string `json:"type"`
	Text   string `json:"text,omitempty"`
	Title  string `json:"title,omitempty"`
	Source *struct {
		Type    string `json:"type"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	} `json:"source,omitempty"`
	Citations *struct {
		Enabled bool `json:"enabled"`
	} `json:"citations,omitempty"`
}

// docs returns the documents of the request, each as its block texts.
func (a *anthWire) docs() [][]string {
	var out [][]string
	for _, b := range a.Messages[0].Content {
		if b.Type != "document" {
			continue
		}
		var blocks []string
		for _, c := range b.Source.Content {
			blocks = append(blocks, c.Text)
		}
		out = append(out, blocks)
	}
	return out
}

func (a *anthWire) check() error {
	switch {
	case a.Model == "" || a.MaxTokens < 1 || !a.Stream:
		return fmt.Errorf("model %q, max_tokens %d, stream %v", a.Model, a.MaxTokens, a.Stream)
	case len(a.System) != 1 || a.System[0].Type != "text" || a.System[0].Text == "":
		return fmt.Errorf("system: %+v", a.System)
	case len(a.Messages) != 1 || a.Messages[0].Role != "user" || len(a.Messages[0].Content) < 2:
		return fmt.Errorf("messages: want one user message with documents and a question")
	}
	content := a.Messages[0].Content
	for i, b := range content[:len(content)-1] {
		if b.Type != "document" || b.Source == nil || b.Source.Type != "content" || b.Citations == nil || !b.Citations.Enabled || b.Title == "" {
			return fmt.Errorf("content[%d] is not a titled custom-content document with citations enabled", i)
		}
		for j, c := range b.Source.Content {
			// The API refuses empty text blocks.
			if c.Type != "text" || strings.TrimSpace(c.Text) == "" {
				return fmt.Errorf("document %d block %d: %+v", i, j, c)
			}
		}
	}
	if last := content[len(content)-1]; last.Type != "text" || !strings.Contains(last.Text, "Question: ") {
		return fmt.Errorf("the last block is not the question: %+v", last)
	}
	return nil
}

// oaiWire is the chat completions request as the copilot must send it.
type oaiWire struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	Stream        bool `json:"stream"`
	StreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxCompletionTokens int `json:"max_completion_tokens"`
}

func (o *oaiWire) check() error {
	switch {
	case o.Model == "" || !o.Stream || !o.StreamOptions.IncludeUsage || o.MaxCompletionTokens < 1:
		return fmt.Errorf("model %q stream %v include_usage %v max_completion_tokens %d", o.Model, o.Stream, o.StreamOptions.IncludeUsage, o.MaxCompletionTokens)
	case len(o.Messages) != 2 || o.Messages[0].Role != "system" || o.Messages[1].Role != "user":
		return fmt.Errorf("messages: want system then user")
	case !strings.Contains(o.Messages[1].Content, "<source file=") || !strings.Contains(o.Messages[1].Content, "Question: "):
		return fmt.Errorf("the user message has no sources or no question")
	}
	return nil
}

// fake is one local provider. play writes the answer of each request.
type fake struct {
	t     testing.TB
	srv   *httptest.Server
	kind  string
	calls atomic.Int32
	mu    sync.Mutex
	anth  *anthWire
	oai   *oaiWire
	play  func(s *sse)
}

func newFake(t testing.TB, kind string, play func(s *sse)) *fake {
	f := &fake{t: t, kind: kind, play: play}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// baseURL is what VERIPOST_LLM_BASE_URL would be.
func (f *fake) baseURL() string {
	if f.kind == llm.ProviderOpenAI {
		return f.srv.URL + "/v1/"
	}
	return f.srv.URL
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	s := &sse{w: w, r: r, kind: f.kind}
	body := new(bytes.Buffer)
	_, _ = body.ReadFrom(r.Body)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	var bad error
	switch f.kind {
	case llm.ProviderAnthropic:
		var req anthWire
		switch {
		case r.Method != http.MethodPost || r.URL.Path != "/v1/messages":
			bad = fmt.Errorf("%s %s", r.Method, r.URL.Path)
		case r.Header.Get("Authorization") != "Bearer "+testKey:
			bad = fmt.Errorf("authorization header %q", r.Header.Get("Authorization"))
		case r.Header.Get("Anthropic-Version") == "":
			bad = fmt.Errorf("no anthropic-version header")
		case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json"):
			bad = fmt.Errorf("content type %q", r.Header.Get("Content-Type"))
		default:
			if bad = dec.Decode(&req); bad == nil {
				bad = req.check()
			}
		}
		f.mu.Lock()
		f.anth, s.anth = &req, &req
		f.mu.Unlock()
		if bad != nil {
			f.t.Errorf("fake Anthropic refused the request: %v", bad)
			s.fail(http.StatusBadRequest, nil, `{"type":"error","error":{"type":"invalid_request_error","message":`+quote(bad.Error())+`}}`)
			return
		}
	case llm.ProviderOpenAI:
		var req oaiWire
		switch {
		case r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions":
			bad = fmt.Errorf("%s %s", r.Method, r.URL.Path)
		case r.Header.Get("Authorization") != "Bearer "+testKey:
			bad = fmt.Errorf("authorization header %q", r.Header.Get("Authorization"))
		default:
			if bad = dec.Decode(&req); bad == nil {
				bad = req.check()
			}
		}
		f.mu.Lock()
		f.oai, s.oai = &req, &req
		f.mu.Unlock()
		if bad != nil {
			f.t.Errorf("fake OpenAI refused the request: %v", bad)
			s.fail(http.StatusBadRequest, nil, `{"error":{"message":`+quote(bad.Error())+`,"type":"invalid_request_error","param":null,"code":null}}`)
			return
		}
	}
	f.play(s)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// sse writes one streamed answer.
type sse struct {
	w       http.ResponseWriter
	r       *http.Request
	kind    string
	anth    *anthWire
	oai     *oaiWire
	started bool
	// sent, when set, receives the time just before each text delta is
	// written (latency measurement).
	sent chan<- time.Time
}

func (s *sse) start() {
	if s.started {
		return
	}
	s.started = true
	s.w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	s.w.Header().Set("Cache-Control", "no-cache")
	s.w.Header().Set("Request-Id", "req_test")
	s.w.WriteHeader(http.StatusOK)
}

// raw writes text as it is and flushes it to the client.
func (s *sse) raw(text string) {
	s.start()
	_, _ = s.w.Write([]byte(text))
	s.w.(http.Flusher).Flush()
}

// event writes a named Anthropic event.
func (s *sse) event(name string, data any) {
	s.raw("event: " + name + "\ndata: " + jsonOf(data) + "\n\n")
}

// data writes an OpenAI data-only event.
func (s *sse) data(data any) {
	s.raw("data: " + jsonOf(data) + "\n\n")
}

func jsonOf(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// fail answers with an HTTP error before any event.
func (s *sse) fail(status int, headers map[string]string, body string) {
	for k, v := range headers {
		s.w.Header().Set(k, v)
	}
	s.w.Header().Set("Content-Type", "application/json")
	s.w.WriteHeader(status)
	_, _ = s.w.Write([]byte(body))
}

// cut drops the connection in the middle of the chunked body.
func (s *sse) cut() { panic(http.ErrAbortHandler) }

// waitGone blocks until the client has gone (or 10 s, so a broken test
// cannot hang), and reports whether it went.
func (s *sse) waitGone() bool {
	select {
	case <-s.r.Context().Done():
		return true
	case <-time.After(10 * time.Second):
		return false
	}
}

// --- Anthropic events ---

func (s *sse) messageStart(inputTokens int) {
	s.event("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": "msg_test", "type": "message", "role": "assistant", "content": []any{}, "model": s.anth.Model,
		"stop_reason": nil, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": inputTokens, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1},
	}})
}

func (s *sse) ping() { s.event("ping", `{"type": "ping"}`) }

func (s *sse) blockStart(index int, cited bool) {
	cb := map[string]any{"type": "text", "text": ""}
	if cited {
		cb["citations"] = []any{}
	}
	s.event("content_block_start", map[string]any{"type": "content_block_start", "index": index, "content_block": cb})
}

func (s *sse) textDelta(index int, text string) {
	if s.sent != nil {
		s.sent <- time.Now()
	}
	s.event("content_block_delta", map[string]any{"type": "content_block_delta", "index": index,
		"delta": map[string]any{"type": "text_delta", "text": text}})
}

// cite sends a citations_delta for blocks [start, end) of document doc,
// with cited_text built from the blocks the server received — as the API
// does. quoteFrom, when not nil, overrides the block range the text is
// taken from (a citation whose text is not on its lines).
func (s *sse) cite(index, doc, start, end int, quoteFrom *[2]int) {
	docs := s.anth.docs()
	qs, qe := start, end
	if quoteFrom != nil {
		qs, qe = quoteFrom[0], quoteFrom[1]
	}
	text, title := "", ""
	if doc < len(docs) {
		title = s.anth.Messages[0].Content[doc].Title
		for i := qs; i < qe && i < len(docs[doc]); i++ {
			text += docs[doc][i]
		}
	}
	s.event("content_block_delta", map[string]any{"type": "content_block_delta", "index": index,
		"delta": map[string]any{"type": "citations_delta", "citation": map[string]any{
			"type": "content_block_location", "cited_text": text, "document_index": doc, "document_title": title,
			"start_block_index": start, "end_block_index": end,
		}}})
}

func (s *sse) blockStop(index int) {
	s.event("content_block_stop", map[string]any{"type": "content_block_stop", "index": index})
}

func (s *sse) messageEnd(stop string, outputTokens int) {
	s.event("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": outputTokens}})
	s.event("message_stop", `{"type":"message_stop"}`)
}

// --- OpenAI chunks ---

func (s *sse) chunk(delta map[string]any, finish any) {
	s.data(map[string]any{"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1767225600,
		"model": s.oai.Model, "system_fingerprint": "fp_test",
		"choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}},
		"usage":   nil})
}

func (s *sse) content(text string) {
	if s.sent != nil {
		s.sent <- time.Now()
	}
	s.chunk(map[string]any{"content": text}, nil)
}

func (s *sse) finish(reason string, prompt, completion int) {
	s.chunk(map[string]any{}, reason)
	s.data(map[string]any{"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1767225600,
		"model": s.oai.Model, "choices": []any{},
		"usage": map[string]any{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}})
	s.raw("data: [DONE]\n\n")
}

// --- fixtures ---

// source reads a testdata file as one Source.
func source(t testing.TB, name string) llm.Source {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	return llm.Source{ID: "file-" + name, File: name, FirstLine: 1, Lines: lines}
}
