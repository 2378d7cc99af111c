// Package llmtest runs local HTTP servers that speak the two wire formats
// the copilot uses: the Anthropic Messages API (streaming SSE with named
// events) and the OpenAI chat completions API (data-only SSE ending with
// [DONE]). They decode the request strictly — an unknown field, a missing
// header or a wrong shape is answered with the provider's own 400 error and
// fails the test — so tests fail if what the SDKs send drifts from what the
// providers accept. No real provider is reachable from the test machines;
// every package that streams answers (internal/llm, the API, the web UI,
// the command line) tests against these.
package llmtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Provider names, as in VERIPOST_LLM_PROVIDER (the same values as
// llm.ProviderAnthropic and llm.ProviderOpenAI; llm's own tests import this
// package, so it cannot import llm).
const (
	Anthropic = "anthropic"
	OpenAI    = "openai"
)

// Providers lists both wire formats.
var Providers = []string{Anthropic, OpenAI}

// Key is the API key the fakes require (VERIPOST_LLM_API_KEY).
const Key = "test-key-123"

// AnthWire is the Messages request as the copilot must send it.
type AnthWire struct {
	Model     string `json:"model"`
	MaxTokens int    `json:"max_tokens"`
	Stream    bool   `json:"stream"`
	System    []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"system"`
	Messages []struct {
		Role    string          `json:"role"`
		Content []AnthWireBlock `json:"content"`
	} `json:"messages"`
}

// AnthWireBlock is one content block of the user message.
type AnthWireBlock struct {
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

// Docs returns the documents of the request, each as its block texts.
func (a *AnthWire) Docs() [][]string {
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

// Question returns the last text block: notes, what was left out, the
// question.
func (a *AnthWire) Question() string {
	c := a.Messages[0].Content
	return c[len(c)-1].Text
}

func (a *AnthWire) check() error {
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

// OAIWire is the chat completions request as the copilot must send it.
type OAIWire struct {
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

func (o *OAIWire) check() error {
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

// Fake is one local provider. Play writes the answer of each request.
type Fake struct {
	t     testing.TB
	Srv   *httptest.Server
	Kind  string
	Calls atomic.Int32
	mu    sync.Mutex
	anth  *AnthWire
	oai   *OAIWire
	play  func(s *SSE)
}

// New starts a fake provider of kind (Anthropic or OpenAI); it stops when
// the test ends.
func New(t testing.TB, kind string, play func(s *SSE)) *Fake {
	f := &Fake{t: t, Kind: kind, play: play}
	f.Srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Srv.Close)
	return f
}

// SetPlay replaces what the fake answers from now on.
func (f *Fake) SetPlay(play func(s *SSE)) {
	f.mu.Lock()
	f.play = play
	f.mu.Unlock()
}

// BaseURL is what VERIPOST_LLM_BASE_URL would be.
func (f *Fake) BaseURL() string {
	if f.Kind == OpenAI {
		return f.Srv.URL + "/v1/"
	}
	return f.Srv.URL
}

// Env is the VERIPOST_LLM_* configuration that points the copilot at the
// fake.
func (f *Fake) Env() map[string]string {
	return map[string]string{
		"VERIPOST_LLM_PROVIDER": f.Kind, "VERIPOST_LLM_BASE_URL": f.BaseURL(),
		"VERIPOST_LLM_MODEL": "test-model", "VERIPOST_LLM_API_KEY": Key,
	}
}

// Anth returns the last Anthropic request received.
func (f *Fake) Anth() *AnthWire {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.anth
}

// OAI returns the last OpenAI request received.
func (f *Fake) OAI() *OAIWire {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.oai
}

// Prompt returns the text of the last request (system, documents or
// inline sources, notes and question), whatever its format.
func (f *Fake) Prompt() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	switch {
	case f.anth != nil:
		for _, s := range f.anth.System {
			b.WriteString(s.Text + "\n")
		}
		for _, m := range f.anth.Messages {
			for _, c := range m.Content {
				if c.Title != "" {
					b.WriteString("<document " + c.Title + ">\n")
				}
				if c.Source != nil {
					for _, x := range c.Source.Content {
						b.WriteString(x.Text)
					}
				}
				b.WriteString(c.Text + "\n")
			}
		}
	case f.oai != nil:
		for _, m := range f.oai.Messages {
			b.WriteString(m.Content + "\n")
		}
	}
	return b.String()
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.Calls.Add(1)
	s := &SSE{w: w, r: r, Kind: f.Kind}
	body := new(bytes.Buffer)
	_, _ = body.ReadFrom(r.Body)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	var bad error
	switch f.Kind {
	case Anthropic:
		var req AnthWire
		switch {
		case r.Method != http.MethodPost || r.URL.Path != "/v1/messages":
			bad = fmt.Errorf("%s %s", r.Method, r.URL.Path)
		case r.Header.Get("Authorization") != "Bearer "+Key:
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
		f.anth, s.Anth = &req, &req
		f.mu.Unlock()
		if bad != nil {
			f.t.Errorf("fake Anthropic refused the request: %v", bad)
			s.Fail(http.StatusBadRequest, nil, `{"type":"error","error":{"type":"invalid_request_error","message":`+quote(bad.Error())+`}}`)
			return
		}
	case OpenAI:
		var req OAIWire
		switch {
		case r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions":
			bad = fmt.Errorf("%s %s", r.Method, r.URL.Path)
		case r.Header.Get("Authorization") != "Bearer "+Key:
			bad = fmt.Errorf("authorization header %q", r.Header.Get("Authorization"))
		default:
			if bad = dec.Decode(&req); bad == nil {
				bad = req.check()
			}
		}
		f.mu.Lock()
		f.oai, s.OAI = &req, &req
		f.mu.Unlock()
		if bad != nil {
			f.t.Errorf("fake OpenAI refused the request: %v", bad)
			s.Fail(http.StatusBadRequest, nil, `{"error":{"message":`+quote(bad.Error())+`,"type":"invalid_request_error","param":null,"code":null}}`)
			return
		}
	}
	f.mu.Lock()
	play := f.play
	f.mu.Unlock()
	play(s)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// SSE writes one streamed answer.
type SSE struct {
	w       http.ResponseWriter
	r       *http.Request
	Kind    string
	Anth    *AnthWire
	OAI     *OAIWire
	started bool
	// Sent, when set, receives the time just before each text delta is
	// written (latency measurement).
	Sent chan<- time.Time
}

// Request is the provider request being answered.
func (s *SSE) Request() *http.Request { return s.r }

func (s *SSE) start() {
	if s.started {
		return
	}
	s.started = true
	s.w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	s.w.Header().Set("Cache-Control", "no-cache")
	s.w.Header().Set("Request-Id", "req_test")
	s.w.WriteHeader(http.StatusOK)
}

// Raw writes text as it is and flushes it to the client.
func (s *SSE) Raw(text string) {
	s.start()
	_, _ = s.w.Write([]byte(text))
	s.w.(http.Flusher).Flush()
}

// Event writes a named Anthropic event.
func (s *SSE) Event(name string, data any) {
	s.Raw("event: " + name + "\ndata: " + jsonOf(data) + "\n\n")
}

// Data writes an OpenAI data-only event.
func (s *SSE) Data(data any) {
	s.Raw("data: " + jsonOf(data) + "\n\n")
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

// Fail answers with an HTTP error before any event.
func (s *SSE) Fail(status int, headers map[string]string, body string) {
	for k, v := range headers {
		s.w.Header().Set(k, v)
	}
	s.w.Header().Set("Content-Type", "application/json")
	s.w.WriteHeader(status)
	_, _ = s.w.Write([]byte(body))
}

// RateLimited answers HTTP 429 in the fake's format, asking to wait
// retryAfter seconds.
func (s *SSE) RateLimited(retryAfter int) {
	h := map[string]string{"Retry-After": strconv.Itoa(retryAfter)}
	if s.Kind == Anthropic {
		s.Fail(http.StatusTooManyRequests, h, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`)
		return
	}
	s.Fail(http.StatusTooManyRequests, h, `{"error":{"message":"slow down","type":"requests","param":null,"code":"rate_limit_exceeded"}}`)
}

