package llm

import (
	"context"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
)

// openaiProvider speaks the OpenAI chat completions format, which OpenAI,
// Azure OpenAI (…/openai/v1/), vLLM and Ollama all serve. The sources go
// inline as numbered lines and the model is told to cite with [L12-L14]
// markers, which are parsed out of the streamed text.
type openaiProvider struct {
	chat  openai.ChatCompletionService
	model string
}

func newOpenAI(o Options) *openaiProvider {
	// The service alone, not openai.NewClient: the client would read
	// OPENAI_* from the environment (a key that must not go to a local
	// server, a base URL that is not ours).
	opts := []option.RequestOption{
		option.WithEnvironmentProduction(),
		option.WithHTTPClient(o.HTTPClient),
		// Always set, even empty, so no other key is ever sent.
		option.WithAPIKey(o.APIKey),
		// No hidden retries; see newAnthropic.
		option.WithMaxRetries(0),
	}
	if o.BaseURL != "" {
		opts = append(opts, option.WithBaseURL(o.BaseURL))
	}
	return &openaiProvider{chat: openai.NewChatCompletionService(opts...), model: o.Model}
}

func (*openaiProvider) markers() bool { return true }

// params: a system message, and one user message with the sources first,
// then the notes and the question. max_completion_tokens is the current
// name of the limit (OpenAI's newer models refuse max_tokens; servers that
// do not know the field ignore it). Usage comes in a last chunk.
func (o *openaiProvider) params(p *prompt, maxTokens int) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model: o.model,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage(p.system),
			openai.UserMessage(p.inlineSources() + p.tail),
		},
		MaxCompletionTokens: openai.Int(int64(maxTokens)),
		StreamOptions:       openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	}
}

func (o *openaiProvider) open(ctx context.Context, p *prompt, maxTokens int) (reader, error) {
	st := o.chat.NewStreaming(ctx, o.params(p, maxTokens))
	if err := st.Err(); err != nil {
		st.Close()
		return nil, err
	}
	return &openaiReader{st: st}, nil
}

// openaiReader turns chunks into text and citation segments. The stream
// ends with "data: [DONE]"; an answer is finished once a choice carried a
// finish_reason.
type openaiReader struct {
	st      *ssestream.Stream[openai.ChatCompletionChunk]
	scan    markerScanner
	queue   []chunk
	stop    string
	flushed bool
}

func (r *openaiReader) push(s segment) {
	r.queue = append(r.queue, chunk{text: s.text, cites: s.cites})
}

func (r *openaiReader) next() (chunk, bool) {
	for len(r.queue) == 0 {
		if !r.st.Next() {
			if r.flushed || r.st.Err() != nil {
				return chunk{}, false
			}
			r.flushed = true
			r.scan.flush(r.push)
			if r.stop != "" {
				r.queue = append(r.queue, chunk{done: true, stop: r.stop})
			}
			continue
		}
		ck := r.st.Current()
		for _, ch := range ck.Choices {
			if ch.Index != 0 {
				continue
			}
			r.scan.feed(ch.Delta.Content, r.push)
			r.scan.feed(ch.Delta.Refusal, r.push)
			if ch.FinishReason != "" {
				r.stop = ch.FinishReason
			}
		}
		if ck.JSON.Usage.Valid() && (ck.Usage.PromptTokens > 0 || ck.Usage.CompletionTokens > 0) {
			r.queue = append(r.queue, chunk{
				usage:      &Usage{InputTokens: ck.Usage.PromptTokens, OutputTokens: ck.Usage.CompletionTokens},
				usageFinal: true,
			})
		}
	}
	c := r.queue[0]
	r.queue = r.queue[1:]
	return c, true
}

func (r *openaiReader) err() error { return r.st.Err() }

func (r *openaiReader) close() { r.st.Close() }
