// Package embeddings is a client for an external text-embeddings service
// that speaks the OpenAI-compatible wire format (POST …/v1/embeddings with
// {"model", "input": [...]}, answering {"data": [{"index", "embedding"}]}),
// as OpenAI, Ollama, vLLM, LocalAI and llama.cpp's server do. Search uses it,
// when configured, to embed sections and free-text queries; VeriPost works
// without it (internal/search has its own structural embedding).
package embeddings

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client calls one embeddings service.
type Client struct {
	// URL is the service's base URL (https://api.openai.com/v1,
	// http://localhost:11434/v1 …); "/embeddings" is appended unless the
	// URL already ends with it.
	URL    string
	Name   string // the model name sent with every request
	APIKey string // sent as "Authorization: Bearer …" when set
	HTTP   *http.Client
}

// New builds a client; timeout bounds one request (default 30 s).
func New(url, model, apiKey string, timeout time.Duration) *Client {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &Client{URL: url, Name: model, APIKey: apiKey, HTTP: &http.Client{Timeout: timeout}}
}

// Model implements search.Embedder.
func (c *Client) Model() string { return c.Name }

// maxAnswerBytes bounds the answer read (a batch of 64 vectors of 3,072
// floats is about 4 MB as JSON).
const maxAnswerBytes = 64 << 20

type request struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	EncodingFormat string   `json:"encoding_format"`
}

type answer struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func (c *Client) endpoint() string {
	u := strings.TrimRight(c.URL, "/")
	if strings.HasSuffix(u, "/embeddings") {
		return u
	}
	return u + "/embeddings"
}

// Embed implements search.Embedder: one vector per text, in order.
func (c *Client) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 0 {
		return nil, nil
	}
	body, err := json.Marshal(request{Model: c.Name, Input: texts, EncodingFormat: "float"})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("embeddings: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("embeddings: calling %s: %w", c.endpoint(), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return nil, fmt.Errorf("embeddings: reading the answer: %w", err)
	}
	if len(data) > maxAnswerBytes {
		return nil, errors.New("embeddings: the answer is larger than 64 MiB")
	}
	var a answer
	jerr := json.Unmarshal(data, &a)
	if resp.StatusCode != http.StatusOK {
		msg := strings.TrimSpace(string(data))
		if jerr == nil && a.Error != nil {
			msg = a.Error.Message
		}
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		return nil, fmt.Errorf("embeddings: %s answered %s: %s", c.endpoint(), resp.Status, msg)
	}
	if jerr != nil {
		return nil, fmt.Errorf("embeddings: the answer is not the expected JSON: %w", jerr)
	}
	if len(a.Data) != len(texts) {
		return nil, fmt.Errorf("embeddings: asked for %d vectors, got %d", len(texts), len(a.Data))
	}
	out := make([][]float32, len(texts))
	for _, d := range a.Data {
		if d.Index < 0 || d.Index >= len(texts) || out[d.Index] != nil {
			return nil, fmt.Errorf("embeddings: the answer has a bad or repeated index %d", d.Index)
		}
		if len(d.Embedding) == 0 {
			return nil, fmt.Errorf("embeddings: vector %d is empty", d.Index)
		}
		out[d.Index] = d.Embedding
	}
	dims := len(out[0])
	for i, v := range out {
		if len(v) != dims {
			return nil, fmt.Errorf("embeddings: vector %d has %d dimensions, vector 0 has %d", i, len(v), dims)
		}
	}
	return out, nil
}