// Cut drops the connection in the middle of the chunked body.
func (s *SSE) Cut() { panic(http.ErrAbortHandler) }

// WaitGone blocks until the client has gone (or 10 s, so a broken test
// cannot hang), and reports whether it went.
func (s *SSE) WaitGone() bool {
	select {
	case <-s.r.Context().Done():
		return true
	case <-time.After(10 * time.Second):
		return false
	}
}

// --- Anthropic events ---

// MessageStart opens an Anthropic answer.
func (s *SSE) MessageStart(inputTokens int) {
	s.Event("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": "msg_test", "type": "message", "role": "assistant", "content": []any{}, "model": s.Anth.Model,
		"stop_reason": nil, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": inputTokens, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1},
	}})
}

// Ping sends Anthropic's keep-alive event.
func (s *SSE) Ping() { s.Event("ping", `{"type": "ping"}`) }

// BlockStart opens text block index (cited: a block that carries
// citations).
func (s *SSE) BlockStart(index int, cited bool) {
	cb := map[string]any{"type": "text", "text": ""}
	if cited {
		cb["citations"] = []any{}
	}
	s.Event("content_block_start", map[string]any{"type": "content_block_start", "index": index, "content_block": cb})
}

// TextDelta sends a piece of text of block index.
func (s *SSE) TextDelta(index int, text string) {
	if s.Sent != nil {
		s.Sent <- time.Now()
	}
	s.Event("content_block_delta", map[string]any{"type": "content_block_delta", "index": index,
		"delta": map[string]any{"type": "text_delta", "text": text}})
}

