package llm

import (
	"context"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/anthropics/anthropic-sdk-go/v2/packages/ssestream"
)

// anthropicProvider speaks the Anthropic Messages API. Each source goes as
// a document with custom content — one text block per source line — and
// citations enabled, so every citation names a block range, which is a line
// range.
type anthropicProvider struct {
	client anthropic.Client
	model  string
}

func newAnthropic(o Options) *anthropicProvider {
	opts := []option.RequestOption{
		// Only VERIPOST_LLM_* configure the provider; ANTHROPIC_* in the
		// environment must not leak in (nor a key to another base URL).
		option.WithoutEnvironmentDefaults(),
		option.WithHTTPClient(o.HTTPClient),
		// No hidden retries: a 429 or 5xx is reported at once with a clear
		// message (and Retry-After) instead of keeping the page waiting.
		option.WithMaxRetries(0),
	}
	if o.BaseURL != "" {
		opts = append(opts, option.WithBaseURL(o.BaseURL))
	}
	if o.APIKey != "" {
		opts = append(opts, option.WithAPIKey(o.APIKey))
	}
	return &anthropicProvider{client: anthropic.NewClient(opts...), model: o.Model}
}

func (*anthropicProvider) markers() bool { return false }

// params builds the Messages request: the system prompt, then one user
// message with every source as a document and, last, the notes and the
// question.
func (a *anthropicProvider) params(p *prompt, maxTokens int) anthropic.MessageNewParams {
	content := make([]anthropic.ContentBlockParamUnion, 0, len(p.req.Sources)+1)
	for _, s := range p.req.Sources {
		blocks := make([]anthropic.ContentBlockSourceContentItemUnionParam, 0, len(s.Lines))
		for n := s.FirstLine; n <= s.LastLine(); n++ {
			blocks = append(blocks, anthropic.ContentBlockSourceContentItemParamOfText(s.block(n)))
		}
		doc := anthropic.DocumentBlockParam{
			Source: anthropic.DocumentBlockParamSourceUnion{OfContent: &anthropic.ContentBlockSourceParam{
				Content: anthropic.ContentBlockSourceContentUnionParam{OfContentBlockSourceContent: blocks},
			}},
			Title:     anthropic.String(s.title()),
			Citations: anthropic.CitationsConfigParam{Enabled: anthropic.Bool(true)},
		}
		content = append(content, anthropic.ContentBlockParamUnion{OfDocument: &doc})
	}
	content = append(content, anthropic.NewTextBlock(p.tail))
	return anthropic.MessageNewParams{
		Model:     anthropic.Model(a.model),
		MaxTokens: int64(maxTokens),
		System:    []anthropic.TextBlockParam{{Text: p.system}},
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(content...)},
	}
}

func (a *anthropicProvider) open(ctx context.Context, p *prompt, maxTokens int) (reader, error) {
	st := a.client.Messages.NewStreaming(ctx, a.params(p, maxTokens))
	if err := st.Err(); err != nil {
		st.Close()
		return nil, err
	}
	return &anthropicReader{st: st, sources: p.req.Sources, blocks: map[int64]*anthropicBlock{}}, nil
}

// anthropicReader follows the event sequence message_start,
// (content_block_start, content_block_delta…, content_block_stop)…,
// message_delta, message_stop; ping events are skipped by the SDK and error
// events end the stream with an API error. An event out of that order is a
// malformed stream.
type anthropicReader struct {
	st      *ssestream.Stream[anthropic.MessageStreamEventUnion]
	sources []Source
	started bool
	stopped bool
	stop    string
	in, out int64
	blocks  map[int64]*anthropicBlock
	e       error
}

type anthropicBlock struct {
	text  bool
	cites []Citation
	open  bool
}

// citation maps a content_block_location citation to lines: block i of
// document d is line FirstLine+i of source d. Any other citation kind (or a
// missing quote) gets line 0, which Verify rejects.
func (r *anthropicReader) citation(typ string, doc, start, end int64, quote string) Citation {
	c := Citation{Source: int(doc), Quote: quote}
	if typ != "content_block_location" || doc < 0 || int(doc) >= len(r.sources) || quote == "" {
		return c
	}
	first := r.sources[doc].FirstLine
	c.File = r.sources[doc].File
	c.StartLine, c.EndLine = first+int(start), first+int(end)-1
	return c
}

func (r *anthropicReader) fail(format string, args ...any) (chunk, bool) {
	r.e = malformed(format, args...)
	return chunk{}, false
}

func (r *anthropicReader) next() (chunk, bool) {
	for r.e == nil && r.st.Next() {
		ev := r.st.Current()
		if !r.started && ev.Type != "message_start" {
			return r.fail("%s event before message_start", ev.Type)
		}
		if r.stopped {
			return r.fail("%s event after message_stop", ev.Type)
		}
		switch ev.Type {
		case "message_start":
			if r.started {
				return r.fail("a second message_start")
			}
			r.started = true
			u := ev.Message.Usage
			r.in = u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens
			r.out = u.OutputTokens
			return chunk{usage: &Usage{InputTokens: r.in, OutputTokens: r.out}}, true
		case "content_block_start":
			if b := r.blocks[ev.Index]; b != nil {
				return r.fail("content block %d started twice", ev.Index)
			}
			cb := ev.ContentBlock
			b := &anthropicBlock{text: cb.Type == "text", open: true}
			r.blocks[ev.Index] = b
			for _, c := range cb.Citations {
				b.cites = append(b.cites, r.citation(c.Type, c.DocumentIndex, c.StartBlockIndex, c.EndBlockIndex, c.CitedText))
			}
			if b.text && cb.Text != "" {
				return chunk{text: cb.Text}, true
			}
		case "content_block_delta":
			b := r.blocks[ev.Index]
			if b == nil || !b.open {
				return r.fail("delta for content block %d, which is not open", ev.Index)
			}
			d := ev.Delta
			switch d.Type {
			case "text_delta":
				if !b.text {
					return r.fail("text delta in a %s block", "non-text")
				}
				if d.Text != "" {
					return chunk{text: d.Text}, true
				}
			case "citations_delta":
				c := d.Citation
				b.cites = append(b.cites, r.citation(c.Type, c.DocumentIndex, c.StartBlockIndex, c.EndBlockIndex, c.CitedText))
			}
			// Other deltas (thinking, tool input) carry nothing to show.
		case "content_block_stop":
			b := r.blocks[ev.Index]
			if b == nil || !b.open {
				return r.fail("stop for content block %d, which is not open", ev.Index)
			}
			b.open = false
			// A block's citations stand after its text.
			if len(b.cites) > 0 {
				cites := b.cites
				b.cites = nil
				return chunk{cites: cites}, true
			}
		case "message_delta":
			if ev.Delta.StopReason != "" {
				r.stop = string(ev.Delta.StopReason)
			}
			r.in = max(r.in, ev.Usage.InputTokens+ev.Usage.CacheCreationInputTokens+ev.Usage.CacheReadInputTokens)
			r.out = max(r.out, ev.Usage.OutputTokens)
			return chunk{usage: &Usage{InputTokens: r.in, OutputTokens: r.out}, usageFinal: true}, true
		case "message_stop":
			for i, b := range r.blocks {
				if b.open {
					return r.fail("message_stop with content block %d still open", i)
				}
			}
			r.stopped = true
			return chunk{done: true, stop: r.stop}, true
		}
	}
	return chunk{}, false
}

func (r *anthropicReader) err() error {
	if r.e != nil {
		return r.e
	}
	return r.st.Err()
}

func (r *anthropicReader) close() { r.st.Close() }