// Cite sends a citations_delta for blocks [start, end) of document doc,
// with cited_text built from the blocks the server received — as the API
// does. quoteFrom, when not nil, overrides the block range the text is
// taken from (a citation whose text is not on its lines).
func (s *SSE) Cite(index, doc, start, end int, quoteFrom *[2]int) {
	docs := s.Anth.Docs()
	qs, qe := start, end
	if quoteFrom != nil {
		qs, qe = quoteFrom[0], quoteFrom[1]
	}
	text, title := "", ""
	if doc < len(docs) {
		title = s.Anth.Messages[0].Content[doc].Title
		for i := qs; i < qe && i < len(docs[doc]); i++ {
			text += docs[doc][i]
		}
	}
	s.Event("content_block_delta", map[string]any{"type": "content_block_delta", "index": index,
		"delta": map[string]any{"type": "citations_delta", "citation": map[string]any{
			"type": "content_block_location", "cited_text": text, "document_index": doc, "document_title": title,
			"start_block_index": start, "end_block_index": end,
		}}})
}

// BlockStop closes block index.
func (s *SSE) BlockStop(index int) {
	s.Event("content_block_stop", map[string]any{"type": "content_block_stop", "index": index})
}

// MessageEnd ends an Anthropic answer with a stop reason.
func (s *SSE) MessageEnd(stop string, outputTokens int) {
	s.Event("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": outputTokens}})
	s.Event("message_stop", `{"type":"message_stop"}`)
}

// --- OpenAI chunks ---

// Chunk sends one chat.completion.chunk.
func (s *SSE) Chunk(delta map[string]any, finish any) {
	s.Data(map[string]any{"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1767225600,
		"model": s.OAI.Model, "system_fingerprint": "fp_test",
		"choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}},
		"usage":   nil})
}

// Content sends a piece of the answer's text.
func (s *SSE) Content(text string) {
	if s.Sent != nil {
		s.Sent <- time.Now()
	}
	s.Chunk(map[string]any{"content": text}, nil)
}

// Finish ends an OpenAI answer with its reason and usage.
func (s *SSE) Finish(reason string, prompt, completion int) {
	s.Chunk(map[string]any{}, reason)
	s.Data(map[string]any{"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1767225600,
		"model": s.OAI.Model, "choices": []any{},
		"usage": map[string]any{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}})
	s.Raw("data: [DONE]\n\n")
}

// --- grounded answers in either format ---

// Part is a piece of an answer: text, or a citation of lines Start-End of
// File (as the request names the file) standing after the text before it.
type Part struct {
	Text       string
	File       string
	Start, End int
}

// T is a text part.
func T(text string) Part { return Part{Text: text} }

// C cites lines start-end of file.
func C(file string, start, end int) Part { return Part{File: file, Start: start, End: end} }

var titleRE = regexp.MustCompile(`^(.*) lines? (\d+)(?:-(\d+))?$`)

// locate finds the document and block range that hold lines start-end of
// file in the Anthropic request, or doc -1.
func (s *SSE) locate(file string, start, end int) (doc, from, to int) {
	docIndex := -1
	for _, b := range s.Anth.Messages[0].Content {
		if b.Type != "document" {
			continue
		}
		docIndex++
		m := titleRE.FindStringSubmatch(b.Title)
		if m == nil || !strings.EqualFold(m[1], file) {
			continue
		}
		first, _ := strconv.Atoi(m[2])
		last := first
		if m[3] != "" {
			last, _ = strconv.Atoi(m[3])
		}
		if start >= first && end <= last {
			return docIndex, start - first, end - first + 1
		}
	}
	return -1, 0, 0
}

// Answer plays a complete grounded answer made of parts in the fake's
// wire format: Anthropic citation blocks (a citation of lines the request
// did not send is made against document 0, so it fails verification) or
// OpenAI [FILE:L12-L14] markers. Usage: 500 tokens in, 40 out.
func (s *SSE) Answer(parts ...Part) {
	if s.Kind == OpenAI {
		s.Chunk(map[string]any{"role": "assistant", "content": ""}, nil)
		for _, p := range parts {
			if p.File == "" {
				s.Content(p.Text)
				continue
			}
			s.Content(fmt.Sprintf(" [%s:L%d-L%d]", p.File, p.Start, p.End))
		}
		s.Finish("stop", 500, 40)
		return
	}
	s.MessageStart(500)
	idx := 0
	for i := 0; i < len(parts); i++ {
		p := parts[i]
		if p.File != "" {
			continue
		}
		// A text followed by citations is one cited block.
		var cites []Part
		for j := i + 1; j < len(parts) && parts[j].File != ""; j++ {
			cites = append(cites, parts[j])
		}
		s.BlockStart(idx, len(cites) > 0)
		for _, c := range cites {
			doc, from, to := s.locate(c.File, c.Start, c.End)
			if doc < 0 {
				doc, from, to = 0, c.Start, c.End+1 // not sent: fails verification
			}
			s.Cite(idx, doc, from, to, nil)
		}
		s.TextDelta(idx, p.Text)
		s.BlockStop(idx)
		idx++
	}
	s.MessageEnd("end_turn", 40)
}
